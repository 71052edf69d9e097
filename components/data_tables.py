"""The Data page for tables, text and series: how the file was read, its size, the views that suit
the kind of data, the column roles, what the model will see and the health check."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components import state
from components.errors import guard
from components.health_report import health_view
from components.markup import md, message
from components.model_view import model_view
from components.roles_editor import readings, roles_editor
from components.series_view import series_view
from components.table_view import class_balance, columns_table, numeric_histograms, overview, preview, shown_name
from components.text_view import text_view
from layerlab.kinds import get_kind
from layerlab.roles import roles_of_columns
from layerlab.samples import SAMPLES
from layerlab.spec import ProjectSpec
from layerlab.workspace import Source, source_stamp


def table_like_view(spec: ProjectSpec) -> bool:
    """Tables, text and series: reading notes, metrics, views per kind, roles, model view, health.
    False when the table could not be read (the error is shown)."""
    source = spec.data.source
    ov = None
    with guard():
        with st.spinner("Reading the data…"):
            ov = overview(source, source_stamp(source))
    if ov is None:
        st.caption("Choose other data above, or fix the file and upload it again.")
        return False
    if Source(source).is_sample:
        sample = SAMPLES.get(Source(source).sample)
        if sample is not None:
            st.caption(sample.description)
    else:
        stored, shown = Path(source).name, shown_name(source)
        notes = [n.replace(stored, shown) for n in ov["notes"]]
        if notes:
            st.info(f"How {md(shown)} was read:\n" + "\n".join(f"- {message(n)}" for n in notes), icon=":material/info:")
    d = spec.data
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Rows", f"{ov['rows']:,}")
    m2.metric("Columns", f"{ov['columns']:,}")
    m3.metric("Kind", get_kind(d.kind).title, help="Chosen from the column roles below.")
    m4.metric("Task", d.task.capitalize())
    with guard():
        readings(spec)

    roles = roles_of_columns(spec, ov["names"], ov["types"])
    numeric = ov["numeric"]
    names = ["Preview", "Columns"]
    if d.kind == "text":
        names.append("Texts")
    if d.kind == "series":
        names.append("Series")
    if d.task == "classification" and d.target in ov["names"]:
        names.append("Classes")
    names.append("Numbers")
    icons = {"Preview": "table_view", "Columns": "view_column", "Texts": "notes", "Series": "show_chart",
             "Classes": "bar_chart", "Numbers": "equalizer"}
    tabs = dict(zip(names, st.tabs([f":material/{icons[n]}: {n}" for n in names])))
    with tabs["Preview"]:
        preview(ov, "data.preview")
    with tabs["Columns"]:
        st.caption("What each column holds, as Layerlab reads it, and how many values are missing.")
        with guard():
            columns_table(ov, roles, "data.columns")
    if "Texts" in tabs:
        with tabs["Texts"], guard():
            text_view(spec, "data.text")
    if "Series" in tabs:
        with tabs["Series"], guard():
            targets = [c for c, r in roles.items() if r == "target"]
            values = targets + [c for c, r in roles.items() if r == "feature" and c in numeric]
            if values:
                series_view(spec, values, "data.series")
            else:
                st.info("No value column to plot: mark a numeric column as the target below.")
    if "Classes" in tabs:
        with tabs["Classes"], guard():
            class_balance(source, d.target, "data.classes")
    with tabs["Numbers"], guard():
        default = d.target if d.task != "classification" else None
        numeric_histograms(source, numeric, "data.histogram", default=default)

    st.subheader("Column roles")
    st.caption("What each column is for. Layerlab guessed these from the data; change them and apply.")
    with guard():
        roles_editor(spec, ov)
    spec = state.project() or spec
    model_col, health_col = st.columns(2, gap="large")
    with model_col:
        st.subheader("What the model will see")
        with guard():
            model_view(spec)
    with health_col:
        st.subheader("Health check")
        st.caption("Things to know or fix before training, most important first.")
        with guard():
            health_view(spec)
    return True
