"""Evaluation and prediction charts (plotly): confusion matrix and class probabilities.

The `*_figure` functions are pure so tests can read the figures' data.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from components.markup import plot_text

ACCENT = "#0F766E"
MUTED = "#94A3B8"


def confusion_figure(matrix: list[list[int]], class_names: list[str], normalize: bool = False) -> go.Figure:
    """Heatmap with true classes as rows (top to bottom) and predicted classes as columns.

    normalize=True divides each row by its count, so the diagonal reads as each class's recall.
    """
    counts = np.asarray(matrix, dtype=float)
    if normalize:
        sums = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, sums, out=np.zeros_like(counts), where=sums > 0)
        text, hover = [[f"{v:.0%}" for v in row] for row in values], "%{z:.1%}"
    else:
        values = counts
        text, hover = [[f"{int(v)}" for v in row] for row in values], "%{z:d}"
    labels = [str(c) for c in class_names]
    fig = go.Figure(go.Heatmap(
        z=values, x=labels, y=labels, text=text, texttemplate="%{text}", colorscale=[[0.0, "#FFFFFF"], [1.0, ACCENT]],
        zmin=0, zmax=1 if normalize else None, showscale=True,
        hovertemplate=f"true %{{y}} → predicted %{{x}}: {hover}<extra></extra>",
        colorbar={"tickformat": ".0%" if normalize else "d", "thickness": 12},
    ))
    side = min(720, 180 + 36 * len(labels))
    fig.update_layout(height=side, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis={"title": "predicted class", "type": "category", "side": "bottom"},
                      yaxis={"title": "true class", "type": "category", "autorange": "reversed"})
    return fig


def top_k(probabilities: dict[str, float], k: int = 5) -> list[tuple[str, float]]:
    """The k most probable classes, highest first."""
    return sorted(probabilities.items(), key=lambda kv: -kv[1])[: max(1, k)]


def probability_figure(probabilities: dict[str, float], k: int = 5) -> go.Figure:
    """Horizontal bars of the top-k class probabilities; the predicted class is highlighted."""
    top = top_k(probabilities, k)
    names = [plot_text(n) for n, _ in top][::-1]
    values = [p for _, p in top][::-1]
    colors = [MUTED] * (len(values) - 1) + [ACCENT]
    fig = go.Figure(go.Bar(
        x=values, y=names, orientation="h", marker_color=colors,
        text=[f"{v:.1%}" for v in values], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.2%}<extra></extra>",
    ))
    fig.update_layout(height=70 + 32 * len(values), margin={"l": 10, "r": 40, "t": 10, "b": 10},
                      xaxis={"range": [0, 1.15], "tickformat": ".0%", "title": "probability"},
                      yaxis={"type": "category"}, showlegend=False)
    return fig

