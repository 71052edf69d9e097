"""The standalone training script runs in a fresh Python, without Layerlab, and trains the same project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from layerlab.codegen.script import training_script
from layerlab.errors import LayerlabError
from layerlab.project import describe_data, new_project

SAMPLES = ["digits", "penguins", "diabetes", "tweets", "sunspots", "co2"]


def _script(source: str, **edits) -> str:
    spec = new_project(source)
    if edits:
        spec = spec.edit(**edits)
    return training_script(spec, describe_data(spec))


def _run(script: str, cwd: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the script the way a user would: another folder, no PYTHONPATH, so no `layerlab` to import."""
    path = cwd / "train.py"
    path.write_text(script, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LAYERLAB_HOME", "LAYERLAB_RUNS_DIR")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    proc = subprocess.run([sys.executable, str(path), "--epochs", "1", "--out", str(cwd / "model.keras"), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_layerlab_is_not_importable_where_the_script_runs(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", "import layerlab"], cwd=tmp_path, env=env, capture_output=True)
    assert proc.returncode != 0  # so the runs below prove the scripts stand alone


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_kind_gives_a_script_that_compiles_and_names_no_layerlab_import(sample: str):
    script = _script(f"sample:{sample}")

    compile(script, f"{sample}.py", "exec")
    assert "from layerlab" not in script and "import layerlab" not in script
    assert "def build_model(input_shape" in script and "def main()" in script
    assert f"DATA = 'sample:{sample}'" in script


def test_the_docstring_lists_what_to_install():
    assert "pip install keras tensorflow numpy pillow scikit-learn" in _script("sample:digits")
    assert "palmerpenguins" in _script("sample:penguins")


@pytest.mark.slow
def test_digits_script_trains_and_saves_a_model_that_takes_raw_pixels(tmp_path: Path):
    proc = _run(_script("sample:digits"), tmp_path)

    assert "1797 images of 10 classes" in proc.stdout
    assert "Test: " in proc.stdout and "accuracy" in proc.stdout
    import keras

    model = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    out = np.asarray(model(np.zeros((2, 32, 32, 1), "float32")))  # any size, like Layerlab's model.keras
    assert out.shape == (2, 10) and np.allclose(out.sum(axis=1), 1, atol=1e-4)


@pytest.mark.slow
def test_table_script_prepares_like_layerlab_and_saves_an_end_to_end_model(tmp_path: Path):
    script = _script("sample:penguins", **{"prepare.augment": [{"type": "gaussian_noise", "params": {}}],
                                          "prepare.class_weights": True, "train.lr_schedule": "cosine",
                                          "train.early_stopping_patience": 2})
    proc = _run(script, tmp_path)

    # Same columns and encoding as Layerlab (numbers first, categories one-hot).
    assert "7 input columns encoded as 14 values per row" in proc.stdout
    assert "Test: " in proc.stdout
    from layerlab.inference.predictor import load_model_file  # Layerlab's own loader, safe mode: the layers are its own

    model = load_model_file(tmp_path / "model.keras")
    assert model.output_shape == (None, 3)
    assert sorted(model.input) == sorted(f"c{i}_{n}" for i, n in enumerate(
        ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"]))


@pytest.mark.slow
def test_text_file_script_reads_the_file_with_pandas(tmp_path: Path):
    import pandas as pd

    rng = np.random.default_rng(0)
    good, bad = ["great", "lovely", "happy", "fine"], ["awful", "sad", "broken", "late"]
    rows = [{"review": " ".join(rng.choice(good if k else bad, 5)), "label": "pos" if k else "neg"}
            for k in rng.integers(0, 2, 200)]
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame(rows).to_csv(data / "reviews.csv", index=False)
    spec = new_project(str(data / "reviews.csv"), text="review", target="label")
    script = training_script(spec, describe_data(spec))
    work = tmp_path / "work"
    work.mkdir()

    proc = _run(script, work)
    assert "Vocabulary:" in proc.stdout and "Test: " in proc.stdout
    assert "classes: ['neg', 'pos']" in proc.stdout


@pytest.mark.slow
def test_image_zip_script_reads_the_images_with_pil(tmp_path: Path):
    from tests.engine.imagezips import make_class_zip

    data = tmp_path / "data"
    data.mkdir()
    zip_path = make_class_zip(data / "shapes.zip", classes=3, per_class=20, size=24, wrapper="shapes")
    spec = new_project(str(zip_path))
    work = tmp_path / "work"
    work.mkdir()

    proc = _run(training_script(spec, describe_data(spec)), work)
    assert "60 images of 3 classes" in proc.stdout and "Test: " in proc.stdout
    import keras

    model = keras.saving.load_model(work / "model.keras", compile=False)
    assert model.output_shape == (None, 3)


@pytest.mark.slow
def test_series_script_forecasts_the_next_steps(tmp_path: Path):
    proc = _run(_script("sample:sunspots"), tmp_path)

    assert "309 steps of ['sunspots']" in proc.stdout
    assert "the next 5 step(s) of ['sunspots']" in proc.stdout


def test_an_unknown_kind_is_refused():
    from layerlab.data.info import DataInfo

    spec = new_project("sample:digits")
    spec.data.__dict__["kind"] = "audio"  # not a kind the spec allows: the function still refuses it
    with pytest.raises(LayerlabError, match="audio"):
        training_script(spec, DataInfo("images", "classification", (8, 8, 1), [str(i) for i in range(10)]))
