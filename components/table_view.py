"""Looking at table-like data (tables, text, series): the cached frame, a preview, column types,
missing values, class balance and numeric histograms.

Heavy work is cached per source and its stamp (mtime, size): `read_frame` reads a file once
and keeps that one frame (a 1,000,000-row table is neither read nor copied again on a rerun),
and every view below caches its own small result, so a rerun only unpickles what it draws.
The `*_figure` functions are pure, so tests can read the figures' data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.markup import plot_text
from layerlab.workspace import source_stamp

ACCENT = "#4C78A8"
MISSING = "#E45756"
PREVIEW_ROWS = 200
MAX_BARS = 40
MAX_BINS = 40


def shown_name(source: str, name: str | None = None) -> str:
    """The file name a user recognises: an upload is stored as `stem-<hash>.csv`, shown as `stem.csv`."""
    path = Path(source)
    if name:
        return f"{name}{path.suffix}"
    stem = path.stem
    head, _, tail = stem.rpartition("-")
    if head and len(tail) == 10 and all(c in "0123456789abcdef" for c in tail):
        stem = head
    return f"{stem}{path.suffix}"


@st.cache_resource(max_entries=2, show_spinner=False)
def read_frame(source: str, stamp: tuple[float, int]) -> dict[str, Any]:
    """The table behind a source with how it was read (read_table's format, encoding, notes).

    One shared frame per source, never copied: `cache_data` would keep a pickled copy and
    unpickle a whole new copy of a 2,000,000-row table on every call (each view below, each
    rerun). Callers must not change it: derive new frames and series from it instead.
    """
    from layerlab.data.tables import read_table

    read = read_table(source)
    return {"frame": read.frame, "format": read.format, "encoding": read.encoding,
            "delimiter": read.delimiter, "notes": list(read.notes)}


def frame_of(source: str) -> pd.DataFrame:
    return read_frame(source, source_stamp(source))["frame"]


@st.cache_data(max_entries=8, show_spinner=False)
def overview(source: str, stamp: tuple[float, int]) -> dict[str, Any]:
    """What the Data page shows about a table, small enough to unpickle on every rerun."""
    from layerlab.data.profile import profile

    read = read_frame(source, stamp)
    df = read["frame"]
    prof = profile(df)
    return {
        "rows": int(len(df)),
        "columns": int(df.shape[1]),
        "names": [str(c) for c in df.columns],
        "profile": prof,
        "head": df.head(PREVIEW_ROWS),
        "types": {c.name: c.type for c in prof.column_profiles},
        "numeric": [str(c) for c in df.columns if pd.api.types.is_numeric_dtype(df[c])
                    and not pd.api.types.is_bool_dtype(df[c])],
        "notes": list(read["notes"]),
        "format": read["format"],
    }


@st.cache_data(max_entries=32, show_spinner=False)
def class_counts(source: str, stamp: tuple[float, int], target: str) -> dict[str, int]:
    """Rows per class of the target (missing values left out), largest first."""
    y = read_frame(source, stamp)["frame"][target].dropna()
    counts = y.astype("str").value_counts()
    return {str(k): int(v) for k, v in counts.items()}


@st.cache_data(max_entries=32, show_spinner=False)
def histogram(source: str, stamp: tuple[float, int], column: str) -> dict[str, Any]:
    """Bin edges and counts of a numeric column (missing values left out)."""
    s = pd.to_numeric(read_frame(source, stamp)["frame"][column], errors="coerce").dropna()
    values = s.to_numpy(dtype="float64")
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return {"edges": [], "counts": [], "n": 0, "missing": int(len(s) == 0)}
    bins = min(MAX_BINS, max(1, len(np.unique(values[:100_000]))))
    counts, edges = np.histogram(values, bins=bins)
    return {"edges": edges.tolist(), "counts": counts.tolist(), "n": int(len(values)),
            "mean": float(values.mean()), "median": float(np.median(values)),
            "min": float(values.min()), "max": float(values.max())}


# ---- figures (pure) --------------------------------------------------------------------------------


def _bar_layout(fig: go.Figure, title: str, n: int, horizontal: bool, xtitle: str, ytitle: str) -> go.Figure:
    fig.update_layout(title=title, height=max(320, 22 * n + 120) if horizontal else 340,
                      margin=dict(l=10, r=10, t=50, b=10), showlegend=False)
    if horizontal:
        fig.update_yaxes(title=ytitle, type="category", autorange="reversed")
        fig.update_xaxes(title=xtitle)
    else:
        fig.update_xaxes(title=xtitle, type="category")
        fig.update_yaxes(title=ytitle)
    return fig


def class_balance_figure(counts: dict[str, int], target: str) -> go.Figure:
    """Rows per class; horizontal when there are many classes; the first MAX_BARS classes."""
    keys = list(counts)[:MAX_BARS]
    values = [int(counts[n]) for n in keys]
    names = [plot_text(n) for n in keys]
    many = len(names) > 12
    bar = go.Bar(x=values, y=names, orientation="h") if many else go.Bar(x=names, y=values)
    bar.update(text=values, textposition="outside", textangle=0, cliponaxis=False, marker_color=ACCENT,
               hovertemplate=("%{y}: %{x} rows" if many else "%{x}: %{y} rows") + "<extra></extra>")
    title = f"Rows per class of {plot_text(target)}" + (f" (the {MAX_BARS} largest)" if len(counts) > MAX_BARS else "")
    fig = go.Figure(bar)
    return _bar_layout(fig, title, len(names), many, "rows" if many else "class", "class" if many else "rows")


def missing_figure(missing: dict[str, int], rows: int) -> go.Figure:
    """Missing values per column (columns without any are left out), most missing first."""
    items = sorted(((n, v) for n, v in missing.items() if v > 0), key=lambda kv: -kv[1])[:MAX_BARS]
    names = [plot_text(n) for n, _ in items]
    values = [v for _, v in items]
    pct = [100.0 * v / rows if rows else 0.0 for v in values]
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=MISSING,
                           text=[f"{p:.1f}%" for p in pct], textposition="outside", cliponaxis=False,
                           customdata=pct, hovertemplate="%{y}: %{x} missing (%{customdata:.1f}%)<extra></extra>"))
    return _bar_layout(fig, "Missing values per column", len(names), True, "missing values", "column")


def histogram_figure(hist: dict[str, Any], column: str) -> go.Figure:
    edges, counts = hist["edges"], hist["counts"]
    centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
    fig = go.Figure(go.Bar(x=centers, y=counts, width=widths, marker_color=ACCENT,
                           customdata=list(zip(edges[:-1], edges[1:])),
                           hovertemplate="%{customdata[0]:.4g} to %{customdata[1]:.4g}: %{y} rows<extra></extra>"))
    fig.update_layout(title=f"Distribution of {plot_text(column)}", height=340, margin=dict(l=10, r=10, t=50, b=10),
                      bargap=0.02, showlegend=False)
    fig.update_xaxes(title=plot_text(column))
    fig.update_yaxes(title="rows")
    return fig


# ---- views ----------------------------------------------------------------------------------------


def preview(ov: dict[str, Any], key: str) -> None:
    shown = min(ov["rows"], PREVIEW_ROWS)
    st.caption(f"The first {shown:,} of {ov['rows']:,} rows.")
    # st.dataframe shows column names and cells as text: a name such as <script> stays text.
    st.dataframe(ov["head"], key=key, height=320)


def columns_table(ov: dict[str, Any], roles: dict[str, str], key: str) -> None:
    """Inferred type and missing values per column (a table), beside a plotly bar of the missing ones."""
    prof = ov["profile"]
    frame = pd.DataFrame([{
        "column": c.name, "role": roles.get(c.name, ""), "type": c.type, "why": c.why,
        "missing": c.missing, "missing %": round(c.missing_pct, 1), "distinct": c.unique,
        "examples": ", ".join(str(e) for e in c.examples[:3]),
    } for c in prof.column_profiles])
    table, chart = st.columns([3, 2])
    with table:
        st.dataframe(frame, hide_index=True, key=f"{key}.table", height=min(35 * (len(frame) + 1) + 3, 460),
                     column_config={"missing %": st.column_config.NumberColumn(format="%.1f%%")})
    with chart:
        missing = {c.name: c.missing for c in prof.column_profiles}
        if any(missing.values()):
            st.plotly_chart(missing_figure(missing, prof.rows), width="stretch", key=f"{key}.missing")
        else:
            st.success("No missing values: every column is complete.", icon=":material/check_circle:")


def class_balance(source: str, target: str, key: str) -> dict[str, int]:
    counts = class_counts(source, source_stamp(source), target)
    if counts:
        st.plotly_chart(class_balance_figure(counts, target), width="stretch", key=key)
        if len(counts) > 1:
            values = list(counts.values())
            st.caption(f"{len(counts):,} classes; the largest has {values[0]:,} rows, the smallest {values[-1]:,}.")
    else:
        st.info("The target column has no values.")
    return counts


def numeric_histograms(source: str, numeric: list[str], key: str, default: str | None = None) -> None:
    """A histogram of one numeric column, picked with a selectbox."""
    if not numeric:
        st.caption("No numeric columns to show.")
        return
    if st.session_state.get(key) not in numeric:
        st.session_state[key] = default if default in numeric else numeric[0]
    column = st.selectbox("Column", numeric, key=key, help="Pick a numeric column to see how its values spread.")
    hist = histogram(source, source_stamp(source), column)
    if not hist["n"]:
        st.info("This column has no numbers to show.")
        return
    st.plotly_chart(histogram_figure(hist, column), width="stretch", key=f"{key}.chart")
    st.caption(f"{hist['n']:,} values from {hist['min']:,.4g} to {hist['max']:,.4g}; "
               f"mean {hist['mean']:,.4g}, median {hist['median']:,.4g}.")
