"""The Keras callback that streams a run's progress into the run store.

Imported only inside the worker (it needs Keras at class definition). Batch rows are
buffered and flushed every `flush_s` seconds; each flush is also the heartbeat and
the moment the worker learns that a stop was asked for.
"""

from __future__ import annotations

import math
import sqlite3
import time
from typing import Any, Callable

import keras

from layerlab.train.store import RunStore


def _floats(logs: dict[str, Any] | None) -> dict[str, float]:
    out = {}
    for k, v in (logs or {}).items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            continue
    return out


class StoreCallback(keras.callbacks.Callback):
    def __init__(self, store: RunStore, run_id: str, steps_per_epoch: int, batch_size: int,
                 flush_s: float = 0.25, echo: Callable[[str], None] | None = None) -> None:
        super().__init__()
        # Its own store handle with a short lock wait: a locked database must never stall training.
        self.store, self.run_id = RunStore(store.root, busy_timeout_s=0.5), run_id
        self.steps_per_epoch, self.batch_size = steps_per_epoch, batch_size
        self.flush_s, self.echo = flush_s, echo
        self.buffer: list[tuple[str, int, int, float, dict[str, float]]] = []
        self.epoch = 0
        self.global_step = 0
        self.stop_requested = False
        self.bad_loss: float | None = None
        self.best_val: float | None = None
        self._last_flush = 0.0
        self._t0 = time.time()
        self._epoch_t0 = time.time()
        self._samples = 0

    def _learning_rate(self) -> float | None:
        try:
            return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        except Exception:  # noqa: BLE001 - informational only
            return None

    def flush(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._last_flush < self.flush_s:
            return
        self._last_flush = now
        rows, self.buffer = self.buffer, []
        elapsed = max(1e-6, now - self._t0)
        # A locked or busy store (another process holds it) must not stop training:
        # keep the rows, train on, and try again at the next flush.
        try:
            self.store.add_metrics(self.run_id, rows)
        except sqlite3.OperationalError:
            self.buffer = rows + self.buffer
            return
        try:
            stop = self.store.beat(self.run_id, epoch=self.epoch + 1, step=self.global_step,
                                   steps_per_epoch=self.steps_per_epoch, samples_per_sec=self._samples / elapsed)
        except sqlite3.OperationalError:
            return
        if stop:
            if not self.stop_requested and self.echo:
                self.echo("Stop requested: finishing this step and keeping the best weights.")
            self.stop_requested = True
            self.model.stop_training = True

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._t0 = time.time()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = epoch
        self._epoch_t0 = time.time()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.global_step += 1
        self._samples += self.batch_size
        vals = _floats(logs)
        loss = vals.get("loss")
        if loss is not None and not math.isfinite(loss):
            self.bad_loss = loss
            self.model.stop_training = True
        self.buffer.append(("batch", self.epoch + 1, self.global_step, time.time(), vals))
        self.flush()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        vals = _floats(logs)
        lr = self._learning_rate()
        if lr is not None:
            vals["learning_rate"] = lr
        vals["epoch_seconds"] = time.time() - self._epoch_t0
        self.buffer.append(("epoch", epoch + 1, self.global_step, time.time(), vals))
        val_loss = vals.get("val_loss")
        if val_loss is not None and math.isfinite(val_loss) and (self.best_val is None or val_loss < self.best_val):
            self.best_val = val_loss
            try:
                self.store.update(self.run_id, best_val=val_loss, best_val_name="val_loss")
            except sqlite3.OperationalError:
                pass  # shown again at the next improvement; the run goes on
        if vals.get("loss") is not None and not math.isfinite(vals["loss"]):
            self.bad_loss = vals["loss"]
            self.model.stop_training = True
        self.flush(force=True)
        if self.echo:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in vals.items() if k not in ("epoch_seconds",))
            self.echo(f"epoch {epoch + 1}: {shown} ({vals['epoch_seconds']:.1f} s)")

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.flush(force=True)
