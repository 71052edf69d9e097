"""Data page, Images from the camera: naming classes, taking pictures, counts, removing pictures, and using
them as the data. Some tests start with pictures already taken (the component's session key); the browser test
tests/e2e/test_camera.py takes them with Chromium's fake camera.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from components.camera_capture import ACTIVE, PICTURES
from tests.pages.markdown import plain

pytestmark = pytest.mark.usefixtures("home")

CAMERA_TAB = {"data.source_tab": ":material/photo_camera: Images from the camera"}


def _jpeg(value: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (value, 255 - value, 90)).save(out, format="JPEG")
    return out.getvalue()


def _name_class(at, name: str):
    at.text_input(key="data.camera.new_name").input(name)
    at.button[[b.label for b in at.button].index("Add class")].click()
    return at.run()


def _button(at, key: str):
    return next(b for b in at.button if b.key == key)


def _said(at, what: str = "markdown") -> str:
    return plain(" ".join(e.value for e in getattr(at, what)))


def test_classes_are_named_by_the_engines_rules_and_the_camera_opens_for_the_last(app):
    at = app("pages/data.py", state=CAMERA_TAB)
    assert "the camera opens once a class is named" in _said(at, "info")
    _name_class(at, " mug ")
    _name_class(at, "red pen")
    assert not at.exception, at.exception
    assert list(at.session_state[PICTURES]) == ["mug", "red pen"]
    assert at.radio(key=ACTIVE).value == "red pen"  # the class just named is the one to photograph
    assert "**mug** · 0 pictures" in _said(at) and "**red pen** · 0 pictures" in _said(at)
    _name_class(at, "MUG")
    assert "There is already a class named `mug`" in _said(at, "error")
    _name_class(at, "a/b")
    assert "slash" in _said(at, "error")
    assert list(at.session_state[PICTURES]) == ["mug", "red pen"]


def test_pictures_are_counted_removed_and_used_as_an_uploaded_zip(app, home: Path):
    pictures = {"mug": [_jpeg(10), _jpeg(20), _jpeg(30)], "pen": []}
    at = app("pages/data.py", state={**CAMERA_TAB, PICTURES: pictures})
    assert "**mug** · 3 pictures" in _said(at) and "**pen** · 0 pictures" in _said(at)

    # An empty class is refused in words; nothing becomes the project.
    _button(at, "data.camera.use").click()
    at.run()
    assert "The class `pen` has no pictures yet" in _said(at, "error")
    assert "project" not in at.session_state or at.session_state["project"] is None

    at.session_state[PICTURES]["pen"].extend([_jpeg(200), _jpeg(220)])
    _button(at, "data.camera.remove.0.1").click()  # the second picture of mug
    at.run()
    assert at.session_state[PICTURES]["mug"] == [_jpeg(10), _jpeg(30)]
    assert "**mug** · 2 pictures" in _said(at) and "**pen** · 2 pictures" in _said(at)

    _button(at, "data.camera.use").click()
    at.run()
    assert not at.exception, at.exception
    spec = at.session_state["project"]
    assert (spec.name, spec.data.kind) == ("Camera pictures", "images")
    assert Path(spec.data.source).parent == home / "uploads" / at.session_state["pid"]
    assert {m.label: m.value for m in at.metric}["Classes"] == "2"
    assert "Your uploaded files (1)" in [e.label for e in at.expander]  # listed and deletable like an upload


def test_removing_a_class_drops_its_pictures(app):
    at = app("pages/data.py", state={**CAMERA_TAB, PICTURES: {"mug": [_jpeg(1)], "pen": [_jpeg(2)], "cup": []}})
    _button(at, "data.camera.drop.0").click()
    at.run()
    assert list(at.session_state[PICTURES]) == ["pen", "cup"]
    assert at.radio(key=ACTIVE).options == ["pen", "cup"]


def _shoot(at, data: bytes):
    at.camera_input[0].set_value(("image.jpg", data, "image/jpeg"))
    return at.run()


def test_each_picture_taken_is_added_to_the_chosen_class_and_the_camera_is_ready_again(app):
    at = app("pages/data.py", state=CAMERA_TAB)
    _name_class(at, "mug")
    _name_class(at, "pen")
    at.radio(key=ACTIVE).set_value("mug").run()
    assert at.camera_input[0].label == "Take a picture of mug"
    _shoot(at, _jpeg(10))
    _shoot(at, _jpeg(20))
    assert not at.exception, at.exception
    assert at.camera_input[0].key == "data.camera.shot.2"  # a new, empty camera after each picture
    at.radio(key=ACTIVE).set_value("pen").run()
    _shoot(at, _jpeg(200))
    assert {k: len(v) for k, v in at.session_state[PICTURES].items()} == {"mug": 2, "pen": 1}
    assert "**mug** · 2 pictures" in _said(at) and "**pen** · 1 picture" in _said(at)
    assert len(at.image) >= 3  # the thumbnails

    _shoot(at, b"\xff\xd8 not really a jpeg")
    assert "The picture of `pen` is not an image we can read" in _said(at, "error")
    assert len(at.session_state[PICTURES]["pen"]) == 1


def test_hostile_class_names_are_shown_as_typed(app):
    from tests.pages.markdown import HOSTILE, markup_findings
    from tests.pages.test_markup_every_page import bodies

    names = [HOSTILE["bold"], HOSTILE["latex"], HOSTILE["html"]]
    at = app("pages/data.py", state={**CAMERA_TAB, PICTURES: {n: [_jpeg(i * 50)] for i, n in enumerate(names)}})
    _name_class(at, HOSTILE["bold"])  # refused as a repeat: the message quotes it
    assert not at.exception, at.exception
    texts = [text for _, text in bodies(at)] + [c.label for c in at.camera_input]
    assert not [(f, t[:80]) for t in texts for f in markup_findings(t)]
    shown = "\n".join(texts).replace("\\", "")
    assert all(n in shown for n in names)
