"""Template: batches, callbacks, the fit loop, the command line and the test report, shared by every kind."""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from layerlab.codegen.templates.generated import augmentation
from layerlab.codegen.templates.project import DATA, SPEC

# ---- the script starts here ----
CLASS_WEIGHTS = False  # weight classes inversely to their frequency
MONITOR = "val_loss"  # the early-stopping metric, as Layerlab adjusts it to the task


def make_dataset(x: Any, y: np.ndarray, training: bool) -> tf.data.Dataset:
    """Batches for fit/evaluate: shuffled (with the seed) only when training."""
    if isinstance(x, dict):
        x = {k: tf.constant(v.astype(str)) if v.dtype == object else v for k, v in x.items()}
    if training and len(y) > 10_000:  # the buffer mixes only neighbours: put sorted rows in a random order
        order = np.random.default_rng(SPEC.train.seed).permutation(len(y))
        x, y = part(x, order), y[order]
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if training:
        ds = ds.shuffle(min(len(y), 10_000), seed=SPEC.train.seed, reshuffle_each_iteration=True)
    return ds.batch(SPEC.train.batch_size).prefetch(tf.data.AUTOTUNE)


def part(x: Any, idx: np.ndarray) -> Any:
    """The rows `idx` of an array, or of every array of a dict of inputs."""
    return {k: v[idx] for k, v in x.items()} if isinstance(x, dict) else x[idx]


def _class_weights(y: np.ndarray, n: int) -> dict[int, float]:
    """Class weights inversely proportional to each class's count in `y`."""
    counts = np.bincount(np.asarray(y, dtype=int), minlength=n).astype(float)
    counts[counts == 0] = 1.0
    return {i: float(len(y) / (n * c)) for i, c in enumerate(counts)}


def callbacks(epochs: int, best_path: str) -> list:
    """Learning-rate schedule, early stopping and the best-epoch checkpoint, as in the project."""
    t = SPEC.train
    out: list = []
    if t.lr_schedule == "plateau":
        out.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=t.lr_decay, patience=2,
                                                     min_lr=t.learning_rate * 1e-3))
    elif t.lr_schedule == "cosine":
        out.append(keras.callbacks.LearningRateScheduler(
            lambda e, lr: t.learning_rate * 0.5 * (1 + math.cos(math.pi * e / max(1, epochs)))))
    elif t.lr_schedule == "exponential":
        out.append(keras.callbacks.LearningRateScheduler(lambda e, lr: t.learning_rate * t.lr_decay ** e))
    if t.keep_best_checkpoint and t.restore_best_weights:
        out.append(keras.callbacks.ModelCheckpoint(best_path, monitor="val_loss", save_best_only=True,
                                                   save_weights_only=True))
    if t.early_stopping_patience:
        mode = "min" if MONITOR.endswith(("loss", "mae")) else "max"
        out.append(keras.callbacks.EarlyStopping(monitor=MONITOR, mode=mode, patience=t.early_stopping_patience,
                                                 restore_best_weights=t.restore_best_weights, min_delta=1e-4))
    return out


def train(train_model: keras.Model, train_ds, val_ds, epochs: int, class_weight=None) -> None:
    """Fit, then keep the weights of the epoch with the lowest validation loss (when the project does)."""
    best = os.path.join(tempfile.mkdtemp(prefix="layerlab-"), "best.weights.h5")
    train_model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=callbacks(epochs, best),
                    class_weight=class_weight, shuffle=False, verbose=2)
    if os.path.exists(best):
        train_model.load_weights(best)
        print("Using the weights of the best epoch (lowest validation loss).")


def arguments() -> argparse.Namespace:
    """The command line: epochs, the data and where to save the model (defaults: the project's)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=SPEC.train.epochs, help="epochs to train (default: the project's)")
    parser.add_argument("--data", default=DATA, help="the data (default: where the project found it)")
    parser.add_argument("--out", default="model.keras", help="where to save the end-to-end model")
    return parser.parse_args()


def add_augmentation(inputs: Any) -> Any:
    """The augmentation layers applied to `inputs` (they act only while training)."""
    x = inputs
    for layer in augmentation():
        x = layer(x)
    return x


def report(model: keras.Model, test_ds) -> dict:
    """Test metrics, printed and returned."""
    results = model.evaluate(test_ds, verbose=0, return_dict=True)
    print("Test: " + ", ".join(f"{k} {v:.4f}" for k, v in results.items()))
    return results
