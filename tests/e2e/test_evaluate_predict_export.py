"""Issue flow in a real browser: train digits, Evaluate (confusion matrix + gallery), predict an uploaded
digit, and download a TFLite file that gives the same top class in the TFLite interpreter."""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_no_exception, goto_page, open_page, screenshot, upload, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_evaluate_predict_and_tflite(page: Page, app_server: str, tmp_path) -> None:
    import tensorflow as tf
    from PIL import Image

    from layerlab.data.images import open_images

    page.set_viewport_size({"width": 1400, "height": 2400})
    open_page(page, app_server)
    page.get_by_role("button", name=re.compile("Try a sample: handwritten digits")).click()
    wait_idle(page)
    box = page.get_by_role("spinbutton", name="Epochs", exact=True)
    box.fill("4")
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Start training")).click()
    expect(page.get_by_text("Completed").first).to_be_visible(timeout=120_000)

    goto_page(page, app_server, "Evaluate")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text(re.compile("Confusion matrix", re.IGNORECASE)).first).to_be_visible(timeout=60_000)
    expect(main.get_by_test_id("stPlotlyChart").first).to_be_visible()
    expect(main.get_by_test_id("stImage").first).to_be_visible()  # the gallery
    screenshot(page, "evaluate-digits")
    assert_no_exception(page)

    goto_page(page, app_server, "Predict")
    digit = open_images("sample:digits").decode(7)[..., 0]
    png = tmp_path / "digit.png"
    Image.fromarray(digit).save(png)
    upload(page, png)
    metric = page.get_by_test_id("stMetric").filter(has_text="Predicted class").first
    expect(metric).to_be_visible(timeout=60_000)
    shown = metric.get_by_test_id("stMetricValue").inner_text().strip()

    page.get_by_role("tab", name=re.compile("Export")).click()
    wait_idle(page)
    page.get_by_role("button", name=re.compile("TFLite|TensorFlow Lite", re.IGNORECASE)).first.click()
    wait_idle(page)
    button = page.get_by_role("button", name=re.compile("Download model.tflite"))
    expect(button).to_be_visible(timeout=120_000)
    with page.expect_download() as info:
        button.click()
    path = tmp_path / "model.tflite"
    info.value.save_as(path)
    screenshot(page, "export-tflite")

    interp = tf.lite.Interpreter(model_path=str(path))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], digit[None, ..., None].astype("float32"))
    interp.invoke()
    out = interp.get_tensor(interp.get_output_details()[0]["index"])
    assert str(int(np.argmax(out))) == shown
    assert_no_exception(page)
