"""Everything that needs TensorFlow itself (not just Keras): tf.data input pipelines.

Kept in one module so the rest of the engine runs under any Keras backend.
Preprocessing and augmentation run here, in the pipeline, not inside the model:
Keras' augmentation layers are not XLA-compilable and would switch XLA off.
(Tables are the exception: their categorical lookups live in the training model,
which the table preparer builds.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from layerlab.data.info import DataInfo
from layerlab.spec import ProjectSpec


def make_dataset(info: DataInfo, x: Any, y: np.ndarray, spec: ProjectSpec, *, training: bool,
                 batch_size: int | None = None) -> tf.data.Dataset:
    """Batches for `fit`/`evaluate`: shuffled and augmented only when training."""
    from layerlab.augment import pipeline

    batch_size = batch_size or spec.train.batch_size
    if isinstance(x, dict):
        x = {k: tf.constant(v.astype(str)) if v.dtype == object else v for k, v in x.items()}
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if training:
        ds = ds.shuffle(min(len(y), 10_000), seed=spec.train.seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if info.kind == "images":
        rescale = 1.0 / 255.0 if spec.prepare.image.rescale else 1.0
        ds = ds.map(lambda a, b: (tf.cast(a, tf.float32) * rescale, b), num_parallel_calls=tf.data.AUTOTUNE)
    if training and info.kind != "table":
        aug = pipeline(spec.prepare.augment, seed=spec.train.seed, info=info)
        if aug is not None:
            ds = ds.map(lambda a, b: (aug(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def as_model_inputs(x: Any) -> Any:
    """NumPy inputs (string object arrays included) as tensors a Keras model can be called on."""
    if isinstance(x, dict):
        return {k: as_model_inputs(v) for k, v in x.items()}
    x = np.asarray(x)
    return tf.constant(x.astype(str)) if x.dtype == object or x.dtype.kind == "U" else x
