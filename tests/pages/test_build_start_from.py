"""Build page: start from an uploaded .keras file cut at a layer, and the frozen-layer checkboxes."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerlab.project import new_project
from tests.pages.markdown import plain

pytestmark = pytest.mark.usefixtures("home", "keras_loaded")

PAGE = "pages/build.py"


def _spec(at):
    return at.session_state["project"]


def _button(at, key: str):
    return next(b for b in at.button if b.key == key)


def _made_elsewhere(tmp_path: Path) -> bytes:
    """A tiny model for 8×8 grayscale images, as a colleague would save it."""
    import keras

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, padding="same", name="conv"),
                              keras.layers.MaxPooling2D(name="pool"), keras.layers.Flatten(name="flat"),
                              keras.layers.Dense(10, activation="softmax", name="digits")])
    model.save(tmp_path / "colleague.keras")
    return (tmp_path / "colleague.keras").read_bytes()


def test_start_from_an_uploaded_keras_file_cut_at_a_layer(app, tmp_path: Path) -> None:
    at = app(PAGE, state={"project": new_project("sample:digits")})
    at.radio(key="build.start.kind").set_value("A .keras file").run()
    at.get("file_uploader")[0].set_value(("colleague.keras", _made_elsewhere(tmp_path), "application/octet-stream"))
    at.run()
    assert not at.exception
    cut = at.selectbox(key="build.start.cut")
    assert cut.options == ["conv → (8, 8, 4)", "pool → (4, 4, 4)", "flat → (64,)"]
    cut.set_value("pool").run()
    _button(at, "build.start.file_apply").click().run()
    assert not at.exception and not at.error
    layers = _spec(at).model.layers
    assert [(x.type, x.params.get("cut_at"), x.trainable) for x in layers] == [
        ("keras_file", "pool", False), ("GlobalAveragePooling2D", None, True)]
    assert any("fits the data" in s.value for s in at.success)


def test_a_file_that_is_not_a_model_is_refused_in_words(app) -> None:
    at = app(PAGE, state={"project": new_project("sample:digits")})
    at.radio(key="build.start.kind").set_value("A .keras file").run()
    at.get("file_uploader")[0].set_value(("notes.keras", b"not a zip at all", "application/octet-stream"))
    at.run()
    assert not at.exception
    assert any("notes.keras is not a Keras model file" in plain(e.value) for e in at.error)


def test_frozen_checkboxes_and_all_but_k(app) -> None:
    at = app(PAGE, state={"project": new_project("sample:digits")})
    count = len(_spec(at).model.layers)
    boxes = [c for c in at.checkbox if c.key and c.key.startswith("build.frozen.")]
    assert len(boxes) == count and not any(c.value for c in boxes)
    boxes[0].check().run()
    assert [x.trainable for x in _spec(at).model.layers] == [False] + [True] * (count - 1)
    at.number_input(key="build.frozen.k").set_value(2).run()
    _button(at, "build.frozen.apply").click().run()
    assert [x.trainable for x in _spec(at).model.layers] == [False] * (count - 2) + [True, True]
    boxes = [c for c in at.checkbox if c.key and c.key.startswith("build.frozen.")]
    assert [c.value for c in boxes] == [True] * (count - 2) + [False, False]  # the boxes follow the change
    assert not at.exception
