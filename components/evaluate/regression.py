"""Regression views: predicted against actual, the errors' histogram and the worst rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.evaluate.examples import Examples
from components.evaluate.formatting import ACCENT, MUTED, plot_text


def predicted_vs_actual_figure(true: list[float], pred: list[float], target: str | None = None) -> go.Figure:
    lo = float(min(min(true), min(pred)))
    hi = float(max(max(true), max(pred)))
    pad = (hi - lo) * 0.03 or 1.0
    name = plot_text(target or "target")
    fig = go.Figure([
        go.Scatter(x=[lo - pad, hi + pad], y=[lo - pad, hi + pad], mode="lines", name="perfect (y = x)",
                   line={"dash": "dash", "color": MUTED}, hoverinfo="skip"),
        go.Scatter(x=true, y=pred, mode="markers", name="test rows",
                   marker={"color": ACCENT, "opacity": 0.7, "size": 8},
                   hovertemplate="actual %{x:.4g}<br>predicted %{y:.4g}<extra></extra>"),
    ])
    fig.update_layout(title="Predicted vs actual", height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      xaxis={"title": f"actual {name}", "range": [lo - pad, hi + pad]},
                      yaxis={"title": f"predicted {name}", "range": [lo - pad, hi + pad], "scaleanchor": "x"},
                      legend={"x": 0.02, "y": 0.98})
    return fig


def residual_figure(true: list[float], pred: list[float]) -> go.Figure:
    err = np.asarray(pred, dtype=float) - np.asarray(true, dtype=float)
    fig = go.Figure(go.Histogram(x=err, marker_color=ACCENT, nbinsx=min(40, max(10, len(err) // 4)), name="rows",
                                 hovertemplate="error %{x}<br>%{y} rows<extra></extra>"))
    fig.add_vline(x=0, line_dash="dash", line_color=MUTED)
    fig.update_layout(title="Errors (predicted − actual)", height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      xaxis={"title": "error"}, yaxis={"title": "test rows"}, bargap=0.05, showlegend=False)
    return fig


def regression_charts(ev: dict[str, Any], target: str | None = None) -> None:
    left, right = st.columns(2, gap="large")
    left.plotly_chart(predicted_vs_actual_figure(ev["true"], ev["pred"], target), width="stretch",
                      key="evaluate_scatter")
    right.plotly_chart(residual_figure(ev["true"], ev["pred"]), width="stretch", key="evaluate_residuals")
    st.caption("Points on the dashed line are perfect predictions; a histogram centred on 0 means no systematic "
               "over- or under-prediction.")


def worst_rows_frame(ev: dict[str, Any], examples: Examples) -> pd.DataFrame:
    rows = ev.get("rows")
    out = []
    for i in ev.get("worst", []):
        true, pred = ev["true"][i], ev["pred"][i]
        row = {"Row": f"row {rows[i] + 1}" if rows else f"#{i + 1}", "True": true, "Predicted": pred,
               "Error": pred - true}
        row.update(examples.row(int(i)))
        out.append(row)
    return pd.DataFrame(out)


def worst_rows(ev: dict[str, Any], examples: Examples) -> None:
    st.subheader("Worst predictions")
    df = worst_rows_frame(ev, examples)
    if df.empty:
        st.caption("No test rows.")
        return
    num = st.column_config.NumberColumn
    st.dataframe(df, hide_index=True, key="evaluate_worst", width="stretch", column_config={
        "True": num("True", format="%.4g"), "Predicted": num("Predicted", format="%.4g"),
        "Error": num("Error", format="%+.4g", help="Predicted minus true."),
    })
    kept = "" if examples.rows else " (train the run again to see their feature values)"
    st.caption(f"The test rows with the largest errors{kept}.")
