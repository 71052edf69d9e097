"""Build with a pretrained backbone on a server without internet: the block, the missing file, the uploader."""

from __future__ import annotations

import pytest

from layerlab.models.backbones import GIVEN
from layerlab.project import new_project
from tests.pages.markdown import plain

pytestmark = pytest.mark.usefixtures("home", "keras_loaded")

PAGE = "pages/build.py"
FILE = "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"
KEY = "build.weights.MobileNetV3Small"


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("LAYERLAB_WEIGHTS_DOWNLOAD", "0")


def _texts(elements) -> str:
    return plain(" ".join(e.value for e in elements))


def test_missing_weights_are_named_and_an_upload_ends_the_message(app, offline, tmp_path):
    from tests.engine.test_backbones import make_weights_file

    at = app(PAGE, state={"project": new_project("sample:digits", template="mobilenet_v3_small")})

    assert not at.exception
    errors = _texts(at.error)
    assert FILE in errors and "keras/models" in errors and "upload" in errors
    # One state: the check does not call the model ready while Train would refuse it.
    assert not any("ready to train" in s.value for s in at.success)
    assert "cannot train yet: the ImageNet weights of MobileNetV3Small" in _texts(at.warning)
    assert "frozen" in _texts(at.caption) and "157 layers" in _texts(at.caption)
    assert "prepared at 8×8 pixels" in _texts(at.info)  # digits are tiny next to MobileNet's 224

    make_weights_file(tmp_path / "mine.h5")
    data = (tmp_path / "mine.h5").read_bytes()
    at.file_uploader(key=f"{KEY}.file").set_value(("mine.h5", data, "application/x-hdf5")).run()
    assert "not the file Keras expects" in _texts(at.error)  # a different hash: not without the user's word
    at.checkbox(key=f"{KEY}.anyway").check().run()

    assert not at.exception
    assert FILE not in _texts(at.error)
    assert GIVEN in _texts(at.warning) and GIVEN in _texts(at.caption)
    assert any("ready to train" in s.value for s in at.success)
    assert "cannot train yet" not in _texts(at.warning)

    # The file was not Keras' own: it is this session's, and another session still lacks the weights.
    other = app(PAGE, state={"project": new_project("sample:digits", template="mobilenet_v3_small")})
    assert not other.exception
    assert FILE in _texts(other.error) and "cannot train yet" in _texts(other.warning)
    assert GIVEN not in _texts(other.caption) + _texts(other.warning)


def test_photos_on_a_cnn_from_scratch_get_the_pretrained_template_named(app, offline, tmp_path):
    from tests.engine.test_photo_default import photo_zip

    photos = new_project(photo_zip(tmp_path / "desk.zip", (640, 480)))
    assert photos.model.template == "small_cnn"  # offline, without the weights: a project that can train
    at = app(PAGE, state={"project": photos})

    assert not at.exception
    infos = _texts(at.info)
    assert "These look like photos" in infos and "Pretrained MobileNetV3 Small" in infos and FILE in infos
    assert any("ready to train" in s.value for s in at.success), "the advice does not stop the small CNN"
    digits = app(PAGE, state={"project": new_project("sample:digits")})
    assert "These look like photos" not in _texts(digits.info)


def test_a_pretrained_template_on_small_prepared_photos_is_one_click_from_its_size(app, offline, tmp_path):
    from layerlab.project import with_template
    from tests.engine.test_photo_default import photo_zip

    photos = with_template(new_project(photo_zip(tmp_path / "desk.zip", (640, 480))), "mobilenet_v3_small")
    at = app(PAGE, state={"project": photos})
    assert not at.exception
    assert "prepared at 48×64 pixels" in _texts(at.info)
    at.button(key="build.size_fix").click().run()

    assert not at.exception
    prep = at.session_state["project"].prepare.image
    assert (prep.height, prep.width) == (224, 224)
    assert "prepared at" not in _texts(at.info) and not [b for b in at.button if b.key == "build.size_fix"]
    # Digits have no detail to gain from a bigger size: the note, no button.
    digits = app(PAGE, state={"project": new_project("sample:digits", template="mobilenet_v3_small")})
    assert "prepared at 8×8 pixels" in _texts(digits.info)
    assert not [b for b in digits.button if b.key == "build.size_fix"]
