"""What the Predict page shows for each kind of data: inputs to fill in, and the model's answers.

`show(predictor, tag)` picks the view for the run's data kind (one module each: images, text,
table, series); `outside` tries a `.keras` model made elsewhere; `shared` holds the result views
they have in common. UI only: parsing and checking the inputs is `layerlab.inference.inputs`,
so the page, the CLI and the model server refuse the same inputs with the same words.

`tag` (the run id) goes into widget keys, so another run's form starts fresh. Problems with an
input (an unreadable image, a missing column, text where numbers belong) are shown as messages,
never as tracebacks.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.markup import md
from components.predict import images, series, table, text


def show(predictor: Any, tag: str) -> None:
    """The input and result view for the predictor's kind of data."""
    kind = predictor.info.kind
    views = {"images": images.image_view, "text": text.text_view, "table": table.table_view,
             "series": series.series_view}
    if kind not in views:
        st.info(f"Predicting from {kind} data is not supported.")
        return
    views[kind](predictor, tag)


def describe(predictor: Any) -> str:
    """One line on what the model takes and gives, for the caption under the run picker."""
    info = predictor.info
    if info.kind == "images":
        h, w, c = info.input_shape
        classes = info.class_names
        shown = ", ".join(md(n) for n in classes[:20]) + (f" and {len(classes) - 20} more" if len(classes) > 20 else "")
        return (f"Classes: {shown} · images are resized to {w}×{h} "
                f"{'grayscale' if c == 1 else 'colour'}, as in training.")
    ex = info.extra
    if info.kind == "text":
        return f"Classifies texts like the {md(ex.get('text'))} column into: " + ", ".join(md(c) for c in info.class_names) + "."
    if info.kind == "table":
        what = (f"the class of {md(ex.get('target'))} (" + ", ".join(md(c) for c in info.class_names[:20]) + ")"
                if info.task == "classification" else f"the value of {md(ex.get('target'))}")
        return f"Predicts {what} from {len(ex.get('columns', []))} columns."
    if info.kind == "series":
        targets = ", ".join(md(t) for t in ex.get("targets", []))
        return (f"Forecasts the next {ex.get('horizon')} step(s) of {targets} from the last {ex.get('window')} steps of "
                + ", ".join(md(f) for f in ex.get("features", [])) + ".")
    return ""
