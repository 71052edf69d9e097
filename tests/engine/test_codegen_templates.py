"""The training script's templates: real modules, and their copies of private engine helpers do what the engine does.

Public engine code is copied into the script as it is (`fill.engine_source`); the few
private helpers the script needs live in templates, so each is run here beside the
engine's own on the same inputs and must give the same results and the same messages.
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pandas as pd
import pytest

from layerlab.codegen import fill
from layerlab.codegen.templates import images as t_images
from layerlab.codegen.templates import labels as t_labels
from layerlab.codegen.templates import project as t_project
from layerlab.codegen.templates import regularizers as t_regularizers
from layerlab.codegen.templates import text as t_text
from layerlab.codegen.templates import training as t_training
from layerlab.errors import DataError, LayerlabError
from layerlab.spec import ImagePrep, LayerSpec, SplitSpec, TextPrep

TEMPLATE_NAMES = [m.name for m in pkgutil.iter_modules(importlib.import_module("layerlab.codegen.templates").__path__)]


def _same(engine_call, template_call):
    """Both return equal values, or both refuse with the same message and hint."""
    try:
        want = engine_call()
    except DataError as exc:
        with pytest.raises(t_project.DataError) as got:
            template_call()
        assert (got.value.message, got.value.hint) == (exc.message, exc.hint)
        return None
    got = template_call()
    return want, got


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_every_template_imports_and_has_one_script_part(name: str):
    importlib.import_module(f"layerlab.codegen.templates.{name}")
    if name != "generated":  # declarations only, never in a script
        text = (fill.TEMPLATES / f"{name}.py").read_text(encoding="utf-8")
        assert text.count(fill.MARKER) == 1
        script_part = text.split(fill.MARKER, 1)[1]
        assert "import layerlab" not in script_part and "from layerlab" not in script_part


def test_a_placeholder_is_filled_by_name_and_a_missing_one_is_a_bug():
    assert fill.template("project", DATA="'sample:digits'").count("DATA = 'sample:digits'") == 1
    with pytest.raises(LayerlabError, match="NOT_THERE"):
        fill.template("project", NOT_THERE="1")


def test_only_public_engine_code_is_copied_and_its_layerlab_imports_are_left_out():
    from layerlab.prep import prepare, tabular

    with pytest.raises(LayerlabError, match="private"):
        fill.engine_source(prepare._natural)
    src = fill.engine_source(tabular.fit_table)
    assert src.startswith("def fit_table(") and "from layerlab" not in src and "import layerlab" not in src


LABEL_CASES = [
    (["cat", "dog", "cat", "bird"], "kind"),
    (["10", "2", "1", "2", "b", "a"], "grade"),  # numbers in numeric order, then text
    ([3, 1, 2, 1, 3.5, 3], "n"),  # (missing targets are dropped before: see the next tests)
    ([True, False, True], "flag"),
    (["only", "only", None], "one"),
    ([None, np.nan], "empty"),
]


@pytest.mark.parametrize(("values", "column"), LABEL_CASES)
def test_label_order_and_refusals_are_the_engines(values, column):
    from layerlab.prep import prepare

    pair = _same(lambda: prepare.labels(pd.Series(values), column), lambda: t_labels.labels(pd.Series(values), column))
    if pair:
        (y1, names1), (y2, names2) = pair
        assert names1 == names2 and np.array_equal(y1, y2)


@pytest.mark.parametrize("column", [None, "", "missing", "a"])
def test_column_checks_are_the_engines(column):
    from layerlab.prep import prepare

    df = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    pair = _same(lambda: prepare.check_column(df, column, "target"), lambda: t_labels.check_column(df, column, "target"))
    if pair:
        assert pair[0] == pair[1]


@pytest.mark.parametrize("target", [[1.0, None, 3.0, None], [1.0, 2.0, 3.0, 4.0], [None, None, None, None]])
def test_rows_without_a_target_are_dropped_as_the_engine_does(target):
    from layerlab.prep import prepare

    df = pd.DataFrame({"x": [1, 2, 3, 4], "y": target})
    notes_engine, notes_template = [], []
    pair = _same(lambda: prepare.drop_missing_target(df, "y", notes_engine),
                 lambda: t_labels.drop_missing_target(df, "y", notes_template))
    if pair:
        pd.testing.assert_frame_equal(pair[0], pair[1])
        assert notes_engine == notes_template


def test_test_duplicates_are_dropped_as_the_engine_does():
    from layerlab.data.split import split_indices
    from layerlab.prep import prepare

    keys = np.array([f"k{i % 37}" if i < 150 else f"unique{i}" for i in range(200)], dtype=object)
    split = split_indices(200, SplitSpec(seed=3))
    notes_engine, notes_template = [], []
    want = prepare._dedupe(split, keys, notes_engine, "rows")
    got = t_labels._dedupe(split, keys, notes_template, "rows")
    assert notes_engine == notes_template and notes_engine
    for part in ("train", "validation", "test"):
        assert np.array_equal(getattr(want, part), getattr(got, part))


def _images():
    """Images in every mode the engine converts (16-bit, palette, transparency, 1-bit, grey, colour)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    rgba = np.dstack([rgb, rng.integers(0, 256, (9, 7), dtype=np.uint8)])
    grey = rgb[..., 0]
    return [
        Image.fromarray(rgb, "RGB"), Image.fromarray(rgba, "RGBA"), Image.fromarray(grey, "L"),
        Image.fromarray(grey, "L").convert("1"), Image.fromarray(rgb, "RGB").convert("P"),
        Image.fromarray(rgba, "RGBA").convert("LA"),
        Image.fromarray((rng.integers(0, 65535, (9, 7))).astype(np.int32), "I"),
    ]


@pytest.mark.parametrize("color", [None, "grayscale", "rgb"])
def test_image_modes_are_converted_as_the_engine_does(color):
    from layerlab.data import images

    for im in _images():
        want = np.asarray(images._to_mode(im.copy(), color))
        got = np.asarray(t_images._to_mode(im.copy(), color))
        assert np.array_equal(want, got), im.mode


@pytest.mark.parametrize("prep", [ImagePrep(height=9, width=7, color="rgb"), ImagePrep(height=16, width=12, color="rgb"),
                                  ImagePrep(height=5, width=5, color="grayscale")])
def test_images_are_resized_as_the_engine_does(prep):
    from layerlab.data import images

    rng = np.random.default_rng(1)
    for arr in (rng.integers(0, 256, (9, 7, 3), dtype=np.uint8), rng.integers(0, 256, (9, 7, 1), dtype=np.uint8)):
        assert np.array_equal(images.resize_array(arr, prep), t_images._resize_array(arr, prep))


def test_pillow_gets_the_engines_pixel_limit():
    from PIL import Image

    from layerlab.data import images

    before = Image.MAX_IMAGE_PIXELS
    try:
        images._configure_pillow(12345)
        want = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        t_images._configure_pillow(12345)
        assert Image.MAX_IMAGE_PIXELS == want == 12345
    finally:
        Image.MAX_IMAGE_PIXELS = before


@pytest.mark.parametrize("lowercase", [True, False])
@pytest.mark.parametrize("strip_punctuation", [True, False])
def test_text_standardisation_is_the_engines(lowercase, strip_punctuation):
    from layerlab.prep import text

    prep = TextPrep(lowercase=lowercase, strip_punctuation=strip_punctuation)
    assert t_text._standardize(prep) == text._standardize(prep)


@pytest.mark.parametrize(("y", "n"), [([0, 1, 1, 1, 2], 3), ([0, 0, 0], 2), ([1, 3, 3], 5)])
def test_class_weights_are_the_engines(y, n):
    from layerlab.train.trainer import _class_weights

    assert t_training._class_weights(np.array(y), n) == _class_weights(np.array(y), n)


@pytest.mark.parametrize(("l1", "l2"), [(0.0, 0.0), (0.01, 0.0), (0.0, 0.02), (0.01, 0.02)])
def test_block_regularizers_are_the_engines(l1, l2):
    from layerlab.models import blocks

    want, got = blocks._l1l2(l1, l2), t_regularizers._l1l2(l1, l2)
    assert (want is None and got is None) or want.get_config() == got.get_config()


@pytest.mark.parametrize("schedule", ["constant", "plateau", "cosine", "exponential"])
@pytest.mark.parametrize("phase", [1, 2])
def test_learning_rate_schedules_are_the_engines(schedule, phase, monkeypatch):
    """Phase 2's schedule starts again at its first epoch, from the lower rate, as the trainer's does."""
    import keras

    from layerlab.project import new_project
    from layerlab.train.phases import phase_2_spec
    from layerlab.train.trainer import _schedule_callbacks

    spec = new_project("sample:digits").edit(**{"train.lr_schedule": schedule, "train.lr_decay": 0.7,
                                                 "train.keep_best_checkpoint": False,
                                                 "train.early_stopping_patience": 0, "train.fine_tune_lr_factor": 0.2})
    monkeypatch.setattr(t_training, "SPEC", t_project._namespace(spec.to_dict()))
    start, rate = (0, None) if phase == 1 else (3, spec.train.learning_rate * spec.train.fine_tune_lr_factor)
    want = _schedule_callbacks(spec if phase == 1 else phase_2_spec(spec), keras, 8, start=start)
    got = t_training.callbacks(8, "unused.weights.h5", start, rate)
    assert [type(c) for c in want] == [type(c) for c in got]
    for w, g in zip(want, got):
        if isinstance(w, keras.callbacks.LearningRateScheduler):
            assert [w.schedule(e, 0.0) for e in range(start, 8)] == [g.schedule(e, 0.0) for e in range(start, 8)]
        else:
            assert (w.factor, w.patience, w.min_lr, w.monitor) == (g.factor, g.patience, g.min_lr, g.monitor)


def test_start_from_weights_are_copied_as_the_engine_copies_them(tmp_path, monkeypatch, tiny_info, tiny_spec):
    """The script's copy of an earlier run's weights takes the same layers as training's (`_pairs`), and refuses
    weights of another shape naming the layer."""
    import keras

    from layerlab.codegen.templates import start_from as t_start_from
    from layerlab.models.build import build_model
    from layerlab.models.start_from import _pairs, built_names, freeze_layers

    info = tiny_info("images", shape=(8, 8, 1), classes=3)
    earlier_spec = tiny_spec(info, [("Conv2D", {"filters": 4, "kernel_size": 3}), ("MaxPooling2D", {}),
                                    ("Flatten", {}), ("Dense", {"units": 6})])
    earlier = build_model(earlier_spec, info)
    raw = keras.Input((None, None, 1), name="pixels")  # wrapped as a run's end-to-end model wraps its core
    keras.Model(raw, earlier(keras.layers.Resizing(8, 8, name="resize")(raw))).save(tmp_path / "earlier.keras")
    body = list(earlier_spec.model.layers)
    named = [x.model_copy(update={"name": n}) for x, n in zip(body, built_names(body))]
    later = [*freeze_layers(named, "all-but-1"), LayerSpec(type="Dense", params={"units": 5})]  # one layer added
    new_info = tiny_info("images", shape=(8, 8, 1), classes=5)  # other classes: a new head
    spec = tiny_spec(new_info).edit(**{"model.layers": [x.model_dump(mode="json") for x in later],
                                       "model.start_from_run": "20261207-093000-abcdef"})
    engine_core, script_core = build_model(spec, new_info), build_model(spec, new_info)
    pairs = _pairs(engine_core, earlier, spec, info, new_info, "earlier")
    for ours, theirs in pairs:
        ours.set_weights(theirs.get_weights())
    monkeypatch.setattr(t_start_from, "START_FROM_RUN", spec.model.start_from_run)
    monkeypatch.setattr(t_start_from, "START_FROM_LAYERS", built_names(list(spec.model.layers)))

    assert t_start_from.copy_start_weights(script_core, str(tmp_path / "earlier.keras")) == len(pairs) == 4
    for a, b in zip(engine_core.layers, script_core.layers):
        if a.name != "head" and a.name in {ours.name for ours, _ in pairs}:
            assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights())), a.name
    wider = [*later[:3], named[3].model_copy(update={"params": {"units": 7}}), later[4]]
    script_core = build_model(spec.edit(**{"model.layers": [x.model_dump(mode="json") for x in wider]}), new_info)
    with pytest.raises(SystemExit, match="`03_dense` cannot take the weights of run 20261207-093000-abcdef"):
        t_start_from.copy_start_weights(script_core, str(tmp_path / "earlier.keras"))
    with pytest.raises(SystemExit, match="--start-from PATH"):
        t_start_from.copy_start_weights(script_core, "")


def test_early_stopping_is_the_engines(monkeypatch):
    """The script stops as training does: same monitor, patience and minimum improvement (trainer.MIN_DELTA)."""
    import keras

    from layerlab.project import new_project
    from layerlab.train import trainer

    spec = new_project("sample:digits").edit(**{"train.lr_schedule": "constant", "train.keep_best_checkpoint": False})
    monkeypatch.setattr(t_training, "SPEC", t_project._namespace(spec.to_dict()))
    got = [c for c in t_training.callbacks(6, "unused.weights.h5") if isinstance(c, keras.callbacks.EarlyStopping)]
    assert len(got) == 1 and got[0].patience == spec.train.early_stopping_patience == 5
    assert abs(got[0].min_delta) == trainer.MIN_DELTA


def test_wrapper_folders_are_descended_as_the_engine_does(tmp_path, monkeypatch):
    from layerlab.codegen.templates import image_folder as t_image_folder
    from layerlab.data import images

    monkeypatch.setattr(t_image_folder, "_IGNORED", sorted(images._IGNORED))
    for layout in (["outer/inner/cats/a.png", "outer/inner/dogs/b.png", "__MACOSX/x"],
                   ["cats/a.png", "dogs/b.png"], ["only/cats/a.png", "only/readme.txt"]):
        root = tmp_path / str(len(list(tmp_path.iterdir())))
        for rel in layout:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(b"")
        assert t_image_folder._class_folders(root) == images._class_root(root)
