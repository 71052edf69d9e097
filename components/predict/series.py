"""Predict on a series: the next steps after the end of the data, or after a window the user uploads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import charts, errors
from components.markup import code, plot_text
from components.predict.shared import TABLE_TYPES
from layerlab.inference import inputs
from layerlab.inference.results import future_steps, last_dates, time_labels

HISTORY = "#475569"
FORECAST = charts.ACCENT


def forecast_figure(history_x: list[Any], history: dict[str, list[float]], future_x: list[Any],
                    forecast: dict[str, list[float]], window_start: Any = None) -> go.Figure:
    """History lines, then each forecast (dashed, joined to the last known value)."""
    fig = go.Figure()
    palette = [HISTORY, "#7C3AED", "#B45309", "#0369A1"]
    for i, (name, ys) in enumerate(history.items()):
        fig.add_trace(go.Scatter(x=history_x, y=ys, mode="lines", name=f"{plot_text(name)} (history)",
                                 line={"color": palette[i % len(palette)], "width": 1.6},
                                 hovertemplate="%{x}: %{y:.4g}<extra>" + plot_text(str(name)[:40]) + "</extra>"))
    for i, (name, ys) in enumerate(forecast.items()):
        joined_x = ([history_x[-1]] if history_x and name in history else []) + list(future_x)
        joined_y = ([history[name][-1]] if history_x and name in history else []) + list(ys)
        fig.add_trace(go.Scatter(x=joined_x, y=joined_y, mode="lines+markers", name=f"{plot_text(name)} (forecast)",
                                 line={"color": FORECAST if i == 0 else palette[(i + 1) % len(palette)], "width": 2.4,
                                       "dash": "dash"},
                                 marker={"size": 7}, hovertemplate="%{x}: %{y:.4g}<extra>forecast</extra>"))
    if window_start is not None and history_x:
        fig.add_vrect(x0=window_start, x1=history_x[-1], fillcolor="#E2E8F0", opacity=0.5, line_width=0, layer="below",
                      annotation_text="window the model reads", annotation_position="top left")
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10}, hovermode="x unified",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}, uirevision="forecast")
    fig.update_yaxes(title="value")
    return fig


def series_view(predictor: Any, tag: str) -> None:
    from components.series_view import frequency_words
    from layerlab.data.tables import to_safe_csv

    info = predictor.info
    ex = info.extra
    window, horizon = int(ex["window"]), int(ex["horizon"])
    mode = st.segmented_control("Forecast from", ["The end of the data", "A window I upload"],
                                default="The end of the data", key="predict_series_mode",
                                label_visibility="collapsed") or "The end of the data"
    values: np.ndarray | None
    if mode == "The end of the data":
        values = np.asarray(ex["last_window"], dtype="float32")
        dates = last_dates(ex, len(values))
        st.caption(f"The last {window} steps of the training data, then the next {horizon}.")
    else:
        need = ", ".join(code(c) for c in ex["features"])
        file = st.file_uploader("A window of recent values", type=TABLE_TYPES, key=f"predict_series_file_{tag}",
                                help=f"A table with at least {window} rows of {need}"
                                     f"{' and the date column ' + code(ex['date']) if ex.get('date') else ''}, "
                                     "oldest first (rows are sorted by date when there is one).")
        st.caption(f"Needs at least {window} rows of {need}; the last {window} are used.")
        if file is None:
            st.info("Upload recent values to forecast what comes after them.", icon=":material/upload:")
            return
        values, dates = None, []
        with errors.guard():
            values, dates = inputs.window_of_file(file.name, file.getvalue(), ex)
        if values is None:
            return
    with errors.guard():
        result = predictor.forecast(values)
        targets = ex["targets"]
        idx = [ex["features"].index(t) for t in targets]
        future = future_steps(dates[-1], ex.get("freq"), horizon, dates[-2] if len(dates) > 1 else None)
        shown = min(len(values), window * 4)
        hx = dates[-shown:]
        history = {t: values[-shown:, i].astype("float64").tolist() for t, i in zip(targets, idx)}
        fc = np.asarray(result["forecast"], dtype="float64")
        forecast = {t: fc[:, j].tolist() for j, t in enumerate(targets)}
        start = dates[-window] if len(dates) > window else None
        st.plotly_chart(forecast_figure(hx, history, future, forecast, window_start=start), width="stretch",
                        key="predict_forecast_chart")
        if ex.get("freq"):
            st.caption(f"Time steps: {frequency_words(ex['freq'])}.")
        label = ex.get("date") or "step"
        table = pd.DataFrame({label: time_labels(future), **{t: forecast[t] for t in targets}})
        st.dataframe(table, hide_index=True, width="content", key="predict_forecast_table")
        st.download_button("Download the forecast (CSV)", to_safe_csv(table), file_name="forecast.csv", mime="text/csv",
                           icon=":material/download:", key="predict_forecast_download", on_click="ignore")
