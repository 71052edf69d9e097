"""Training curves from the run store's metric rows: loss and accuracy, train vs validation.

`curves_figure` is pure (rows in, plotly figure out) so tests can read its traces; `show`
draws it with a stable key and a `uirevision` per run, so a redraw every second keeps the
user's zoom and the element is replaced in place instead of duplicated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

TRAIN_COLOR = "#0F766E"
VAL_COLOR = "#4F46E5"
MAX_POINTS = 600
_NOT_METRICS = {"id", "scope", "epoch", "step", "t", "learning_rate", "epoch_seconds"}
_TITLES = {"loss": "Loss", "accuracy": "Accuracy", "mae": "Mean absolute error"}


def downsample(xs: list[float], ys: list[float], limit: int = MAX_POINTS) -> tuple[list[float], list[float]]:
    """At most `limit` evenly spaced points, always keeping the first and the last."""
    if len(xs) <= limit:
        return list(xs), list(ys)
    idx = np.unique(np.linspace(0, len(xs) - 1, limit).round().astype(int))
    return [xs[i] for i in idx], [ys[i] for i in idx]


def metric_names(rows: list[dict[str, Any]]) -> list[str]:
    """Training metrics in the rows, loss first, then accuracy (or the first other metric)."""
    seen: list[str] = []
    for row in rows:
        for k in row:
            if k not in _NOT_METRICS and not k.startswith("val_") and k not in seen:
                seen.append(k)
    ordered = [m for m in ("loss", "accuracy") if m in seen] + [m for m in seen if m not in ("loss", "accuracy")]
    return ordered[:2] if ordered else ["loss"]


def _steps_per_epoch(rows: list[dict[str, Any]], steps_per_epoch: int | None) -> float | None:
    if steps_per_epoch:
        return float(steps_per_epoch)
    for row in rows:
        if row["scope"] == "epoch" and row.get("step") and row.get("epoch"):
            return row["step"] / row["epoch"]
    return None


def curves_figure(rows: list[dict[str, Any]], *, epochs: int | None = None, steps_per_epoch: int | None = None,
                  revision: str = "run", task: str | None = "classification") -> go.Figure:
    """Loss (and accuracy) against epochs: per-epoch train and validation, plus per-batch train.

    `epochs` (pass it while the run is active) leaves headroom on the x-axis for the curve to
    grow into, up to the planned length; without it the axis fits the data.

    Batch rows carry Keras's running mean of the epoch so far, which is the smoothed
    per-batch curve; it is drawn faintly at fractional epochs (global step / steps per epoch).
    """
    names = metric_names(rows) if rows else (["loss", "accuracy"] if task == "classification" else ["loss"])
    titles = [_TITLES.get(m, m.replace("_", " ").capitalize()) for m in names]
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=titles, horizontal_spacing=0.08)
    epoch_rows = [r for r in rows if r["scope"] == "epoch"]
    batch_rows = [r for r in rows if r["scope"] == "batch"]
    spe = _steps_per_epoch(rows, steps_per_epoch)
    marker = 7 if len(epoch_rows) <= 20 else (4 if len(epoch_rows) <= 60 else 0)
    for col, name in enumerate(names, start=1):
        first = col == 1
        if batch_rows and spe:
            pts = [(r["step"] / spe, r[name]) for r in batch_rows if r.get(name) is not None]
            xs, ys = downsample([p[0] for p in pts], [p[1] for p in pts])
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="train (per batch)", legendgroup="batch",
                                     showlegend=first, line={"color": TRAIN_COLOR, "width": 1}, opacity=0.35,
                                     hovertemplate="epoch %{x:.2f}<br>%{y:.4f}<extra>train (batch)</extra>"),
                          row=1, col=col)
        series = ((name, "train", TRAIN_COLOR, None), (f"val_{name}", "validation", VAL_COLOR, "dot"))
        for key, label, color, dash in series:
            pts = [(r["epoch"], r[key]) for r in epoch_rows if r.get(key) is not None]
            if not pts:
                continue
            xs, ys = downsample([p[0] for p in pts], [p[1] for p in pts])
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers" if marker else "lines", name=label,
                                     legendgroup=label, showlegend=first, marker={"size": marker},
                                     line={"color": color, "width": 2.5, "dash": dash},
                                     hovertemplate=f"epoch %{{x}}<br>%{{y:.4f}}<extra>{label}</extra>"),
                          row=1, col=col)
        if name == "accuracy":
            fig.update_yaxes(tickformat=".0%", rangemode="tozero", row=1, col=col)
    upper = float(max([1] + [r["epoch"] for r in epoch_rows]))
    if batch_rows and spe:
        upper = max(upper, batch_rows[-1]["step"] / spe)
    if epochs:  # while active: headroom for the curve to grow into, never past the planned epochs
        upper = max(upper, min(float(epochs), max(5.0, 1.5 * upper)))
    fig.update_xaxes(title_text="epoch", range=[0, upper * 1.02], rangemode="tozero")
    if not rows:
        fig.add_annotation(text="Waiting for the first batch…", showarrow=False, xref="paper", yref="paper",
                           x=0.5, y=0.5, font={"size": 15, "color": "#64748B"})
    fig.update_layout(height=340, margin={"l": 10, "r": 10, "t": 40, "b": 10}, uirevision=revision,
                      legend={"orientation": "h", "yanchor": "bottom", "y": -0.32, "x": 0},
                      hovermode="x unified")
    return fig


def show(rows: list[dict[str, Any]], run, key: str = "training-chart") -> None:
    """The curves of `run` (a store Run), with room to grow on the x-axis while it is active."""
    fig = curves_figure(rows, epochs=run.epochs if run.active else None, steps_per_epoch=run.steps_per_epoch,
                        revision=run.id, task=run.task)
    st.plotly_chart(fig, width="stretch", key=key)


def read_new_rows(store, run_id: str, slot: str = "train_rows") -> list[dict[str, Any]]:
    """All metric rows of `run_id`, read incrementally: only rows newer than the last read are fetched.

    The accumulated rows and the last id live in `st.session_state[slot]`; a different run
    (or a fresh session after a reload) starts again from the first row.
    """
    cache = st.session_state.get(slot)
    if not cache or cache.get("run") != run_id:
        cache = {"run": run_id, "after": 0, "rows": []}
    new = store.metrics(run_id, after_id=cache["after"])
    if new:
        cache["rows"].extend(new)
        cache["after"] = new[-1]["id"]
    st.session_state[slot] = cache
    return cache["rows"]
