"""The Prepare page's figures (pure: tests read their data)."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from components.markup import plot_text

BEFORE, AFTER, TARGET = "#4C78A8", "#F58518", "#54A24B"


def split_figure(plan: dict[str, Any], date: str | None) -> go.Figure:
    """The (filled) series with the validation and test parts shaded: split by time."""
    fig = go.Figure(go.Scatter(x=plan["x"], y=plan["y"], mode="lines", name=plot_text(plan["targets"][0]),
                               line=dict(color=BEFORE, width=1.3)))
    last = plan["x"][-1] if plan["x"] else None
    b_val, b_test = plan["x_bounds"]
    fig.add_vrect(x0=b_val, x1=b_test, fillcolor="rgba(245,133,24,0.15)", line_width=0, layer="below",
                  annotation_text="validation", annotation_position="top left")
    fig.add_vrect(x0=b_test, x1=last, fillcolor="rgba(84,162,75,0.18)", line_width=0, layer="below",
                  annotation_text="test", annotation_position="top left")
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), showlegend=False)
    fig.update_xaxes(title=plot_text(date) if date else "step")
    return fig


def window_figure(before: list[list[float]], after: list[list[float]] | None, target: list[list[float]],
                  features: list[str], target_idx: list[int]) -> go.Figure:
    """One window of scaled values before (solid) and after (dashed) augmentation, then the targets."""
    fig = go.Figure()
    w = len(before)
    steps = list(range(-w + 1, 1))
    arr_b = np.asarray(before)
    for j, name in enumerate(features[:3]):
        fig.add_trace(go.Scatter(x=steps, y=arr_b[:, j].tolist(), mode="lines+markers", name=f"{plot_text(name)} (window)",
                                 line=dict(color=BEFORE, width=2), marker=dict(size=4), opacity=1 - 0.25 * j))
        if after is not None:
            fig.add_trace(go.Scatter(x=steps, y=np.asarray(after)[:, j].tolist(), mode="lines+markers",
                                     name=f"{plot_text(name)} (augmented)", line=dict(color=AFTER, width=2, dash="dash"),
                                     marker=dict(size=4), opacity=1 - 0.25 * j))
    arr_t = np.asarray(target)
    horizon = list(range(1, len(arr_t) + 1))
    for k, idx in enumerate(target_idx[:3]):
        fig.add_trace(go.Scatter(x=horizon, y=arr_t[:, k].tolist(), mode="lines+markers",
                                 name=f"{plot_text(features[idx])} (to forecast)", line=dict(color=TARGET, width=2),
                                 marker=dict(size=6, symbol="diamond")))
    fig.add_vline(x=0.5, line_dash="dot", line_color="#94A3B8")
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=10), hovermode="x unified",
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    fig.update_xaxes(title="time step (0 = the last step the model sees)")
    fig.update_yaxes(title="scaled value")
    return fig
