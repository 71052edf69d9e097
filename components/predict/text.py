"""Predict on texts: one text (with which words mattered), many pasted texts, or a file of texts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from components import errors
from components.evaluate import explanations as views
from components.markup import md
from components.predict.shared import CHUNK_ROWS, TABLE_TYPES, class_result, show_table
from layerlab.inference import inputs
from layerlab.inference.results import results_table


def text_view(predictor: Any, tag: str) -> None:
    info = predictor.info
    mode = st.segmented_control("Input", ["One text", "Many texts", "A file"], default="One text",
                                key="predict_text_mode", label_visibility="collapsed") or "One text"
    if mode == "One text":
        text = st.text_area("Text to classify", key=f"predict_text_one_{tag}", height=120,
                            placeholder="Type or paste a text…")
        if not text.strip():
            st.info("Type a text to see which class the model gives it.", icon=":material/edit_note:")
            return
        res = predictor.predict_texts([text])[0]
        with st.container(border=True):
            class_result(res, len(info.class_names), "predict_text_probs")
            if st.toggle("Show which words mattered", key="predict_explain_text",
                         help="Removes one word at a time and measures how the predicted class's probability changes."):
                from layerlab.explain import text_occlusion

                with errors.guard(), st.spinner("Removing one word at a time…"):
                    views.text_explanation(text_occlusion(predictor, text), key="predict_words")
        return
    if mode == "Many texts":
        raw = st.text_area("Texts to classify, one per line", key=f"predict_text_many_{tag}", height=200)
        texts = inputs.text_lines(raw)
        if not texts:
            st.info("Type or paste texts, one per line.", icon=":material/edit_note:")
            return
        with errors.guard():
            inputs.check_batch_rows(len(texts), "The pasted text", "texts")
            _text_batch(predictor, texts, "texts")
        return
    column = info.extra.get("text", "text")
    file = st.file_uploader("A file of texts", type=TABLE_TYPES, key=f"predict_text_file_{tag}",
                            help=f"A table with a {md(column)} column (CSV, Excel, …), or a .txt file with one text per line.")
    if file is None:
        st.info(f"Upload a table with a {md(column)} column, or a .txt file with one text per line.", icon=":material/upload:")
        return
    with errors.guard():
        texts = inputs.texts_of_file(file.name, file.getvalue(), column)
        _text_batch(predictor, texts, Path(file.name).stem)


def _text_batch(predictor: Any, texts: list[str], stem: str) -> None:
    from layerlab.data.tables import to_safe_csv

    results = [r for i in range(0, len(texts), CHUNK_ROWS) for r in predictor.predict_texts(texts[i:i + CHUNK_ROWS])]
    df = results_table(texts, results, predictor.info, "text")
    counts = df["predicted"].value_counts()
    st.caption(f"{len(df):,} texts · " + " · ".join(f"{md(c)}: {n:,}" for c, n in counts.items()))
    show_table(df, "predict_text_table", predictor.info.class_names)
    st.download_button("Download the predictions (CSV)", to_safe_csv(df), file_name=f"{stem}_predictions.csv",
                       mime="text/csv", icon=":material/download:", key="predict_text_download", on_click="ignore")
