"""The demo session in a real browser with Chromium's fake camera: name two classes on Data, take pictures of
each, use them as the data, train one epoch, and predict the picture just taken on Predict.

The fake camera shows a moving test pattern, so the pictures differ over time but the classes do not look
alike objects: this checks the flow, not what the model learns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserType, Page, expect

from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.conftest import (assert_no_exception, goto_page, open_page, screenshot, set_epochs, start_training,
                                wait_idle)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
PICTURES_PER_CLASS = 4


@pytest.fixture(scope="module")
def camera_browser(browser_type: BrowserType) -> Iterator[Browser]:
    """A Chromium of this module's own with a fake camera that needs no permission click."""
    browser = browser_type.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *FAKE_CAMERA])
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def camera_page(camera_browser: Browser) -> Iterator[Page]:
    context = camera_browser.new_context(viewport={"width": 1400, "height": 1800}, permissions=["camera"])
    try:
        yield context.new_page()
    finally:
        context.close()


def _count(name: str, n: int) -> str:
    return f"{name} · {n} picture{'' if n == 1 else 's'}"


# True once the camera's <video> shows real frames of one steady stream: drawn small onto a canvas, the frame is
# neither black nor one flat colour, and the same stream has played for STEADY_MS. The Take Photo button is
# enabled before the fake camera delivers frames (a picture taken then is black: the Predict screenshot showed no
# picture and no heat map), and the camera asks for a new stream when its width settles (a debounce of 1 s), so a
# click just before that takes no picture.
_SHOWS_A_FRAME = """([selector, steadyMs]) => {
    const video = document.querySelector(selector);
    const track = video && video.srcObject && video.srcObject.getVideoTracks()[0];
    if (!track || track.readyState !== "live" || video.readyState < 2 || !video.videoWidth) return false;
    const canvas = document.createElement("canvas");
    canvas.width = 32; canvas.height = 24;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let sum = 0, sq = 0;
    const n = px.length / 4;
    for (let i = 0; i < px.length; i += 4) {
        const y = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
        sum += y; sq += y * y;
    }
    const mean = sum / n;
    if (mean <= 10 || sq / n - mean * mean <= 25) return false;
    const seen = window.__layerlabCameraSeen;
    if (!seen || seen.track !== track) {
        window.__layerlabCameraSeen = {track, since: performance.now()};
        return false;
    }
    return performance.now() - seen.since >= steadyMs;
}"""
STEADY_MS = 1500
VIDEO = '[data-testid="stCameraInput"] video'


def _wait_for_frames(page: Page) -> None:
    """Until the camera's video shows real (not black) frames of a steady stream."""
    page.wait_for_function(_SHOWS_A_FRAME, arg=[VIDEO, STEADY_MS], timeout=30_000)


def _take_photo(page: Page) -> None:
    button = page.get_by_test_id("stCameraInputButton").filter(has_text="Take Photo")
    expect(button).to_be_enabled(timeout=30_000)
    _wait_for_frames(page)
    button.click()


def _take_picture(page: Page, name: str, then: int) -> None:
    """Take a picture for the class; it then holds `then` pictures."""
    _take_photo(page)
    expect(page.get_by_text(_count(name, then), exact=True)).to_be_visible(timeout=30_000)
    wait_idle(page)


def _name_class(page: Page, name: str) -> None:
    page.get_by_label("Name a class").fill(name)
    page.get_by_role("button", name="Add class").click()
    wait_idle(page)
    expect(page.get_by_text(_count(name, 0), exact=True)).to_be_visible()


def test_pictures_from_the_camera_train_a_model_that_predicts_the_next_picture(camera_page: Page,
                                                                               app_server: str) -> None:
    page = camera_page
    open_page(page, app_server)
    goto_page(page, app_server, "Data")
    page.get_by_role("tab", name="Images from the camera").click()
    wait_idle(page)
    expect(page.get_by_text("the camera opens once a class is named")).to_be_visible()

    for name in ("mug", "pen"):
        _name_class(page, name)
        page.get_by_test_id("stRadio").get_by_text(name, exact=True).click()
        wait_idle(page)
        expect(page.get_by_text(f"Take a picture of {name}")).to_be_visible()
        for n in range(1, PICTURES_PER_CLASS + 1):
            _take_picture(page, name, n)
    _wait_for_frames(page)  # the live picture as a user sees it, not the camera starting
    screenshot(page, "camera-1-pictures")

    # A picture can be removed, and taken again.
    page.locator(".st-key-data-camera-remove-0-0").get_by_role("button").click()
    wait_idle(page)
    expect(page.get_by_text(_count("mug", PICTURES_PER_CLASS - 1), exact=True)).to_be_visible()
    page.get_by_test_id("stRadio").get_by_text("mug", exact=True).click()
    wait_idle(page)
    _take_picture(page, "mug", PICTURES_PER_CLASS)

    page.get_by_role("button", name="Use these pictures").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Camera pictures", level=2)).to_be_visible(timeout=60_000)
    expect(main.get_by_test_id("stMetric").filter(has_text="Classes").filter(has_text="2")).to_be_visible()
    screenshot(page, "camera-2-data")
    assert_no_exception(page)

    goto_page(page, app_server, "Train")
    set_epochs(page, 1)
    start_training(page)
    expect(page.get_by_text("Completed").first).to_be_visible(timeout=180_000)
    assert_no_exception(page)

    goto_page(page, app_server, "Predict")
    # The page is drawn at once; its model follows when the server's TensorFlow import is done (a full rerun).
    expect(main.get_by_text("Loading TensorFlow to run the model")).to_have_count(0, timeout=120_000)
    wait_idle(page)
    page.get_by_test_id("stButtonGroup").get_by_text("Camera", exact=True).click()
    wait_idle(page)
    _take_photo(page)
    expect(main.get_by_test_id("stMetric").filter(has_text="Predicted class")).to_be_visible(timeout=30_000)
    expect(main.get_by_test_id("stMetric").filter(has_text=re.compile("mug|pen"))).to_be_visible()
    expect(main.get_by_test_id("stPlotlyChart").first).to_be_visible()  # the probabilities
    expect(main.get_by_text(re.compile("your picture — red: what made the model say (mug|pen)"))).to_be_visible()
    screenshot(page, "camera-3-predicted")
    assert_no_exception(page)
