"""The standalone training script runs in a fresh Python, without Layerlab, and trains the same project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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


# ---- a frozen part and two phases; a start from a .keras file or an earlier run ---------------------------


def _made_keras(path: Path) -> Path:
    """A colleague's model for 8×8 digits: convolutions with a batch normalisation among them."""
    import keras

    keras.utils.set_random_seed(1)
    keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, padding="same", name="c1"),
                      keras.layers.BatchNormalization(name="bn"), keras.layers.Conv2D(4, 3, padding="same", name="c2"),
                      keras.layers.Conv2D(6, 3, padding="same", name="c3"), keras.layers.GlobalAveragePooling2D(name="gap"),
                      keras.layers.Dense(3, name="out")], name="colleague").save(path)
    return path


def _file_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fine_tune_layers: int = 2):
    from layerlab.models import keras_file

    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path / "home"))
    made = _made_keras(tmp_path / "made.keras")
    stored = keras_file.store("made.keras", made.read_bytes())
    spec = keras_file.start_from_file(new_project("sample:digits"), stored, "c3", "all")
    return spec.edit(**{"train.fine_tune_layers": fine_tune_layers, "train.early_stopping_patience": 0}), made


def _earlier_run_project(fine_tune_layers: int = 1):
    """The digits project started from an earlier run (frozen but for its last layer), as Build makes it."""
    from layerlab.models.start_from import built_names, freeze_layers

    spec = new_project("sample:digits")
    body = list(spec.model.layers)
    named = [x.model_copy(update={"name": n}) for x, n in zip(body, built_names(body))]
    return spec.edit(**{"model.layers": [x.model_dump(mode="json") for x in freeze_layers(named, "all-but-1")],
                        "model.start_from_run": "20261207-093000-abcdef",
                        "train.fine_tune_layers": fine_tune_layers, "train.early_stopping_patience": 0})


def test_a_frozen_part_gives_a_script_with_two_phases_that_says_what_it_needs(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch):
    spec, _ = _file_project(tmp_path, monkeypatch)
    script = training_script(spec, describe_data(spec))
    compile(script, "file.py", "exec")
    assert "load_model(model_file('made.keras'), compile=False)" in script
    assert "x = frozen(keras.Model(made_elsewhere.inputs" in script  # frozen after it is made, as build_model does
    assert "put it beside this script" in script and "phase 2 unfreezes the top 2" in script
    assert "def unfreeze_top(core" in script and "--fine-tune-epochs N" in script and "START_FROM_RUN = ''" in script

    spec = _earlier_run_project()
    script = training_script(spec, describe_data(spec))
    compile(script, "run.py", "exec")
    assert "START_FROM_RUN = '20261207-093000-abcdef'" in script and "--start-from EARLIER.keras" in script
    assert "START_FROM_LAYERS = ['00_conv2d', '01_maxpooling2d', '02_conv2d'" in script

    from layerlab.codegen.templates.model_file import model_file

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="put gone.keras beside this script"):
        model_file("gone.keras")
    assert model_file("made.keras") == "made.keras"


def _layer_weights(model: Any, names: list[str]) -> dict[str, list[np.ndarray]]:
    """Weights of the named layers wherever they sit in nested models."""
    found = {}
    for layer in model._flatten_layers(include_self=False):
        if layer.name in names and layer.name not in found:
            found[layer.name] = [np.asarray(w) for w in layer.get_weights()]
    return found


def _changed(before: dict, after: dict) -> set[str]:
    return {name for name in before if not all(np.array_equal(a, b) for a, b in zip(before[name], after[name]))}


@pytest.mark.slow
def test_a_file_project_script_changes_exactly_the_top_layers_in_phase_2(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch):
    import keras

    spec, made = _file_project(tmp_path, monkeypatch)
    work = tmp_path / "work"
    work.mkdir()
    (work / "made.keras").write_bytes(made.read_bytes())  # beside the script, as its docstring asks
    proc = _run(training_script(spec, describe_data(spec)), work, "--fine-tune-epochs", "1")

    assert "Phase 2 (fine-tuning) starts after epoch 1: unfroze the top 2 layer(s) of the frozen part (c2, c3); " \
           "batch normalisation stays frozen" in proc.stdout
    names = ["c1", "bn", "c2", "c3"]
    before = _layer_weights(keras.saving.load_model(made, compile=False), names)
    after = _layer_weights(keras.saving.load_model(work / "model.keras", compile=False), names)
    assert _changed(before, after) == {"c2", "c3"}  # phase 1 left the frozen block alone; phase 2 the rest of it


@pytest.mark.slow
def test_an_earlier_run_project_script_needs_its_model_then_copies_and_fine_tunes(tmp_path: Path):
    import keras

    from layerlab.models.build import build_model
    from layerlab.prep.prepare import prepare

    earlier_spec = new_project("sample:digits")
    keras.utils.set_random_seed(3)
    prepared = prepare(earlier_spec)  # the earlier run's end-to-end model, as training saves it (untrained here)
    prepared.inference_model(build_model(earlier_spec, prepared.info)).save(tmp_path / "earlier.keras")
    spec = _earlier_run_project(fine_tune_layers=1)
    script = training_script(spec, describe_data(spec))

    path = tmp_path / "train.py"
    path.write_text(script, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LAYERLAB_HOME", "LAYERLAB_RUNS_DIR")}
    missing = subprocess.run([sys.executable, str(path), "--epochs", "1"], check=False, cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode != 0 and "Predict → Export → model.keras" in missing.stderr, missing.stderr[-2000:]

    proc = _run(script, tmp_path, "--fine-tune-epochs", "1", "--start-from", str(tmp_path / "earlier.keras"))
    assert "Starting from run 20261207-093000-abcdef: 7 layer(s) took its weights; new head." in proc.stdout
    # Frozen: 00_conv2d, 02_conv2d and 05_dense (the weight-holding ones); phase 2 unfreezes the top one.
    assert "unfroze the top 1 layer(s) of the frozen part (05_dense)" in proc.stdout
    names = ["00_conv2d", "02_conv2d", "05_dense"]
    before = _layer_weights(keras.saving.load_model(tmp_path / "earlier.keras", compile=False), names)
    after = _layer_weights(keras.saving.load_model(tmp_path / "model.keras", compile=False), names)
    assert _changed(before, after) == {"05_dense"}
