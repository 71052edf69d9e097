"""Looking at a time series: the values over time with the missing time steps shaded, and the
frequency the dates follow."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.markup import message, plot_text
from components.table_view import read_frame
from layerlab.workspace import source_stamp

MAX_POINTS = 4000
MAX_LINES = 6
MAX_SHADED = 150
GAP = "rgba(228, 87, 86, 0.25)"
COLORS = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#9D755D", "#72B7B2"]

_WORDS = {"D": "daily", "B": "every business day", "h": "hourly", "min": "every minute", "s": "every second",
          "MS": "monthly (first of the month)", "ME": "monthly (end of the month)"}


def frequency_words(freq: str | None) -> str:
    """'W-SUN' → 'weekly (Sundays)'; None → 'irregular'."""
    if not freq:
        return "irregular (no fixed step)"
    if freq in _WORDS:
        return _WORDS[freq]
    if freq.startswith("W-"):
        day = {"MON": "Mondays", "TUE": "Tuesdays", "WED": "Wednesdays", "THU": "Thursdays", "FRI": "Fridays",
               "SAT": "Saturdays", "SUN": "Sundays"}.get(freq[2:], freq[2:])
        return f"weekly ({day})"
    if freq.startswith(("YS", "YE", "AS", "A-")):
        return "yearly"
    if freq.startswith(("QS", "QE", "Q-")):
        return "quarterly"
    return f"every {freq}"


def when(value: Any) -> str:
    """A timestamp as a date when it falls on midnight, else as date and time."""
    ts = pd.Timestamp(value)
    return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat(sep=" ")


def _downsample(n: int, limit: int = MAX_POINTS) -> np.ndarray:
    """Positions of at most `limit` evenly spread rows (first and last kept)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype("int64"))


@st.cache_data(max_entries=16, show_spinner=False)
def series_overview(source: str, stamp: tuple[float, int], date: str | None, values: tuple[str, ...]) -> dict[str, Any]:
    """The parsed series (down-sampled for the chart), its frequency, gaps and reading notes."""
    from layerlab.data.series import prepare_series

    df = read_frame(source, stamp)["frame"]
    sf = prepare_series(df, date, list(values))
    frame = sf.frame
    keep = _downsample(len(frame))
    x = frame[date].iloc[keep] if date else pd.Series(keep, name="step")
    return {
        "x": x.tolist(),
        "lines": {c: frame[c].iloc[keep].astype("float64").tolist() for c in values[:MAX_LINES]},
        "steps": int(len(frame)),
        "downsampled": len(keep) < len(frame),
        "freq": sf.freq,
        "gaps": [(a, b, int(k)) for a, b, k in sf.gaps],
        "missing_steps": int(sf.missing_steps),
        "duplicates": int(sf.duplicates),
        "notes": list(sf.notes),
        "start": frame[date].iloc[0] if date and len(frame) else None,
        "end": frame[date].iloc[-1] if date and len(frame) else None,
    }


def series_figure(ov: dict[str, Any], date: str | None) -> go.Figure:
    """Values over time; each run of missing time steps shaded (or marked, when there are many)."""
    fig = go.Figure()
    for i, (name, ys) in enumerate(ov["lines"].items()):
        fig.add_trace(go.Scatter(x=ov["x"], y=ys, mode="lines", name=plot_text(name),
                                 line=dict(color=COLORS[i % len(COLORS)], width=1.5),
                                 hovertemplate="%{x}: %{y:.4g}<extra>" + plot_text(str(name)[:40]) + "</extra>"))
    gaps = ov["gaps"]
    if gaps and len(gaps) <= MAX_SHADED:
        freq = pd.tseries.frequencies.to_offset(ov["freq"]) if ov["freq"] else None
        for first, last, _ in gaps:
            # Shade from the last real step before the gap to the first one after it.
            lo, hi = (first - freq, last + freq) if freq is not None else (first, last)
            fig.add_vrect(x0=lo, x1=hi, fillcolor=GAP, line_width=0, layer="below")
        # One invisible trace so the legend explains the shading.
        fig.add_trace(go.Scatter(x=[gaps[0][0]], y=[None], mode="markers", name="missing steps",
                                 marker=dict(color=GAP, size=12, symbol="square"), hoverinfo="skip"))
    elif gaps:
        starts = [g[0] for g in gaps]
        fig.add_trace(go.Scatter(x=starts, y=[0] * len(starts), mode="markers", name="missing steps",
                                 marker=dict(color="#E45756", symbol="line-ns-open", size=10),
                                 yaxis="y2", customdata=[g[2] for g in gaps],
                                 hovertemplate="%{x}: %{customdata} missing steps<extra></extra>"))
        fig.update_layout(yaxis2=dict(overlaying="y", range=[0, 20], visible=False))
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10), hovermode="x unified",
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    fig.update_xaxes(title=plot_text(date) if date else "step (row order)")
    fig.update_yaxes(title="value")
    return fig


def series_view(spec: Any, values: list[str], key: str) -> dict[str, Any] | None:
    """The series chart with the gaps, the frequency and what reading the dates found."""
    source, date = spec.data.source, spec.data.date
    ov = series_overview(source, source_stamp(source), date, tuple(values))
    m1, m2, m3 = st.columns(3)
    m1.metric("Time steps", f"{ov['steps']:,}")
    m2.metric("Frequency", frequency_words(ov["freq"]) if date else "row order",
              help="How far apart the dates are, found from the dates themselves." if date else
              "No date column: each row is one time step.")
    m3.metric("Missing steps", f"{ov['missing_steps']:,}", help="Time steps the frequency says should be there "
              f"but have no row ({len(ov['gaps']):,} gaps). The Prepare page fills them.")
    st.plotly_chart(series_figure(ov, date), width="stretch", key=f"{key}.chart")
    caption = []
    if date and ov["start"] is not None:
        caption.append(f"From {when(ov['start'])} to {when(ov['end'])}.")
    if ov["gaps"]:
        caption.append("Shaded: missing time steps." if len(ov["gaps"]) <= MAX_SHADED
                       else "Ticks at the bottom: where missing time steps start.")
    if ov["downsampled"]:
        caption.append(f"The chart shows {MAX_POINTS:,} evenly spread points of {ov['steps']:,}.")
    if caption:
        st.caption(" ".join(caption))
    for note in ov["notes"]:
        st.caption(f":material/info: {message(note)}")
    return ov
