"""A pretrained template on a server without internet: Build names the missing weights file and where it goes and
does not call the model ready, takes an uploaded one (here weights the user made, so not Keras' own hash: used only
when they say so, and only for this session), and the model is ready; Train then offers phase 2 (fine-tuning) for
its frozen backbone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_no_exception, goto_page, open_page, screenshot, serve_app, upload, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FILE = "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"


@pytest.fixture(scope="module")
def offline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server of its own with an empty Keras cache, and a weights file like the one a user would upload."""
    from tests.engine.test_backbones import make_weights_file

    root = tmp_path_factory.mktemp("backbone-e2e")
    weights = root / "upload" / "my-weights.h5"  # a short name: the uploader shortens long ones
    make_weights_file(weights)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KERAS_HOME", str(root / "keras"))
        mp.setenv("LAYERLAB_WEIGHTS_DOWNLOAD", "0")  # as on a machine without internet, whatever this one has
        with serve_app(root / "home", root / "streamlit.log") as base:
            yield base, weights


def _apply_mobilenet(page: Page) -> None:
    """Build: choose the pretrained MobileNetV3 Small template, apply it, and confirm replacing the layers."""
    box = page.get_by_test_id("stSelectbox").filter(has_text="Template").first
    box.click()
    page.get_by_role("option", name=re.compile("Pretrained MobileNetV3 Small")).click()
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Apply template")).click()
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Yes, replace my layers")).click()
    wait_idle(page)


def test_pretrained_template_offline_asks_for_the_weights_and_takes_an_upload(page: Page, offline_server) -> None:
    base, weights = offline_server
    page.set_viewport_size({"width": 1400, "height": 2000})
    open_page(page, base)
    page.get_by_role("button", name=re.compile("Try a sample: handwritten digits")).click()
    wait_idle(page)
    goto_page(page, base, "Build")
    expect(page.get_by_text("The model fits the data")).to_be_visible(timeout=180_000)

    _apply_mobilenet(page)

    missing = page.get_by_test_id("stAlert").filter(has_text=re.compile("not on this server"))
    expect(missing).to_be_visible(timeout=120_000)
    expect(missing).to_contain_text(FILE)
    expect(missing).to_contain_text("keras/models")
    not_ready = page.get_by_test_id("stAlert").filter(has_text="cannot train yet")
    expect(not_ready).to_be_visible()
    expect(page.get_by_text("ready to train")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"MobileNetV3Small with ImageNet weights: [\d,]+ parameters in \d+ layers, "
                                       "frozen"))).to_be_visible()
    screenshot(page, "backbone-weights-missing")

    panel = page.locator(".st-key-build-weights-MobileNetV3Small")
    # Not Keras' own file (its hash differs): refused until the user says to use it anyway.
    upload(page, weights, uploader=panel.get_by_test_id("stFileUploader"))
    expect(page.get_by_test_id("stAlert").filter(has_text="not the file Keras expects")).to_be_visible()
    panel.get_by_text(re.compile("Use it even if it is not Keras' file")).click()
    wait_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="weights from a file you gave")).to_be_visible(
        timeout=60_000)
    expect(missing).to_have_count(0)
    expect(not_ready).to_have_count(0)
    expect(page.get_by_text("The model fits the data and is ready to train.")).to_be_visible()
    expect(page.get_by_text(re.compile("MobileNetV3Small with weights from a file you gave"))).to_be_visible()
    screenshot(page, "backbone-weights-uploaded")
    assert_no_exception(page)

    goto_page(page, base, "Train")
    phase_2 = page.get_by_text("Fine-tuning (phase 2)")
    expect(phase_2).to_be_visible(timeout=60_000)
    phase_2.scroll_into_view_if_needed()
    screenshot(page, "backbone-train-phase-2")
    assert_no_exception(page)


def test_photos_offline_start_small_and_build_leads_to_the_pretrained_template_at_its_size(page: Page, offline_server,
                                                                                          tmp_path) -> None:
    """Photos on a server without the weights start from the small CNN (they can train); Build names the pretrained
    template, and once it is applied, prepares the photos at its size in one click."""
    from tests.engine.test_photo_default import photo_zip

    base, _ = offline_server
    page.set_viewport_size({"width": 1400, "height": 2000})
    open_page(page, base)
    goto_page(page, base, "Data")
    page.get_by_role("tab", name="Upload your data").click()
    upload(page, photo_zip(tmp_path / "desk photos.zip", (640, 480), per_class=6))
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="desk photos", level=2)).to_be_visible(timeout=60_000)

    goto_page(page, base, "Build")
    expect(page.get_by_text("The model fits the data")).to_be_visible(timeout=180_000)
    advice = page.get_by_test_id("stAlert").filter(has_text="These look like photos")
    expect(advice).to_be_visible()
    expect(advice).to_contain_text("Pretrained MobileNetV3 Small")
    expect(advice).to_contain_text(FILE)
    screenshot(page, "photos-1-build-advice")

    _apply_mobilenet(page)
    size = page.get_by_test_id("stAlert").filter(has_text="prepared at 48×64 pixels")
    expect(size).to_be_visible(timeout=120_000)
    expect(advice).to_have_count(0)
    page.get_by_role("button", name="Prepare the images at 224×224").click()
    wait_idle(page)
    expect(size).to_have_count(0)
    expect(page.get_by_text(FILE).first).to_be_visible()  # the weights are still to be given
    screenshot(page, "photos-2-pretrained-at-224")
    goto_page(page, base, "Prepare")
    expect(page.get_by_test_id("stMain")).to_contain_text("224")
    assert_no_exception(page)
