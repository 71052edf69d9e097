"""Build a model by hand in a real browser: add, move and delete layers, meet a shape error, fix it, train."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.conftest import assert_no_exception, goto_page, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _button(page: Page, key: str):
    """A keyed st.button (Streamlit puts `st-key-<key>` on its container; dots become dashes)."""
    # While a rerun replaces the element, the old copy can linger for a moment: take the live one.
    return page.locator(f".st-key-{key.replace('.', '-')} button").filter(visible=True).last


def _card_titles(page: Page) -> list[str]:
    texts = page.locator("[class*='st-key-build-card-']").all_inner_texts()
    # "3. Conv2D · (8, 8, 32) …" → "Conv2D"; a card with a problem starts with its icon's name
    # ("error 8. MaxPooling2D · …")
    heads = [t.split("·")[0].strip() for t in texts]
    return [m.group(1) if (m := re.search(r"\d+\.\s*(\S+)", h)) else h for h in heads]


def _titles_become(page: Page, expected: list[str], timeout_s: float = 20.0) -> list[str]:
    """Poll the cards until they read `expected`: right after a click the page can still show the
    cards of the run before it (wait_idle can return before the click's rerun has begun)."""
    deadline = time.monotonic() + timeout_s
    titles = _card_titles(page)
    while titles != expected and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        titles = _card_titles(page)
    return titles


def _click_until(page: Page, key: str, expected: list[str]) -> None:
    """Click a layer button and wait for the cards to read `expected`; click once more if the
    first click was lost to a rerun that replaced the button (the cards never changed)."""
    before = _card_titles(page)
    _button(page, key).click()
    wait_idle(page)
    titles = _titles_become(page, expected)
    if titles == before and titles != expected:
        _button(page, key).click()
        wait_idle(page)
        titles = _titles_become(page, expected)
    assert titles == expected


def _choose(page: Page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`, typing it to filter the list, as a user can.

    Typing keeps the option in view (a long list shows only some of its items). The box must show
    the option afterwards: a rerun still replacing the box (the Group box resets the Layer box)
    can swallow a pick, as seen in CI on a busy machine, so the pick is tried up to three times.
    """
    box = page.get_by_test_id("stSelectbox").filter(has_text=label).first
    choice = page.get_by_role("option", name=option, exact=True)
    for attempt in range(3):
        wait_idle(page)
        box.click()
        page.keyboard.type(option)
        try:
            choice.click(timeout=15_000)
            wait_idle(page)
            expect(box.get_by_role("combobox")).to_have_value(option, timeout=5_000)
            return
        except (PlaywrightTimeoutError, AssertionError):
            if attempt == 2:
                raise
            page.keyboard.press("Escape")


def test_edit_layers_fix_a_shape_error_and_train(page: Page, app_server: str) -> None:
    page.set_viewport_size({"width": 1400, "height": 2400})
    open_page(page, app_server)
    page.get_by_role("button", name=re.compile("Try a sample: handwritten digits")).click()
    wait_idle(page)
    goto_page(page, app_server, "Build")
    expect(page.locator("[class*='st-key-build-card-']").first).to_be_visible(timeout=60_000)
    # The editor shows at once; the check follows once TensorFlow has loaded in the background (#15 item 13).
    expect(page.get_by_text("The model fits the data")).to_be_visible(timeout=180_000)
    start = _card_titles(page)
    assert len(start) >= 4, start

    # Add a Dense layer at the end, move it up one place, then delete it again.
    _choose(page, "Group", "Core")
    _choose(page, "Layer", "Dense")
    _click_until(page, "build.add", start + ["Dense"])
    last = len(start)
    _click_until(page, f"build.l{last}.up", start[:-1] + ["Dense", start[-1]])
    _click_until(page, f"build.l{last - 1}.delete", start)

    # A pooling layer after the flat part cannot work: the page says why, naming the layer.
    _choose(page, "Group", "Convolution")
    _choose(page, "Layer", "MaxPooling2D")
    _click_until(page, "build.add", start + ["MaxPooling2D"])
    error = page.get_by_test_id("stAlert").filter(has_text=re.compile("MaxPooling2D")).first
    expect(error).to_be_visible()
    expect(error).to_contain_text(re.compile("image", re.IGNORECASE))
    screenshot(page, "build-shape-error")

    # Fix it by deleting the layer; the model builds again and trains.
    _click_until(page, f"build.l{len(start)}.delete", start)
    expect(page.get_by_test_id("stAlert").filter(has_text=re.compile("MaxPooling2D"))).to_have_count(0)
    goto_page(page, app_server, "Train")
    box = page.get_by_role("spinbutton", name="Epochs", exact=True)
    box.fill("1")
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Start training")).click()
    expect(page.get_by_text("Completed").first).to_be_visible(timeout=120_000)
    assert_no_exception(page)
