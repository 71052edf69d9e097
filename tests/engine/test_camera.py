"""Camera pictures → an image data set: class names, counts, refusals, and the zip it becomes in the uploads."""

from __future__ import annotations

import io

import numpy as np
import pytest

from layerlab import workspace
from layerlab.data import camera
from layerlab.data.images import open_images
from layerlab.errors import DataError
from layerlab.project import new_project

SESSION = "0123456789abcdef"


def _picture(value: int, fmt: str = "JPEG", size: tuple[int, int] = (32, 24)) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(value)
    pixels = np.clip(rng.normal(value, 20, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path))
    return tmp_path


def test_pictures_become_an_uploaded_zip_with_a_folder_per_class(home):
    pictures = {"red mug": [_picture(40 + i) for i in range(3)], "Stift": [_picture(200 + i, "PNG") for i in range(2)],
                "pingüino": [_picture(120)]}
    source = camera.save_pictures(SESSION, pictures)
    assert workspace.is_own_upload(source.path, SESSION) and source.path.suffix == ".zip"
    assert source.display_name == camera.UPLOAD_NAME
    assert workspace.uploaded_files(SESSION) == [source.path]
    images = open_images(str(source))
    assert images.counts() == {"Stift": 2, "pingüino": 1, "red mug": 3}
    assert sorted(f.name for f in images.files) == ["001.jpg", "001.jpg", "001.png", "002.jpg", "002.png", "003.jpg"]
    assert images.decode(0).shape == (24, 32, 3) and not images.skipped
    # The same pictures are the same file; the project opens it like an uploaded zip.
    assert camera.save_pictures(SESSION, pictures) == source
    spec = new_project(str(source), name="Camera pictures")
    assert (spec.data.kind, spec.data.source, spec.name) == ("images", str(source.path.resolve()), "Camera pictures")


@pytest.mark.parametrize("name, why", [
    ("", "needs a name"), ("   ", "needs a name"), ("a/b", "slash"), ("back\\slash", "slash"), ("tab\there", "control"),
    (".hidden", "hidden or system"), ("__MACOSX", "hidden or system"), ("x" * 41, "the limit is 40"),
    ("MUG", "already a class named `mug`"),
])
def test_class_names_that_cannot_be_folders_or_repeat_are_refused(name, why):
    with pytest.raises(DataError, match=why) as caught:
        camera.class_name(name, ["mug", "pen"])
    assert caught.value.hint


def test_class_names_are_kept_trimmed_in_any_language():
    assert camera.class_name("  red pen ") == "red pen"
    assert camera.class_name("café", ["cafe"]) == "café"
    assert camera.class_name("猫", ["犬"]) == "猫"


def test_an_empty_class_or_a_single_class_is_refused_with_a_message(home):
    with pytest.raises(DataError, match="The class `pen` has no pictures yet") as caught:
        camera.pictures_zip({"mug": [_picture(1)], "pen": []})
    assert "Take at least one picture" in caught.value.hint
    with pytest.raises(DataError, match="at least two classes; there is 1"):
        camera.pictures_zip({"mug": [_picture(1)]})
    with pytest.raises(DataError, match="already a class"):
        camera.pictures_zip({"mug": [_picture(1)], " Mug ": [_picture(2)]})
    assert not workspace.uploaded_files(SESSION)  # nothing is kept when the pictures are refused


def test_a_picture_that_is_not_an_image_is_refused_naming_it(home, monkeypatch):
    with pytest.raises(DataError, match="Picture 2 of `pen` is not an image we can read"):
        camera.pictures_zip({"mug": [_picture(1)], "pen": [_picture(2), b"%PDF-1.4 not a picture"]})
    with pytest.raises(DataError, match="is a TIFF image; PNG, JPEG"):
        camera.picture_extension(_picture(3, "TIFF"))
    monkeypatch.setenv("LAYERLAB_IMAGE_PIXELS", "500")
    with pytest.raises(DataError, match="The picture: the image has more pixels than the limit of 500"):
        camera.picture_extension(_picture(4))


def test_more_pictures_than_the_limit_are_refused(home, monkeypatch):
    monkeypatch.setattr(camera, "MAX_PICTURES", 3)
    with pytest.raises(DataError, match="4 pictures; the limit is 3") as caught:
        camera.pictures_zip({"mug": [_picture(1)] * 2, "pen": [_picture(2)] * 2})
    assert "upload them" in caught.value.hint


def test_classes_and_pictures_are_added_checked(monkeypatch):
    pictures: dict[str, list[bytes]] = {}
    assert camera.add_class(pictures, " mug ") == "mug"
    camera.add_picture(pictures, "mug", _picture(1))
    with pytest.raises(DataError, match="already a class named `mug`"):
        camera.add_class(pictures, "Mug")
    with pytest.raises(DataError, match="The picture of `mug` is not an image we can read"):
        camera.add_picture(pictures, "mug", b"hello")
    with pytest.raises(DataError, match="no class named `pen`"):
        camera.add_picture(pictures, "pen", _picture(2))
    monkeypatch.setattr(camera, "MAX_PICTURES", 2)
    camera.add_picture(pictures, "mug", _picture(3))
    with pytest.raises(DataError, match="2 pictures already"):
        camera.add_picture(pictures, "mug", _picture(4))
    assert {k: len(v) for k, v in pictures.items()} == {"mug": 2}
