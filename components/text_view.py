"""Looking at text data: how long the texts are, and a few random examples of each class."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.table_view import ACCENT, read_frame
from layerlab.workspace import source_stamp

PER_CLASS = 3
MAX_CLASSES = 12
MAX_CHARS = 400
LENGTH_SAMPLE = 200_000


def _texts(df: pd.DataFrame, column: str) -> pd.Series:
    from layerlab.data.profile import as_text

    return as_text(df[column])


@st.cache_data(max_entries=16, show_spinner=False)
def text_lengths(source: str, stamp: tuple[float, int], text: str) -> dict[str, Any]:
    """Words per text (on a sample of up to 200,000 texts): histogram and summary."""
    s = _texts(read_frame(source, stamp)["frame"], text).dropna()
    if len(s) > LENGTH_SAMPLE:
        s = s.sample(n=LENGTH_SAMPLE, random_state=0)
    words = s.str.split().str.len().fillna(0).to_numpy(dtype="int64")
    if len(words) == 0:
        return {"n": 0}
    top = int(np.percentile(words, 99)) + 1
    clipped = np.minimum(words, top)
    counts, edges = np.histogram(clipped, bins=min(40, max(1, top)))
    return {"n": int(len(words)), "edges": edges.tolist(), "counts": counts.tolist(),
            "median": float(np.median(words)), "p90": float(np.percentile(words, 90)), "max": int(words.max()),
            "empty": int((words == 0).sum()), "sampled": len(s) >= LENGTH_SAMPLE}


@st.cache_data(max_entries=32, show_spinner=False)
def text_examples(source: str, stamp: tuple[float, int], text: str, target: str | None, seed: int,
                  per_class: int = PER_CLASS) -> pd.DataFrame:
    """A few random texts per class (the MAX_CLASSES largest classes), as a two-column frame."""
    df = read_frame(source, stamp)["frame"]
    texts = _texts(df, text)
    rows = []
    if target and target in df.columns:
        labels = df[target].astype("str").where(df[target].notna())
        for cls in labels.value_counts().index[:MAX_CLASSES]:
            pool = texts[(labels == cls) & texts.notna()]
            picked = pool.sample(n=min(per_class, len(pool)), random_state=seed) if len(pool) else pool
            rows += [{"class": str(cls), "text": _clip(t)} for t in picked]
    else:
        pool = texts.dropna()
        for t in pool.sample(n=min(per_class * 3, len(pool)), random_state=seed):
            rows.append({"class": "", "text": _clip(t)})
    return pd.DataFrame(rows, columns=["class", "text"])


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def length_figure(lengths: dict[str, Any], sequence_length: int | None = None) -> go.Figure:
    edges, counts = lengths["edges"], lengths["counts"]
    centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
    fig = go.Figure(go.Bar(x=centers, y=counts, width=widths, marker_color=ACCENT,
                           hovertemplate="about %{x:.0f} words: %{y} texts<extra></extra>"))
    if sequence_length:
        fig.add_vline(x=sequence_length, line_dash="dash", line_color="#E45756",
                      annotation_text=f"sequence length {sequence_length}", annotation_position="top right")
    fig.update_layout(title="Words per text", height=340, margin=dict(l=10, r=10, t=50, b=10), bargap=0.02,
                      showlegend=False)
    fig.update_xaxes(title="words")
    fig.update_yaxes(title="texts")
    return fig


def _reshuffle(key: str) -> None:
    st.session_state[key] = st.session_state.get(key, 0) + 1


def text_view(spec: Any, key: str) -> None:
    """Length histogram and random examples per class for the project's text column."""
    source, text, target = spec.data.source, spec.data.text, spec.data.target
    stamp = source_stamp(source)
    lengths = text_lengths(source, stamp, text)
    chart, examples = st.columns([2, 3])
    with chart:
        if lengths["n"]:
            seq = spec.prepare.text.sequence_length
            st.plotly_chart(length_figure(lengths, seq), width="stretch", key=f"{key}.lengths")
            st.caption(f"Median {lengths['median']:.0f} words, 90% of texts have at most {lengths['p90']:.0f}, "
                       f"the longest {lengths['max']:,}. Texts longer than the sequence length ({seq}) are cut."
                       + (" (Measured on a random sample.)" if lengths["sampled"] else ""))
        else:
            st.info("The text column holds no texts.")
    with examples:
        head, again = st.columns([3, 2], vertical_alignment="center")
        head.markdown("**Random examples per class**")
        seed_key = f"{key}.seed"
        again.button("New examples", key=f"{key}.reshuffle", icon=":material/shuffle:",
                     on_click=_reshuffle, args=(seed_key,))
        frame = text_examples(source, stamp, text, target, st.session_state.get(seed_key, 0))
        # st.table wraps long texts (and shows them as plain text, never as HTML).
        st.table(frame.set_index("class") if target else frame[["text"]])
