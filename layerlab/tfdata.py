"""Everything that needs TensorFlow itself (not just Keras): tf.data input pipelines.

Kept in one module so the rest of the engine runs under any Keras backend.
Preprocessing and augmentation run here, in the pipeline, not inside the model:
Keras' augmentation layers are not XLA-compilable and would switch XLA off.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from layerlab.spec import ProjectSpec


def image_dataset(images: np.ndarray, labels: np.ndarray, spec: ProjectSpec, *, training: bool,
                  batch_size: int | None = None) -> tf.data.Dataset:
    """uint8 images → float batches in the model's range, augmented only when training."""
    from layerlab.augment import pipeline

    batch_size = batch_size or spec.train.batch_size
    rescale = 1.0 / 255.0 if spec.prepare.image.rescale else 1.0
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if training:
        ds = ds.shuffle(min(len(labels), 10_000), seed=spec.train.seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32) * rescale, y), num_parallel_calls=tf.data.AUTOTUNE)
    aug = pipeline(spec.prepare.augment, seed=spec.train.seed) if training else None
    if aug is not None:
        ds = ds.map(lambda x, y: (aug(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def make_dataset(kind: str, x: Any, y: np.ndarray, spec: ProjectSpec, *, training: bool,
                 batch_size: int | None = None) -> tf.data.Dataset:
    if kind == "images":
        return image_dataset(x, y, spec, training=training, batch_size=batch_size)
    raise ValueError(f"no pipeline for {kind}")
