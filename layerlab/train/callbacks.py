"""The Keras callback that streams a run's progress into the run store.

Imported only inside the worker (it needs Keras at class definition). Batch rows are
buffered and flushed every `flush_s` seconds; each flush is also the heartbeat and
the moment the worker learns that a stop was asked for.

A continued run passes where it left off (`epoch`, `step`, its `best` values): epochs
and steps go on from there, and a best is only replaced by a better one.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable

import keras

from layerlab.train import insights
from layerlab.runs.store import RunStore


def _floats(logs: dict[str, Any] | None) -> dict[str, float]:
    out = {}
    for k, v in (logs or {}).items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            continue
    return out


class StoreCallback(keras.callbacks.Callback):
    """Streams batch and epoch rows, progress and the best validation values of a run.

    Args:
        epoch, step: the epochs and steps already recorded (a continued run); steps go on
            from `step`.
        metric: the task's validation metric ("val_accuracy", "val_mae") whose best is
            recorded beside the best val_loss; `metric_scale` turns it into the target's
            units (an MAE logged on the standardized target).
        best: the run's bests so far ({"val_loss": …, metric: …}), kept unless beaten.
    """

    def __init__(self, store: RunStore, run_id: str, steps_per_epoch: int, batch_size: int,
                 flush_s: float = 0.1, echo: Callable[[str], None] | None = None, *, epoch: int = 0,
                 step: int = 0, metric: str | None = None, metric_scale: float | None = None,
                 best: dict[str, float | None] | None = None) -> None:
        super().__init__()
        # Its own store handle with a short lock wait: a locked database must never stall training.
        # Kept open: closing the last connection checkpoints the WAL (an fsync) on every flush.
        self.store, self.run_id = RunStore(store.root, busy_timeout_s=0.5, keep_open=True), run_id
        self.steps_per_epoch, self.batch_size = steps_per_epoch, batch_size
        self.flush_s, self.echo = flush_s, echo
        self.buffer: list[tuple[str, int, int, float, dict[str, float]]] = []
        self.epoch = epoch
        self._began = False  # no epoch begun yet: `epoch` epochs are done (a run finished with 0 more)
        self.global_step = step
        self._epoch_step0 = step
        self.stop_requested = False
        self.bad_loss: float | None = None
        self.metric, self.metric_scale = metric, metric_scale or 1.0
        self.best = {k: v for k, v in (best or {}).items() if v is not None}
        self._improved: dict[str, Any] = {}  # new bests, written with the next flush
        self._last_flush = 0.0
        self._t0 = time.time()
        self._epoch_t0 = time.time()
        self._samples = 0
        # Throughput is counted from the end of the first epoch of this session: the first one
        # also traces and compiles the model (a 20k samples/s table model showed 1,650 overall).
        self._steady_from: tuple[float, int] | None = None
        self._last_batch_t = 0.0

    def _learning_rate(self) -> float | None:
        try:
            return float(self.model.optimizer.learning_rate)  # 3× cheaper than ops.convert_to_numpy
        except Exception:  # noqa: BLE001 - informational only
            return None

    def flush(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._last_flush < self.flush_s:
            return
        self._last_flush = now
        rows, self.buffer = self.buffer, []
        improved, self._improved = self._improved, {}
        # One transaction per flush. A locked or busy store (another process holds it) must not
        # stop training: keep the rows and bests, train on, and try again at the next flush.
        try:
            stop = self.store.report(self.run_id, rows, epoch=self.epoch + self._began, step=self.global_step,
                                     steps_per_epoch=self.steps_per_epoch, samples_per_sec=self.samples_per_sec(now),
                                     **improved)
        except sqlite3.OperationalError:
            self.buffer = rows + self.buffer
            self._improved = {**improved, **self._improved}
            return
        if stop:
            if not self.stop_requested and self.echo:
                self.echo("Stop requested: finishing this step and keeping the best weights.")
            self.stop_requested = True
            self.model.stop_training = True

    def samples_per_sec(self, now: float) -> float:
        """Training throughput up to the last step (validation of earlier epochs included): over the
        epochs after the first once there are some (steady speed), over the whole session before
        that (start-up included, as it is felt); never counting the saves after the last step."""
        now = min(now, self._last_batch_t) if self._last_batch_t else now  # not the end-of-training saves
        if self._steady_from is not None and self._samples > self._steady_from[1]:
            since, samples = self._steady_from
            return (self._samples - samples) / max(1e-6, now - since)
        return self._samples / max(1e-6, now - self._t0)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._t0 = time.time()

    def _flush_at_epoch_edge(self) -> None:
        """Before validation and at an epoch's end: write now if the epoch has lasted `flush_s` (one
        transaction is then negligible, and validation or the next steps may take a while); a tiny
        epoch (a small table: a few ms) waits for the usual `flush_s` rhythm instead, so that its
        rows still reach the store within 2 × `flush_s` without a transaction per epoch."""
        self.flush(force=time.time() - self._epoch_t0 >= self.flush_s)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._flush_at_epoch_edge()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch, self._began = epoch, True
        self._epoch_t0 = time.time()
        self._epoch_step0 = self.global_step

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # `batch` is the last step of the call: with steps_per_execution > 1 one call runs several.
        # Keras may report past the epoch's last step when a call asks for more steps than are left.
        done = max(self.global_step + 1, min(self._epoch_step0 + batch + 1, self._epoch_step0 + self.steps_per_epoch))
        self._samples += (done - self.global_step) * self.batch_size
        self.global_step = done
        self._last_batch_t = time.time()
        vals = _floats(logs)
        loss = vals.get("loss")
        if loss is not None and not math.isfinite(loss):
            self.bad_loss = loss
            self.model.stop_training = True
        self.buffer.append(("batch", self.epoch + 1, self.global_step, self._last_batch_t, vals))
        self.flush()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        vals = _floats(logs)
        lr = self._learning_rate()
        if lr is not None:
            vals["learning_rate"] = lr
        vals["epoch_seconds"] = time.time() - self._epoch_t0
        if self._steady_from is None:
            self._steady_from = (time.time(), self._samples)
        self.buffer.append(("epoch", epoch + 1, self.global_step, time.time(), vals))
        self._record_best(vals)
        if vals.get("loss") is not None and not math.isfinite(vals["loss"]):
            self.bad_loss = vals["loss"]
            self.model.stop_training = True
        self._flush_at_epoch_edge()
        if self.echo:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in vals.items() if k not in ("epoch_seconds",))
            self.echo(f"epoch {epoch + 1}: {shown} ({vals['epoch_seconds']:.1f} s)")

    def _record_best(self, vals: dict[str, float]) -> None:
        """Store the best val_loss and the best task metric when this epoch improved on them."""
        improved = {}
        for name, column, scale in (("val_loss", "best_val", 1.0), (self.metric, "best_metric", self.metric_scale)):
            if not name or vals.get(name) is None:
                continue
            value = vals[name] * scale
            # insights.best knows which way is better; on a tie it keeps the earlier (epoch 0) value.
            rows = [{name: v, "epoch": e} for e, v in ((0, self.best.get(name)), (1, value)) if v is not None]
            found = insights.best(rows, name)
            if found and found[1] == 1:
                self.best[name] = value
                improved.update({column: value, f"{column}_name": name})
        self._improved.update(improved)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.flush(force=True)
        self.store.close()


class BestCheckpoint(keras.callbacks.Callback):
    """Keeps the best epoch's weights (lowest `monitor`) and writes them to `path` as a .keras model.

    Keras' ModelCheckpoint(save_best_only=True) writes the whole model at every improvement:
    ~50 ms a save, longer than a whole epoch of a small table model. This keeps the best weights
    in memory and writes the file on the first improvement, then at most every `every_s`
    seconds (or 30 times as long as the last save took, for a big model: saving then costs at
    most ~3% of the time), and when training ends (also after a stop), so a killed worker loses
    only the last few seconds of progress. The file is replaced atomically: a page never reads half of it.

    Args:
        threshold: an earlier session's best (a continued run): only a better epoch replaces it.
    """

    def __init__(self, path: str | Path, monitor: str = "val_loss", threshold: float | None = None,
                 every_s: float = 10.0) -> None:
        super().__init__()
        self.path, self.monitor, self.every_s = Path(path), monitor, every_s
        self.best_value = threshold
        self.best_epoch: int | None = None
        self.weights: list[Any] | None = None
        self._dirty = False
        self._last_write = 0.0
        self._interval = every_s

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = _floats(logs).get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        if self.best_value is None or value < self.best_value:
            self.best_value, self.best_epoch = value, epoch
            self.weights = self.model.get_weights()
            self._dirty = True
        if self._dirty and time.time() - self._last_write >= self._interval:
            self.write()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._dirty:
            self.write()

    def write(self) -> None:
        """Save the model with the best weights (then put the current ones back)."""
        started = time.time()
        current = self.model.get_weights()
        self.model.set_weights(self.weights)
        tmp = self.path.with_name(self.path.stem + ".partial.keras")
        try:
            self.model.save(tmp)
            os.replace(tmp, self.path)
        finally:
            self.model.set_weights(current)
            tmp.unlink(missing_ok=True)
        self._dirty, self._last_write = False, time.time()
        self._interval = max(self.every_s, 30 * (self._last_write - started))


class LastCheckpoint(keras.callbacks.Callback):
    """Keeps last.weights.h5 (weights and optimizer state) and history.json in step, during training too.

    They are what a run is continued from. Written only at the end of a fit, a worker killed
    mid-run (out of memory, a restart) left nothing to continue from, though the run said so.
    Written on the first epoch, then at most every `every_s` seconds (or 30 times as long as the
    last save took), and at the end; each file is replaced atomically, the weights first, so
    history.json's length never counts an epoch the weights do not hold.

    history.json also records each epoch's `phase` (1, or 2 for fine-tuning: `layerlab.train.phases`).

    Args:
        history: the earlier training sessions' history (a continued run), extended by this one.
        phase: the phase the coming epochs belong to (the trainer sets it to 2 when phase 2 starts).
    """

    def __init__(self, run_dir: str | Path, history: dict[str, list[float]] | None = None,
                 every_s: float = 30.0, phase: int = 1) -> None:
        super().__init__()
        self.run_dir, self.every_s, self.phase = Path(run_dir), every_s, phase
        self.history = {k: list(v) for k, v in (history or {}).items()}
        # A history written before phases were recorded: all its epochs were phase 1.
        self.history.setdefault("phase", [1] * len(self.history.get("loss") or []))
        self._last_write = 0.0
        self._interval = every_s

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        values = _floats(logs)
        for k, v in values.items():
            self.history.setdefault(k, []).append(v)
        self.history["phase"].append(self.phase)
        if math.isfinite(values.get("loss", 0.0)) and time.time() - self._last_write >= self._interval:
            self.write()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        # After EarlyStopping(restore_best_weights) these are the weights the run ends with. Weights
        # that a not-a-number loss broke are never saved: the checkpoint before it stays.
        import numpy as np

        if all(np.isfinite(w).all() for w in self.model.get_weights()):
            self.write()

    def write(self) -> None:
        import json

        started = time.time()
        weights = self.run_dir / "last.weights.h5"
        tmp = self.run_dir / "last.partial.weights.h5"
        try:
            self.model.save_weights(tmp)
            os.replace(tmp, weights)
        finally:
            tmp.unlink(missing_ok=True)
        history = self.run_dir / "history.json"
        part = self.run_dir / "history.partial.json"
        part.write_text(json.dumps(self.history, indent=1), encoding="utf-8")
        os.replace(part, history)
        self._last_write = time.time()
        self._interval = max(self.every_s, 30 * (self._last_write - started))


class TrialCallback(keras.callbacks.Callback):
    """Reports a tuning trial's validation metric to its Optuna trial each epoch, and ends a pruned one.

    The trial is re-opened from the study's journal in the worker process (layerlab.tune.study); the
    driver tells Optuna the final result, so this only reports and asks `should_prune`.

    Args:
        metric: the study's metric (`val_accuracy`, `val_mae`, `val_loss`); `scale` turns it into the
            target's units, as the run's best_metric is.
    """

    def __init__(self, study: str, number: int, scale: float | None = None,
                 echo: Callable[[str], None] | None = None) -> None:
        super().__init__()
        from layerlab.tune import study as studies

        self.trial = studies.open_trial(study, number)
        self.metric = studies.config_of(self.trial.study)["metric"]
        self.scale = scale or 1.0
        self.echo = echo
        self.pruned_after: int | None = None  # epochs run when the trial was pruned

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = _floats(logs).get(self.metric)
        if self.trial is None or value is None or not math.isfinite(value):
            return
        try:
            self.trial.report(value * (self.scale if self.metric == "val_mae" else 1.0), epoch)
            prune = self.trial.should_prune()
        except Exception as exc:  # noqa: BLE001 - a finished trial or an unreadable journal: train on, unreported
            self.trial = None
            if self.echo:
                self.echo(f"The study no longer takes this trial's reports ({type(exc).__name__}); training goes on.")
            return
        if prune:
            self.pruned_after = epoch + 1
            self.model.stop_training = True
            if self.echo:
                self.echo(f"Pruned after epoch {epoch + 1}: this trial's {self.metric} is behind the study's "
                          "earlier trials at this epoch.")
