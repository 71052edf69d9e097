"""Build a model by hand in a real browser: add, move and delete layers, meet a shape error, fix it, train."""

from __future__ import annotations

import re

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
    # "3. Conv2D · (8, 8, 32) …" → "Conv2D"
    return [re.sub(r"^\d+\.\s*", "", t.split("·")[0].strip()) for t in texts]


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
    start = _card_titles(page)
    assert len(start) >= 4, start

    # Add a Dense layer at the end, move it up one place, then delete it again.
    _choose(page, "Group", "Core")
    _choose(page, "Layer", "Dense")
    _button(page, "build.add").click()
    wait_idle(page)
    expect(page.locator("[class*='st-key-build-card-']")).to_have_count(len(start) + 1)
    last = len(start)
    assert _card_titles(page)[last].endswith("Dense")
    _button(page, f"build.l{last}.up").click()
    wait_idle(page)
    assert _card_titles(page)[last - 1].endswith("Dense") and _card_titles(page)[last] == start[-1]
    _button(page, f"build.l{last - 1}.delete").click()
    wait_idle(page)
    assert _card_titles(page) == start

    # A pooling layer after the flat part cannot work: the page says why, naming the layer.
    _choose(page, "Group", "Convolution")
    _choose(page, "Layer", "MaxPooling2D")
    _button(page, "build.add").click()
    wait_idle(page)
    error = page.get_by_test_id("stAlert").filter(has_text=re.compile("MaxPooling2D")).first
    expect(error).to_be_visible()
    expect(error).to_contain_text(re.compile("image", re.IGNORECASE))
    screenshot(page, "build-shape-error")

    # Fix it by deleting the layer; the model builds again and trains.
    _button(page, f"build.l{len(start)}.delete").click()
    wait_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text=re.compile("MaxPooling2D"))).to_have_count(0)
    goto_page(page, app_server, "Train")
    box = page.get_by_role("spinbutton", name="Epochs")
    box.fill("1")
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Start training")).click()
    expect(page.get_by_text("Completed").first).to_be_visible(timeout=120_000)
    assert_no_exception(page)
