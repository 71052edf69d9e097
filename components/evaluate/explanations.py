"""What the model looked at: which words or column values moved a prediction (Evaluate and Predict)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from components import errors
from components.evaluate.examples import Examples
from components.evaluate.formatting import OPPOSES, SUPPORTS, plot_text
from components.markup import md
from components.model_cache import get_predictor, model_mtime
from layerlab.errors import LayerlabError
from layerlab.runs.store import Run

_LOG = logging.getLogger("layerlab.ui")


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


# ---- explaining the test examples on Evaluate (the model is loaded only here) ------------------------


@st.cache_data(max_entries=512, show_spinner="Covering one patch at a time…")
def _image_heat(run_dir: str, mtime: float, source_index: int, _image: np.ndarray, _load: Callable) -> np.ndarray:
    from layerlab.explain import image_occlusion

    return image_occlusion(_load(), _image)["heat"]


@st.cache_data(max_entries=256, show_spinner="Removing one word at a time…")
def _word_effects(run_dir: str, mtime: float, text: str, _load: Callable) -> dict:
    from layerlab.explain import text_occlusion

    return text_occlusion(_load(), text)


def image_heat(run: Run) -> Callable[[dict, np.ndarray], np.ndarray | None]:
    """A gallery hook: the image with the occlusion heat map laid over it (cached per run and image)."""
    from layerlab.explain import overlay

    mtime = model_mtime(run.path)
    failed: list[BaseException] = []

    def heat(item: dict, img: np.ndarray) -> np.ndarray | None:
        if "source_index" not in item or failed:
            return None
        try:
            h = _image_heat(str(run.path), mtime, int(item["source_index"]), img, lambda: get_predictor(run.path))
        except Exception as exc:  # noqa: BLE001 - the plain image is shown instead, with one message
            _LOG.warning("image occlusion failed", exc_info=True)
            failed.append(exc)
            errors.show_error(exc if isinstance(exc, LayerlabError) else LayerlabError(
                f"The model could not explain these images ({type(exc).__name__}: {str(exc)[:200]}).",
                "The plain images are shown instead."))
            return None
        return overlay(img, h, alpha=0.75)

    return heat


def explain_texts(ev: dict, examples: Examples, run: Run, positions: list[int]) -> None:
    st.subheader("Which words mattered")
    on = st.toggle("Show which words changed the prediction most", key="evaluate_explain_text",
                   help="Removes one word at a time and measures how the predicted class's probability changes. "
                        "Loads the model the first time.")
    if not on:
        return
    shown = [i for i in dict.fromkeys(positions) if i in examples.texts]
    if not shown:
        st.caption("No texts to explain.")
        return
    names, pred, true = ev["class_names"], ev.get("predictions") or [], examples.true_labels or []

    def label(i: int) -> str:
        text = examples.texts[i]
        cut = text[:70] + ("…" if len(text) > 70 else "")
        said = f"predicted {names[pred[i]]}" if i < len(pred) else ""
        was = f"true {names[true[i]]}, " if i < len(true) else ""
        return f"{cut} ({was}{said})"

    i = st.selectbox("Text to explain", shown, format_func=label, key=f"evaluate_explain_pick_{run.id}")
    with errors.guard():
        result = _word_effects(str(run.path), model_mtime(run.path), examples.texts[i], lambda: get_predictor(run.path))
        text_explanation(result, key=f"evaluate_words_{i}")
