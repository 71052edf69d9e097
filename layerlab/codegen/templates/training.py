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

from layerlab.codegen.templates.fine_tune import start_phase_2
from layerlab.codegen.templates.generated import augmentation
from layerlab.codegen.templates.project import DATA, SPEC
from layerlab.codegen.templates.start_from import START_FROM_RUN, copy_start_weights
from layerlab.train.phases import planned

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


def callbacks(epochs: int, best_path: str, start: int = 0, learning_rate: float | None = None,
              best_so_far: float | None = None) -> list:
    """Learning-rate schedule, early stopping and the best-epoch checkpoint, as in the project.

    Phase 2 passes its first epoch (`start`), its lower rate and phase 1's lowest validation loss, so its
    schedule starts again from its own rate and the checkpoint keeps the best epoch of both phases.
    """
    t = SPEC.train
    rate = t.learning_rate if learning_rate is None else learning_rate
    out: list = []
    if t.lr_schedule == "plateau":
        out.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=t.lr_decay, patience=2,
                                                     min_lr=rate * 1e-3))
    elif t.lr_schedule == "cosine":
        out.append(keras.callbacks.LearningRateScheduler(
            lambda e, lr: rate * 0.5 * (1 + math.cos(math.pi * (e - start) / max(1, epochs - start)))))
    elif t.lr_schedule == "exponential":
        out.append(keras.callbacks.LearningRateScheduler(lambda e, lr: rate * t.lr_decay ** (e - start)))
    if t.keep_best_checkpoint and t.restore_best_weights:
        out.append(keras.callbacks.ModelCheckpoint(best_path, monitor="val_loss", save_best_only=True,
                                                   save_weights_only=True, initial_value_threshold=best_so_far))
    if t.early_stopping_patience:
        mode = "min" if MONITOR.endswith(("loss", "mae")) else "max"
        out.append(keras.callbacks.EarlyStopping(monitor=MONITOR, mode=mode, patience=t.early_stopping_patience,
                                                 restore_best_weights=t.restore_best_weights, min_delta=1e-4))
    return out


def train(train_model: keras.Model, train_ds, val_ds, epochs: int, class_weight=None, best_path: str = "",
          start: int = 0, learning_rate: float | None = None, best_so_far: float | None = None) -> tuple[int, float]:
    """Fit epochs `start` to `epochs`, then keep the weights of the epoch with the lowest validation loss so far
    (when the project does); returns the epochs done and that lowest validation loss."""
    best_path = best_path or os.path.join(tempfile.mkdtemp(prefix="layerlab-"), "best.weights.h5")
    history = train_model.fit(train_ds, validation_data=val_ds, epochs=epochs, initial_epoch=start,
                              callbacks=callbacks(epochs, best_path, start, learning_rate, best_so_far),
                              class_weight=class_weight, shuffle=False, verbose=2).history
    if os.path.exists(best_path):
        train_model.load_weights(best_path)
        print("Using the weights of the best epoch (lowest validation loss).")
    losses = [v for v in history.get("val_loss", []) if not math.isnan(v)]
    lowest = min([*losses, *([best_so_far] if best_so_far is not None else [])], default=math.inf)
    return start + len(history.get("loss", [])), lowest


def fit_all(train_model: keras.Model, core: keras.Model, train_ds, val_ds, args: argparse.Namespace,
            class_weight=None) -> None:
    """Phase 1, then phase 2 (fine-tuning) when the project has a frozen part and unfreezes some of it,
    as Layerlab's trainer does; the best epoch of both phases is kept."""
    copy_start_weights(core, getattr(args, "start_from", ""))
    best_path = os.path.join(tempfile.mkdtemp(prefix="layerlab-"), "best.weights.h5")
    done, lowest = train(train_model, train_ds, val_ds, args.epochs, class_weight, best_path)
    if planned(SPEC) and args.fine_tune_epochs > 0:
        rate = start_phase_2(train_model, core, done)
        train(train_model, train_ds, val_ds, done + args.fine_tune_epochs, class_weight, best_path, start=done,
              learning_rate=rate, best_so_far=lowest)


def arguments() -> argparse.Namespace:
    """The command line: epochs, the data and where to save the model (defaults: the project's)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=SPEC.train.epochs, help="epochs to train (default: the project's)")
    parser.add_argument("--data", default=DATA, help="the data (default: where the project found it)")
    parser.add_argument("--out", default="model.keras", help="where to save the end-to-end model")
    parser.add_argument("--fine-tune-epochs", type=int, default=SPEC.train.fine_tune_epochs,
                        help="phase 2 (fine-tuning) epochs, when the project has one (default: the project's)")
    if START_FROM_RUN:
        parser.add_argument("--start-from", default="",
                            help=f"the model.keras of the Layerlab run {START_FROM_RUN}, which this project starts from")
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
