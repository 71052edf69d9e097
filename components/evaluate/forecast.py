"""Forecasting views: the error per horizon step and the test span, actual against forecast, per target."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from components.evaluate.formatting import ACCENT, MUTED, plot_text


def step_error_figure(ev: dict[str, Any]) -> go.Figure:
    """Grouped bars per horizon step: the model's MAE and RMSE, and the baseline's MAE when known."""
    steps = [f"t+{i + 1}" for i in range(len(ev["mae_per_step"]))]
    traces = [
        go.Bar(x=steps, y=ev["mae_per_step"], name="MAE", marker_color=ACCENT,
               hovertemplate="%{x}: MAE %{y:.4g}<extra></extra>"),
        go.Bar(x=steps, y=ev["rmse_per_step"], name="RMSE", marker_color="#5EAAA8",
               hovertemplate="%{x}: RMSE %{y:.4g}<extra></extra>"),
    ]
    if ev.get("baseline_mae_per_step"):
        traces.append(go.Bar(x=steps, y=ev["baseline_mae_per_step"], name="baseline MAE", marker_color=MUTED,
                             hovertemplate="%{x}: baseline MAE %{y:.4g}<extra></extra>"))
    fig = go.Figure(traces)
    fig.update_layout(barmode="group", bargap=0.55 if len(steps) <= 2 else 0.2, height=340,
                      margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis={"title": "steps ahead", "type": "category"},
                      yaxis={"title": "error"}, legend={"orientation": "h", "y": -0.25})
    return fig


def _ahead(step: int) -> str:
    return f"{step} step{'s' if step != 1 else ''} ahead"


def forecast_span_figure(dates: list[str], true: list[float], pred: list[float], target: str, *,
                         step: int = 1, pred_dates: list[str] | None = None) -> go.Figure:
    """The actual series over the test span, and the forecasts made `step` steps ahead (at `pred_dates`)."""
    fig = go.Figure([
        go.Scatter(x=dates, y=true, mode="lines", name="actual", line={"color": MUTED, "width": 2},
                   hovertemplate="%{x}: actual %{y:.4g}<extra></extra>"),
        go.Scatter(x=pred_dates if pred_dates is not None else dates, y=pred, mode="lines",
                   name=f"forecast ({_ahead(step)})", line={"color": ACCENT, "width": 2},
                   hovertemplate="%{x}: forecast %{y:.4g}<extra></extra>"),
    ])
    fig.update_layout(title=f"{plot_text(target)}: actual and forecast over the test span", height=380,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10}, xaxis={"title": "date"},
                      yaxis={"title": plot_text(target)},
                      legend={"orientation": "h", "y": -0.2}, hovermode="x unified")
    return fig


def forecast_step_errors(ev: dict[str, Any]) -> None:
    st.subheader("Error per forecast step")
    st.plotly_chart(step_error_figure(ev), width="stretch", key="evaluate_steps")
    st.caption("How far off the forecast is, by how many steps ahead it looks; errors usually grow with the distance.")


def forecast_span(ev: dict[str, Any]) -> None:
    st.subheader("The test span")
    true, pred = np.asarray(ev["true"], dtype=float), np.asarray(ev["pred"], dtype=float)
    dates = list(ev.get("dates") or [str(i) for i in range(len(true))])
    pred_dates = dates
    steps = [1, *sorted(int(k) for k in ev.get("pred_by_step") or {})]
    step = 1
    if len(steps) > 1:
        step = st.segmented_control("Forecasts made", steps, default=1, format_func=_ahead, key="evaluate_span_step",
                                    help="A forecast further ahead knows less: compare how closely each follows "
                                         "the actual series.") or 1
    if step > 1:
        pred = np.asarray(ev["pred_by_step"][str(step)], dtype=float)
        pred_dates = list(ev.get("dates_by_step", {}).get(str(step)) or dates)
    # The last window's later steps extend the actual line as far as its forecasts reach.
    tail, tail_dates = np.asarray(ev.get("true_tail") or [], dtype=float), list(ev.get("dates_tail") or [])
    if step > 1 and len(tail) == len(tail_dates) > 1:
        true, dates = np.concatenate([true, tail[1:]]), dates + tail_dates[1:]
    for j, target in enumerate(ev.get("targets") or ["value"]):
        st.plotly_chart(forecast_span_figure(dates, true[:, j].tolist(), pred[:, j].tolist(), str(target), step=step,
                                             pred_dates=pred_dates), width="stretch", key=f"evaluate_span_{j}")
    st.caption("Each point is the forecast made one step ahead, from the window that ends just before it."
               if step == 1 else
               f"Each point is the forecast made {step} steps ahead, from the window that ends {step} steps before it.")
