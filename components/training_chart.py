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

import functools
import json
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
    layout = _panels(n_rows, n_cols, tuple((titles or {}).get(m) or title(m) for m in names),
                     0.07, 0.16 if n_rows > 1 else 0.1)
    traces: list[dict[str, Any]] = []
    epoch_rows = [r for r in rows if r["scope"] == "epoch"]
    has_batches = any(r["scope"] == "batch" for r in rows)
    spe = steps_per_epoch or insights.infer_steps_per_epoch(rows)
    marker = 7 if len(epoch_rows) <= 20 else (4 if len(epoch_rows) <= 60 else 0)
    upper = float(max([1] + [r["epoch"] for r in epoch_rows]))
    for i, name in enumerate(names):
        axes = _axes(i + 1)
        first = i == 0
        if has_batches and spe:
            bx, by = insights.per_batch(rows, name, spe)
            if bx:
                upper = max(upper, bx[-1])
                xs, raw = downsample(bx, by)
                _, ys = downsample(bx, insights.smooth(by, smoothing) if smoothing else by)
                traces.append(_scatter(xs, raw, mode="lines", name="train (per batch, raw)", legendgroup="batch-raw",
                                       showlegend=first, visible="legendonly", opacity=0.25,
                                       line={"color": TRAIN_COLOR, "width": 1},
                                       hovertemplate="epoch %{x:.2f}<br>%{y:.4f}<extra>batch</extra>", **axes))
                traces.append(_scatter(xs, ys, mode="lines", name="train (per batch)", legendgroup="batch",
                                       showlegend=first, opacity=0.45, line={"color": TRAIN_COLOR, "width": 1.2},
                                       hovertemplate="epoch %{x:.2f}<br>%{y:.4f}<extra>train (batch, smoothed)"
                                                     "</extra>", **axes))
        series = ((name, "train", TRAIN_COLOR, None), (f"val_{name}", "validation", VAL_COLOR, "dot"))
        for key, label, color, dash in series:
            pts = [(r["epoch"], r[key]) for r in epoch_rows if r.get(key) is not None]
            if not pts:
                continue
            xs, ys = downsample([p[0] for p in pts], [p[1] for p in pts])
            traces.append(_scatter(xs, ys, mode="lines+markers" if marker else "lines", name=label, legendgroup=label,
                                   showlegend=first, marker={"size": marker},
                                   line={"color": color, "width": 2.5, **({"dash": dash} if dash else {})},
                                   hovertemplate=f"epoch %{{x}}<br>%{{y:.4f}}<extra>{label}</extra>", **axes))
        if name == "accuracy":
            layout[_axis_key("yaxis", i + 1)].update(tickformat=".0%", rangemode="tozero")
        if fine_tune_from is not None:
            _phase_line(layout, axes, fine_tune_from, labelled=first)
    if epochs:  # while active: headroom for the curve to grow into, never past the planned epochs
        upper = max(upper, min(float(epochs), max(5.0, 1.5 * upper)))
    for key in _axis_keys(layout, "xaxis"):
        layout[key].update(title={"text": "epoch"}, range=[0, upper * 1.02], rangemode="tozero")
    if not rows:
        layout["annotations"].append(_note("Waiting for the first batch…", 0.5, 15))
    layout.update(height=340 * n_rows, margin={"l": 10, "r": 10, "t": 40, "b": 10}, uirevision=revision,
                  legend={"orientation": "h", "yanchor": "top", "y": -0.22 / n_rows, "x": 0}, hovermode="x unified")
    return _figure(traces, layout)


def speed_figure(rows: list[dict[str, Any]], *, batch_size: int | None = None, revision: str = "run") -> go.Figure:
    """The learning rate per epoch (log scale) and the training speed per epoch (samples per second)."""
    unit = "Samples per second" if batch_size else "Batches per second"
    layout = _panels(1, 2, ("Learning rate", unit), 0.1, 0.3)
    traces: list[dict[str, Any]] = []
    pts = [(r["epoch"], r["learning_rate"]) for r in rows if r["scope"] == "epoch" and r.get("learning_rate")]
    if pts:
        xs, ys = downsample([p[0] for p in pts], [p[1] for p in pts])
        traces.append(_scatter(xs, ys, mode="lines+markers" if len(xs) <= 60 else "lines", name="learning rate",
                               line={"color": LR_COLOR, "width": 2, "shape": "hv"}, marker={"size": 5},
                               hovertemplate="epoch %{x}<br>%{y:.3g}<extra>learning rate</extra>", **_axes(1)))
        layout["yaxis"].update(type="log", exponentformat="power", dtick="D2")
    ex, speeds = insights.throughput(rows, batch_size)
    if ex:
        xs, ys = downsample(ex, speeds)
        traces.append({"type": "bar", "x": xs, "y": ys, "name": unit.lower(), "marker": {"color": SPEED_COLOR},
                       "opacity": 0.8, **_axes(2),
                       "hovertemplate": "epoch %{x}<br>%{y:,.0f} per second (validation included)<extra></extra>"})
    for key in _axis_keys(layout, "xaxis"):
        layout[key].update(title={"text": "epoch"}, rangemode="tozero")
    if not pts and not ex:
        for key in _axis_keys(layout, "yaxis"):
            layout[key]["visible"] = False
        for key in _axis_keys(layout, "xaxis"):
            layout[key]["showticklabels"] = False
        layout["annotations"].append(_note("The learning rate and the speed appear after the first epoch.", 0.45, 13))
    layout.update(height=240, margin={"l": 10, "r": 10, "t": 40, "b": 10}, uirevision=revision,
                  showlegend=False, bargap=0.3)
    return _figure(traces, layout)


# Figures are built as plain dicts and wrapped without plotly's validation: eight live views redraw every
# second, and make_subplots + update_* spent ~60 ms of the server's CPU (under its one GIL) per redraw, most
# of the time page switches waited on under load (#20, finding 8). The dicts are what plotly itself produces:
# the panel grid and titles come from one make_subplots per grid shape (cached), the rest is set directly.

@functools.lru_cache(maxsize=64)
def _panels_cached(n_rows: int, n_cols: int, titles: tuple[str, ...], h_space: float, v_space: float) -> str:
    fig = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=list(titles), horizontal_spacing=h_space,
                        vertical_spacing=v_space)
    return json.dumps(fig.to_dict()["layout"])


def _panels(n_rows: int, n_cols: int, titles: tuple[str, ...], h_space: float, v_space: float) -> dict[str, Any]:
    """make_subplots' layout (axes domains, anchors, panel titles) for this grid, a fresh copy each call."""
    layout = json.loads(_panels_cached(n_rows, n_cols, titles, h_space, v_space))
    layout.setdefault("annotations", [])
    return layout


def _axis_key(kind: str, n: int) -> str:
    return kind if n == 1 else f"{kind}{n}"


def _axes(n: int) -> dict[str, str]:
    """The axis references of panel `n` (1-based, row-major from the top left, as make_subplots numbers them)."""
    return {"xaxis": "x" if n == 1 else f"x{n}", "yaxis": "y" if n == 1 else f"y{n}"}


def _axis_keys(layout: dict[str, Any], kind: str) -> list[str]:
    return [k for k in layout if k == kind or (k.startswith(kind) and k[len(kind):].isdigit())]


def _scatter(x: list[Any], y: list[Any], **props: Any) -> dict[str, Any]:
    return {"type": "scatter", "x": list(x), "y": list(y), **props}


def _phase_line(layout: dict[str, Any], axes: dict[str, str], epoch: int, labelled: bool) -> None:
    """A dashed line at `epoch` across one panel (what `add_vline` makes), with the phase-2 label if asked."""
    x, y = axes["xaxis"], f"{axes['yaxis']} domain"
    layout.setdefault("shapes", []).append({"type": "line", "x0": epoch, "x1": epoch, "xref": x, "y0": 0, "y1": 1,
                                            "yref": y, "line": {"color": PHASE_COLOR, "width": 1.5, "dash": "dash"}})
    if labelled:
        layout["annotations"].append({"text": PHASE_2_LABEL, "showarrow": False, "x": epoch, "xref": x, "y": 1,
                                      "yref": y, "xanchor": "left", "yanchor": "top",
                                      "font": {"size": 11, "color": PHASE_COLOR}})


def _note(text: str, y: float, size: int) -> dict[str, Any]:
    return {"text": text, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": y,
            "font": {"size": size, "color": "#64748B"}}


def _figure(traces: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


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
