"""Evaluate: how a finished run does on its held-out test set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from components import charts, errors, nav, run_picker
from components.data_preview import display_image
from layerlab.errors import LayerlabError
from layerlab.spec import load_spec
from layerlab.train.store import RunStore

GALLERY_COLUMNS = 6
DISPLAY_PX = 112


@st.cache_data(max_entries=16, show_spinner=False)
def _evaluation(path: str, mtime: float) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LayerlabError(f"The run's evaluation could not be read ({type(exc).__name__}: {exc}).",
                            "Train the run again, or pick another run.") from None


@st.cache_resource(max_entries=2, ttl=600, show_spinner="Opening the data…")
def _image_source(source: str):
    from layerlab.data.images import open_images

    return open_images(source)


def _mistake_image(src, spec, mistake: dict) -> np.ndarray | None:
    """The mistaken test image as the model saw it, or None if it cannot be found again."""
    i = int(mistake["source_index"])
    name = mistake.get("name")
    if src.files and (i >= len(src.files) or src.item_name(i) != name):
        # Unreadable files were skipped at training time, which shifts indices: find it by name.
        matches = [k for k, f in enumerate(src.files) if f.name == name and int(src.labels[k]) == int(mistake["true"])]
        if not matches:
            return None
        i = matches[0]
    return src.decode(i, spec.prepare.image)


def summary(ev: dict) -> None:
    acc, base = ev.get("accuracy"), ev.get("baseline_accuracy")
    c1, c2, c3, c4 = st.columns(4)
    if acc is not None:
        delta = f"{(acc - base) * 100:+.1f} points vs baseline" if base is not None else None
        c1.metric("Test accuracy", f"{acc:.1%}", delta=delta, border=True)
        if base is not None:
            c2.metric("Baseline accuracy", f"{base:.1%}", border=True, help=f"Baseline: {ev.get('baseline', '')}.")
    c3.metric("Test loss", f"{ev['loss']:.4f}" if ev.get("loss") is not None else "—", border=True)
    c4.metric("Test examples", f"{ev.get('n_test', 0):,}", border=True)
    if ev.get("baseline"):
        st.caption(f"Baseline: {ev['baseline']} — a model must beat it to have learned anything.")


def per_class(ev: dict) -> None:
    st.subheader("Per class")
    df = pd.DataFrame(ev["per_class"]).rename(columns={"class": "Class", "precision": "Precision", "recall": "Recall",
                                                       "f1": "F1", "support": "Support"})
    pct = st.column_config.NumberColumn
    st.dataframe(df, hide_index=True, key="evaluate_per_class", width="stretch", column_config={
        "Precision": pct("Precision", format="percent", help="Of the examples predicted as this class, how many were."),
        "Recall": pct("Recall", format="percent", help="Of the examples of this class, how many were found."),
        "F1": pct("F1", format="percent", help="Harmonic mean of precision and recall."),
        "Support": st.column_config.NumberColumn("Support", help="Test examples of this class."),
    })


def confusion(ev: dict) -> None:
    st.subheader("Confusion matrix")
    normalize = st.toggle("Normalise each row (share of the true class)", key="evaluate_normalize")
    fig = charts.confusion_figure(ev["confusion_matrix"], ev["class_names"], normalize=normalize)
    st.plotly_chart(fig, width="stretch", key="evaluate_confusion")
    st.caption("Rows are the true classes, columns the predictions; the diagonal is what the model got right.")


def mistakes(ev: dict, run) -> None:
    st.subheader("Most confident mistakes")
    items = ev.get("mistakes") or []
    if not items:
        st.success("No mistakes on the test set.")
        return
    spec = load_spec(run.path / "project.json")
    if spec.data.kind != "images":
        st.dataframe(pd.DataFrame(items), hide_index=True, key="evaluate_mistakes")
        return
    src = _image_source(spec.data.source)
    names = ev["class_names"]
    cols = st.columns(GALLERY_COLUMNS)
    for k, m in enumerate(items):
        with cols[k % GALLERY_COLUMNS]:
            img = _mistake_image(src, spec, m)
            caption = f"true {names[m['true']]} → predicted {names[m['pred']]} ({m['confidence']:.0%})"
            if img is None:
                st.caption(f"{m.get('name', '')}: the file is no longer in the data. {caption}")
            else:
                st.image(display_image(img, DISPLAY_PX), caption=caption)
    st.caption("The test examples the model got wrong with the highest confidence, shown as the model saw them.")


nav.ensure_app()
st.title("Evaluate")
with errors.guard():
    store = RunStore()
    run = run_picker.pick_run(store, need="evaluation", key="evaluate_run")
    path = run.path / "evaluation.json"
    ev = _evaluation(str(path), path.stat().st_mtime)
    if run.status != "completed":
        st.caption(f"This run was {run.status}: the evaluation uses the best weights it had reached.")
    summary(ev)
    if "confusion_matrix" in ev:
        left, right = st.columns([2, 3], gap="large")
        with left:
            per_class(ev)
        with right:
            confusion(ev)
        mistakes(ev, run)
    nav.link("Predict", "Try the model on your own images", ":material/online_prediction:")
