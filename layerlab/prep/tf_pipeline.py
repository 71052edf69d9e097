"""The tf.data pipeline for fit/evaluate and model inputs as tensors (TensorFlow itself, not just Keras).

Preprocessing and augmentation run here, in the pipeline, not inside the model:
Keras' augmentation layers are not XLA-compilable and would switch XLA off.
(A table's categories arrive already looked up: `prep.tabular.encode_categories`.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from layerlab.data.info import DataInfo
from layerlab.spec import ProjectSpec


def make_dataset(info: DataInfo, x: Any, y: np.ndarray, spec: ProjectSpec, *, training: bool,
                 batch_size: int | None = None) -> tf.data.Dataset:
    """Batches for `fit`/`evaluate`: shuffled and augmented only when training.

    Arrays in memory go through `from_tensor_slices` (numbers only: a table's categories are vocabulary
    indices by now); images that stay on disk (`ImageRows`) are read batch by batch.
    """
    from layerlab.data.image_cache import ImageRows
    from layerlab.prep.augment import pipeline

    batch_size = batch_size or spec.train.batch_size
    if isinstance(x, ImageRows):
        ds = _streamed_images(x, y, batch_size, training, spec.train.seed)
    else:
        if training and len(y) > SHUFFLE_BUFFER:
            x, y = _random_order(x, y, spec.train.seed)
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        if training:
            ds = ds.shuffle(min(len(y), SHUFFLE_BUFFER), seed=spec.train.seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size)
    if info.kind == "images":
        rescale = 1.0 / 255.0 if spec.prepare.image.rescale else 1.0
        ds = ds.map(lambda a, b: (tf.cast(a, tf.float32) * rescale, b), num_parallel_calls=tf.data.AUTOTUNE)
    if training and info.kind != "table":
        aug = pipeline(spec.prepare.augment, seed=spec.train.seed, info=info)
        if aug is not None:
            ds = ds.map(lambda a, b: (aug(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


# Rows a shuffle buffer holds. It mixes only rows within this distance of each other, so a larger
# training set is first put in a random order (`_random_order`); the buffer then reshuffles it each epoch.
SHUFFLE_BUFFER = 10_000


def _random_order(x: Any, y: np.ndarray, seed: int) -> tuple[Any, np.ndarray]:
    """The rows in a random order. Rows arrive in the file's order, often sorted (by class, topic or
    date): the first 10,000 tweets of the sample are all from one source, and a buffer alone kept
    whole epochs starting on it (seen as a loss that climbed within each epoch)."""
    order = np.random.default_rng(seed).permutation(len(y))
    x = {k: v[order] for k, v in x.items()} if isinstance(x, dict) else x[order]
    return x, y[order]


def _streamed_images(x: Any, y: np.ndarray, batch_size: int, training: bool, seed: int) -> tf.data.Dataset:
    """Batches of (uint8 images, labels) read from the decoded-image cache on disk (ImageRows).

    A dataset of positions — shuffled whole each epoch when training (8 bytes per image),
    in order otherwise — is batched, and each batch's images are read from the file in a
    `tf.numpy_function`: memory holds the batches in flight, never the whole set.
    """
    y = np.asarray(y)
    ds = tf.data.Dataset.range(len(x))
    if training:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    def read(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x.take(positions), y[positions]

    shape = x.shape[1:]

    def gather(positions: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        images, labels = tf.numpy_function(read, [positions], (tf.uint8, tf.as_dtype(y.dtype)), stateful=False)
        images.set_shape((None, *shape))
        labels.set_shape((None, *y.shape[1:]))
        return images, labels

    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE)


def as_model_inputs(x: Any) -> Any:
    """NumPy inputs (string object arrays included) as tensors a Keras model can be called on."""
    if isinstance(x, dict):
        return {k: as_model_inputs(v) for k, v in x.items()}
    x = np.asarray(x)
    return tf.constant(x.astype(str)) if x.dtype == object or x.dtype.kind == "U" else tf.constant(x)
