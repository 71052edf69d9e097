"""Predict on table rows: a form generated from the training columns, or a file of rows (CSV back, predictions
appended)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import streamlit as st

from components import errors
from components.evaluate import explanations as views
from components.markup import code, md
from components.predict.shared import CHUNK_ROWS, SHOWN_ROWS, TABLE_TYPES, class_result
from layerlab.inference import inputs
from layerlab.inference.results import append_predictions


def number_field(col: dict[str, Any]) -> dict[str, Any]:
    """number_input arguments for a numeric training column: its range, default and a fitting step."""
    lo, hi = float(col.get("min", 0.0)), float(col.get("max", 0.0))
    default = min(max(float(col.get("default", lo)), lo), hi)
    if col.get("integer"):
        return {"min_value": int(math.floor(lo)), "max_value": int(math.ceil(hi)), "value": int(round(default)),
                "step": 1, "format": "%d"}
    span = hi - lo
    exponent = math.floor(math.log10(span / 100)) if span > 0 else -1
    step = 10.0 ** exponent
    decimals = max(0, -exponent)
    return {"min_value": lo, "max_value": hi, "value": round(default, decimals), "step": step,
            "format": f"%.{decimals}f"}


def _field(col: dict[str, Any], key: str) -> Any:
    name = col["name"]
    if col["type"] == "numeric":
        args = number_field(col)
        return st.number_input(md(name), key=key, help=f"From {args['min_value']:g} to {args['max_value']:g} in the "
                               f"training data.", **args)
    options = inputs.choices(col)
    default = col.get("default")
    index = options.index(default) if default in options else 0
    return st.selectbox(md(name), options, index=index, key=key, help="The categories seen in the training data.")


def table_view(predictor: Any, tag: str) -> None:
    mode = st.segmented_control("Input", ["One row", "A file of rows"], default="One row",
                                key="predict_table_mode", label_visibility="collapsed") or "One row"
    if mode == "One row":
        row_form(predictor, tag)
    else:
        rows_file(predictor, tag)


def row_form(predictor: Any, tag: str) -> None:
    info = predictor.info
    columns = info.extra["columns"]
    last_key = f"predict_row_{tag}"
    with st.form(f"predict_row_form_{tag}", border=True):
        st.caption("Fill in one row; the ranges and categories are those of the training data.")
        per_row = 3
        values: dict[str, Any] = {}
        for start in range(0, len(columns), per_row):
            cells = st.columns(per_row)
            for cell, col in zip(cells, columns[start:start + per_row]):
                with cell:
                    values[col["name"]] = _field(col, f"predict_col_{tag}_{col['input']}")
        if st.form_submit_button("Predict", type="primary", icon=":material/online_prediction:"):
            st.session_state[last_key] = values
    row = st.session_state.get(last_key)
    if row is None:
        st.info("Fill in the form and press **Predict**.", icon=":material/edit_note:")
        return
    with errors.guard():
        res = predictor.predict_rows([row])[0]
        target = info.extra.get("target", "target")
        with st.container(border=True):
            if info.task == "classification":
                class_result(res, len(info.class_names), "predict_row_probs", label=f"Predicted {md(target)}")
            else:
                st.metric(f"Predicted {md(target)}", f"{res['value']:,.4g}", help="In the units of the training data.")
            if st.toggle("Show which values mattered", key="predict_explain_row",
                         help="Sets one value at a time to the typical one of the training data and measures how the "
                              "prediction changes."):
                from layerlab.explain import row_effects

                with st.spinner("Trying the typical value of each column…"):
                    views.row_explanation(row_effects(predictor, row), target, key="predict_row_effects")


def rows_file(predictor: Any, tag: str) -> None:
    from layerlab.data.tables import to_safe_csv

    info = predictor.info
    names = [c["name"] for c in info.extra["columns"]]
    file = st.file_uploader("A file of rows", type=TABLE_TYPES, key=f"predict_table_file_{tag}",
                            help="CSV, TSV, Excel, Parquet or JSON Lines with the columns the model was trained on; "
                                 "other columns are kept and passed through.")
    st.caption("Columns needed: " + ", ".join(code(n) for n in names) + ".")
    if file is None:
        st.info("Upload a table to get a prediction for every row, as a CSV to download.", icon=":material/upload:")
        return
    with errors.guard():
        df = inputs.rows_of_file(file.name, file.getvalue(), info.extra["columns"])
        results = [r for i in range(0, len(df), CHUNK_ROWS) for r in predictor.predict_rows(df.iloc[i:i + CHUNK_ROWS])]
        out = append_predictions(df, results, info)
        st.caption(f"{len(out):,} rows predicted.")
        st.dataframe(out.head(SHOWN_ROWS), width="stretch", hide_index=True, key="predict_table_result")
        if len(out) > SHOWN_ROWS:
            st.caption(f"The first {SHOWN_ROWS} of {len(out):,} rows; the download has them all.")
        st.download_button("Download the rows with predictions (CSV)", to_safe_csv(out),
                           file_name=f"{Path(file.name).stem}_predictions.csv", mime="text/csv",
                           icon=":material/download:", key="predict_table_download", on_click="ignore",
                           type="primary")
