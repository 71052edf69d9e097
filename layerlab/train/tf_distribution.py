"""Where a model is built and compiled: MirroredStrategy over several devices (TensorFlow itself)."""

from __future__ import annotations

import contextlib
from typing import Any

import tensorflow as tf


def distribution_scope() -> tuple[Any, int, int]:
    """(a scope to build and compile in, number of GPUs, replicas).

    MirroredStrategy over the GPUs when there are several; on a machine without GPUs, over the logical CPU
    devices when someone configured several (`tf.config.set_logical_device_configuration`, as the tests do
    to run this path without a GPU). Each replica gets a slice of every batch; gradients are summed.
    """
    gpus = tf.config.list_logical_devices("GPU")
    devices = gpus or tf.config.list_logical_devices("CPU")
    if len(devices) > 1:
        # GPUs sum gradients with NCCL (the default); logical CPUs through one device, because the collective
        # all-reduce packs the replicas' gradients in different orders there (a shape-mismatch abort).
        ops = None if gpus else tf.distribute.ReductionToOneDevice()
        strategy = tf.distribute.MirroredStrategy([d.name for d in devices], cross_device_ops=ops)
        return strategy.scope(), len(gpus), strategy.num_replicas_in_sync
    return contextlib.nullcontext(), len(gpus), 1
