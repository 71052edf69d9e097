"""Build: start from a template, edit the layers, and see at once whether the model fits the data."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from components import nav, shell
from components.errors import guard, show_flagged
from components.freeze_editor import freeze_editor
from components.layer_editor import FLAG, layer_editor
from components.model_check import check_panel, check_pending, code_panel
from components.start_from import start_from_panel
from components.template_picker import template_picker
from components.weights_upload import saved_note, weights_panel
from layerlab.inference.remote import model_host
from layerlab.models.build import BuildReport
from layerlab.spec import load_spec
from layerlab.workspace import source_stamp

nav.ensure_app()  # a deep link in Streamlit's legacy pages/ mode goes through app.py first

INPUT_WORDS = {"images": "your prepared images", "table": "a row's prepared numbers",
               "text": "a text as word numbers", "series": "a window of past values"}
OUTPUT_WORDS = {"classification": "one probability per class", "regression": "the predicted number",
                "forecasting": "the values of the next steps"}


@st.cache_data(max_entries=32, show_spinner=False)
def _info(data_json: str, prepare_json: str, stamp: tuple[float, int]) -> Any:
    """DataInfo for the data and its preparation (cached: opening a zip hashes it, a table is read)."""
    from layerlab.project import describe_data

    return describe_data(load_spec({"data": json.loads(data_json), "prepare": json.loads(prepare_json)}))


@st.cache_data(max_entries=64, show_spinner=False)
def _check(spec_json: str, info_json: str) -> Any:
    """check_model for this spec and data (cached per spec: every rerun asks again)."""
    from layerlab.data.info import DataInfo
    from layerlab.inference.remote import run_in_host

    spec = load_spec(spec_json)
    return run_in_host("check_model", spec, DataInfo.from_dict(json.loads(info_json)), layers=list(spec.model.layers))


st.title(shell.BUILD)
spec = nav.require_project()
st.markdown(f"Your model is a stack of layers between the input ({INPUT_WORDS.get(spec.data.kind, 'your data')}) and "
            f"the output ({OUTPUT_WORDS.get(spec.data.task, 'the answer')}). Change it as you like: every change is "
            "checked at once.")
show_flagged(FLAG)

info = None
with guard():
    with st.spinner("Reading the data…"):
        info = _info(spec.data.model_dump_json(), spec.prepare.model_dump_json(), source_stamp(spec.data.source))
if info is None:
    nav.link(shell.DATA, "Check the data")
    st.stop()

info_json = json.dumps(info.to_dict(), sort_keys=True)
report = None
# The check builds the model with Keras in the model host process (the server never imports TensorFlow): until
# the host has started (5 s or more, once per server), the editor is shown at once and the check follows.
ready = model_host().ready()
if ready:
    with guard():
        with st.spinner("Checking the model…"):
            report = _check(spec.to_json(), info_json)
    if report is None:  # the check itself failed (shown above): still let the user edit the layers
        report = BuildReport(False, error="the model could not be checked.", hint="Undo the last change and try again.")

editor, checks = st.columns([3, 2], gap="large")
with editor:
    template_picker(spec, info)
    start_from_panel(spec, info, ready)
    st.subheader(f"Layers ({len(spec.model.layers)})")
    layer_editor(spec, info, report)
    freeze_editor(spec)
with checks:
    if ready:
        saved_note()
        weights_panel(spec)  # pretrained backbones: their weights file, or an uploader when it is missing
        check_panel(spec, report)
    else:
        check_pending(model_host().ready)

if ready:
    code_panel(spec, info_json, report)
nav.link(shell.TRAIN, "Next: Train")
