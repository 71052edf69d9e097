"""Augmentation steps: Keras preprocessing layers that act only while training.

Each entry's builder returns a Keras layer; `pipeline()` chains the chosen steps.
They run in the tf.data pipeline during training (they would turn XLA off inside
the model) and are never part of the saved inference model.
"""

from __future__ import annotations

from typing import Any

from layerlab.registry import Param, Registry

AUGMENTATIONS = Registry("augmentation step")


@AUGMENTATIONS.register(
    "flip", "images", "Mirror images at random, so the model does not care which way they face.",
    Param("mode", "choice", "horizontal", "Which mirror images to make.", choices=("horizontal", "vertical", "horizontal_and_vertical")),
    kinds=("images",),
)
def _flip(mode: str, seed: int | None = None) -> Any:
    import keras

    return keras.layers.RandomFlip(mode, seed=seed)


@AUGMENTATIONS.register(
    "rotation", "images", "Turn images by a small random angle.",
    Param("degrees", "float", 10.0, "Largest turn either way, in degrees.", min=0, max=180, step=1.0),
    kinds=("images",),
)
def _rotation(degrees: float, seed: int | None = None) -> Any:
    import keras

    return keras.layers.RandomRotation(degrees / 360.0, fill_mode="constant", seed=seed)


@AUGMENTATIONS.register(
    "shift", "images", "Move images a little up, down, left or right.",
    Param("fraction", "float", 0.1, "Largest move, as a fraction of the image size.", min=0, max=0.5, step=0.01),
    kinds=("images",),
)
def _shift(fraction: float, seed: int | None = None) -> Any:
    import keras

    return keras.layers.RandomTranslation(fraction, fraction, fill_mode="constant", seed=seed)


@AUGMENTATIONS.register(
    "zoom", "images", "Zoom in or out at random.",
    Param("fraction", "float", 0.1, "Largest zoom, as a fraction of the image size.", min=0, max=0.5, step=0.01),
    kinds=("images",),
)
def _zoom(fraction: float, seed: int | None = None) -> Any:
    import keras

    return keras.layers.RandomZoom(fraction, fill_mode="constant", seed=seed)


@AUGMENTATIONS.register(
    "contrast", "images", "Make images a little more or less contrasty.",
    Param("factor", "float", 0.2, "Largest change of contrast (0.2 = ±20%).", min=0, max=1, step=0.05),
    kinds=("images",),
)
def _contrast(factor: float, seed: int | None = None) -> Any:
    import keras

    # value_range must match what the pipeline feeds: [0, 1] after rescaling.
    return keras.layers.RandomContrast(factor, value_range=(0, 1), seed=seed)


def steps_for(kind: str) -> list[str]:
    return [e.name for e in AUGMENTATIONS if kind in e.meta.get("kinds", ())]


def pipeline(steps: list[Any], seed: int | None = None) -> Any:
    """A keras Pipeline of the given StepSpecs (or None when there are none)."""
    if not steps:
        return None
    import keras

    layers = []
    for i, step in enumerate(steps):
        entry = AUGMENTATIONS.get(step.type)
        layers.append(entry.build(**step.params, seed=None if seed is None else seed + i))
    return keras.layers.Pipeline(layers)


def preview(images: list[Any], steps: list[Any], rescale: bool = True, variants: int = 4, seed: int = 0) -> list[list[Any]]:
    """For each uint8 image, `variants` augmented versions (uint8), as training would see them."""
    import numpy as np

    out: list[list[Any]] = []
    aug = pipeline(steps, seed=seed)
    for img in images:
        x = np.repeat(np.asarray(img, dtype="float32")[None] / 255.0, variants, axis=0)
        y = np.asarray(aug(x, training=True)) if aug is not None else x
        out.append([np.clip(v * 255.0, 0, 255).astype("uint8") for v in y])
    return out
