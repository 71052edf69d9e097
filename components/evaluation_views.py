"""The Evaluate page's views: one function per view, each reading the run's evaluation.json (a dict).

Figures come from pure `*_figure` functions so tests can read their data. User data (class
names, texts, table values) reaches the page only through plotly, st.dataframe, st.text,
st.image captions or escaped Markdown — never as HTML.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import charts
from components.data_preview import display_image
from components.markup import md  # noqa: F401 - re-exported: pages call views.md

ACCENT = charts.ACCENT
MUTED = charts.MUTED
SUPPORTS = "#15803D"  # a word that supports the prediction
OPPOSES = "#B91C1C"  # a word that speaks against it
GALLERY_COLUMNS = 6
DISPLAY_PX = 112
CELL_LIMIT = 12

# ---- formatting -----------------------------------------------------------------------------

def plot_text(text: Any) -> str:
    """User text for a plotly label: plotly reads `<…>` as its HTML subset, so angle brackets are swapped."""
    return str(text).replace("<", "‹").replace(">", "›")


def number(value: Any) -> str:
    """About four significant digits, never in scientific notation (1,235 · 48.79 · 0.3302); — if missing."""
    if value is None:
        return "—"
    v = float(value)
    if not math.isfinite(v):
        return "—"
    if v == 0:
        return "0"
    digits = max(0, 3 - math.floor(math.log10(abs(v))))
    return f"{v:,.{digits}f}"


def signed(value: float) -> str:
    """`+1.234` / `-1.234` (an ASCII minus: st.metric reads a delta's direction from a leading "-")."""
    return ("+" if value >= 0 else "-") + number(abs(value))


def pair_caption(names: list[str], item: dict[str, Any]) -> str:
    """`true A → predicted B (87%)` for a gallery item (plain text)."""
    return f"true {names[item['true']]} → predicted {names[item['pred']]} ({item['confidence']:.0%})"


# ---- the test examples as a user recognises them ---------------------------------------------


@dataclass
class Examples:
    """Test examples by position in the test set: images from the data source, texts or table rows
    kept in evaluation.json (`examples`), and the true class of each (`true_labels`)."""

    kind: str
    true_labels: list[int] | None = None
    image: Callable[[dict[str, Any]], np.ndarray | None] | None = None  # gallery item → image as the model saw it
    texts: dict[int, str] = field(default_factory=dict)
    rows: dict[int, list[Any]] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    target: str | None = None  # the raw table's target column (shown as True instead)

    def available(self, position: int) -> bool:
        if self.kind == "images":
            return self.image is not None
        return position in (self.texts if self.kind == "text" else self.rows)

    def row(self, position: int) -> dict[str, Any]:
        values = self.rows.get(position)
        if values is None:
            return {}
        return {c: v for c, v in zip(self.columns, values) if c != self.target}


def examples_from(ev: dict[str, Any], kind: str, target: str | None = None) -> Examples:
    """The texts or table rows that evaluation.json keeps (absent in runs trained before it kept them)."""
    ex = ev.get("examples") or {}
    out = Examples(kind=kind, true_labels=ev.get("true_labels"), target=target)
    positions = [int(p) for p in ex.get("positions", [])]
    if ex.get("kind") == "text":
        out.texts = dict(zip(positions, (str(t) for t in ex.get("texts", []))))
    elif ex.get("kind") == "table":
        out.columns = [str(c) for c in ex.get("columns", [])]
        out.rows = dict(zip(positions, ex.get("rows", [])))
    return out


# ---- summaries: the model beside its naive baseline ------------------------------------------


def classification_summary(ev: dict[str, Any]) -> None:
    """Test accuracy with its lead over the baseline, the baseline itself, loss, size (and AUC for two classes)."""
    acc, base = ev.get("accuracy"), ev.get("baseline_accuracy")
    cols = st.columns(4)
    if acc is not None:
        delta = f"{(acc - base) * 100:+.1f} points vs baseline" if base is not None else None
        cols[0].metric("Test accuracy", f"{acc:.1%}", delta=delta, border=True,
                       help="Share of the held-out test examples the model classifies correctly.")
    if base is not None:
        cols[1].metric("Baseline accuracy", f"{base:.1%}", border=True, help=f"Baseline: {ev.get('baseline', '')}.")
    cols[2].metric("Test loss", f"{ev['loss']:.4f}" if ev.get("loss") is not None else "—", border=True,
                   help="Cross-entropy on the test set: lower is better.")
    cols[3].metric("Test examples", f"{ev.get('n_test', 0):,}", border=True)
    if ev.get("baseline"):
        st.caption(f"Baseline: {ev['baseline']} — a model must beat it to have learned anything.")


def regression_summary(ev: dict[str, Any], target: str | None = None) -> None:
    """MAE with its difference to the baseline's, RMSE, R² and the baseline MAE (in the target's units)."""
    mae, base = ev["mae"], ev.get("baseline_mae")
    c1, c2, c3, c4 = st.columns(4)
    unit = f" in `{md(target)}`'s units" if target else ""
    c1.metric("Test MAE", number(mae), delta=f"{signed(mae - base)} vs baseline" if base is not None else None,
              delta_color="inverse", border=True,
              help=f"Mean absolute error{unit}: how far off a prediction is on average. Lower is better.")
    c2.metric("Test RMSE", number(ev.get("rmse")), border=True,
              help="Root mean squared error: like MAE, but large misses count more.")
    c3.metric("Test R²", number(ev.get("r2")), border=True,
              help="Share of the target's variation the model explains: 1 is perfect, 0 is no better than the mean.")
    if base is not None:
        c4.metric("Baseline MAE", number(base), border=True, help=f"Baseline: {ev.get('baseline', '')}.")
    _baseline_caption(ev, f"{ev.get('n_test', 0):,} test rows")


def forecast_summary(ev: dict[str, Any]) -> None:
    """MAE over all horizon steps beside the repeat-the-last-value baseline, RMSE, test windows."""
    mae, base = ev["mae"], ev.get("baseline_mae")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Test MAE", number(mae), delta=f"{signed(mae - base)} vs baseline" if base is not None else None,
              delta_color="inverse", border=True,
              help="Mean absolute error over every forecast step and target, in the series' units. Lower is better.")
    c2.metric("Test RMSE", number(ev.get("rmse")), border=True, help="Like MAE, but large misses count more.")
    if base is not None:
        c3.metric("Baseline MAE", number(base), border=True, help=f"Baseline: {ev.get('baseline', '')}.")
    c4.metric("Test windows", f"{ev.get('n_test', 0):,}", border=True,
              help="Forecasts made on the held-out end of the series, one per starting point.")
    _baseline_caption(ev, None)


def _baseline_caption(ev: dict[str, Any], extra: str | None) -> None:
    if ev.get("baseline"):
        text = f"Baseline: {ev['baseline']} — a model must beat it to have learned anything."
        st.caption(text + (f" · {extra}" if extra else ""))


# ---- classification ---------------------------------------------------------------------------


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


def mistakes(ev: dict[str, Any], examples: Examples, heat: Callable | None = None) -> None:
    st.subheader("Most confident mistakes")
    items = ev.get("mistakes") or []
    if not items:
        st.success("No mistakes on the test set.")
        return
    if examples.kind in ("text", "table") and not any(examples.available(int(m["index"])) for m in items):
        st.caption("This run's evaluation keeps only the names of its mistakes; "
                   "train the run again to see them in full.")
        names = ev["class_names"]
        st.dataframe(pd.DataFrame([{"Example": m.get("name", ""), "True": names[m["true"]],
                                    "Predicted": names[m["pred"]], "Confidence": m["confidence"]} for m in items]),
                     hide_index=True, key="evaluate_mistakes", width="stretch",
                     column_config={"Confidence": st.column_config.NumberColumn(format="percent")})
        return
    gallery(items, ev["class_names"], examples, key="mistakes", heat=heat)
    st.caption("The test examples the model got wrong with the highest confidence"
               + (", shown as the model saw them." if examples.kind == "images" else "."))


def gallery(items: list[dict[str, Any]], names: list[str], examples: Examples, *, key: str,
            heat: Callable | None = None) -> None:
    """Images in a grid, texts as cards, table rows as a table — each with true, predicted and confidence."""
    if examples.kind == "images":
        _image_grid(items, names, examples, heat)
    elif examples.kind == "text":
        _text_cards(items, names, examples)
    else:
        _row_table(items, names, examples, key)


def _image_grid(items: list[dict[str, Any]], names: list[str], examples: Examples, heat: Callable | None) -> None:
    cols = st.columns(GALLERY_COLUMNS)
    for k, item in enumerate(items):
        with cols[k % GALLERY_COLUMNS]:
            img = examples.image(item) if examples.image else None
            caption = pair_caption(names, item)
            if img is None:
                st.caption(f"{md(item.get('name') or 'This image')}: the file is no longer in the data. {md(caption)}")
                continue
            if heat is not None:
                shown = heat(item, img)
                if shown is not None:
                    img = shown
            st.image(display_image(img, DISPLAY_PX), caption=caption)


def _text_cards(items: list[dict[str, Any]], names: list[str], examples: Examples) -> None:
    cols = st.columns(2)
    for k, item in enumerate(items):
        text = examples.texts.get(int(item["index"]))
        with cols[k % 2].container(border=True):
            st.caption(md(pair_caption(names, item)))
            st.text(text if text is not None else item.get("name", ""))


def _row_table(items: list[dict[str, Any]], names: list[str], examples: Examples, key: str) -> None:
    rows = [{"True": names[m["true"]], "Predicted": names[m["pred"]], "Confidence": m["confidence"],
             **examples.row(int(m["index"]))} for m in items]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key=f"evaluate_rows_{key}", width="stretch",
                 column_config={"Confidence": st.column_config.NumberColumn(format="percent")})


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


# ---- explanations -------------------------------------------------------------------------------


def word_effects_figure(words: list[dict[str, Any]], predicted: str, top: int = 15) -> go.Figure:
    """Horizontal bars of the words that changed the predicted class's probability most (+ = supports it)."""
    ranked = sorted(words, key=lambda w: -abs(w["effect"]))[:top][::-1]
    fig = go.Figure(go.Bar(
        x=[w["effect"] for w in ranked], y=[f"{i}" for i in range(len(ranked))], orientation="h",
        marker_color=[SUPPORTS if w["effect"] >= 0 else OPPOSES for w in ranked],
        text=[plot_text(w["word"]) for w in ranked], textposition="outside", cliponaxis=False,
        hovertemplate="without %{text}: %{x:+.1%} change in the probability<extra></extra>",
    ))
    fig.update_layout(height=80 + 26 * len(ranked), margin={"l": 10, "r": 40, "t": 30, "b": 10}, showlegend=False,
                      title=f"Words that changed the probability of {plot_text(predicted)} most",
                      xaxis={"title": f"drop in P({plot_text(predicted)}) when the word is removed",
                             "tickformat": "+.0%", "zeroline": True},
                      yaxis={"showticklabels": False, "type": "category"})
    return fig


def highlighted_text_figure(words: list[dict[str, Any]], line_chars: int = 72) -> go.Figure:
    """The text with each word on a background coloured by its effect (green supports, red opposes)."""
    peak = max([abs(w["effect"]) for w in words] + [1e-9])
    annotations, x, line = [], 0, 0
    for w in words:
        width = len(w["word"]) + 1
        if x and x + width > line_chars:
            x, line = 0, line + 1
        share = min(1.0, abs(w["effect"]) / peak)
        rgb = (21, 128, 61) if w["effect"] >= 0 else (185, 28, 28)
        annotations.append({"x": x, "y": -line, "text": plot_text(w["word"]),
                            "showarrow": False, "xanchor": "left",
                            "font": {"family": "monospace", "size": 15, "color": "#1E293B"},
                            "bgcolor": f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{0.06 + 0.4 * share:.2f})",
                            "hovertext": f"{w['effect']:+.1%}"})
        x += width
    fig = go.Figure(go.Scatter(x=[0, line_chars], y=[0, -line], mode="markers", marker={"opacity": 0},
                               hoverinfo="skip"))
    fig.update_layout(annotations=annotations, height=60 + 30 * (line + 1), width=int(line_chars * 9.2) + 20,
                      margin={"l": 10, "r": 10, "t": 10, "b": 10}, showlegend=False,
                      xaxis={"visible": False, "range": [-0.5, line_chars + 0.5], "fixedrange": True},
                      yaxis={"visible": False, "range": [-line - 0.6, 0.6], "fixedrange": True},
                      plot_bgcolor="rgba(0,0,0,0)", paper_bgcolor="rgba(0,0,0,0)")
    return fig


def text_explanation(result: dict[str, Any], key: str) -> None:
    """Which words changed the prediction most: the text with highlighted words and a bar per word."""
    words = result.get("words") or []
    if not words:
        st.caption("The text has no words to remove.")
        return
    st.caption(f"The model gives {md(result['class'])} a probability of {result['probability']:.0%}. "
               "Each word was removed in turn: green words raise that probability, red words lower it.")
    st.plotly_chart(highlighted_text_figure(words), width="content", key=f"{key}_text",
                    config={"displayModeBar": False, "staticPlot": False})
    st.plotly_chart(word_effects_figure(words, str(result["class"])), width="stretch", key=f"{key}_bars")


def row_effects_figure(result: dict[str, Any], target: str, top: int = 15) -> go.Figure:
    """Horizontal bars of the columns whose values moved this row's prediction most (+ = towards it)."""
    ranked = sorted(result["columns"], key=lambda c: -abs(c["effect"]))[:top][::-1]
    classify = result["task"] == "classification"
    what = f"P({plot_text(result['class'])})" if classify else plot_text(target)
    fig = go.Figure(go.Bar(
        x=[c["effect"] for c in ranked], y=[plot_text(c["column"]) for c in ranked], orientation="h",
        marker_color=[SUPPORTS if c["effect"] >= 0 else OPPOSES for c in ranked],
        customdata=[[plot_text(str(c["value"])), plot_text(str(c["typical"]))] for c in ranked],
        hovertemplate="%{y} = %{customdata[0]} (typical: %{customdata[1]}): %{x:+.3~g}<extra></extra>",
    ))
    fig.update_layout(height=80 + 26 * len(ranked), margin={"l": 10, "r": 30, "t": 30, "b": 10}, showlegend=False,
                      title=f"What moved {what} most",
                      xaxis={"title": f"change in {what} from the typical value to this row's",
                             "tickformat": "+.0%" if classify else "+.3~g", "zeroline": True},
                      yaxis={"type": "category"})
    return fig


def row_explanation(result: dict[str, Any], target: str, key: str) -> None:
    """Which of a row's values moved its prediction: a bar per column, the biggest first."""
    moved = [c for c in result["columns"] if c["effect"]]
    if not moved:
        st.caption("Every value of this row is the typical one of the training data, so none stands out.")
        return
    if result["task"] == "classification":
        st.caption(f"The model gives {md(result['class'])} a probability of {result['score']:.0%}. Each value was set "
                   "in turn to the typical one of the training data (the median, or the most frequent category): "
                   "green values raise that probability, red ones lower it.")
    else:
        st.caption(f"The model predicts {result['score']:,.4g}. Each value was set in turn to the typical one of the "
                   "training data (the median, or the most frequent category): green values raise the prediction, "
                   "red ones lower it.")
    st.plotly_chart(row_effects_figure(result, target), width="stretch", key=key)


# ---- regression ------------------------------------------------------------------------------


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


# ---- forecasting ------------------------------------------------------------------------------


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
