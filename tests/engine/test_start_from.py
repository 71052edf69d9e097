"""Transfer learning from an earlier run or a .keras file: a new head, the earlier weights, frozen layers."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerlab.errors import LayerlabError
from layerlab.models.start_from import freeze_layers, parse_freeze
from layerlab.spec import LayerSpec
from tests.engine.imagezips import class_image, encode

BODY = [{"type": "Conv2D", "params": {"filters": 4, "kernel_size": 3}},
        {"type": "MaxPooling2D", "params": {}},
        {"type": "Flatten", "params": {}},
        {"type": "Dense", "params": {"units": 8}}]


def _zip(path: Path, classes: range, per_class: int = 10, size: int = 16, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w") as zf:
        for k in classes:
            for i in range(per_class):
                zf.writestr(f"class_{k}/img_{i:03d}.png", encode(class_image(k, rng, size), "PNG"))
    return path


def _project(source: Path, epochs: int = 2) -> Any:
    from layerlab.project import new_project

    spec = new_project(str(source))
    return spec.edit(**{"model.layers": BODY, "prepare.image.height": 12, "prepare.image.width": 12,
                        "train.epochs": epochs, "train.early_stopping_patience": 0})


def _weights(model_path: Path) -> dict[str, list[np.ndarray]]:
    """Each core layer's weights in a run's end-to-end model, by name."""
    from layerlab.inference.predictor import load_model_file
    from layerlab.models.start_from import _core_of

    core = _core_of(load_model_file(model_path))
    return {layer.name: layer.get_weights() for layer in core.layers}


# ---- freeze choices (no TensorFlow) -------------------------------------------------------------


def test_freeze_choices() -> None:
    layers = [LayerSpec(type="Dense") for _ in range(4)]
    assert [x.trainable for x in freeze_layers(layers, "all")] == [False] * 4
    assert [x.trainable for x in freeze_layers(layers, "none")] == [True] * 4
    assert [x.trainable for x in freeze_layers(layers, "all-but-1")] == [False, False, False, True]
    assert [x.trainable for x in freeze_layers(layers, "all-but-9")] == [True] * 4
    assert parse_freeze(" ALL ") == 0
    for bad in ("some", "all-but-", "all-but--1", "all_but_2", ""):
        with pytest.raises(LayerlabError, match="Expected all, none or all-but-K"):
            parse_freeze(bad)


# ---- from an earlier run ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def earlier(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Path]:
    """A finished run on classes 0–3 (tiny images, 2 epochs), its store, and a folder for more data."""
    from layerlab.runs.store import RunStore
    from layerlab.train.trainer import run_training

    tmp = tmp_path_factory.mktemp("start-from")
    store = RunStore(tmp / "runs")
    run = run_training(store, store.create(_project(_zip(tmp / "first.zip", range(4)))).id)
    assert run.status == "completed", run.message
    return store, run, tmp


@pytest.mark.slow
def test_new_head_on_other_classes_starts_from_the_earlier_weights(earlier: tuple[Any, Any, Path]) -> None:
    from layerlab.models.start_from import start_from_run
    from layerlab.train.trainer import run_training

    store, run, tmp = earlier
    spec = start_from_run(_project(_zip(tmp / "second.zip", range(4, 7), seed=1)), run, "all-but-1")
    assert spec.model.start_from_run == run.id
    assert [layer.name for layer in spec.model.layers] == ["00_conv2d", "01_maxpooling2d", "02_flatten", "03_dense"]
    assert [layer.trainable for layer in spec.model.layers] == [False, False, False, True]
    new = run_training(store, store.create(spec).id)
    assert new.status == "completed", new.message
    assert "Starting from run" in new.files.log_tail()
    before, after = _weights(run.files.model_path), _weights(new.files.model_path)
    for w0, w1 in zip(before["00_conv2d"], after["00_conv2d"]):  # frozen: exactly the earlier weights
        np.testing.assert_array_equal(w0, w1)
    assert not all(np.array_equal(a, b) for a, b in zip(before["03_dense"], after["03_dense"]))  # trainable: learnt
    assert after["head"][0].shape == (8, 3)  # a new head for 3 classes (the earlier one had 4)


@pytest.mark.slow
def test_weights_that_cannot_fit_name_the_layer_and_both_shapes(earlier: tuple[Any, Any, Path]) -> None:
    from layerlab.models.start_from import start_from_run
    from layerlab.train.trainer import run_training

    store, run, tmp = earlier
    spec = start_from_run(_project(_zip(tmp / "third.zip", range(4, 6), seed=2)), run, "all")
    spec = spec.edit(**{"prepare.image.height": 16, "prepare.image.width": 16})  # Flatten then gives more values
    failed = run_training(store, store.create(spec).id)
    assert failed.status == "failed"
    assert "Dense (layer 4, `03_dense`) cannot take the weights of run" in failed.message
    assert "(144, 8), (8), here (256, 8), (8)" in failed.message
    assert "12×12×3" in failed.message  # the hint says which size the earlier run used


@pytest.mark.slow
def test_another_data_kind_or_an_unfinished_run_is_refused(earlier: tuple[Any, Any, Path]) -> None:
    from layerlab.models.start_from import start_from_run
    from layerlab.project import new_project

    store, run, _ = earlier
    with pytest.raises(LayerlabError, match="learned from images data, but this project's data is table"):
        start_from_run(new_project("sample:penguins"), run)
    store.update(run.id, status="failed")
    try:
        with pytest.raises(LayerlabError, match="has not finished training"):
            start_from_run(new_project("sample:penguins"), store.get(run.id))
    finally:
        store.update(run.id, status="completed")
