import json
import zipfile

import numpy as np
import pytest

from layerlab.errors import LayerlabError
from layerlab.export import export_run

pytestmark = pytest.mark.slow  # every test exports the trained digits_run


def test_keras_copy_loads_in_safe_mode(digits_run, tmp_path):
    from layerlab.predict import load_model_file

    out = export_run(digits_run.path, "keras", tmp_path / "m.keras")
    model = load_model_file(out["path"])
    assert model.output_shape == (None, 10)


def test_savedmodel_zip_has_serving_layout_and_signature(digits_run, tmp_path):
    out = export_run(digits_run.path, "savedmodel", tmp_path / "sm.zip")
    names = zipfile.ZipFile(out["path"]).namelist()
    assert "model/1/saved_model.pb" in names
    assert "pixels" in out["signature"] and "(None, 8, 8, 1)" in out["signature"]


def test_tflite_matches_keras_on_test_images(digits_run, tmp_path):
    import tensorflow as tf

    from layerlab.data.images import open_images
    from layerlab.predict import load_predictor

    out = export_run(digits_run.path, "tflite", tmp_path / "m.tflite")
    assert out["same_top_class"] and out["max_abs_diff"] < 1e-3
    # Load it as a user would and compare the top class with the engine's prediction.
    interp = tf.lite.Interpreter(model_path=out["path"])
    interp.allocate_tensors()
    ev = json.loads((digits_run.path / "evaluation.json").read_text())
    img = open_images("sample:digits").decode(ev["test_indices"][0])
    interp.set_tensor(interp.get_input_details()[0]["index"], img[None].astype("float32"))
    interp.invoke()
    got = interp.get_tensor(interp.get_output_details()[0]["index"])
    pred = load_predictor(digits_run.path).predict_images([img])[0]
    assert str(int(np.argmax(got))) == pred["label"]


def test_unknown_format_and_missing_model(digits_run, tmp_path):
    with pytest.raises(LayerlabError, match="Unknown export format"):
        export_run(digits_run.path, "onnx", tmp_path / "m.onnx")
    with pytest.raises(LayerlabError, match="no trained model"):
        export_run(tmp_path, "keras", tmp_path / "m.keras")
