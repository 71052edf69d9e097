"""The confusion matrix and the examples of one of its cells: a click on a cell (or the two selectboxes)
picks a (true, predicted) pair, and its most confident test examples are shown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from components import charts
from components.evaluate.examples import Examples
from components.evaluate.formatting import plot_text
from components.evaluate.gallery import gallery
from components.markup import md

CELL_LIMIT = 12


def confusion_figure(matrix: list[list[int]], class_names: list[str], normalize: bool = False,
                     selected: tuple[int, int] | None = None) -> go.Figure:
    """The confusion heatmap with one transparent marker per cell on top, so a click selects a cell;
    the `selected` (true, predicted) cell is outlined.

    Plotly heatmaps report no points on selection (streamlit#8760, #15042); scatter markers do,
    and carry (true, predicted) in `customdata`.
    """
    names = [plot_text(c) for c in class_names]
    fig = charts.confusion_figure(matrix, names, normalize=normalize)
    heat = fig.data[0]
    heat.hoverinfo = "skip"
    heat.hovertemplate = None
    counts = np.asarray(matrix, dtype=float)
    sums = counts.sum(axis=1)
    k = len(names)
    xs, ys, data = [], [], []
    for t in range(k):
        for p in range(k):
            xs.append(names[p])
            ys.append(names[t])
            share = counts[t, p] / sums[t] if sums[t] else 0.0
            data.append([t, p, int(counts[t, p]), share])
    side = fig.layout.height or 400
    cell = max(12, min(90, int((side - 60) / max(k, 1)) - 2))
    fig.add_trace(go.Scatter(
        x=xs, y=ys, customdata=data, mode="markers", name="cells", showlegend=False,
        marker={"symbol": "square", "size": cell, "color": "rgba(0,0,0,0)"},
        selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 1}},
        hovertemplate="true %{y} → predicted %{x}: %{customdata[2]:d} (%{customdata[3]:.0%} of true %{y})"
                      "<br>click to see these examples<extra></extra>",
    ))
    if selected is not None:
        t, p = selected
        fig.add_shape(type="rect", x0=p - 0.5, x1=p + 0.5, y0=t - 0.5, y1=t + 0.5, xref="x", yref="y",
                      line={"color": "#F59E0B", "width": 3}, fillcolor="rgba(0,0,0,0)", layer="above")
    fig.update_layout(hovermode="closest", dragmode=False, clickmode="event+select")
    return fig


def default_cell(matrix: list[list[int]]) -> tuple[int, int]:
    """The most frequent confusion (true, predicted) off the diagonal; (0, 0) when there is none."""
    counts = np.asarray(matrix, dtype=int).copy()
    np.fill_diagonal(counts, -1)
    t, p = np.unravel_index(int(counts.argmax()), counts.shape)
    return (int(t), int(p)) if counts[t, p] > 0 else (0, 0)


def cell_keys(run_id: str) -> tuple[str, str]:
    """Session-state keys of the (true class, predicted class) selectboxes for a run."""
    return f"evaluate_true_{run_id}", f"evaluate_pred_{run_id}"


def _on_cell_click(chart_key: str, run_id: str) -> None:
    state = st.session_state.get(chart_key)
    points = (state or {}).get("selection", {}).get("points", []) if isinstance(state, dict) else []
    for point in points:
        data = point.get("customdata")
        if isinstance(data, list) and len(data) >= 2:
            true_key, pred_key = cell_keys(run_id)
            st.session_state[true_key], st.session_state[pred_key] = int(data[0]), int(data[1])
            return


def confusion_matrix(ev: dict[str, Any], run_id: str) -> None:
    """Heatmap of counts (or shares of each true class); clicking a cell picks that pair below."""
    st.subheader("Confusion matrix")
    normalize = st.toggle("Normalise each row (share of the true class)", key="evaluate_normalize")
    true_key, pred_key = cell_keys(run_id)
    k = len(ev["class_names"])
    t, p = st.session_state.get(true_key), st.session_state.get(pred_key)
    selected = (t, p) if t in range(k) and p in range(k) else default_cell(ev["confusion_matrix"])
    fig = confusion_figure(ev["confusion_matrix"], ev["class_names"], normalize=normalize, selected=selected)
    chart_key = "evaluate_confusion"
    st.plotly_chart(fig, width="stretch", key=chart_key, on_select=lambda: _on_cell_click(chart_key, run_id),
                    selection_mode="points", config={"displayModeBar": False})
    st.caption("Rows are the true classes, columns the predictions; the diagonal is what the model got right. "
               "Click a cell to see its examples below (the outlined one is shown).")


def pick_cell(ev: dict[str, Any], run_id: str) -> tuple[int, int]:
    """Two selectboxes (true class, predicted class); a click on the confusion matrix sets them."""
    names = ev["class_names"]
    true_key, pred_key = cell_keys(run_id)
    t0, p0 = default_cell(ev["confusion_matrix"])
    for key, default in ((true_key, t0), (pred_key, p0)):
        if st.session_state.get(key) not in range(len(names)):
            st.session_state[key] = default
    left, right = st.columns(2)
    t = left.selectbox("True class", range(len(names)), format_func=lambda i: names[i], key=true_key)
    p = right.selectbox("Predicted class", range(len(names)), format_func=lambda i: names[i], key=pred_key)
    return int(t), int(p)


def cell_items(ev: dict[str, Any], examples: Examples, t: int, p: int,
               limit: int = CELL_LIMIT) -> tuple[int, list[dict[str, Any]]]:
    """(how many test examples are of class t predicted as p, the most confident of them that can be shown)."""
    pred, conf, true = ev.get("predictions"), ev.get("confidences"), examples.true_labels
    if pred is None or conf is None or true is None:
        return 0, []
    source = ev.get("test_source_indices")
    positions = [i for i, (a, b) in enumerate(zip(true, pred)) if a == t and b == p]
    positions.sort(key=lambda i: -conf[i])
    items = []
    for i in positions:
        if examples.available(i):
            item = {"index": i, "true": t, "pred": p, "confidence": float(conf[i])}
            if source is not None:
                item["source_index"] = int(source[i])
            items.append(item)
        if len(items) >= limit:
            break
    return len(positions), items


def cell_examples(ev: dict[str, Any], examples: Examples, t: int, p: int, heat: Callable | None = None) -> None:
    names = ev["class_names"]
    count, items = cell_items(ev, examples, t, p)
    what = "correctly classified" if t == p else "mistaken"
    if examples.true_labels is None or (examples.kind in ("text", "table") and not (examples.texts or examples.rows)):
        st.info("This run's evaluation does not keep its test examples; train the run again to see them here.",
                icon=":material/info:")
        return
    if not count:
        st.caption(f"No test example of class {md(names[t])} was predicted as {md(names[p])}.")
        return
    more = f"; the {len(items)} most confident are shown" if len(items) < count else ""
    st.caption(f"{count:,} {what} test example(s): true {md(names[t])}, predicted {md(names[p])}{more}.")
    gallery(items, names, examples, key=f"cell_{t}_{p}", heat=heat)
