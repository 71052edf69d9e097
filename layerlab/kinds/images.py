"""Images: a zip (or folder) with one folder of images per class."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from layerlab.data.info import DataInfo
from layerlab.kinds.base import DataKind
from layerlab.spec import ProjectSpec


def describe(spec: ProjectSpec, frame: Any = None) -> DataInfo:
    from layerlab.data.images import open_images

    src = open_images(spec.data.source)
    prep = spec.prepare.image
    return DataInfo(kind="images", task="classification",
                    input_shape=(prep.height, prep.width, 1 if prep.color == "grayscale" else 3),
                    class_names=list(src.class_names), extra={"pixel_max": 1.0 if prep.rescale else 255.0})


# Photos start from the pretrained network issue #18 names as the default for photos.
PHOTO_TEMPLATE, PHOTO_ARCHITECTURE = "mobilenet_v3_small", "MobileNetV3Small"


def start(spec: ProjectSpec) -> dict[str, Any]:
    """Photos start from a pretrained MobileNetV3Small, prepared at the size it was trained on, when its weights
    are on this server or can be downloaded now; otherwise (offline, no file) they start from the small CNN, as
    other images do, so that a new project can always train (Build then says what the pretrained one needs)."""
    from layerlab.models import backbones

    if not looks_like_photos(spec.data.source):
        return {}
    arch = backbones.architecture(PHOTO_ARCHITECTURE)
    if backbones.find_weights(arch.name) is None and not backbones.download_possible(arch.weights_file()):
        return {}
    return {"model.template": PHOTO_TEMPLATE, "prepare.image.height": arch.size, "prepare.image.width": arch.size}


def photo_advice(spec: ProjectSpec, owner: str | None = None) -> str | None:
    """For Build: photos on a model without a pretrained backbone learn far less from a few dozen pictures per
    class; say which template helps and, when its weights are not here, that Build shows where to get them."""
    from layerlab.models import backbones
    from layerlab.models.templates import TEMPLATES

    if spec.data.kind != "images" or backbones.pretrained(spec.model.layers) or not looks_like_photos(spec.data.source):
        return None
    arch = backbones.architecture(PHOTO_ARCHITECTURE)
    text = (f"These look like photos: the template “{TEMPLATES.get(PHOTO_TEMPLATE).title}” starts from a network "
            "that learned from ImageNet's photos, and usually learns far more from a few dozen pictures per class "
            "than a model trained from scratch.")
    if backbones.find_weights(arch.name, owner) is None and not backbones.download_possible(arch.weights_file()):
        file = arch.weights_file()
        text += (f" This server does not have its weights file (`{file.name}`) and cannot download it: apply the "
                 "template, and Build says where to put the file or lets you upload it.")
    return text


def looks_like_photos(source: str) -> bool:
    """Whether the images at `source` are photos (`ImageSource.looks_like_photos`); remembered per file version,
    as Build asks on every change."""
    path = Path(source)
    try:
        stamp = path.stat().st_mtime_ns if path.exists() else 0
    except OSError:
        stamp = 0
    return _photos(source, stamp)


@lru_cache(maxsize=64)
def _photos(source: str, stamp: int) -> bool:
    from layerlab.data.images import open_images
    from layerlab.errors import LayerlabError

    try:
        return open_images(source).looks_like_photos()
    except LayerlabError:
        return False


def prepare(spec: ProjectSpec, progress: Any = None) -> Any:
    from layerlab.prep.prepare import prepare_images

    return prepare_images(spec, progress)


KIND = DataKind(name="images", input_parser="image", title="Images", examples="images", describe=describe, prepare=prepare,
                default_template="small_cnn", tabular=False, start=start)
