"""What the model will see, in words, from the kind's description of the data (`describe_data`)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from components.markup import md
from components.table_view import read_frame
from layerlab.spec import ProjectSpec
from layerlab.workspace import source_stamp


def _quoted(names: list[str]) -> str:
    return ", ".join(md(n) for n in names)


@st.cache_data(max_entries=32, show_spinner=False)
def _describe(data_json: str, prepare_json: str, stamp: tuple[float, int]) -> Any:
    from layerlab.project import describe_data
    from layerlab.spec import load_spec

    spec = load_spec({"data": json.loads(data_json), "prepare": json.loads(prepare_json)})
    return describe_data(spec, read_frame(spec.data.source, stamp)["frame"])


def describe(spec: ProjectSpec) -> Any:
    """describe_data for the project's data and preparation (cached: layers, split and augmentation do not matter)."""
    p = spec.prepare
    prepare = json.dumps({"table": p.table.model_dump(mode="json"), "text": p.text.model_dump(mode="json"),
                          "series": p.series.model_dump(mode="json")}, sort_keys=True)
    return _describe(spec.data.model_dump_json(), prepare, source_stamp(spec.data.source))


def model_view(spec: ProjectSpec) -> None:
    """What the model will see, in words, from describe_data."""
    info = describe(spec)
    kind = info.kind
    if kind == "table":
        columns = info.extra.get("columns", [])
        numeric = [c for c in columns if c["type"] == "numeric"]
        cats = [c for c in columns if c["type"] != "numeric"]
        m1, m2 = st.columns(2)
        m1.metric("Inputs", f"{info.input_shape[0]:,}", help="Numbers per row after filling, scaling "
                  "and encoding: the size of the model's first layer.")
        if info.task == "classification":
            m2.metric("Classes", f"{len(info.class_names):,}")
        else:
            m2.metric("Predicts", "one number")
        st.caption(f"From {len(columns)} column(s): {len(numeric)} numeric, {len(cats)} categorical.")
        enc = spec.prepare.table.encode
        per_cat = {"one_hot": lambda c: f"{len(c['categories']) + 1} values (one-hot)",
                   "integer": lambda c: "1 value (category number)",
                   "embedding": lambda c: f"{spec.prepare.table.embedding_dim} values (embedding)"}[enc]
        rows = [{"column": c["name"], "type": c["type"],
                 "becomes": "1 number" if c["type"] == "numeric" else per_cat(c)} for c in columns]
        st.dataframe(pd.DataFrame(rows, columns=["column", "type", "becomes"]), hide_index=True,
                     key="data.model_view", height=min(35 * (len(rows) + 1) + 3, 320))
        if info.task == "classification":
            st.caption(f"Predicts one of {len(info.class_names)} classes of {md(info.extra.get('target'))}.")
        else:
            st.caption(f"Predicts the number in {md(info.extra.get('target'))}.")
    elif kind == "text":
        m1, m2, m3 = st.columns(3)
        m1.metric("Words", f"{info.extra['sequence_length']:,}",
                  help="Each text becomes this many word numbers: longer texts are cut, shorter ones padded.")
        m2.metric("Vocabulary", f"{info.extra['vocab_size']:,}", help="At most this many of the most frequent "
                  "words; others become one 'unknown' word.")
        m3.metric("Classes", f"{len(info.class_names):,}")
        st.caption(f"Reads {md(info.extra.get('text'))} and predicts {md(info.extra.get('target'))}.")
    elif kind == "series":
        feats, targets = info.extra.get("features", []), info.extra.get("targets", [])
        window, n = info.input_shape
        m1, m2, m3 = st.columns(3)
        m1.metric("Window", f"{window:,}", help="How many past time steps each forecast looks at.")
        m2.metric("Inputs", f"{n:,}", help="Values per time step: " + _quoted(feats))
        m3.metric("Horizon", f"{info.extra.get('horizon', 1)}",
                  help=f"Time steps forecast ahead, of {_quoted(targets)}.")
        st.caption(f"Looks at the last {window} steps of {_quoted(feats)} and forecasts the next "
                   f"{info.extra.get('horizon', 1)} step(s) of {_quoted(targets)}.")
    if info.class_names and kind != "series":
        shown = _quoted([str(c) for c in info.class_names[:12]]) + (" …" if len(info.class_names) > 12 else "")
        st.caption(f"Classes: {shown}")
