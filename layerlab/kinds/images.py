"""Images: a zip (or folder) with one folder of images per class."""

from __future__ import annotations

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


def prepare(spec: ProjectSpec, progress: Any = None) -> Any:
    from layerlab.prep.prepare import prepare_images

    return prepare_images(spec, progress)


KIND = DataKind(name="images", input_parser="image", title="Images", examples="images", describe=describe, prepare=prepare,
                default_template="small_cnn", tabular=False)
