"""Training curves from the run store's metric rows: loss and every metric, train vs validation.

`curves_figure` and `speed_figure` are pure (rows in, plotly figure out) so tests can read
their traces; `show` draws them with stable keys and a `uirevision` per run, so a redraw
every second keeps the user's zoom and the elements are replaced in place, not duplicated.

Per-batch curves: the store's batch rows hold Keras's running mean of the epoch so far;
`insights.per_batch` recovers each batch's own value and an exponential moving average
(`insights.smooth`, the "Smoothing" slider) draws it, with the raw values one legend
click away.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from components import run_compare
from layerlab.train import insights
from layerlab.train.phases import PHASE_2_LABEL

TRAIN_COLOR = "#0F766E"
VAL_COLOR = "#4F46E5"
LR_COLOR = "#B45309"
SPEED_COLOR = "#0369A1"
PHASE_COLOR = "#64748B"
MAX_POINTS = 600
_NOT_METRICS = {"id", "scope", "epoch", "step", "t", "learning_rate", "epoch_seconds"}
_TITLES = {"loss": "Loss", "accuracy": "Accuracy", "mae": "Mean absolute error", "mse": "Mean squared error",
           "rmse": "Root mean squared error"}


def downsample(xs: list[float], ys: list[float], limit: int = MAX_POINTS) -> tuple[list[float], list[float]]:
    """At most `limit` evenly spaced points, always keeping the first and the last."""
    if len(xs) <= limit:
        return list(xs), list(ys)
    idx = np.unique(np.linspace(0, len(xs) - 1, limit).round().astype(int))
    return [xs[i] for i in idx], [ys[i] for i in idx]


def metric_names(rows: list[dict[str, Any]]) -> list[str]:
    """Every training metric in the rows: loss first, then accuracy, then the others as seen."""
    seen: list[str] = []
    for row in rows:
        for k in row:
            if k not in _NOT_METRICS and not k.startswith("val_") and k not in seen:
                seen.append(k)
    ordered = [m for m in ("loss", "accuracy") if m in seen] + [m for m in seen if m not in ("loss", "accuracy")]
    return ordered or ["loss"]


def title(name: str) -> str:
    return _TITLES.get(name, name.replace("_", " ").capitalize())


def _grid(n: int) -> tuple[int, int]:
    """(rows, cols) for n panels: one row up to three, then two per row."""
    return (1, n) if n <= 3 else (math.ceil(n / 2), 2)


def curves_figure(rows: list[dict[str, Any]], *, epochs: int | None = None, steps_per_epoch: int | None = None,
                  revision: str = "run", task: str | None = "classification", smoothing: float = 0.8,
                  titles: dict[str, str] | None = None, fine_tune_from: int | None = None) -> go.Figure:
    """Loss and every metric against epochs: per-epoch train and validation, per-batch train.

    `epochs` (pass it while the run is active) leaves headroom on the x-axis for the curve
    to grow into, up to the planned length; without it the axis fits the data. `smoothing`
    is the EMA weight of the per-batch line (0 draws the raw values); `titles` overrides
    panel titles by metric name. `fine_tune_from` (the run's epochs before phase 2) draws a
    dashed line there on every panel, labelled on the first: "phase 2: fine-tuning".
    """
    default = ["loss", "accuracy"] if task in (None, "classification") else ["loss", "mae"]
    names = metric_names(rows) if rows else default
    n_rows, n_cols = _grid(len(names))
    fig = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=[(titles or {}).get(m) or title(m) for m in names],
                        horizontal_spacing=0.07, vertical_spacing=0.16 if n_rows > 1 else 0.1)
    epoch_rows = [r for r in rows if r["scope"] == "epoch"]
    has_batches = any(r["scope"] == "batch" for r in rows)
    spe = steps_per_epoch or insights.infer_steps_per_epoch(rows)
    marker = 7 if len(epoch_rows) <= 20 else (4 if len(epoch_rows) <= 60 else 0)
    upper = float(max([1] + [r["epoch"] for r in epoch_rows]))
    for i, name in enumerate(names):
        where = {"row": i // n_cols + 1, "col": i % n_cols + 1}
        first = i == 0
        if has_batches and spe:
            bx, by = insights.per_batch(rows, name, spe)
            if bx:
                upper = max(upper, bx[-1])
                xs, raw = downsample(bx, by)
                _, ys = downsample(bx, insights.smooth(by, smoothing) if smoothing else by)
                fig.add_trace(go.Scatter(x=xs, y=raw, mode="lines", name="train (per batch, raw)",
                                         legendgroup="batch-raw", showlegend=first, visible="legendonly",
                                         line={"color": TRAIN_COLOR, "width": 1}, opacity=0.25,
                                         hovertemplate="epoch %{x:.2f}<br>%{y:.4f}<extra>batch</extra>"), **where)
                fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="train (per batch)", legendgroup="batch",
                                         showlegend=first, line={"color": TRAIN_COLOR, "width": 1.2}, opacity=0.45,
                                         hovertemplate="epoch %{x:.2f}<br>%{y:.4f}<extra>train (batch, smoothed)"
                                                       "</extra>"), **where)
        series = ((name, "train", TRAIN_COLOR, None), (f"val_{name}", "validation", VAL_COLOR, "dot"))
        for key, label, color, dash in series:
            pts = [(r["epoch"], r[key]) for r in epoch_rows if r.get(key) is not None]
            if not pts:
                continue
            xs, ys = downsample([p[0] for p in pts], [p[1] for p in pts])
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers" if marker else "lines", name=label,
                                     legendgroup=label, showlegend=first, marker={"size": marker},
                                     line={"color": color, "width": 2.5, "dash": dash},
                                     hovertemplate=f"epoch %{{x}}<br>%{{y:.4f}}<extra>{label}</extra>"), **where)
        if name == "accuracy":
            fig.update_yaxes(tickformat=".0%", rangemode="tozero", **where)
        if fine_tune_from is not None:
            label = {"annotation_text": PHASE_2_LABEL, "annotation_position": "top right",
                     "annotation_font": {"size": 11, "color": PHASE_COLOR}} if first else {}
            fig.add_vline(x=fine_tune_from, line={"color": PHASE_COLOR, "width": 1.5, "dash": "dash"}, **label, **where)
    if epochs:  # while active: headroom for the curve to grow into, never past the planned epochs
        upper = max(upper, min(float(epochs), max(5.0, 1.5 * upper)))
    fig.update_xaxes(title_text="epoch", range=[0, upper * 1.02], rangemode="tozero")
    if not rows:
        fig.add_annotation(text="Waiting for the first batch…", showarrow=False, xref="paper", yref="paper",
                           x=0.5, y=0.5, font={"size": 15, "color": "#64748B"})
    fig.update_layout(height=340 * n_rows, margin={"l": 10, "r": 10, "t": 40, "b": 10}, uirevision=revision,
                      legend={"orientation": "h", "yanchor": "top", "y": -0.22 / n_rows, "x": 0},
                      hovermode="x unified")
    return fig


def speed_figure(rows: list[dict[str, Any]], *, batch_size: int | None = None, revision: str = "run") -> go.Figure:
    """The learning rate per epoch (log scale) and the training speed per epoch (samples per second)."""
    unit = "Samples per second" if batch_size else "Batches per second"
    fig = make_subplots(rows=1, cols=2, subplot_titles=["Learning rate", unit], horizontal_spacing=0.1)
    pts = [(r["epoch"], r["learning_rate"]) for r in rows if r["scope"] == "epoch" and r.get("learning_rate")]
    if pts:
        xs, ys = downsample([p[0] for p in pts], [p[1] for p in pts])
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers" if len(xs) <= 60 else "lines", name="learning rate",
                                 line={"color": LR_COLOR, "width": 2, "shape": "hv"}, marker={"size": 5},
                                 hovertemplate="epoch %{x}<br>%{y:.3g}<extra>learning rate</extra>"), row=1, col=1)
        fig.update_yaxes(type="log", exponentformat="power", dtick="D2", row=1, col=1)
    ex, speeds = insights.throughput(rows, batch_size)
    if ex:
        xs, ys = downsample(ex, speeds)
        fig.add_trace(go.Bar(x=xs, y=ys, name=unit.lower(), marker={"color": SPEED_COLOR}, opacity=0.8,
                             hovertemplate="epoch %{x}<br>%{y:,.0f} per second (validation included)<extra></extra>"),
                      row=1, col=2)
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    if not pts and not ex:
        fig.update_yaxes(visible=False)
        fig.update_xaxes(showticklabels=False)
        fig.add_annotation(text="The learning rate and the speed appear after the first epoch.", showarrow=False,
                           xref="paper", yref="paper", x=0.5, y=0.45, font={"size": 13, "color": "#64748B"})
    fig.update_layout(height=240, margin={"l": 10, "r": 10, "t": 40, "b": 10}, uirevision=revision,
                      showlegend=False, bargap=0.3)
    return fig


def show(rows: list[dict[str, Any]], run, key: str = "training-chart", *, smoothing: float = 0.8,
         batch_size: int | None = None, mae_scale: float | None = None) -> None:
    """The curves of `run` (a store Run), with room to grow on the x-axis while it is active,
    then the learning rate and the speed.

    `rows` hold MAE as logged, on the standardized target; with `mae_scale` it is drawn in
    the target's units (see `run_compare.mae_scale`).
    """
    # A live view redraws every second; rebuilding unchanged figures (a queued run, a second with no
    # new rows) is most of its cost, and eight of them at once slow the whole server.
    inputs = (run.id, run.active, run.epochs, run.steps_per_epoch, run.task, len(rows), rows[-1].get("id") if rows else None,
              smoothing, batch_size, mae_scale, run.fine_tune_from)
    cached = st.session_state.get(f"{key}-figures")
    if cached and cached[0] == inputs:
        fig, speed = cached[1]
    else:
        titles = None
        if insights.main_metric(run.task) == "mae":
            titles = {"mae": "Mean absolute error" + (" (target units)" if mae_scale else " (scaled target)")}
        if mae_scale:
            rows = run_compare.in_units(rows, mae_scale)
        fig = curves_figure(rows, epochs=run.epochs if run.active else None, steps_per_epoch=run.steps_per_epoch,
                            revision=run.id, task=run.task, smoothing=smoothing, titles=titles,
                            fine_tune_from=run.fine_tune_from)
        speed = speed_figure(rows, batch_size=batch_size, revision=run.id)
        st.session_state[f"{key}-figures"] = (inputs, (fig, speed))
    st.plotly_chart(fig, width="stretch", key=key)
    st.plotly_chart(speed, width="stretch", key=f"{key}-speed")


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
