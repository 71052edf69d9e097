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
    from layerlab.models.start_from import check_fit, start_from_run
    from layerlab.project import describe_data
    from layerlab.train.trainer import run_training

    store, run, tmp = earlier
    spec = start_from_run(_project(_zip(tmp / "second.zip", range(4, 7), seed=1)), run, "all-but-1")
    assert spec.model.start_from_run == run.id
    assert [layer.name for layer in spec.model.layers] == ["00_conv2d", "01_maxpooling2d", "02_flatten", "03_dense"]
    assert [layer.trainable for layer in spec.model.layers] == [False, False, False, True]
    check_fit(spec, describe_data(spec), run)  # fits: no error
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
    from layerlab.models.start_from import check_fit, start_from_run
    from layerlab.project import describe_data
    from layerlab.train.trainer import run_training

    store, run, tmp = earlier
    spec = start_from_run(_project(_zip(tmp / "third.zip", range(4, 6), seed=2)), run, "all")
    spec = spec.edit(**{"prepare.image.height": 16, "prepare.image.width": 16})  # Flatten then gives more values
    with pytest.raises(LayerlabError, match=r"Dense \(layer 4, `03_dense`\) cannot take the weights"):
        check_fit(spec, describe_data(spec), run)  # what Build shows before training, without loading weights
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
        with pytest.raises(LayerlabError, match="did not finish with a model"):
            start_from_run(new_project("sample:penguins"), store.get(run.id))
    finally:
        store.update(run.id, status="completed")


# ---- from a .keras file -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_path(earlier: tuple[Any, Any, Path]) -> Path:
    """A .keras file made 'elsewhere': the earlier run's core model (trained), saved on its own."""
    from layerlab.inference.predictor import load_model_file
    from layerlab.models.start_from import _core_of

    _, run, tmp = earlier
    path = tmp / "colleague.keras"
    _core_of(load_model_file(run.files.model_path)).save(path)
    return path


@pytest.mark.slow
def test_start_from_a_keras_file_cut_at_a_layer_trains_and_saves_the_block(earlier: tuple[Any, Any, Path],
                                                                            keras_path: Path) -> None:
    import keras

    from layerlab.inference.predictor import load_predictor
    from layerlab.models import keras_file
    from layerlab.train.trainer import run_training

    store, run, tmp = earlier
    stored = keras_file.store("colleague.keras", keras_path.read_bytes())
    assert [name for name, _ in keras_file.cut_points(stored)] == ["00_conv2d", "01_maxpooling2d", "02_flatten",
                                                                   "03_dense"]
    project = _project(_zip(tmp / "file.zip", range(4, 6), seed=3)).edit(**{"train.epochs": 1})
    spec = keras_file.start_from_file(project, stored, "01_maxpooling2d", "none")
    assert [(x.type, x.trainable) for x in spec.model.layers] == [("keras_file", True),
                                                                  ("GlobalAveragePooling2D", True)]
    with pytest.raises(LayerlabError, match="has no layer `nope` to cut at; it has: 00_conv2d, 01_maxpooling2d"):
        keras_file.start_from_file(project, stored, "nope")
    new = run_training(store, store.create(spec).id)
    assert new.status == "completed", new.message
    e2e = keras.saving.load_model(new.files.model_path, compile=False, safe_mode=True)  # the block loads back
    inner = next(layer for layer in e2e.layers if hasattr(layer, "layers")).get_layer("00_keras_file")
    assert [layer.name for layer in inner.layers][-1] == "01_maxpooling2d"
    rgb = np.random.default_rng(0).integers(0, 255, size=(20, 30, 3), dtype=np.uint8)  # raw pixels, another size
    answer = load_predictor(new.path).predict_files([_png(tmp / "any.png", rgb)])
    assert "error" not in answer[0], answer


def _png(path: Path, img: np.ndarray) -> str:
    path.write_bytes(encode(img, "PNG"))
    return str(path)


def test_a_file_that_does_not_take_the_data_names_the_layer_and_shapes(tmp_path: Path, tiny_info: Any,
                                                                        tiny_spec: Any) -> None:
    import keras

    from layerlab.models import keras_file
    from layerlab.models.build import check_model

    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Conv2D(2, 3, name="conv"),
                              keras.layers.Flatten(name="flat"), keras.layers.Dense(2, name="out")])
    model.save(tmp_path / "m.keras")
    stored = keras_file.store("m.keras", (tmp_path / "m.keras").read_bytes())
    info = tiny_info("images", shape=(8, 8, 1))
    spec = keras_file.start_from_file(tiny_spec(info), stored, "conv")
    report = check_model(spec, info)
    assert not report.ok and report.error_index == 0
    assert "keras_file (layer 1) takes inputs of shape (6, 6, 3) (the model in m.keras)" in report.error
    assert "(8, 8, 1)" in report.error
    with pytest.raises(LayerlabError, match="Lambda"):
        keras_file.store("lam.keras", _lambda_model(tmp_path))
    with pytest.raises(LayerlabError, match="Invalid model file name"):
        keras_file.block("../../etc/passwd")


def _lambda_model(tmp: Path) -> bytes:
    import keras

    inp = keras.Input((3,))
    keras.Model(inp, keras.layers.Lambda(lambda x: x * 2)(inp)).save(tmp / "lam.keras")
    return (tmp / "lam.keras").read_bytes()


# ---- the command line ---------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_init_start_from_a_run_or_a_file(earlier: tuple[Any, Any, Path], keras_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from layerlab.cli import main
    from layerlab.spec import load_spec

    store, run, tmp = earlier
    data = str(_zip(tmp / "cli.zip", range(4, 6), seed=4))
    out = tmp / "cli.json"
    assert main(["init", "--data", data, "--start-from", run.id, "--runs-dir", str(store.root),
                 "--freeze", "all-but-1", "-o", str(out)]) == 0
    spec = load_spec(out)
    assert spec.model.start_from_run == run.id
    assert [x.trainable for x in spec.model.layers] == [False, False, False, True]
    assert f"--runs-dir {store.root}" in capsys.readouterr().out
    assert main(["init", "--data", data, "--start-from", str(run.path), "-o", str(out)]) == 0  # by its folder
    assert main(["init", "--data", data, "--start-from", str(keras_path), "--cut", "02_flatten", "-o", str(out)]) == 0
    assert [x.type for x in load_spec(out).model.layers] == ["keras_file"]
    capsys.readouterr()
    by_id = ("--start-from", run.id, "--runs-dir", str(store.root))
    bad = {(*by_id, "--freeze", "most"): "Expected all, none or all-but-K",
           (*by_id, "--cut", "x"): "Invalid argument `--cut`",
           ("--freeze", "all",): "--freeze and --cut go with --start-from",
           ("--start-from", "20990101-000000-abcdef",): "There is no run",
           ("--start-from", str(tmp / "missing.keras")): "There is no file",
           ("--start-from", str(keras_path), "--cut", "nope"): "has no layer `nope`"}
    for args, words in bad.items():
        assert main(["init", "--data", data, *args, "-o", str(tmp / "bad.json")]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and words in err[0], (args, err)


def test_a_file_block_round_trips_in_a_saved_model_and_in_the_generated_code(tmp_path: Path, tiny_info: Any,
                                                                              tiny_spec: Any,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import keras

    from layerlab.codegen.model_code import model_code
    from layerlab.models import keras_file
    from layerlab.models.build import build_model

    made = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(3, 3, name="conv"),
                             keras.layers.GlobalAveragePooling2D(name="pool"), keras.layers.Dense(2, name="out")])
    made.save(tmp_path / "made.keras")
    stored = keras_file.store("made.keras", (tmp_path / "made.keras").read_bytes())
    info = tiny_info("images", shape=(8, 8, 1))
    spec = keras_file.start_from_file(tiny_spec(info), stored)  # default cut: before the file's output layer
    assert spec.model.layers[0].params["cut_at"] == "pool" and len(spec.model.layers) == 1
    model = build_model(spec, info)
    np.testing.assert_array_equal(model.get_layer("00_keras_file").get_layer("conv").get_weights()[0],
                                  made.get_layer("conv").get_weights()[0])
    model.save(tmp_path / "whole.keras")
    again = keras.saving.load_model(tmp_path / "whole.keras", safe_mode=True)
    x = np.random.default_rng(0).random((2, 8, 8, 1), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), rtol=1e-6)
    code = model_code(spec, info)
    assert "keras.saving.load_model(model_file('made.keras'), compile=False)" in code
    monkeypatch.chdir(tmp_path)  # the script loads the file by the name it was uploaded with
    scope: dict[str, Any] = {}
    exec(compile(code, "model.py", "exec"), scope)  # noqa: S102 - the code Layerlab generated
    built = scope["build_model"]()
    assert built.count_params() == model.count_params()
    # Frozen as build_model freezes it: the file's layers inside the block too, not only the block.
    assert len(built.trainable_weights) == len(model.trainable_weights) == 2  # the head's


@pytest.mark.slow
def test_a_project_naming_another_sessions_run_copies_nothing_from_it(earlier: tuple[Any, Any, Path]) -> None:
    from layerlab.models.build import build_model
    from layerlab.models.start_from import copy_start_weights, start_from_run

    store, run, tmp = earlier
    spec = start_from_run(_project(_zip(tmp / "other.zip", range(4, 6), seed=5)), run)
    info = run.files.info()
    store.update(run.id, owner="a" * 16)
    try:
        with pytest.raises(LayerlabError, match="no longer exists"):
            copy_start_weights(build_model(spec, info), spec, info, store, print, owner="b" * 16)
        assert copy_start_weights(build_model(spec, info), spec, info, store, print, owner="a" * 16) == 4
    finally:
        store.update(run.id, owner=None)


def _finished(store: Any, spec: Any) -> Any:
    """A run of `spec` marked finished, with its data described and a model file (for checks that load none)."""
    from layerlab.project import describe_data

    run = store.create(spec)
    describe_data(spec).save(run.files.path("info.json"))
    run.files.model_path.write_bytes(b"a model")
    store.update(run.id, status="completed")
    return store.get(run.id)


def test_tables_need_the_same_columns_and_text_the_same_texts(tmp_path: Path) -> None:
    from layerlab.models.start_from import check_fit, start_from_run
    from layerlab.project import describe_data, new_project
    from layerlab.runs.store import RunStore

    store = RunStore(tmp_path / "runs")
    penguins = new_project("sample:penguins")
    spec = start_from_run(penguins, _finished(store, penguins), "none")
    check_fit(spec, describe_data(spec), store.get(spec.model.start_from_run))  # the same columns fit
    diabetes = start_from_run(new_project("sample:diabetes"), store.get(spec.model.start_from_run))
    with pytest.raises(LayerlabError, match=r"read other input columns than this data gives \(it had bill_length_mm"):
        check_fit(diabetes, describe_data(diabetes), store.get(spec.model.start_from_run))

    csv = tmp_path / "reviews.csv"
    csv.write_text("review,label\n" + "".join(f"good film {i},pos\nbad film {i},neg\n" for i in range(30)))
    reviews = new_project(str(csv), text="review", target="label")
    tweets = _finished(store, new_project("sample:tweets"))
    with pytest.raises(LayerlabError, match="learned its vocabulary from other texts"):
        start_from_run(reviews, tweets)
