"""A run's status at a glance: badge, progress with epoch/step/ETA, device, message, key numbers."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.markup import md, message

from layerlab.train import insights
from layerlab.runs.store import Run
from layerlab.runs.worker import PREPARING

# status → (label, badge colour, icon)
STATUS = {
    "queued": ("Queued", "gray", ":material/schedule:"),
    "starting": ("Starting", "blue", ":material/hourglass_top:"),
    "running": ("Running", "blue", ":material/play_circle:"),
    "completed": ("Completed", "green", ":material/check_circle:"),
    "stopped": ("Stopped", "orange", ":material/stop_circle:"),
    "failed": ("Failed", "red", ":material/error:"),
    "interrupted": ("Interrupted", "orange", ":material/warning:"),
    "pruned": ("Pruned", "violet", ":material/content_cut:"),  # a tuning trial ended early: finished, not failed
}


def started_by(run: Run, me: str) -> str:
    """Who started a run, in words (an owner id grants nothing, but it is nobody's business either)."""
    if run.owner in (None, "cli"):
        return "the command line"
    return "this session" if run.owner == me else "another session"


def format_duration(seconds: float | None) -> str:
    """`42 s`, `3 min 05 s`, `1 h 02 min`; an em dash when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def short_duration(seconds: float | None) -> str:
    """`42 s`, `3m 05s`, `1h 02m`: for narrow places such as a metric card."""
    if seconds is None or seconds != seconds or seconds < 60:
        return format_duration(seconds)
    s = int(round(seconds))
    return f"{s // 60}m {s % 60:02d}s" if s < 3600 else f"{s // 3600}h {(s % 3600) // 60:02d}m"


def total_steps(run: Run) -> int | None:
    if run.epochs and run.steps_per_epoch:
        return run.epochs * run.steps_per_epoch
    return None


def fraction_done(run: Run, rows: list[dict[str, Any]] | None = None) -> float:
    """0..1 of the planned steps (1.0 once the run has finished)."""
    if not run.active:
        return 1.0
    where = insights.progress(run) if insights.training_now(run, rows) else None
    if where is None:
        return 0.0
    done, total = where
    return max(0.0, min(1.0, done / total))


def eta_seconds(run: Run, rows: list[dict[str, Any]] | None = None, now: float | None = None) -> float | None:
    """Seconds left if the run keeps its pace (an upper bound with early stopping); None until
    there is a pace. See `insights.eta`."""
    return insights.eta(run, rows, now)


def progress_text(run: Run, rows: list[dict[str, Any]] | None = None, now: float | None = None) -> str:
    if not insights.training_now(run, rows):
        if run.status == "running" and (run.message or "").startswith(PREPARING):
            return run.message  # type: ignore[return-value]  # e.g. "Preparing the data: decoding images (…), 40%"
        return ("Starting: loading TensorFlow and preparing the data…" if run.status in ("starting", "running")
                else "Waiting for the first step…")
    parts = []
    if run.epochs:
        parts.append(f"Epoch {min(run.epoch or 0, run.epochs)}/{run.epochs}")
    if run.steps_per_epoch:
        parts.append(f"step {insights.step_in_epoch(run)}/{run.steps_per_epoch}")
    if run.samples_per_sec:
        parts.append(f"{run.samples_per_sec:,.0f} samples/s")
    eta = eta_seconds(run, rows, now)
    if eta is not None:
        parts.append(f"about {format_duration(eta)} left")
    return " · ".join(parts)


def key_numbers(run: Run, rows: list[dict[str, Any]]) -> None:
    """Best validation metric and loss (with their epochs), speed, time left and learning rate."""
    epoch_rows = [r for r in rows if r["scope"] == "epoch"]
    metric = insights.main_metric(run.task)
    cells: list[tuple[str, str, str | None]] = []
    for name in (f"val_{metric}", "val_loss"):
        found = insights.best(epoch_rows, name)
        if found:
            value, epoch = found
            shown = f"{value:.1%}" if name.endswith("accuracy") else f"{value:.4g}"
            label = "Best val. " + {"val_accuracy": "accuracy", "val_mae": "MAE", "val_loss": "loss"}.get(name, name)
            cells.append((label, shown, f"epoch {epoch}"))
    speed = run.samples_per_sec
    cells.append(("Samples per second", f"{speed:,.0f}" if speed else "—", None))
    if run.active:
        eta = eta_seconds(run, rows)
        cells.append(("Time left", short_duration(eta) if eta is not None else "—", None))
    else:
        cells.append(("Duration", short_duration(run.duration), None))
    lr = next((r["learning_rate"] for r in reversed(epoch_rows) if r.get("learning_rate")), None)
    cells.append(("Learning rate", f"{lr:.3g}" if lr else "—", None))
    for col, (label, value, delta) in zip(st.columns(len(cells)), cells):
        col.metric(label, value, delta, delta_color="off", delta_arrow="off", border=True)


def badge(run: Run) -> None:
    label, color, icon = STATUS.get(run.status, (run.status.capitalize(), "gray", None))
    st.badge(label, icon=icon, color=color)


def show(run: Run, queue_position: int | None = None, rows: list[dict[str, Any]] | None = None) -> None:
    """Badge and name, progress (while active), device, and the run's message."""
    head, meta = st.columns([3, 2], vertical_alignment="center")
    with head:
        badge(run)
        st.markdown(f"**{md(run.name)}**  \n`{run.id}`")
    with meta:
        st.caption(f"Device: **{md(run.device or 'not reported yet')}** · {md(run.placement)}  \n"
                   f"Duration: {format_duration(run.duration)}")
    if run.status == "queued":
        where = f"position {queue_position} in the queue" if queue_position else "in the queue"
        st.info(f"Queued — {where}. It starts as soon as a training slot is free.", icon=":material/schedule:")
    elif run.active:
        st.progress(fraction_done(run, rows), text=progress_text(run, rows))
    elif run.status == "failed":
        st.error(message(run.message or "The run failed."), icon=":material/error:")
    elif run.status == "completed":
        from components import verdict

        if not verdict.show(run, key=f"verdict_{run.id}", lead=run.message):
            st.success(message(run.message or "Finished."), icon=":material/check_circle:")
    else:
        st.warning(message(run.message or run.status.capitalize()), icon=":material/warning:")
