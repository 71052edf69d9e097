"""The end-to-end inference model: raw input in, model output out.

Training feeds the core model prepared tensors (fast, XLA-friendly); what we save
wraps the same preparation around it, so a prediction takes what a user has: an
image's pixels of any size, a raw string, a raw row, a raw window.
"""

from __future__ import annotations

from typing import Any

from layerlab.data.info import DataInfo
from layerlab.spec import ProjectSpec


def inference_model(core: Any, spec: ProjectSpec, info: DataInfo) -> Any:
    import keras

    if info.kind == "images":
        h, w, c = info.input_shape
        raw = keras.Input(shape=(None, None, c), name="pixels")
        x = keras.layers.Resizing(h, w, interpolation="bilinear", name="resize")(raw)
        if spec.prepare.image.rescale:
            x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(x)
        out = core(x)
        return keras.Model(raw, out, name="layerlab_inference")
    raise ValueError(f"no inference model for {info.kind}")
