"""Photos start from the pretrained MobileNetV3Small (issue #18: "the default for photos") when its weights are at
hand, prepared at the size it was trained on; small or grayscale images, and photos on a server that has no
weights and cannot download them, start from the small CNN as before (a new project can always train)."""

from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layerlab.models import backbones
from layerlab.models.backbones import Weights
from layerlab.project import new_project


def photo_zip(path: Path, size: tuple[int, int], mode: str = "RGB", per_class: int = 4) -> str:
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w") as zf:
        for name in ("mug", "pen"):
            for i in range(per_class):
                shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
                buf = BytesIO()
                Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(buf, "JPEG" if mode == "RGB"
                                                                                         else "PNG")
                zf.writestr(f"{name}/{i}.{'jpg' if mode == 'RGB' else 'png'}", buf.getvalue())
    return str(path)


@pytest.fixture
def weights(monkeypatch, tmp_path):
    """What the server has: `weights.have` (a file for MobileNetV3Small) and `weights.online` (download possible)."""
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path / "home"))

    class State:
        have = False
        online = False

    def find(name, owner=None):
        return Weights(tmp_path / "w.h5", True) if State.have and name == "MobileNetV3Small" else None

    monkeypatch.setattr(backbones, "find_weights", find)
    monkeypatch.setattr(backbones, "download_possible", lambda file: State.online)
    return State


def test_photos_start_pretrained_at_its_size_when_the_weights_are_here(weights, tmp_path):
    weights.have = True
    spec = new_project(photo_zip(tmp_path / "desk.zip", (640, 480)))
    assert spec.model.template == "mobilenet_v3_small"
    backbone = spec.model.layers[0]
    assert backbone.type == "Backbone" and backbone.params["architecture"] == "MobileNetV3Small"
    assert backbone.params["weights"] == "imagenet" and backbone.trainable is False
    assert (spec.prepare.image.height, spec.prepare.image.width, spec.prepare.image.color) == (224, 224, "rgb")
    assert backbones.size_note(spec) is None, "Build has nothing to say about the size"


def test_photos_start_pretrained_when_the_weights_can_be_downloaded(weights, tmp_path):
    weights.online = True
    assert new_project(photo_zip(tmp_path / "desk.zip", (320, 240))).model.template == "mobilenet_v3_small"


def test_photos_without_weights_offline_start_from_the_small_cnn(weights, tmp_path):
    spec = new_project(photo_zip(tmp_path / "desk.zip", (640, 480)))
    assert spec.model.template == "small_cnn"
    assert (spec.prepare.image.height, spec.prepare.image.width) == (48, 64), "the usual size cap"
    assert backbones.unavailable_weights(spec) == [], "it can train"


@pytest.mark.parametrize(("size", "mode"), [((64, 64), "RGB"), ((320, 240), "L"), ((90, 200), "RGB")])
def test_small_or_grayscale_images_start_from_the_small_cnn_even_with_weights(weights, tmp_path, size, mode):
    weights.have = weights.online = True
    assert new_project(photo_zip(tmp_path / "small.zip", size, mode)).model.template == "small_cnn"


def test_a_chosen_template_and_the_samples_are_left_alone(weights, tmp_path):
    weights.have = True
    spec = new_project(photo_zip(tmp_path / "desk.zip", (640, 480)), template="deeper_cnn")
    assert spec.model.template == "deeper_cnn" and spec.prepare.image.height == 48
    assert new_project("sample:digits").model.template == "small_cnn"


def test_build_advises_the_pretrained_template_for_photos_only(weights, tmp_path):
    from layerlab.kinds.images import photo_advice
    from layerlab.project import with_template

    photos = new_project(photo_zip(tmp_path / "desk.zip", (640, 480)))
    advice = photo_advice(photos)
    assert "Pretrained MobileNetV3 Small" in advice and "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5" in advice
    weights.have = True
    assert "cannot download" not in photo_advice(photos), "with the weights here it only names the template"
    assert photo_advice(with_template(photos, "mobilenet_v3_small")) is None, "already pretrained"
    assert photo_advice(new_project(photo_zip(tmp_path / "small.zip", (32, 32)))) is None, "not photos"
    assert photo_advice(new_project("sample:digits")) is None


def test_size_fix_prepares_photos_at_the_backbones_size_and_leaves_small_images_alone(weights, tmp_path):
    from layerlab.project import with_template

    photos = with_template(new_project(photo_zip(tmp_path / "desk.zip", (640, 480))), "mobilenet_v3_small")
    fix = backbones.size_fix(photos)
    assert fix == {"prepare.image.height": 224, "prepare.image.width": 224}
    assert backbones.size_note(photos.edit(**fix)) is None and backbones.size_fix(photos.edit(**fix)) is None
    assert backbones.size_fix(new_project(photo_zip(tmp_path / "desk2.zip", (640, 480)))) is None, "no backbone"
    assert backbones.size_fix(new_project("sample:digits", template="mobilenet_v3_small")) is None, "no detail"
