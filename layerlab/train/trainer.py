"""One training run from start to finish, as the worker process (or the CLI) runs it.

Reads the run's project.json, prepares the data, builds and trains the model while
streaming metrics to the store, then saves the best checkpoint, the end-to-end
inference model, the history and the test evaluation in the run's folder.
"""

from __future__ import annotations

import gc
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

from layerlab.errors import LayerlabError
from layerlab.spec import load_spec
from layerlab.runs.store import Run, RunStore
from layerlab.workspace import source_of


class RunLog:
    """Appends timestamped lines to the run's log.txt (and echoes them, for the CLI)."""

    def __init__(self, path: Path, echo: Callable[[str], None] | None = None) -> None:
        self.path, self.echo = path, echo

    def __call__(self, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(f"{stamp}  {line}\n")
        if self.echo:
            self.echo(line)


def _friendly(exc: BaseException) -> str:
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "The disk is full, so the run's files could not be written. Free some space (or delete old runs) and train again."
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return ("Layerlab may not write into the runs folder (it is read-only or not yours). "
                "Point LAYERLAB_HOME at a writable folder and train again.")
    text = f"{type(exc).__name__}: {exc}"
    if "ResourceExhausted" in text or "OOM" in text or "out of memory" in text.lower():
        return ("The device ran out of memory while training. Use a smaller batch size, smaller images, "
                "or fewer/smaller layers.")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"Training failed: {type(exc).__name__}: {first[:300]}"


def run_training(store: RunStore, run_id: str, echo: Callable[[str], None] | None = None,
                 progress: Callable[[float, str], None] | None = None) -> Run:
    """Train the run `run_id` to the end; its final status says how it ended. Never raises.

    `progress(fraction, text)` hears how data preparation goes (see `prep.prepare.prepare`).
    """
    run = store.get(run_id)
    if run is None:
        raise LayerlabError(f"There is no run `{run_id}`.")
    run_dir = run.path
    log = RunLog(run_dir / "log.txt", echo)
    store.update(run_id, status="running", started=time.time(), pid=os.getpid(), heartbeat=time.time())
    try:
        status, message = _train(store, run, log, progress)
    except LayerlabError as exc:
        status, message = "failed", str(exc)
        log(f"Failed: {message}")
    except Exception as exc:  # noqa: BLE001 - any crash becomes a failed run with its reason
        status, message = "failed", _friendly(exc)
        log(message)
        with open(run_dir / "log.txt", "a", encoding="utf-8") as f:
            f.write(traceback.format_exc())
    finally:
        if "keras" in sys.modules:  # the policy is per thread: a process that trains again starts afresh
            sys.modules["keras"].mixed_precision.set_global_policy("float32")
    store.set_status(run_id, status, message)
    return store.get(run_id)  # type: ignore[return-value]


def _train(store: RunStore, run: Run, log: RunLog,
           progress: Callable[[float, str], None] | None = None) -> tuple[str, str]:
    import keras

    from layerlab.prep import tf_pipeline
    from layerlab.train import speed, tf_distribution
    from layerlab.prep.prepare import prepare
    from layerlab.device import describe_training_device
    from layerlab.models.backbones import fetch_weights, weights_of
    from layerlab.models.build import build_model, compile_model
    from layerlab.models.start_from import copy_start_weights
    from layerlab.train import phases
    from layerlab.train.callbacks import BestCheckpoint, LastCheckpoint, StoreCallback

    run_dir = run.path
    spec = load_spec(run_dir / "project.json")
    resume = _resume_point(run_dir)
    earlier = _read_history(run_dir / "history.json") if resume else {}
    # A run continued in phase 2 (fine-tuning) goes on in it: its layers unfrozen, at the lower rate.
    fine_from = phases.phase_2_start(earlier) if resume else None
    keras.utils.set_random_seed(spec.train.seed + (resume[0] if resume else 0))
    device = describe_training_device()
    store.update(run.id, device=device)
    log(f"Device: {device}. Keras {keras.__version__}, backend {keras.backend.backend()}.")

    log(f"Preparing data from {source_of(spec.data.source).display_name} …")  # the Train page shows the log
    prepared = prepare(spec, progress)
    info = prepared.info
    info.save(run_dir / "info.json")
    for note in prepared.notes:
        log(note)
    sizes = prepared.split.sizes()
    log(f"Split: {sizes['train']} train, {sizes['validation']} validation, {sizes['test']} test.")

    fetch_weights(spec, log, run.owner)  # pretrained backbones: their weights found or downloaded, and from where
    scope, n_gpus, replicas = tf_distribution.distribution_scope()
    plan = speed.plan(spec.train, n_gpus, replicas)
    for note in plan.notes:
        log(note)
    # The run's own spec keeps the user's values; training uses the plan's global batch and learning rate.
    spec = spec.edit(**{"train.batch_size": plan.batch_size, "train.learning_rate": plan.learning_rate})
    keras.mixed_precision.set_global_policy(plan.policy)  # reset when the run ends (run_training)
    if plan.policy != "float32":
        log(f"Precision: {plan.policy} (compute in {plan.policy.split('_')[1]}, float32 weights and outputs).")

    def compile_with(with_spec) -> None:  # phase 2 compiles again, at its lower rate
        # Keras turns a requested XLA off (with a warning) when a layer can't be compiled.
        compile_model(model, with_spec.train, info, steps_per_execution=plan.steps_per_execution,
                      jit_compile="auto" if plan.jit_compile is None else plan.jit_compile)

    with scope, weights_of(run.owner):  # several devices: the model is mirrored on each, batches split among them
        core = build_model(spec, info)
        model = prepared.train_model(core)
        if fine_from is not None:
            fit_spec = phases.start_phase_2(model, core, spec, compile_with, log, fine_from, resumed=True)
        else:
            fit_spec = spec
            compile_with(spec)
        if resume:  # built now, so that the saved optimizer state loads into it (see _load_last)
            model.optimizer.build(model.trainable_variables)
    if replicas > 1:
        log(f"Training on {replicas} {'GPUs' if n_gpus else 'CPU devices'} with tf.distribute.MirroredStrategy.")
    if plan.jit_compile is not None:
        log(f"XLA compilation {'on' if model.jit_compile else 'off'}"
            + (f", {plan.steps_per_execution} steps per call." if plan.steps_per_execution > 1 else "."))
    frozen = sum(layer.count_params() for layer in core.layers if not layer.trainable)
    log(f"Model `{spec.model.template}`: {core.count_params():,} parameters"
        + (f", {frozen:,} of them in frozen layers." if frozen else "."))
    if resume:
        _load_last(model, run_dir / "last.weights.h5", log)
        log(f"Continuing from epoch {resume[0]} for {resume[1]} more epoch(s).")
    elif spec.train.init_from_run:
        _load_from_run(model, store, spec.train.init_from_run, log)
    elif spec.model.start_from_run:
        copy_start_weights(core, spec, info, store, log, run.owner)

    x_tr, y_tr = prepared.part("train")
    x_va, y_va = prepared.part("validation")
    x_te, y_te = prepared.part("test")
    batch = spec.train.batch_size
    train_ds = tf_pipeline.make_dataset(info, x_tr, y_tr, spec, training=True)
    val_ds = tf_pipeline.make_dataset(info, x_va, y_va, spec, training=False)
    test_ds = tf_pipeline.make_dataset(info, x_te, y_te, spec, training=False)
    steps = math.ceil(len(y_tr) / batch)

    best_path = run_dir / "best.keras"
    first_epoch = resume[0] if resume else 0
    epochs = first_epoch + (resume[1] if resume else spec.train.epochs)
    best_metric, scale = _best_metric(info)
    bests = {"val_loss": run.best_val,
             best_metric: run.best_metric if run.best_metric_name == best_metric else None} if resume else None
    # A continued run goes on from its last epoch and step (steps stay aligned to epochs, so a
    # step's place in its epoch is (step - 1) % steps + 1) and keeps its bests unless beaten.
    cb = StoreCallback(store, run.id, steps, batch, echo=log, epoch=first_epoch, step=first_epoch * steps,
                       metric=best_metric, metric_scale=scale, best=bests)
    callbacks: list = []  # after the store callback and the schedule, in both phases
    ckpt = None
    if spec.train.keep_best_checkpoint:
        # Continuing: best.keras is replaced only by an epoch better than the earlier sessions' best.
        threshold = run.best_val if resume and best_path.exists() else None
        ckpt = BestCheckpoint(best_path, monitor="val_loss", threshold=threshold)
        callbacks.append(ckpt)
    early = None
    if spec.train.early_stopping_patience:
        metric = _monitor(spec.train.early_stopping_metric, info)
        early = keras.callbacks.EarlyStopping(  # it starts afresh in each phase (on_train_begin)
            monitor=metric, mode="min" if metric.endswith(("loss", "mae")) else "max",
            patience=spec.train.early_stopping_patience, restore_best_weights=spec.train.restore_best_weights,
            min_delta=MIN_DELTA)
        callbacks.append(early)
    trial = None
    # A tuning trial (layerlab.tune) reports to its trial and may be pruned; continued later, it is a plain run
    # (its trial was told its result already).
    if run.study is not None and run.trial is not None and not resume:
        from layerlab.train.callbacks import TrialCallback

        trial = TrialCallback(run.study, run.trial, scale=scale, echo=log)
        callbacks.append(trial)
    class_weight = _class_weights(y_tr, info.n_classes) if spec.prepare.class_weights and info.task == "classification" else None
    # Phase 2 follows phase 1 (not a continued phase 2, nor a run only being finished with 0 more epochs).
    then_phase_2 = phases.planned(spec) and fine_from is None and epochs > first_epoch
    later = f", then phase 2 (fine-tuning) for up to {spec.train.fine_tune_epochs}" if then_phase_2 else ""
    log(f"Training for up to {epochs - first_epoch} epochs{later}, batch size {batch} ({steps} steps per epoch).")
    store.update(run.id, epochs=epochs + (spec.train.fine_tune_epochs if then_phase_2 else 0), fine_tune_from=fine_from)
    # Last, so that it saves the weights the run ends with (after EarlyStopping restores the best).
    last = LastCheckpoint(run_dir, history=earlier or None, phase=1 if fine_from is None else 2)
    callbacks.append(last)

    def fit(with_spec, initial: int, until: int, schedule_from: int) -> None:
        # The heap now holds TensorFlow's and Keras' hundreds of thousands of long-lived objects: freeze
        # them out of the garbage collector, so that full collections during fit (triggered by the
        # callbacks' per-batch rows) do not rescan them all. Measured on the tweets model: ~10% faster.
        # Unfrozen afterwards, so a process that trains again (tests, the CLI) can still free them.
        schedule = _schedule_callbacks(with_spec, keras, until, start=schedule_from)
        gc.collect()
        gc.freeze()
        try:
            model.fit(train_ds, validation_data=val_ds, epochs=until, initial_epoch=initial,
                      callbacks=[cb, *schedule, *callbacks], verbose=0, shuffle=False, class_weight=class_weight)
        finally:
            gc.unfreeze()

    fit(fit_spec, first_epoch, epochs, schedule_from=fine_from or 0)
    if then_phase_2 and cb.bad_loss is None and not cb.stop_requested and not (trial and trial.pruned_after):
        _restore_best(model, spec, ckpt, best_path, log)  # phase 2 fine-tunes phase 1's best
        done = len(last.history.get("loss", []))
        fit_spec = phases.start_phase_2(model, core, spec, compile_with, log, done)
        epochs = done + spec.train.fine_tune_epochs
        store.update(run.id, epochs=epochs, fine_tune_from=done)
        last.phase = 2
        fit(fit_spec, done, epochs, schedule_from=done)

    if cb.bad_loss is not None:
        return "failed", (f"The loss became {cb.bad_loss} (not a number) in epoch {cb.epoch + 1}, so training stopped. "
                          "Lower the learning rate, and check that the inputs are scaled (e.g. rescale images to [0, 1]).")

    _restore_best(model, spec, ckpt, best_path, log)

    history = _read_history(run_dir / "history.json")
    kept = ckpt.best_epoch if spec.train.restore_best_weights and ckpt is not None and ckpt.weights is not None else None
    stopped = stopped_because(spec.train, epochs, len(history.get("loss", [])), cb.stop_requested, early, history,
                              kept)
    if trial is not None and trial.pruned_after:
        stopped = {**stopped, "reason": "pruned", "text": f"Pruned after epoch {trial.pruned_after}: its "
                   f"{trial.metric.replace('val_', 'validation ')} was behind the study's other trials."}
    log(stopped["text"])
    evaluation = evaluate_model(model, test_ds, y_te, y_tr, prepared)
    evaluation["stopped_because"] = stopped
    from layerlab.train.verdict import verdict

    judged = verdict(evaluation, spec.to_dict(), history)
    evaluation["verdict"] = judged.to_dict()
    (run_dir / "evaluation.json").write_text(json.dumps(evaluation, indent=1), encoding="utf-8")
    e2e = prepared.inference_model(core)
    e2e.save(run_dir / "model.keras")
    test_metrics = {k: evaluation[k] for k in ("accuracy", "loss", "baseline_accuracy", "mae", "rmse", "r2", "baseline_mae")
                    if k in evaluation}
    store.update(run.id, test_metrics=test_metrics)
    shown = describe_test(test_metrics)
    log(f"Test: {shown}. Saved model.keras (takes raw inputs) and best.keras.")
    if trial is not None and trial.pruned_after and not cb.stop_requested:
        return "pruned", f"{stopped['text']} {shown[:1].upper()}{shown[1:]}."
    if cb.stop_requested:
        return "stopped", f"Stopped by request after epoch {cb.epoch + 1}; the best weights were kept."
    if judged.level != "success":
        log(f"{judged.headline}: {' '.join(judged.causes[:2])}")
    return "completed", f"Finished: {shown}. {judged.headline}. {stopped['text']}"


# The least change in the monitored value that counts as better (ReduceLROnPlateau's default): a
# validation loss that creeps towards 0 by 1e-6 an epoch has stopped improving.
MIN_DELTA = 1e-4


def stopped_because(train: Any, epochs: int, last_epoch: int, requested: bool, early: Any,
                    history: dict[str, list[float]], kept_epoch: int | None = None) -> dict[str, Any]:
    """Why a run ended, for its log, its evaluation (`stopped_because`) and the Train page.

    `reason` is "request", "early_stopping" or "epoch_cap"; `text` says it in words, with what to
    do when the cap cut off a model that was still improving. Epochs count from 1; `kept_epoch`
    (0-based, the best checkpoint's) is the epoch whose weights the model keeps, else early stopping's best.
    """
    out: dict[str, Any] = {"epochs_run": int(last_epoch), "epoch_cap": int(epochs)}
    if requested:
        return {**out, "reason": "request", "text": f"Stopped by request after epoch {last_epoch}."}
    if early is not None and early.stopped_epoch > 0:
        best = int(early.best_epoch if kept_epoch is None else kept_epoch) + 1
        what = early.monitor.replace("val_", "validation ")
        return {**out, "reason": "early_stopping", "best_epoch": best, "monitor": early.monitor,
                "text": f"Stopped early after epoch {last_epoch}: the {what} had improved by less than {MIN_DELTA:g} "
                        f"in {train.early_stopping_patience} epochs; the model keeps epoch {best}'s weights."}
    values = history.get("val_loss") or []
    improving = len(values) > 2 and min(values[-2:]) < min(values[:-2]) - MIN_DELTA
    text = f"Ran all {epochs} epochs (the cap)." if epochs != 1 else "Ran its one epoch (the cap)."
    if improving:
        text += " The validation loss was still falling: more epochs (or early stopping) may help."
    return {**out, "reason": "epoch_cap", "still_improving": bool(improving), "text": text}


def describe_test(metrics: dict[str, float]) -> str:
    """The test figures in words, the baseline beside the figure it is the baseline of:
    "test accuracy 82.7% (baseline 44.2%), loss 0.479", not the metric keys."""
    parts = []
    if "accuracy" in metrics:
        base = f" (baseline {metrics['baseline_accuracy']:.1%})" if "baseline_accuracy" in metrics else ""
        parts.append(f"test accuracy {metrics['accuracy']:.1%}{base}")
    if "mae" in metrics:
        base = f" (baseline {metrics['baseline_mae']:.4g})" if "baseline_mae" in metrics else ""
        parts.append(f"test MAE {metrics['mae']:.4g}{base}")
    if "rmse" in metrics:
        parts.append(f"RMSE {metrics['rmse']:.4g}")
    if "r2" in metrics:
        parts.append(f"R² {metrics['r2']:.3f}")
    if "loss" in metrics:
        parts.append(f"{'loss' if parts else 'test loss'} {metrics['loss']:.4g}")
    return ", ".join(parts)


def _resume_point(run_dir: Path) -> tuple[int, int] | None:
    """(epochs done, epochs to add) when this run is being continued, else None."""
    path = run_dir / "continue.json"
    if not path.exists() or not (run_dir / "last.weights.h5").exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    path.unlink()
    return int(data["from_epoch"]), int(data["epochs"])


def _restore_best(model, spec, ckpt, best_path: Path, log: RunLog) -> None:
    """With `restore_best_weights`: the best epoch's weights (lowest validation loss), from this session's
    checkpoint or, when it did not beat an earlier session's, from best.keras."""
    import keras

    if spec.train.restore_best_weights and ckpt is not None and ckpt.weights is not None:
        model.set_weights(ckpt.weights)
        log(f"Using the weights of the best epoch ({ckpt.best_epoch + 1}, lowest validation loss).")
    elif spec.train.restore_best_weights and best_path.exists():  # an earlier session's best was not beaten
        best = keras.saving.load_model(best_path, compile=False)
        model.set_weights(best.get_weights())
        log("Using the weights of the best epoch (lowest validation loss).")


def _load_last(model, path: Path, log: RunLog) -> None:
    """The run's last weights and its optimizer's state (Adam's moments, the step count).

    `save_weights` writes the optimizer's variables too, but they only load into an optimizer
    that is built (an unbuilt one skips them, with a warning, and starts again from step 0):
    the caller builds it in the distribution scope first.
    """
    import keras

    model.load_weights(path)
    step = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    log(f"Restored the optimizer's state: it goes on from step {step}." if step
        else "The optimizer starts afresh (its state was not saved).")


def _best_metric(info) -> tuple[str | None, float | None]:
    """The validation metric whose best a run records, and the factor to the target's units.

    Classification records val_accuracy; regression and forecasting record val_mae in the
    target's units, or nothing when the MAE has no single unit (a forecast of several columns).
    """
    from layerlab.train.insights import mae_scale, main_metric

    if main_metric(info.task) == "accuracy":
        return "val_accuracy", None
    scale = mae_scale(info.to_dict())
    return ("val_mae", scale) if scale else (None, None)


def _read_history(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _monitor(metric: str, info) -> str:
    """The early-stopping metric, adjusted to what the task logs (accuracy vs mae)."""
    if info.task == "classification" and metric == "val_mae":
        return "val_accuracy"
    if info.task != "classification" and metric == "val_accuracy":
        return "val_mae"
    return metric


def _schedule_callbacks(spec, keras, epochs: int, start: int = 0) -> list:
    """The learning-rate schedule up to epoch `epochs`; phase 2 passes `start` (its first epoch) and its own
    spec, so its schedule starts again from its lower rate."""
    t = spec.train
    if t.lr_schedule == "plateau":
        return [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=t.lr_decay, patience=2, min_lr=t.learning_rate * 1e-3)]
    if t.lr_schedule == "cosine":
        return [keras.callbacks.LearningRateScheduler(
            lambda e, lr: t.learning_rate * 0.5 * (1 + math.cos(math.pi * (e - start) / max(1, epochs - start))))]
    if t.lr_schedule == "exponential":
        return [keras.callbacks.LearningRateScheduler(lambda e, lr: t.learning_rate * t.lr_decay ** (e - start))]
    return []


def _load_from_run(model, store: RunStore, run_id: str, log: RunLog) -> None:
    """Fine-tuning: start from another run's best (or last) weights; the shapes must match."""
    import keras

    source = store.get(run_id)
    if source is None:
        raise LayerlabError(f"The run `{run_id}` to start from no longer exists.", "Pick another run, or train from scratch.")
    best = source.path / "best.keras"
    try:
        if best.exists():
            model.set_weights(keras.saving.load_model(best, compile=False).get_weights())
        else:
            model.load_weights(source.path / "last.weights.h5")
    except (ValueError, OSError, FileNotFoundError) as exc:
        raise LayerlabError(f"The weights of run `{source.name}` do not fit this model ({str(exc)[:120]}).",
                            "Fine-tune only with the same layers and data, or train from scratch.") from None
    log(f"Starting from the weights of run `{source.name}` ({run_id}).")


def _class_weights(y: np.ndarray, n: int) -> dict[int, float]:
    counts = np.bincount(np.asarray(y, dtype=int), minlength=n).astype(float)
    counts[counts == 0] = 1.0
    return {i: float(len(y) / (n * c)) for i, c in enumerate(counts)}


def evaluate_model(model, test_ds, y_te, y_tr, prepared) -> dict:
    """Test metrics in the user's units, with the naive baseline beside them."""
    from layerlab import evaluate as ev
    from layerlab.models.build import probabilities

    info = prepared.info
    results = model.evaluate(test_ds, verbose=0, return_dict=True)
    raw = np.asarray(model.predict(test_ds, verbose=0))
    out: dict = {"loss": float(results.get("loss", float("nan"))), "task": info.task}
    test_idx = prepared.split.test
    if info.task == "classification":
        probs = probabilities(raw, info)
        out.update(ev.classification_report(y_te, probs, info.class_names, y_tr))
        mistakes = ev.confident_mistakes(y_te, probs)
        # Index into the data source (open_images), which counts files that were skipped as unreadable.
        source = (prepared.raw or {}).get("source_indices") if info.kind == "images" else None
        for m in mistakes:
            m["source_index"] = int(source[test_idx[m["index"]]] if source is not None else test_idx[m["index"]])
            m["name"] = prepared.names[test_idx[m["index"]]] if prepared.names else str(m["source_index"])
        out["mistakes"] = mistakes
        out["predictions"] = [int(p) for p in probs.argmax(axis=1)]
        out["confidences"] = [round(float(c), 4) for c in probs.max(axis=1)]
        if info.n_classes == 2:
            out.update(ev.binary_curves(y_te, probs[:, 1]))
    elif info.task == "regression":
        c, s = info.extra["target_center"], info.extra["target_spread"]
        pred = raw.reshape(-1) * s + c
        true = np.asarray(y_te).reshape(-1) * s + c
        train_mean = float(np.asarray(y_tr).mean() * s + c)
        out.update(ev.regression_report(true, pred, train_mean))
        out["rows"] = [int(i) for i in test_idx]
    else:
        tidx = [info.extra["features"].index(t) for t in info.extra["targets"]]
        tc, ts = np.asarray(info.extra["center"])[tidx], np.asarray(info.extra["spread"])[tidx]
        last = prepared.raw["last"][test_idx][:, tidx]  # scaled
        shift = last[:, None, :] if prepared.raw["relative"] else 0.0
        pred = (raw.reshape(len(y_te), info.extra["horizon"], -1) + shift) * ts + tc
        true = (np.asarray(y_te) + shift) * ts + tc
        last = last * ts + tc
        naive = np.repeat(last[:, None, :], info.extra["horizon"], axis=1)
        out.update(ev.forecast_report(true, pred, naive, info.extra["targets"]))
        out["dates"] = [prepared.names[i] for i in test_idx]
        # The date each step's forecast is for: step k of the window whose first target is at `s`.
        all_dates, starts = prepared.raw["dates"], [int(prepared.raw["start"][i]) for i in test_idx]

        def date_at(i: int) -> str:
            return str(all_dates[i]) if i < len(all_dates) else str(i)

        out["dates_by_step"] = {k: [date_at(s + int(k) - 1) for s in starts] for k in out["pred_by_step"]}
        out["dates_tail"] = [date_at(starts[-1] + k) for k in range(info.extra["horizon"])] if starts else []
    out.update(ev.raw_examples(out, y_te, info.kind, prepared.raw, test_idx))
    out["test_indices"] = [int(i) for i in test_idx]
    if info.kind == "images" and (prepared.raw or {}).get("source_indices") is not None:
        out["test_source_indices"] = [int(prepared.raw["source_indices"][i]) for i in test_idx]
    return out
