"""Prepare page: image size and colour, split, augmentation steps and their preview."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.param_widgets import widget_kind
from layerlab.prep.augment import AUGMENTATIONS
from layerlab.data.images import open_images
from layerlab.data.split import split_indices
from layerlab.models.layers import LAYERS
from layerlab.project import new_project
from layerlab.spec import load_spec

pytestmark = pytest.mark.usefixtures("home")  # a fresh LAYERLAB_HOME per test (tests/pages/conftest.py)

PAGE = "pages/prepare.py"


@pytest.fixture
def digits(app):
    """The Prepare page open on the digits sample."""
    return app(PAGE, state={"project": new_project("sample:digits")})


def _spec(at):
    return at.session_state["project"]


def _saved(at, home: Path):
    return load_spec(home / "projects" / f"{at.session_state['pid']}.json")


def test_prepare_needs_data_first(app):
    at = app(PAGE)

    assert not at.exception
    assert at.title[0].value == "Prepare"
    assert "No data chosen yet" in at.info[0].value
    assert [p.proto.label for p in at.get("page_link")] == ["Choose data"]


def test_prepare_shows_the_project_settings(digits):
    at = digits

    assert not at.exception and not at.error
    assert at.number_input(key="prepare.prepare.image.height").value == 8
    assert at.number_input(key="prepare.prepare.image.width").value == 8
    assert at.selectbox(key="prepare.prepare.image.color").value == "grayscale"
    assert at.toggle(key="prepare.prepare.image.rescale").value is True
    assert at.slider(key="prepare.prepare.split.validation").value == pytest.approx(0.15)
    assert at.slider(key="prepare.prepare.split.test").value == pytest.approx(0.15)
    assert at.number_input(key="prepare.prepare.split.seed").value == 42
    assert {m.label: m.value for m in at.metric}["Training share"] == "70%"
    sizes = split_indices(1797, _spec(at).prepare.split, open_images("sample:digits").labels).sizes()
    assert f"**{sizes['train']:,}** images to train on · **{sizes['validation']:,}** to validate" in " ".join(
        c.value for c in at.caption)
    assert "8 × 8 × 1" in " ".join(c.value for c in at.caption)
    # no augmentation yet: the preview shows the prepared images of four classes
    assert "No augmentation yet" in " ".join(c.value for c in at.caption)
    preview = at.get("image")
    assert len(preview) == 1 and len(preview[0].proto.imgs) == 4
    assert [i.caption for i in preview[0].proto.imgs] == ["class 0", "class 2", "class 4", "class 6"]


def test_changing_the_image_size_and_colour_updates_the_project(digits, home: Path):
    at = digits
    at.number_input(key="prepare.prepare.image.height").set_value(16).run()
    at.selectbox(key="prepare.prepare.image.color").set_value("rgb").run()

    assert not at.exception and not at.error
    image = _spec(at).prepare.image
    assert (image.height, image.width, image.color) == (16, 8, "rgb")
    assert _saved(at, home).prepare.image.height == 16, "the change is saved on disk"
    assert "16 × 8 × 3" in " ".join(c.value for c in at.caption)
    assert len(_spec(at).model.layers) == len(new_project("sample:digits").model.layers), "the layers are kept"


def test_a_split_that_leaves_too_little_training_data_is_refused(digits):
    at = digits
    at.slider(key="prepare.prepare.split.validation").set_value(0.5).run()
    assert _spec(at).prepare.split.validation == pytest.approx(0.5)
    assert {m.label: m.value for m in at.metric}["Training share"] == "35%"

    at.slider(key="prepare.prepare.split.test").set_value(0.4).run()

    assert not at.exception
    assert "must leave at least 30% of the data for training" in at.error[0].value
    assert "Value error" not in at.error[0].value
    assert _spec(at).prepare.split.test == pytest.approx(0.15), "the refused value is not kept"
    assert at.slider(key="prepare.prepare.split.test").value == pytest.approx(0.15), "the slider snaps back"
    at.run()
    assert not at.error, "the message is shown once"


def test_augmentation_steps_can_be_added_tuned_previewed_and_removed(digits):
    at = digits
    at.selectbox(key="prepare.add_step").set_value("rotation")
    at.button(key="prepare.add").click().run()

    assert not at.exception and not at.error
    steps = _spec(at).prepare.augment
    assert [s.type for s in steps] == ["rotation"] and steps[0].params == {"degrees": 10.0}
    # the preview: four images, each followed by four random versions
    rows = at.get("image")
    assert len(rows) == 4 and all(len(r.proto.imgs) == 5 for r in rows)
    assert rows[0].proto.imgs[0].caption.endswith("as prepared") and rows[0].proto.imgs[4].caption == "variant 4"
    # the step's own widget, generated from its registry Param
    degrees = at.slider(key="prepare.aug.0.rotation.degrees")
    assert degrees.value == 10.0 and "Largest turn" in degrees.help
    degrees.set_value(25.0).run()
    assert _spec(at).prepare.augment[0].params["degrees"] == 25.0
    # a second step; the add list offers the unused ones first
    assert "rotation" not in at.selectbox(key="prepare.add_step").options
    at.selectbox(key="prepare.add_step").set_value("flip")
    at.button(key="prepare.add").click().run()
    assert [s.type for s in _spec(at).prepare.augment] == ["rotation", "flip"]
    assert at.selectbox(key="prepare.aug.1.flip.mode").value == "horizontal"

    at.button(key="prepare.aug.0.remove").click().run()

    assert not at.exception
    assert [s.type for s in _spec(at).prepare.augment] == ["flip"]
    assert at.selectbox(key="prepare.aug.0.flip.mode").value == "horizontal", "widgets follow the step"


def test_new_examples_reshuffles_the_preview(digits):
    at = digits
    before = [i.url for i in at.get("image")[0].proto.imgs]
    at.button(key="prepare.reshuffle").click().run()

    assert not at.exception
    after = [i.url for i in at.get("image")[0].proto.imgs]
    assert len(after) == 4 and after != before, "other images of the same classes"


# ---- the widget generator -----------------------------------------------------------------------


@pytest.mark.parametrize(("registry", "entry", "param", "kind"), [
    (LAYERS, "Dense", "units", "number"),          # 1–8192: too many steps for a slider
    (LAYERS, "Conv2D", "kernel_size", "slider"),   # 1–15
    (LAYERS, "Dense", "activation", "selectbox"),
    (LAYERS, "Dense", "l2", "number"),             # 0–1 in steps of 1e-4
    (LAYERS, "Dropout", "rate", "slider"),
    (LAYERS, "Reshape", "target_shape", "text"),
    (LAYERS, "LSTM", "return_sequences", "toggle"),
    (AUGMENTATIONS, "zoom", "fraction", "slider"),
    (AUGMENTATIONS, "flip", "mode", "selectbox"),
])
def test_widget_kind_follows_the_param(registry, entry, param, kind):
    assert widget_kind(registry.get(entry).param(param)) == kind
