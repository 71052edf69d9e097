"""What a run's metric rows say, in numbers and in plain words: no Keras, no Streamlit.

The pages call these on the rows of the run store (`RunStore.metrics`): batch rows hold
Keras's running mean of the epoch so far; epoch rows hold loss, accuracy or mae, their
`val_` twins, `learning_rate` and `epoch_seconds`.

- `per_batch` turns the running means back into each batch's own value, and `smooth`
  is the exponential moving average drawn over them;
- `progress` and `eta` read how far a run is and how long it has left (a continued run
  restarts its step counter, so positions come from the epoch and the step within it);
- `hints` names common training problems (overfitting, a flat or rising loss, an accuracy
  stuck where it started) and what to try, live;
- `verdict` says whether a finished run beat its baseline clearly, why not and what to try;
- `flatten_spec` and `settings_diff` line up the settings of several runs.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

Row = Mapping[str, Any]


# ---- smoothing and per-batch values ------------------------------------------------------------


def smooth(values: Sequence[float | None], alpha: float = 0.6) -> list[float | None]:
    """Exponential moving average with TensorBoard's "smoothing" weight, debiased.

    Args:
        values: the raw series; None and non-finite entries are passed through and skipped.
        alpha: the weight of the past, in [0, 1): 0 returns the values unchanged, 0.9 is
            very smooth. Debiasing keeps the first points from being pulled towards 0.

    Returns:
        A list as long as `values`.

    Raises:
        ValueError: when alpha is outside [0, 1).
    """
    if not 0.0 <= alpha < 1.0:
        raise ValueError("Invalid value received for argument `alpha`. Expected a float in [0, 1). "
                         f"Received: alpha={alpha}")
    out: list[float | None] = []
    avg, weight = 0.0, 0.0
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(v)
            continue
        avg = alpha * avg + (1.0 - alpha) * v
        weight = alpha * weight + (1.0 - alpha)
        out.append(avg / weight)
    return out


def _position(row: Row, steps_per_epoch: int | None) -> int | None:
    """The 1-based index of a batch row within its epoch."""
    step = row.get("step")
    if not step or not steps_per_epoch:
        return None
    return (int(step) - 1) % int(steps_per_epoch) + 1


def infer_steps_per_epoch(rows: Iterable[Row]) -> int | None:
    """Steps per epoch from the first epoch row of an uncontinued run (its step / its epoch)."""
    for row in rows:
        if row.get("scope") == "epoch" and row.get("step") and row.get("epoch"):
            spe = row["step"] / row["epoch"]
            if spe >= 1 and float(spe).is_integer():
                return int(spe)
    return None


def per_batch(rows: Sequence[Row], key: str, steps_per_epoch: int | None) -> tuple[list[float], list[float]]:
    """Each batch's own `key` value and its position in epochs, from Keras's running means.

    Within an epoch, batch i's value is i·mean_i − (i−1)·mean_(i−1). Keras weighs the mean
    by samples, so the last, smaller batch of an epoch comes out slightly off; values are
    clipped to what the metric allows (≥ 0; accuracy ≤ 1). A batch whose predecessor is
    missing is skipped. x is the fractional epoch: (epoch − 1) + i / steps_per_epoch.

    Returns:
        (xs, values), in row order.
    """
    xs: list[float] = []
    ys: list[float] = []
    spe = steps_per_epoch
    prev: tuple[int, int, float] | None = None  # (epoch, index, running mean)
    for row in rows:
        if row.get("scope") != "batch" or row.get(key) is None:
            continue
        epoch, mean = int(row["epoch"]), float(row[key])
        i = _position(row, spe)
        if i is None:
            i = prev[1] + 1 if prev and prev[0] == epoch else 1
        if i == 1:
            value: float | None = mean
        elif prev and prev[0] == epoch and prev[1] == i - 1:
            value = i * mean - (i - 1) * prev[2]
        else:
            value = None
        prev = (epoch, i, mean)
        if value is None or not math.isfinite(value):
            continue
        value = max(0.0, value)
        if key.endswith("accuracy"):
            value = min(1.0, value)
        xs.append((epoch - 1) + i / spe if spe else float(epoch - 1))
        ys.append(value)
    return xs, ys


# ---- progress, speed and time left -------------------------------------------------------------


def progress(run: Any) -> tuple[int, int] | None:
    """(steps done, steps planned) of a run (a store Run), or None before the first step.

    A continued run's step counter starts again at 0, so the steps done are counted from
    its epoch and the step within that epoch.
    """
    spe, epochs = run.steps_per_epoch, run.epochs
    if not spe or not epochs or not run.step:
        return None
    in_epoch = (int(run.step) - 1) % int(spe) + 1
    done = (max(1, int(run.epoch or 1)) - 1) * spe + in_epoch
    total = epochs * spe
    return min(done, total), total


def training_now(run: Any, rows: Sequence[Row] | None = None) -> bool:
    """Whether the run's current training session has reached its first batch.

    A continued run keeps its old step and epoch until the worker has loaded the data and
    built the model; with its rows, the first batch newer than `run.started` tells.
    """
    if run.status != "running" or not run.step:
        return False
    if not rows:
        return True
    since = run.started or 0
    return any(r.get("scope") == "batch" and r.get("t", 0) >= since for r in rows)


def step_in_epoch(run: Any) -> int | None:
    """The 1-based step within the current epoch, or None before the first step."""
    if not run.step or not run.steps_per_epoch:
        return None
    return (int(run.step) - 1) % int(run.steps_per_epoch) + 1


def _segment(rows: Sequence[Row], since: float | None) -> list[Row]:
    """The rows of the current training session of a run (a continued run has several)."""
    return [r for r in rows if since is None or r.get("t", 0) >= since]


def batch_rate(rows: Sequence[Row], since: float | None = None, window: int = 200) -> float | None:
    """Training steps per second over the last `window` batch rows (validation excluded)."""
    batches = [r for r in _segment(rows, since) if r.get("scope") == "batch"][-window:]
    if len(batches) < 2:
        return None
    dt = batches[-1]["t"] - batches[0]["t"]
    return (len(batches) - 1) / dt if dt > 0 else None


def epoch_time(rows: Sequence[Row], since: float | None = None) -> float | None:
    """Typical seconds per epoch, validation included; the first epoch (tracing, warm-up) is
    left out once there are later ones."""
    times = [r["epoch_seconds"] for r in _segment(rows, since)
             if r.get("scope") == "epoch" and r.get("epoch_seconds")]
    if len(times) > 1:
        times = times[1:]
    return statistics.median(times[-5:]) if times else None


def eta(run: Any, rows: Sequence[Row] | None = None, now: float | None = None) -> float | None:
    """Seconds left if the run keeps its pace (an upper bound with early stopping); None
    while there is no pace to go by or the run is not training.

    The rest of the current epoch goes at the measured batch rate; each remaining full epoch
    takes the typical epoch time (which includes validation). Rows from before a
    continuation (older than `run.started`) are ignored. Without rows, the elapsed time
    per step done so far is the pace (start-up included).
    """
    where = progress(run)
    if where is None or not training_now(run, rows):
        return None
    done, total = where
    rows = rows or []
    rate = batch_rate(rows, run.started)
    spe = int(run.steps_per_epoch)
    if rate:
        in_epoch = done - (max(1, int(run.epoch or 1)) - 1) * spe
        full_left = max(0, total - done - (spe - in_epoch)) // spe
        per_epoch = epoch_time(rows, run.started) or spe / rate
        return max(0.0, (spe - in_epoch) / rate + full_left * per_epoch)
    if not run.started:
        return None
    elapsed = (now or _now()) - run.started
    session_done = done - _steps_before(rows, run.started, spe)
    return elapsed * (total - done) / session_done if elapsed > 0 and session_done > 0 else None


def _steps_before(rows: Sequence[Row], since: float | None, spe: int) -> int:
    """Steps of the epochs finished before the current training session (continuations)."""
    if since is None:
        return 0
    done = [int(r["epoch"]) for r in rows if r.get("scope") == "epoch" and r.get("t", 0) < since]
    return max(done, default=0) * spe


def _now() -> float:
    import time

    return time.time()


def throughput(rows: Sequence[Row], batch_size: int | None) -> tuple[list[int], list[float]]:
    """Training samples per second of each finished epoch, over its wall time (validation and
    checkpoints included, as the run's own samples/s): batches × batch size / epoch seconds.

    Returns:
        (epochs, samples per second); batches per second when batch_size is None.
    """
    batches: dict[int, int] = {}
    for r in rows:
        if r.get("scope") == "batch":
            batches[int(r["epoch"])] = batches.get(int(r["epoch"]), 0) + 1
    epochs, rates = [], []
    for r in rows:
        seconds = r.get("epoch_seconds")
        if r.get("scope") == "epoch" and seconds and batches.get(int(r["epoch"])):
            epochs.append(int(r["epoch"]))
            rates.append(batches[int(r["epoch"])] * (batch_size or 1) / seconds)
    return epochs, rates


# ---- best epochs -------------------------------------------------------------------------------

# metric → True when larger is better
_BETTER_HIGH = {"accuracy": True, "loss": False, "mae": False}


def best(epoch_rows: Sequence[Row], metric: str) -> tuple[float, int] | None:
    """(best value, its epoch) of an epoch metric such as "val_loss" or "val_accuracy"."""
    base = metric.removeprefix("val_")
    high = _BETTER_HIGH.get(base, False)
    pts = [(r[metric], int(r["epoch"])) for r in epoch_rows
           if r.get("scope", "epoch") == "epoch" and r.get(metric) is not None and math.isfinite(r[metric])]
    if not pts:
        return None
    return max(pts, key=lambda p: p[0]) if high else min(pts, key=lambda p: p[0])


def mae_scale(info: Mapping[str, Any] | None) -> float | None:
    """The factor that turns a logged MAE (on the standardized target) into the target's own
    units, from the run's info.json; None when there is no single factor (several targets)."""
    extra = (info or {}).get("extra") or {}
    if extra.get("target_spread"):
        return float(extra["target_spread"])
    targets, features, spread = extra.get("targets"), extra.get("features"), extra.get("spread")
    if targets and len(targets) == 1 and features and spread and targets[0] in features:
        return float(spread[features.index(targets[0])])
    return None


def main_metric(task: str | None) -> str:
    """The metric that describes a run in words: accuracy for classification, else MAE."""
    return "accuracy" if task in (None, "classification") else "mae"


# ---- hints -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hint:
    """A finding about a run's curves. level is "warning" (act on it) or "info"."""

    kind: str
    level: str
    text: str

    def __str__(self) -> str:
        return self.text


def _rising_tail(values: Sequence[float]) -> int:
    """How many epochs in a row, at the end, the value went up."""
    n = 0
    for a, b in zip(reversed(values[:-1]), reversed(values)):
        if b > a:
            n += 1
        else:
            break
    return n


def _lr(rows: Sequence[Row]) -> float | None:
    lr = rows[-1].get("learning_rate") if rows else None
    return float(lr) if lr else None


def hints(epoch_rows: Sequence[Row], *, early_stopping: bool = False, schedule: str | None = None,
          min_epochs: int = 3) -> list[Hint]:
    """Plain-words findings about a run's epoch rows, most urgent first; [] when all looks well.

    - diverged: the loss is NaN or infinite → lower the learning rate;
    - diverging: the training loss rose two epochs in a row → lower the learning rate;
    - overfitting: the validation loss rose for ≥ 2 epochs in a row while the training loss
      fell → Dropout, augmentation, a smaller model, early stopping;
    - stuck: the validation accuracy has not moved since the first epoch (one class answered for
      everything, at the baseline) → class weights, another learning rate or template;
    - flat: the training loss has barely moved since the first epoch → change the learning rate;
    - plateau: the loss has levelled off after learning → more epochs add little.

    Args:
        epoch_rows: the run's epoch rows (other rows are ignored), oldest first.
        early_stopping: whether the run stops early (then it is not suggested).
        schedule: the run's learning-rate schedule ("plateau" is not suggested again).
        min_epochs: epochs needed before trends are judged.
    """
    rows = [r for r in epoch_rows if r.get("scope", "epoch") == "epoch"]
    if not rows:
        return []
    last = rows[-1].get("loss")
    lr = _lr(rows)
    lower = f" (e.g. from {lr:g} to {lr / 10:g})" if lr else ""
    if last is not None and not math.isfinite(last):
        return [Hint("diverged", "warning",
                     f"The training loss became {last} (not a number): the steps are too large. Lower the "
                     f"learning rate{lower}, and check that the inputs are scaled.")]
    loss = [r["loss"] for r in rows if r.get("loss") is not None]
    val = [r["val_loss"] for r in rows if r.get("val_loss") is not None]
    out: list[Hint] = []
    if len(loss) < min_epochs:
        return out
    if _rising_tail(loss) >= 2 and loss[-1] > 1.05 * min(loss):
        out.append(Hint("diverging", "warning",
                        f"The training loss went up in each of the last {_rising_tail(loss)} epochs: the learning rate "
                        f"is probably too high. Lower it{lower}, or pick the cosine or plateau schedule."))
        return out
    rises = _rising_tail(val) if len(val) == len(loss) else 0
    if rises >= 2 and loss[-1] < loss[-1 - rises] and val[-1] > 1.02 * min(val):
        best_epoch = int(rows[val.index(min(val))]["epoch"])
        tips = "add a Dropout layer, use data augmentation (images), make the model smaller"
        tips += (", or let early stopping end the run — it keeps the best epoch" if early_stopping
                 else ", or turn on early stopping (patience 2–3) to keep the best epoch")
        out.append(Hint("overfitting", "warning",
                        f"Overfitting: the validation loss has risen for {rises} epochs in a row while the training "
                        f"loss keeps falling — the model is memorising the training data. Its best epoch so far "
                        f"was {best_epoch}. To fix it: {tips}."))
        return out
    stuck = _stuck_accuracy(rows, min_epochs)
    if stuck is not None:
        out.append(Hint("stuck", "warning",
                        f"The validation accuracy has stayed at {stuck:.1%} since the first epoch: the model is "
                        "probably answering the same class every time, as one that learned nothing does. If one "
                        "class dominates the data, turn on class weights (Prepare); otherwise try another learning "
                        f"rate{f' (e.g. {lr / 10:g} or {lr * 10:g})' if lr else ''} or another template."))
        return out
    window = loss[-min_epochs:]
    change = (max(window) - min(window)) / max(abs(window[0]), 1e-12)
    if change < 0.01:
        if loss[-1] > 0.9 * loss[0]:
            out.append(Hint("flat", "warning",
                            f"The loss has barely changed since the first epoch: the model is not learning. Try a "
                            f"larger learning rate{f' (e.g. {lr * 10:g})' if lr and lr < 0.1 else ''}; if it is "
                            "already large, a smaller one. Check that the inputs are scaled and the labels are right."))
        elif loss[-1] > 0.01 and schedule != "plateau":
            out.append(Hint("plateau", "info",
                            f"The loss has levelled off over the last {min_epochs} epochs: more epochs add little. "
                            "A lower learning rate (the plateau schedule does this by itself) may still gain a bit."))
    return out


def _stuck_accuracy(rows: Sequence[Row], min_epochs: int, tolerance: float = 0.005) -> float | None:
    """The validation accuracy when it has not moved since the first epoch (a model answering one
    class scores the same every epoch, while its loss may still fall as it learns the class shares)."""
    acc = [r.get("val_accuracy") for r in rows]
    if len(acc) < min_epochs or any(a is None or not math.isfinite(a) for a in acc):
        return None
    return float(acc[-1]) if max(acc) - min(acc) <= tolerance else None


# ---- comparing settings ------------------------------------------------------------------------


def _short(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, (list, tuple)):
        return ", ".join(str(_short(v)) for v in value) if value else "—"
    return value


def _step_text(step: Mapping[str, Any]) -> str:
    params = ", ".join(f"{k}={_short(v)}" for k, v in (step.get("params") or {}).items())
    return f"{step.get('type')}({params})"


def flatten_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """One flat `setting → value` dict of a project document (`project.json` as a dict).

    Facts under a "run" key first (e.g. epochs trained), then the data source and columns,
    the template, the number and types of layers and each layer's parameters, the
    preparation settings of the data's kind, the split and augmentation, and every training
    setting; None values are left out.
    """
    out: dict[str, Any] = {f"run.{k}": _short(v) for k, v in (spec.get("run") or {}).items()}
    data = spec.get("data", {})
    for k in ("kind", "source", "task", "target", "text", "date", "features", "ignore"):
        if data.get(k) not in (None, []):
            out[f"data.{k}"] = _short(data[k])
    model = spec.get("model", {})
    layers = model.get("layers", []) or []
    out["model.template"] = model.get("template")
    out["model.number of layers"] = len(layers)
    out["model.layer types"] = ", ".join(str(layer.get("type")) for layer in layers) or "—"
    for i, layer in enumerate(layers, start=1):
        out[f"model.layer {i}"] = _step_text(layer)
    prep = spec.get("prepare", {})
    section = {"images": "image", "table": "table", "text": "text", "series": "series"}.get(data.get("kind", ""))
    for k, v in (prep.get(section) or {}).items() if section else ():
        if v is not None:
            out[f"prepare.{section}.{k}"] = _short(v)
    for k, v in (prep.get("split") or {}).items():
        out[f"prepare.split.{k}"] = _short(v)
    if "class_weights" in prep:
        out["prepare.class_weights"] = prep["class_weights"]
    out["prepare.augment"] = ", ".join(_step_text(s) for s in prep.get("augment") or []) or "none"
    for k, v in (spec.get("train") or {}).items():
        if v is not None:
            out[f"train.{k}"] = _short(v)
    return out


def settings_diff(specs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The settings of several project documents side by side.

    Returns:
        One row per setting present in any of them: {"setting": name, "values": [value per
        spec, None where absent], "differs": bool}. A setting only some specs have comes
        right after the setting before it in those specs (a fifth layer after the fourth).
    """
    flat = [flatten_spec(s) for s in specs]
    names: list[str] = []
    for f in flat:
        at = 0
        for k in f:
            if k in names:
                at = names.index(k) + 1
            else:
                names.insert(at, k)
                at += 1
    rows = []
    for name in names:
        values = [f.get(name) for f in flat]
        rows.append({"setting": name, "values": values, "differs": len({repr(v) for v in values}) > 1})
    return rows


def weights_fit(spec: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """Whether `other`'s trained weights can start a run of `spec` (fine-tuning): the same
    data, columns, preparation of the inputs and layers. Split, augmentation, class weights
    and training settings may differ."""
    def key(s: Mapping[str, Any]) -> tuple:
        data = dict(s.get("data", {}))
        prep = {k: v for k, v in (s.get("prepare") or {}).items() if k not in ("split", "augment", "class_weights")}
        return (repr(sorted(data.items())), repr(sorted(prep.items())), repr(s.get("model", {}).get("layers")))
    return key(spec) == key(other)
