"""A run's status at a glance: badge, progress with epoch/step/ETA, device and message."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from layerlab.train.store import Run

# status → (label, badge colour, icon)
STATUS = {
    "queued": ("Queued", "gray", ":material/schedule:"),
    "starting": ("Starting", "blue", ":material/hourglass_top:"),
    "running": ("Running", "blue", ":material/play_circle:"),
    "completed": ("Completed", "green", ":material/check_circle:"),
    "stopped": ("Stopped", "orange", ":material/stop_circle:"),
    "failed": ("Failed", "red", ":material/error:"),
    "interrupted": ("Interrupted", "orange", ":material/warning:"),
}


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


def total_steps(run: Run) -> int | None:
    if run.epochs and run.steps_per_epoch:
        return run.epochs * run.steps_per_epoch
    return None


def fraction_done(run: Run) -> float:
    """0..1 of the planned steps (1.0 once the run has finished)."""
    if not run.active:
        return 1.0
    total = total_steps(run)
    if not total or not run.step:
        return 0.0
    return max(0.0, min(1.0, run.step / total))


def eta_seconds(run: Run, rows: list[dict[str, Any]] | None = None, now: float | None = None) -> float | None:
    """Seconds left if the remaining steps go as fast as the steps so far (an upper bound with
    early stopping); None until there is a rate.

    With the run's metric rows the rate is measured from the first batch on, so the worker's
    start-up (importing TensorFlow, loading the data) does not inflate the estimate.
    """
    total = total_steps(run)
    if run.status != "running" or not total or not run.step:
        return None
    remaining = max(0, total - run.step)
    batches = [r for r in rows or [] if r.get("scope") == "batch"]
    if len(batches) >= 2 and batches[-1]["t"] > batches[0]["t"] and batches[-1]["step"] > batches[0]["step"]:
        rate = (batches[-1]["step"] - batches[0]["step"]) / (batches[-1]["t"] - batches[0]["t"])
        return remaining / rate
    if not run.started:
        return None
    elapsed = (now or time.time()) - run.started
    return elapsed * remaining / run.step if elapsed > 0 else None


def progress_text(run: Run, rows: list[dict[str, Any]] | None = None, now: float | None = None) -> str:
    if not run.step:
        return ("Starting: loading TensorFlow and preparing the data…" if run.status in ("starting", "running")
                else "Waiting for the first step…")
    parts = []
    if run.epochs:
        parts.append(f"Epoch {min(run.epoch or 0, run.epochs)}/{run.epochs}")
    if run.steps_per_epoch:
        in_epoch = run.step - (max(1, run.epoch or 1) - 1) * run.steps_per_epoch
        parts.append(f"step {max(0, in_epoch)}/{run.steps_per_epoch}")
    if run.samples_per_sec:
        parts.append(f"{run.samples_per_sec:,.0f} samples/s")
    eta = eta_seconds(run, rows, now)
    if eta is not None:
        parts.append(f"about {format_duration(eta)} left")
    return " · ".join(parts)


def badge(run: Run) -> None:
    label, color, icon = STATUS.get(run.status, (run.status.capitalize(), "gray", None))
    st.badge(label, icon=icon, color=color)


def show(run: Run, queue_position: int | None = None, rows: list[dict[str, Any]] | None = None) -> None:
    """Badge and name, progress (while active), device, and the run's message."""
    head, meta = st.columns([3, 2], vertical_alignment="center")
    with head:
        badge(run)
        st.markdown(f"**{run.name}**  \n`{run.id}`")
    with meta:
        st.caption(f"Device: **{run.device or 'not reported yet'}**  \n"
                   f"Duration: {format_duration(run.duration)}")
    if run.status == "queued":
        where = f"position {queue_position} in the queue" if queue_position else "in the queue"
        st.info(f"Queued — {where}. It starts as soon as a training slot is free.", icon=":material/schedule:")
    elif run.active:
        st.progress(fraction_done(run), text=progress_text(run, rows))
    elif run.status == "failed":
        st.error(run.message or "The run failed.", icon=":material/error:")
    elif run.status == "completed":
        st.success(run.message or "Finished.", icon=":material/check_circle:")
    else:
        st.warning(run.message or run.status.capitalize(), icon=":material/warning:")
