"""Layerlab's own preprocessing and augmentation layers (serializable, saved in models).

Imported lazily (it needs Keras at class definition). Loading a saved model imports
this module first so safe-mode loading finds the classes by their registered names.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

PACKAGE = "layerlab"


@keras.saving.register_keras_serializable(package=PACKAGE)
class FillMissing(keras.layers.Layer):
    """Replace NaN in each column by that column's fill value (learned from training data)."""

    def __init__(self, values: list[float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.values = [float(v) for v in values]

    def call(self, x):
        fill = ops.cast(ops.convert_to_tensor(self.values), x.dtype)
        return ops.where(ops.isnan(x), fill, x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "values": self.values}


@keras.saving.register_keras_serializable(package=PACKAGE)
class FillEmptyString(keras.layers.Layer):
    """Replace empty strings (missing categories) by a fixed token. TensorFlow only."""

    def __init__(self, value: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value = str(value)

    def call(self, x):
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        return tf.where(tf.equal(tf.strings.strip(x), ""), tf.constant(self.value), x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, x):
        return keras.KerasTensor(x.shape, dtype="string")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "value": self.value}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MinusLastStep(keras.layers.Layer):
    """A window relative to its last step: (batch, steps, features) - its final row."""

    def call(self, x):
        return x - x[:, -1:, :]

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class PlusLastStep(keras.layers.Layer):
    """Adds the window's last value of each target back to a predicted change."""

    def __init__(self, targets: list[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.targets = [int(t) for t in targets]

    def call(self, inputs):
        change, window = inputs
        last = ops.take(window[:, -1, :], self.targets, axis=-1)
        return change + ops.expand_dims(last, 1)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "targets": self.targets}


class _RandomLayer(keras.layers.Layer):
    """An augmentation: acts only when training, seeded for reproducibility."""

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ColumnNoise(_RandomLayer):
    """Gaussian noise on the first `columns` features (the numeric ones), not on encoded categories."""

    def __init__(self, stddev: float, columns: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stddev, self.columns = float(stddev), int(columns)

    def call(self, x, training=False):
        if not training or self.columns == 0 or self.stddev == 0:
            return x
        noise = keras.random.normal(ops.shape(x), stddev=self.stddev, seed=self.seed_generator, dtype=x.dtype)
        mask = ops.cast(ops.arange(ops.shape(x)[-1]) < self.columns, x.dtype)
        return x + noise * mask

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "columns": self.columns}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TokenDropout(_RandomLayer):
    """Blank out a random share of word ids (0 = padding), so the model does not lean on one word."""

    def __init__(self, rate: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = float(rate)

    def call(self, x, training=False):
        if not training or self.rate == 0:
            return x
        keep = keras.random.uniform(ops.shape(x), seed=self.seed_generator) >= self.rate
        return ops.where(keep, x, ops.zeros_like(x))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TokenSwap(_RandomLayer):
    """Swap a random share of neighbouring words: word order matters a little less."""

    def __init__(self, rate: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = float(rate)

    def call(self, x, training=False):
        if not training or self.rate == 0:
            return x
        nxt = ops.concatenate([x[:, 1:], x[:, -1:]], axis=1)
        prev = ops.concatenate([x[:, :1], x[:, :-1]], axis=1)
        swap = keras.random.uniform(ops.shape(x), seed=self.seed_generator) < self.rate
        # Position i takes i+1 where i swaps; i+1 takes i where i swapped (a true swap of pairs).
        swap_prev = ops.concatenate([ops.zeros_like(swap[:, :1]), swap[:, :-1]], axis=1)
        swap = ops.logical_and(swap, ops.logical_not(swap_prev))
        swap_prev = ops.concatenate([ops.zeros_like(swap[:, :1]), swap[:, :-1]], axis=1)
        return ops.where(swap, nxt, ops.where(swap_prev, prev, x))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Jitter(_RandomLayer):
    """Add small Gaussian noise to every value of a (scaled) window."""

    def __init__(self, stddev: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stddev = float(stddev)

    def call(self, x, training=False):
        if not training or self.stddev == 0:
            return x
        return x + keras.random.normal(ops.shape(x), stddev=self.stddev, seed=self.seed_generator, dtype=x.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev}


@keras.saving.register_keras_serializable(package=PACKAGE)
class RandomScaling(_RandomLayer):
    """Multiply each window by a random factor near 1."""

    def __init__(self, factor: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = float(factor)

    def call(self, x, training=False):
        if not training or self.factor == 0:
            return x
        shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
        scale = keras.random.uniform(shape, 1 - self.factor, 1 + self.factor, seed=self.seed_generator, dtype=x.dtype)
        return x * scale

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


# ---- text standardisation (TextVectorization's `standardize`, saved with the model) ----------------

# Control characters and every character Python counts as a line break or Unicode counts as a space
# (U+0085 NEL, U+2028, U+2029, \v, \f, \x1c-\x1e, no-break spaces): Keras writes the vocabulary one
# term per line and reads it back with Python's line splitting, so a token holding one of them splits
# and the saved model no longer loads. They become spaces before the vocabulary is built.
TEXT_BREAKS = r"[\p{Cc}\p{Zs}\p{Zl}\p{Zp}]+"
TEXT_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'  # Keras' own strip_punctuation pattern


def _clean_text(x, lower: bool, strip_punctuation: bool):
    import tensorflow as tf

    x = tf.strings.regex_replace(x, TEXT_BREAKS, " ")
    if lower:
        x = tf.strings.lower(x, encoding="utf-8")
    if strip_punctuation:
        x = tf.strings.regex_replace(x, TEXT_PUNCTUATION, "")
    return x


def _standardizer(lower: bool, strip_punctuation: bool) -> Any:
    """A registered standardisation function: its name is saved in the model and found again on loading."""
    name = "clean_text" + ("_lower" if lower else "") + ("_strip_punctuation" if strip_punctuation else "")

    def standardize(x):
        return _clean_text(x, lower, strip_punctuation)

    standardize.__name__ = standardize.__qualname__ = name
    return keras.saving.register_keras_serializable(package=PACKAGE, name=name)(standardize)


# (lowercase, strip_punctuation) -> the standardisation: Keras' options, after clean-up
STANDARDIZERS = {(lower, strip): _standardizer(lower, strip) for lower in (False, True) for strip in (False, True)}
