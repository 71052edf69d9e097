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


@AUGMENTATIONS.register(
    "gaussian_noise", "tables", "Add a little random noise to the numbers of each row (not to categories).",
    Param("stddev", "float", 0.05, "Size of the noise, in standard deviations of each (scaled) column.", min=0, max=1, step=0.01),
    kinds=("table",), uses_info=True,
)
def _gaussian_noise(stddev: float, seed: int | None = None, info: Any = None) -> Any:
    from layerlab.prep.layers import ColumnNoise

    return ColumnNoise(stddev, int(info.extra.get("numeric_width", 0)) if info else 0, seed=seed)


@AUGMENTATIONS.register(
    "word_dropout", "text", "Blank out a random share of the words in each text.",
    Param("rate", "float", 0.1, "Share of words blanked.", min=0, max=0.5, step=0.01),
    kinds=("text",),
)
def _word_dropout(rate: float, seed: int | None = None) -> Any:
    from layerlab.prep.layers import TokenDropout

    return TokenDropout(rate, seed=seed)


@AUGMENTATIONS.register(
    "word_swap", "text", "Swap random pairs of neighbouring words.",
    Param("rate", "float", 0.05, "Share of words swapped with the next one.", min=0, max=0.5, step=0.01),
    kinds=("text",),
)
def _word_swap(rate: float, seed: int | None = None) -> Any:
    from layerlab.prep.layers import TokenSwap

    return TokenSwap(rate, seed=seed)


@AUGMENTATIONS.register(
    "jitter", "series", "Add small random noise to every value of the input window.",
    Param("stddev", "float", 0.03, "Size of the noise, in standard deviations (of the scaled series).", min=0, max=1, step=0.01),
    kinds=("series",),
)
def _jitter(stddev: float, seed: int | None = None) -> Any:
    from layerlab.prep.layers import Jitter

    return Jitter(stddev, seed=seed)


@AUGMENTATIONS.register(
    "scaling", "series", "Scale each input window up or down a little.",
    Param("factor", "float", 0.1, "Largest change (0.1 = ±10%).", min=0, max=0.5, step=0.01),
    kinds=("series",),
)
def _scaling(factor: float, seed: int | None = None) -> Any:
    from layerlab.prep.layers import RandomScaling

    return RandomScaling(factor, seed=seed)


def steps_for(kind: str) -> list[str]:
    return [e.name for e in AUGMENTATIONS if kind in e.meta.get("kinds", ())]


def pipeline(steps: list[Any], seed: int | None = None, info: Any = None) -> Any:
    """A keras Pipeline of the given StepSpecs (or None when there are none)."""
    if not steps:
        return None
    import keras

    layers = []
    for i, step in enumerate(steps):
        entry = AUGMENTATIONS.get(step.type)
        extra = {"info": info} if entry.meta.get("uses_info") else {}
        layers.append(entry.build(**step.params, seed=None if seed is None else seed + i, **extra))
    return keras.layers.Pipeline(layers)


def preview_arrays(x: Any, steps: list[Any], info: Any = None, seed: int = 0) -> Any:
    """One augmented copy of a batch of prepared inputs (rows, token ids, windows): the 'after' view."""
    import numpy as np

    aug = pipeline(steps, seed=seed, info=info)
    return np.asarray(aug(x, training=True)) if aug is not None else np.asarray(x)


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
