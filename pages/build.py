"""Build: start from a template, edit the layers, and see at once whether the model fits the data."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from components import nav, state
from components.errors import guard, show_error, show_flagged
from components.layer_editor import FLAG, OPEN, layer_editor, report_dot
from layerlab.errors import LayerlabError
from layerlab.spec import ProjectSpec, load_spec

nav.ensure_app()  # a deep link in Streamlit's legacy pages/ mode goes through app.py first

CONFIRM = "build.confirm"


@st.cache_data(max_entries=32, show_spinner=False)
def _info(data_json: str, prepare_json: str, stamp: tuple[float, int]) -> Any:
    """DataInfo for the data and its preparation (cached: opening a zip hashes it, a table is read)."""
    from layerlab.project import describe_data

    return describe_data(load_spec({"data": json.loads(data_json), "prepare": json.loads(prepare_json)}))


@st.cache_data(max_entries=64, show_spinner=False)
def _check(spec_json: str, info_json: str) -> Any:
    """check_model for this spec and data (cached per spec: every rerun asks again)."""
    from layerlab.data.info import DataInfo
    from layerlab.models.build import check_model

    spec = load_spec(spec_json)
    info = DataInfo.from_dict(json.loads(info_json))
    return check_model(spec, info, layers=list(spec.model.layers))


@st.cache_data(max_entries=16, show_spinner=False)
def _code(spec_json: str, info_json: str) -> str:
    from layerlab.data.info import DataInfo
    from layerlab.codegen.model_code import model_code

    return model_code(load_spec(spec_json), DataInfo.from_dict(json.loads(info_json)))


def _stamp(source: str) -> tuple[float, int]:
    path = Path(source)
    if source.startswith("sample:") or not path.exists():
        return (0.0, 0)
    return (path.stat().st_mtime, path.stat().st_size)


def _apply_template(name: str, info: Any) -> None:
    from layerlab.project import with_template

    spec = state.project()
    st.session_state.pop(CONFIRM, None)
    try:
        new = with_template(spec, name, info)
    except LayerlabError as exc:
        st.session_state[FLAG] = exc
        return
    state.set_project(new)
    st.session_state[OPEN] = set()


def _ask(name: str) -> None:
    st.session_state[CONFIRM] = name


def _cancel() -> None:
    st.session_state.pop(CONFIRM, None)


def template_picker(spec: ProjectSpec, info: Any) -> None:
    from layerlab.models.templates import TEMPLATES, templates_for

    templates = templates_for(spec.data.kind)
    if not templates:
        return
    names = [t.name for t in templates]
    current = spec.model.template if spec.model.template in TEMPLATES else None
    with st.container(border=True):
        st.subheader("Start from a template")
        c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
        with c1:
            if st.session_state.get("build.template") not in names:
                st.session_state["build.template"] = current if current in names else names[0]
            name = st.selectbox("Template", names, key="build.template",
                                format_func=lambda n: TEMPLATES.get(n).title)
        with c2:
            if spec.model.layers:
                st.button("Apply template", key="build.apply", on_click=_ask, args=(name,),
                          icon=":material/restart_alt:")
            else:
                st.button("Apply template", key="build.apply", on_click=_apply_template, args=(name, info),
                          icon=":material/restart_alt:", type="primary")
        st.caption(TEMPLATES.get(name).description
                   + (f" · Your model started from **{TEMPLATES.get(current).title}**." if current else ""))
        pending = st.session_state.get(CONFIRM)
        if pending:
            st.warning(f"Replace your {len(spec.model.layers)} layers with the **{TEMPLATES.get(pending).title}** "
                       "template? Your changes to the layers are lost.", icon=":material/warning:")
            y, n = st.columns(2)
            y.button("Yes, replace my layers", key="build.confirm_yes", type="primary",
                     on_click=_apply_template, args=(pending, info))
            n.button("Cancel", key="build.confirm_no", on_click=_cancel)


def check_panel(spec: ProjectSpec, report: Any) -> None:
    st.subheader("Check")
    if report.ok:
        st.success("The model fits the data and is ready to train.", icon=":material/check_circle:")
    else:
        show_error(LayerlabError(report.error or "the model cannot be built.", report.hint))
    m1, m2, m3 = st.columns(3)
    m1.metric("Parameters", f"{report.total_params:,}", help="Numbers the model learns while training.")
    m2.metric("Trainable", f"{report.trainable_params:,}", help="Parameters changed by training "
              "(batch-norm statistics are not).")
    m3.metric("Memory", _mb(report.memory_mb), help=f"Rough estimate for training with batches of "
              f"{spec.train.batch_size}: weights, optimizer state and activations.")
    summary, diagram = st.tabs([":material/table: Summary", ":material/account_tree: Diagram"])
    with summary:
        table = pd.DataFrame([{"Layer": _row_title(r), "Output shape": r["output_shape"], "Parameters": r["params"]}
                              for r in report.rows], columns=["Layer", "Output shape", "Parameters"])
        st.dataframe(table, hide_index=True, key="build.summary", height=min(35 * (len(table) + 1) + 3, 1200),
                     column_config={"Parameters": st.column_config.NumberColumn(format="localized")})
        if not report.ok:
            st.caption("The table stops where the model cannot be built.")
    with diagram:
        st.graphviz_chart(report_dot(report, spec), width="content")


def _row_title(row: dict[str, Any]) -> str:
    if row.get("index") is None:
        return {"input": "Input", "head": f"Output ({row['type']})"}.get(row["name"], f"Output ({row['type']})")
    return f"{row['index'] + 1}. {row['type']}"


def _mb(mb: float) -> str:
    return f"{mb / 1024:,.1f} GB" if mb >= 1024 else (f"{mb:,.1f} MB" if mb >= 0.1 else "< 0.1 MB")


def code_panel(spec: ProjectSpec, info_json: str, report: Any) -> None:
    with st.expander("Show code", icon=":material/code:", key="build.show_code", on_change="rerun") as box:
        st.caption("The same model in plain Keras: a script you can run without Layerlab.")
        if not box.open:
            return
        if report is None or not report.ok:
            st.info("The code appears once the model can be built: fix the problem shown above first.")
            return
        code = None
        with guard():
            code = _code(spec.to_json(), info_json)
        if code:
            st.code(code, language="python")
            stem = re.sub(r"[^A-Za-z0-9_-]+", "_", spec.name).strip("_").lower() or "model"
            st.download_button("Download the script", code, file_name=f"{stem}_model.py", mime="text/x-python",
                               key="build.download", icon=":material/download:", on_click="ignore")


st.title("Build")
spec = nav.require_project()
INPUT_WORDS = {"images": "your prepared images", "table": "a row's prepared numbers",
               "text": "a text as word numbers", "series": "a window of past values"}
OUTPUT_WORDS = {"classification": "one probability per class", "regression": "the predicted number",
                "forecasting": "the values of the next steps"}
st.markdown(f"Your model is a stack of layers between the input ({INPUT_WORDS.get(spec.data.kind, 'your data')}) and "
            f"the output ({OUTPUT_WORDS.get(spec.data.task, 'the answer')}). Change it as you like: every change is "
            "checked at once.")
show_flagged(FLAG)

info = None
with guard():
    with st.spinner("Reading the data…"):
        info = _info(spec.data.model_dump_json(), spec.prepare.model_dump_json(), _stamp(spec.data.source))
if info is None:
    nav.link("Data", "Check the data")
    st.stop()

info_json = json.dumps(info.to_dict(), sort_keys=True)
report = None
with guard():
    with st.spinner("Checking the model…"):
        report = _check(spec.to_json(), info_json)

if report is None:  # the check itself failed (shown above): still let the user edit the layers
    from layerlab.models.build import BuildReport

    report = BuildReport(False, error="the model could not be checked.", hint="Undo the last change and try again.")

editor, checks = st.columns([3, 2], gap="large")
with editor:
    template_picker(spec, info)
    st.subheader(f"Layers ({len(spec.model.layers)})")
    layer_editor(spec, info, report)
with checks:
    check_panel(spec, report)

code_panel(spec, info_json, report)
nav.link("Train", "Next: Train")
