"""Where a model is built and compiled: MirroredStrategy over several GPUs (TensorFlow itself)."""

from __future__ import annotations

import contextlib
from typing import Any

import tensorflow as tf


def distribution_scope() -> tuple[Any, int]:
    """(a scope to build and compile in, number of GPUs): MirroredStrategy when there are several."""
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy().scope(), len(gpus)
    return contextlib.nullcontext(), len(gpus)
