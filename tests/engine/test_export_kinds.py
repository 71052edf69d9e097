"""Export beyond images: a series model to TFLite and SavedModel (checked against Keras on a raw
window), a table model's SavedModel on a raw row, the reason text/table models get no TFLite file,
and the CLI's `evaluate` and `export`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from layerlab.errors import LayerlabError
from layerlab.export import export_run

pytestmark = pytest.mark.slow  # every test reads a run trained by a module fixture or digits_run

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # every test here reads a real trained run


def _train(tmp_path_factory, sample: str, epochs: int):
    from layerlab.project import new_project
    from layerlab.runs.store import RunStore
    from layerlab.train.trainer import run_training

    store = RunStore(tmp_path_factory.mktemp(f"{sample}-runs"))
    run = run_training(store, store.create(new_project(f"sample:{sample}").edit(**{"train.epochs": epochs})).id)
    assert run.status == "completed", run.message
    return run


@pytest.fixture(scope="module")
def sunspots_run(tmp_path_factory):
    return _train(tmp_path_factory, "sunspots", 3)


@pytest.fixture(scope="module")
def penguins_run(tmp_path_factory):
    return _train(tmp_path_factory, "penguins", 3)


def _saved_model(zip_path: str, folder: Path):
    import tensorflow as tf

    zipfile.ZipFile(zip_path).extractall(folder)
    return tf.saved_model.load(str(folder / "model" / "1")).signatures["serving_default"]


def test_a_series_model_converts_to_tflite_and_forecasts_like_keras(sunspots_run, tmp_path):
    import tensorflow as tf

    from layerlab.inference.predictor import load_predictor

    out = export_run(sunspots_run.path, "tflite", tmp_path / "m.tflite")
    assert out["max_abs_diff"] < 1e-3
    pred = load_predictor(sunspots_run.path)
    window = np.asarray(pred.info.extra["last_window"], dtype="float32")
    interp = tf.lite.Interpreter(model_path=out["path"])
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], window[None])
    interp.invoke()
    got = interp.get_tensor(interp.get_output_details()[0]["index"])
    want = np.asarray(pred.model(window[None], training=False))
    assert got.shape == want.shape and np.allclose(got, want, atol=1e-3)


def test_a_series_savedmodel_forecasts_like_keras(sunspots_run, tmp_path):
    from layerlab.inference.predictor import load_predictor

    out = export_run(sunspots_run.path, "savedmodel", tmp_path / "sm.zip")
    serve = _saved_model(out["path"], tmp_path / "sm")
    pred = load_predictor(sunspots_run.path)
    window = np.asarray(pred.info.extra["last_window"], dtype="float32")[None]
    (got,) = serve(**{next(iter(serve.structured_input_signature[1])): window}).values()
    assert np.allclose(np.asarray(got), np.asarray(pred.model(window, training=False)), atol=1e-4)


def test_a_table_savedmodel_takes_a_raw_row(penguins_run, tmp_path):
    import tensorflow as tf

    from layerlab.inference.predictor import load_predictor
    from layerlab.samples import get_sample

    out = export_run(penguins_run.path, "savedmodel", tmp_path / "sm.zip")
    serve = _saved_model(out["path"], tmp_path / "sm")
    pred = load_predictor(penguins_run.path)
    row = get_sample("penguins").load().drop(columns=["species"]).dropna().iloc[[10]]
    inputs = {}
    for name, spec in serve.structured_input_signature[1].items():
        col = next(c for c in pred.info.extra["columns"] if c["input"] == name)
        value = row[col["name"]].iloc[0]
        inputs[name] = tf.constant([[str(value)]] if spec.dtype == tf.string else [[float(value)]], dtype=spec.dtype)
    (got,) = serve(**inputs).values()
    want = pred.predict_rows(row)[0]["probabilities"]
    assert np.allclose(np.asarray(got)[0], [want[n] for n in pred.info.class_names], atol=1e-4)


def test_tflite_for_a_table_model_is_refused_saying_why(penguins_run, tmp_path):
    with pytest.raises(LayerlabError) as caught:
        export_run(penguins_run.path, "tflite", tmp_path / "m.tflite")
    assert "not available for table models" in caught.value.message
    assert "TensorFlow Lite cannot run" in caught.value.message
    assert "SavedModel" in caught.value.hint and not (tmp_path / "m.tflite").exists()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "layerlab", *args], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ), timeout=600)


def test_cli_evaluate_prints_the_runs_test_metrics(digits_run):
    r = _cli("evaluate", str(digits_run.path))
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    saved = json.loads((digits_run.path / "evaluation.json").read_text())
    assert got["task"] == "classification" and got["accuracy"] == saved["accuracy"]
    assert got["baseline_accuracy"] == saved["baseline_accuracy"] and got["n_test"] == saved["n_test"]
    assert len(got["confusion_matrix"]) == 10 and len(got["per_class"]) == 10


def test_cli_export_writes_each_format(digits_run, tmp_path):
    from layerlab.inference.predictor import load_model_file

    for fmt, name in (("keras", "m.keras"), ("savedmodel", "m.zip"), ("tflite", "m.tflite")):
        r = _cli("export", str(digits_run.path), "--format", fmt, "-o", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["format"] == fmt and Path(out["path"]).stat().st_size > 1000
    assert load_model_file(tmp_path / "m.keras").output_shape == (None, 10)
    assert "model/1/saved_model.pb" in zipfile.ZipFile(tmp_path / "m.zip").namelist()


@pytest.mark.parametrize("args, words", [
    (["evaluate", "/no/such/run"], "holds no evaluation"),
    (["export", "/no/such/run", "-o", "x.keras"], "There is no run '/no/such/run'"),
    (["export", "RUN", "--format", "onnx", "-o", "x.onnx"], "invalid choice"),
])
def test_cli_evaluate_and_export_refuse_bad_arguments_with_exit_2(digits_run, args, words):
    r = _cli(*[str(digits_run.path) if a == "RUN" else a for a in args])
    assert r.returncode == 2 and r.stderr.startswith("error: ") and words in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
