"""Classification views: the per-class table and, for two classes, the ROC and precision-recall curves.

The `*_figure` functions are pure so tests can read their data."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.evaluate.formatting import ACCENT, MUTED
from components.markup import md


def per_class_table(ev: dict[str, Any]) -> None:
    st.subheader("Per class")
    df = pd.DataFrame(ev["per_class"]).rename(columns={"class": "Class", "precision": "Precision", "recall": "Recall",
                                                       "f1": "F1", "support": "Support"})
    df = df[["Class", "Precision", "Recall", "F1", "Support"]]
    pct = st.column_config.NumberColumn
    st.dataframe(df, hide_index=True, key="evaluate_per_class", width="stretch", column_config={
        "Precision": pct("Precision", format="percent", help="Of the examples predicted as this class, how many were."),
        "Recall": pct("Recall", format="percent", help="Of the examples of this class, how many were found."),
        "F1": pct("F1", format="percent", help="Harmonic mean of precision and recall."),
        "Support": st.column_config.NumberColumn("Support", help="Test examples of this class."),
    })


def roc_figure(roc: dict[str, Any]) -> go.Figure:
    fig = go.Figure([
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="guessing", line={"dash": "dash", "color": MUTED},
                   hoverinfo="skip"),
        go.Scatter(x=roc["fpr"], y=roc["tpr"], mode="lines", name=f"model (AUC {roc['auc']:.3f})",
                   line={"color": ACCENT, "width": 3, "shape": "hv"},
                   hovertemplate="false positive rate %{x:.0%}<br>true positive rate %{y:.0%}<extra></extra>"),
    ])
    fig.update_layout(title="ROC curve", height=360, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      xaxis={"title": "false positive rate", "range": [0, 1], "tickformat": ".0%"},
                      yaxis={"title": "true positive rate", "range": [0, 1.02], "tickformat": ".0%"},
                      legend={"x": 0.98, "y": 0.02, "xanchor": "right", "yanchor": "bottom"})
    return fig


def pr_figure(pr: dict[str, Any], positive_rate: float | None = None) -> go.Figure:
    traces = []
    if positive_rate is not None:
        traces.append(go.Scatter(x=[0, 1], y=[positive_rate, positive_rate], mode="lines", name="guessing",
                                 line={"dash": "dash", "color": MUTED}, hoverinfo="skip"))
    traces.append(go.Scatter(x=pr["recall"], y=pr["precision"], mode="lines", name="model",
                             line={"color": ACCENT, "width": 3},
                             hovertemplate="recall %{x:.0%}<br>precision %{y:.0%}<extra></extra>"))
    fig = go.Figure(traces)
    fig.update_layout(title="Precision–recall curve", height=360, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      xaxis={"title": "recall", "range": [0, 1], "tickformat": ".0%"},
                      yaxis={"title": "precision", "range": [0, 1.02], "tickformat": ".0%"},
                      legend={"x": 0.02, "y": 0.02, "xanchor": "left", "yanchor": "bottom"})
    return fig


def binary_curves(ev: dict[str, Any]) -> None:
    """ROC and precision-recall curves of a two-class model (the second class counts as positive)."""
    names = ev["class_names"]
    st.subheader("ROC and precision–recall")
    support = [c.get("support", 0) for c in ev.get("per_class", [])]
    rate = support[1] / sum(support) if len(support) == 2 and sum(support) else None
    st.metric("ROC AUC", f"{ev['roc']['auc']:.3f}", border=True, width="content",
              help=f"The chance that a random test example of {md(names[1])} gets a higher probability of "
                   f"{md(names[1])} than a random one of {md(names[0])}: 1 is perfect, 0.5 is guessing.")
    left, right = st.columns(2, gap="large")
    left.plotly_chart(roc_figure(ev["roc"]), width="stretch", key="evaluate_roc")
    right.plotly_chart(pr_figure(ev["pr"], rate), width="stretch", key="evaluate_pr")
    st.caption(f"Both treat {md(names[1])} as the positive class and sweep the threshold on its probability: "
               "the ROC curve trades found positives against false alarms, the precision–recall curve shows how "
               "trustworthy a positive call is at each level of recall.")
