"""`export --format tfserving`: the DIR/NAME/<version>/ layout TensorFlow Serving loads, read back with
TensorFlow's own loader: the `serving_default` signature takes the same raw inputs as the .keras model
and predicts what Keras predicts (1e-5), for an image, a table and a text run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from layerlab.export import export_run

pytestmark = pytest.mark.slow  # every test reads a real trained run

ROOT = Path(__file__).resolve().parents[2]


def _train(store, spec):
    from layerlab.train.trainer import run_training

    run = run_training(store, store.create(spec.edit(**{"train.epochs": 1})).id)
    assert run.status == "completed", run.message
    return run


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from layerlab.runs.store import RunStore

    return RunStore(tmp_path_factory.mktemp("tfserving-runs"))


@pytest.fixture(scope="module")
def penguins_run(store):
    from layerlab.project import new_project

    return _train(store, new_project("sample:penguins"))


@pytest.fixture(scope="module")
def text_run(store, tmp_path_factory):
    from layerlab.project import new_project
    from layerlab.samples import get_sample

    frame = get_sample("tweets").load().groupby("sentiment").head(150).reset_index(drop=True)[["text", "sentiment"]]
    path = tmp_path_factory.mktemp("tweets") / "tweets.csv"
    frame.to_csv(path, index=False)
    return _train(store, new_project(str(path), text="text", target="sentiment").edit(**{"prepare.text.vocab_size": 2000}))


def _serving_default(folder: Path):
    import tensorflow as tf

    assert (folder / "saved_model.pb").is_file() and (folder / "variables").is_dir()
    return tf.saved_model.load(str(folder)).signatures["serving_default"]


def _inputs(fn) -> dict:
    return {k: (v.dtype.name, tuple(v.shape)) for k, v in fn.structured_input_signature[1].items()}


def _only_output(fn, **inputs) -> np.ndarray:
    (out,) = fn(**inputs).values()
    return np.asarray(out)


def test_an_image_run_exports_versioned_folders_that_predict_like_keras(digits_run, tmp_path):
    from layerlab.inference.predictor import load_predictor

    pred = load_predictor(digits_run.path)
    first = export_run(digits_run.path, "tfserving", tmp_path, name="digits")
    assert first["path"] == str(tmp_path / "digits" / "1") and first["version"] == 1
    fn = _serving_default(tmp_path / "digits" / "1")
    assert _inputs(fn) == {"pixels": ("float32", (None, *pred.info.input_shape))}
    (out_spec,) = fn.structured_outputs.values()
    assert out_spec.dtype.name == "float32" and tuple(out_spec.shape) == (None, len(pred.info.class_names))

    rng = np.random.default_rng(0)
    pixels = rng.uniform(0, 255, (4, *pred.info.input_shape)).astype("float32")
    want = np.asarray(pred.model(pixels, training=False))
    np.testing.assert_allclose(_only_output(fn, pixels=pixels), want, atol=1e-5)

    second = export_run(digits_run.path, "tfserving", tmp_path, name="digits")  # DIR/NAME/1 exists: version 2
    assert second["version"] == 2 and (tmp_path / "digits" / "2" / "saved_model.pb").is_file()
    assert sorted(p.name for p in (tmp_path / "digits").iterdir()) == ["1", "2"]  # no half-written folder left


def test_a_table_run_takes_raw_named_columns(penguins_run, tmp_path):
    import tensorflow as tf

    from layerlab.inference import inputs
    from layerlab.inference.predictor import load_predictor
    from layerlab.samples import get_sample

    pred = load_predictor(penguins_run.path)
    out = export_run(penguins_run.path, "tfserving", tmp_path)
    assert out["name"] == "Palmer_penguins" == Path(out["path"]).parent.name  # the project's name by default
    fn = _serving_default(Path(out["path"]))
    assert set(_inputs(fn)) == set(pred.model.input) and all(s == (None, 1) for _, s in _inputs(fn).values())

    raw = inputs.rows(get_sample("penguins").load().head(5), pred.info.extra["columns"])  # what the .keras takes
    batch = {k: tf.constant(np.asarray(v).astype(str) if np.asarray(v).dtype == object else np.asarray(v))
             for k, v in raw.items()}
    batch = {k: tf.reshape(tf.cast(v, fn.structured_input_signature[1][k].dtype) if v.dtype != tf.string else v,
                           (-1, 1)) for k, v in batch.items()}
    want = np.asarray(pred.outputs(raw))
    np.testing.assert_allclose(_only_output(fn, **batch), want, atol=1e-5)


def test_a_text_run_takes_strings_not_floats(text_run, tmp_path):
    """keras#19396 warns that a TextVectorization SavedModel may take floats: ours takes strings."""
    import tensorflow as tf

    from layerlab.inference.predictor import load_predictor

    pred = load_predictor(text_run.path)
    fn = _serving_default(Path(export_run(text_run.path, "tfserving", tmp_path, name="tweets")["path"]))
    assert _inputs(fn) == {"text": ("string", (None, 1))}
    texts = ["what a great flight, thank you", "worst service ever", "the car drove itself"]
    got = _only_output(fn, text=tf.constant([[t] for t in texts]))
    want = np.asarray(pred.outputs(texts))
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_the_command_line_takes_a_run_id_and_refuses_a_bad_one(digits_run, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs_dir = str(digits_run.path.parent)
    done = subprocess.run([sys.executable, "-m", "layerlab", "export", digits_run.id, "--format", "tfserving",
                           "-o", str(tmp_path), "--name", "digits", "--runs-dir", runs_dir],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["path"] == str(tmp_path / "digits" / "1") and "serving_default" in summary["signature"]
    for args, words in ((["no-such-run"], "There is no run 'no-such-run'"),
                        ([digits_run.id, "--name", "../up"], "Invalid model name")):
        bad = subprocess.run([sys.executable, "-m", "layerlab", "export", *args, "--format", "tfserving",
                              "-o", str(tmp_path), "--runs-dir", runs_dir],
                             capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
        assert bad.returncode == 2 and f"error: {words}" in bad.stderr, bad.stderr
