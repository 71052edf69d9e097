"""The foundation flow in a real browser: digits sample → train → live curve → Stop → predict a PNG."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (assert_no_exception, goto_page, open_page, screenshot, set_epochs, start_training,
                                 upload, wait_idle)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _digit_png(tmp_path) -> str:
    from PIL import Image

    from layerlab.data.images import open_images

    img = open_images("sample:digits").decode(3)[..., 0]  # a real '3' from the data, as a user's own file
    path = tmp_path / "three.png"
    Image.fromarray(np.kron(img, np.ones((6, 6), np.uint8))).save(path)
    return str(path)


def test_digits_train_stop_and_predict(page: Page, app_server: str, tmp_path) -> None:
    page.set_viewport_size({"width": 1400, "height": 2000})
    open_page(page, app_server)
    page.get_by_role("button", name=re.compile("Try a sample: handwritten digits")).click()
    expect(page.get_by_test_id("stMain").get_by_role("heading", level=1).first).to_have_text(re.compile("Train"))
    wait_idle(page)

    # A short run: the live curve is drawn and the run completes.
    set_epochs(page, 2)
    start_training(page)
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=90_000)
    expect(page.get_by_text("Completed").first).to_be_visible(timeout=120_000)
    screenshot(page, "flow-trained")

    # A long second run: Stop ends it, with its best weights kept.
    set_epochs(page, 300)
    start_training(page)
    expect(page.get_by_text(re.compile(r"Epoch \d+/300")).first).to_be_visible(timeout=90_000)
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.get_by_text("Stopped").first).to_be_visible(timeout=30_000)
    screenshot(page, "flow-stopped")
    assert_no_exception(page)

    # Predict: an uploaded PNG gets a class.
    goto_page(page, app_server, "Predict")
    upload(page, _digit_png(tmp_path))
    expect(page.get_by_text(re.compile(r"Predicted")).first).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    screenshot(page, "flow-predicted")
    assert_no_exception(page)
