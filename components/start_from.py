"""The Build page's "Start from an earlier model": a finished run of this data kind, or an uploaded .keras file.

Either replaces the layers through the engine (`layerlab.models.start_from.start_from_run`,
`layerlab.models.keras_file.start_from_file`), so `init --start-from` and this panel give the same project;
a new head for this project's data follows as always. The file part needs Keras (it loads the file), so
the page shows it once the background import is done.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from components import state
from components.errors import flag, show_error
from components.layer_editor import FLAG, OPEN
from components.markup import md
from components.run_picker import candidates, label
from layerlab.errors import LayerlabError
from layerlab.spec import ProjectSpec

KIND = "build.start.kind"
STORED = "build.start.stored"  # the kept name of the .keras file uploaded here
FROM_RUN, FROM_FILE = "An earlier run", "A .keras file"
FREEZE = {"all": "Freeze all of it: only the new head learns",
          "all-but": "Freeze all but its last layers",
          "none": "Freeze nothing: all of it goes on learning"}


def _replace(make: Any, *args: Any) -> None:
    """Callback: the project made by `make(project, *args)`, or the refusal shown beside the panel."""
    try:
        new = make(state.project(), *args)
    except LayerlabError as exc:
        flag(FLAG, exc)
        return
    state.set_project(new)
    st.session_state[OPEN] = set()


@st.cache_data(max_entries=32, show_spinner=False)
def _fit_problem(spec_json: str, info_json: str, owner: str) -> tuple[str, str] | None:
    """(message, hint) when the earlier run's weights will not fit this model, checked as training will check it
    (cached per spec and data: the page asks on every rerun)."""
    from layerlab.data.info import DataInfo
    from layerlab.identity import visible
    from layerlab.inference.remote import run_in_host
    from layerlab.spec import load_spec

    spec = load_spec(spec_json)
    run = state.run_store(read_only=True).get(spec.model.start_from_run or "")
    if run is None or not visible(run.owner, owner) or not run.files.has_model:
        return (f"The run `{spec.model.start_from_run}` this model starts from is no longer there.",
                "Start from another run, or apply a template.")
    try:
        run_in_host("check_fit", spec, DataInfo.from_dict(json.loads(info_json)), run)
    except LayerlabError as exc:
        return exc.message, exc.hint
    return None


def _from_run(spec: ProjectSpec, run_id: str, freeze: str) -> ProjectSpec:
    from layerlab.models.start_from import start_from_run

    run = next((r for r in candidates(state.run_store(read_only=True)) if r.id == run_id), None)
    if run is None:
        raise LayerlabError("That run is no longer there.", "Pick another run.")
    return start_from_run(spec, run, freeze)


def _from_file(spec: ProjectSpec, stored: str, cut: str, freeze: str) -> ProjectSpec:
    from layerlab.inference.remote import run_in_host

    return run_in_host("start_from_file", spec, stored, cut, freeze)


def _keep_upload(key: str) -> None:
    """Callback: check and keep the uploaded .keras file (loads it in safe mode, in the model host)."""
    from layerlab.inference.remote import run_in_host

    upload = st.session_state.get(key)
    if upload is None:
        return
    try:
        st.session_state[STORED] = run_in_host("store_model_file", upload.name, upload.getvalue())
    except LayerlabError as exc:
        st.session_state.pop(STORED, None)
        flag(FLAG, exc)


def _freeze_choice(key: str, layers: int) -> str:
    """all / none / all-but-K, as the engine takes it."""
    choice = st.radio("While training", list(FREEZE), format_func=FREEZE.get, key=f"{key}.freeze")
    if choice != "all-but":
        return choice
    k = st.number_input("Layers that go on learning (the last ones)", min_value=1, max_value=max(1, layers),
                        value=min(2, max(1, layers)), key=f"{key}.k")
    return f"all-but-{int(k)}"


def _run_part(spec: ProjectSpec) -> None:
    from layerlab.models.start_from import usable_runs

    runs = usable_runs(candidates(state.run_store(read_only=True)), spec.data.kind)
    if not runs:
        st.caption(f"No finished run on {spec.data.kind} data yet: train one, then start a new project from it "
                   "(other classes or another target) here.")
        return
    by_id = {r.id: r for r in runs}
    run_id = st.selectbox("Run", list(by_id), format_func=lambda i: label(by_id[i]), key="build.start.run",
                          help="Your finished runs on the same kind of data.")
    layers = len(by_id[run_id].files.spec().model.layers) if run_id else 0
    freeze = _freeze_choice("build.start.run", layers)
    st.button("Start from this run", key="build.start.run_apply", icon=":material/history:",
              on_click=_replace, args=(_from_run, run_id, freeze))


def _file_part(ready: bool) -> None:
    from layerlab.inference.outside import max_model_mb

    if not ready:
        st.caption("Getting Keras ready to read model files…")
        return
    key = "build.start.upload"
    st.file_uploader("A .keras file (Keras 3, saved with `model.save`)", type=["keras"], key=key,
                     max_upload_size=max_model_mb(), on_change=_keep_upload, args=(key,))
    stored = st.session_state.get(STORED)
    if not stored:
        return
    from layerlab.inference.remote import run_in_host

    try:
        points = run_in_host("cut_points", stored)
    except LayerlabError as exc:
        st.session_state.pop(STORED, None)
        flag(FLAG, exc)
        st.rerun()
    shapes = dict(points)
    cut = st.selectbox("Cut it at layer", list(shapes), index=len(shapes) - 1, key="build.start.cut",
                       format_func=lambda n: f"{n} → {shapes[n]}",
                       help="Its layers up to this one are kept, with their weights, as one block; a new head follows.")
    freeze = st.radio("While training", ["all", "none"], format_func=FREEZE.get, key="build.start.file.freeze")
    st.button("Start from this file", key="build.start.file_apply", icon=":material/upload_file:",
              on_click=_replace, args=(_from_file, stored, cut, freeze))


def start_from_panel(spec: ProjectSpec, info: Any, ready: bool) -> None:
    """The panel: which earlier model, how much of it stays frozen, and the button that replaces the layers;
    for a model that starts from a run, whether that run's weights fit it (once Keras is loaded)."""
    with st.expander("Start from an earlier model (transfer learning)", expanded=bool(spec.model.start_from_run)):
        if spec.model.start_from_run:
            run = state.run_store(read_only=True).get(spec.model.start_from_run)
            name = run.name if run is not None else spec.model.start_from_run
            st.info(f"This model starts from the run **{md(name)}**: when training starts, its layers take that "
                    "run's weights, and a new head fits your data.", icon=":material/history:")
            problem = _fit_problem(spec.to_json(), json.dumps(info.to_dict(), sort_keys=True), state.owner()) \
                if ready else None
            if problem:
                show_error(LayerlabError(*problem))
        st.caption("Your layers are replaced by the earlier model's (up to its output head); frozen layers keep "
                   "what they learned, and a new head learns your classes or target.")
        kind = st.radio("Start from", [FROM_RUN, FROM_FILE], horizontal=True, key=KIND, label_visibility="collapsed")
        if kind == FROM_RUN:
            _run_part(spec)
        else:
            _file_part(ready)
