"""Take a run away: its model as .keras, a TF-Serving SavedModel (zip) or a checked TFLite file,
plus the project JSON and a standalone training script.

    from components.export_panel import export_panel
    export_panel(run, key="runs_export")   # any page; widget keys start with `key`

The .keras file is offered as it is. The SavedModel and TFLite conversions take seconds,
so they run only when asked (a button), under one lock per server, and their bytes are
cached per run and model file: a second click, or another session, gets them at once.
A model that cannot be converted gets the engine's message naming the problem.
"""

from __future__ import annotations

import json
import tempfile
import threading
from functools import partial
from pathlib import Path
from typing import Any

import streamlit as st

from components import errors, shell
from components.markup import md
from components.model_cache import model_mtime
from layerlab import workspace
from layerlab.errors import LayerlabError
from layerlab.runs.files import MODEL, PROJECT, RunFiles
from layerlab.runs.store import Run, slug

FILE_NAMES = {"savedmodel": "savedmodel.zip", "tflite": "model.tflite"}


@st.cache_resource(show_spinner=False)
def _conversion_lock() -> threading.Lock:
    """One conversion at a time per server: each loads the model and traces it with TensorFlow."""
    return threading.Lock()


@st.cache_data(max_entries=6, ttl=3600, show_spinner=False)
def converted(run_dir: str, model_mtime: float, fmt: str) -> dict[str, Any]:
    """The run's model converted to `fmt` ("savedmodel" or "tflite").

    Returns {"data": bytes, "report": {...}} or, when the model cannot be converted,
    {"error": message, "hint": hint} (cached too: converting again would fail the same way).
    `model_mtime` is only part of the cache key.
    """
    from layerlab.export import export_run

    with _conversion_lock(), tempfile.TemporaryDirectory(prefix="layerlab-export-") as tmp:
        try:
            out = export_run(run_dir, fmt, Path(tmp) / FILE_NAMES[fmt])
        except LayerlabError as exc:
            return {"error": exc.message, "hint": exc.hint}
        data = Path(out["path"]).read_bytes()
    return {"data": data, "report": {k: v for k, v in out.items() if k != "path"}}


@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def script_bytes(run_dir: str, spec_json: str) -> bytes:
    """The run's standalone training script (see layerlab.codegen.script); `spec_json` keys the cache."""
    from layerlab.codegen.script import training_script

    files = RunFiles(run_dir)
    return training_script(files.spec(), files.info()).encode("utf-8")


def tflite_summary(report: dict[str, Any], task: str) -> str:
    """The TFLite check in words."""
    diff = report.get("max_abs_diff", 0.0)
    text = f"Checked against the Keras model on test inputs: the largest difference between their outputs is {diff:.2g}"
    if task == "classification":
        text += "; the top class agrees on every input" if report.get("same_top_class") else \
            "; the top class differs on some inputs"
    return text + "."


def _convert(files: RunFiles, mtime: float, fmt: str, key: str, label: str, task: str, stem: str) -> None:
    """A button that converts (once per run and model file), then the download and the check."""
    done: set = st.session_state.setdefault("export_done", set())
    marker = (str(files.root), mtime, fmt)
    if marker not in done:
        # A callback, so the run that converts no longer shows the button.
        st.button(label, key=f"{key}_{fmt}_convert", icon=":material/autorenew:", on_click=done.add, args=(marker,),
                  help="Converts the model now; it takes a few seconds.")
        return
    with st.spinner("Converting the model…"):
        result = converted(str(files.root), mtime, fmt)
    if "error" in result:
        errors.show_error(LayerlabError(result["error"], result["hint"]))
        return
    report = result["report"]
    name = f"{stem}_{FILE_NAMES[fmt]}"
    mime = "application/zip" if fmt == "savedmodel" else "application/octet-stream"
    st.download_button(f"Download {FILE_NAMES[fmt]}", result["data"], file_name=name, mime=mime,
                       icon=":material/download:", key=f"{key}_{fmt}_download", on_click="ignore", type="primary")
    size = len(result["data"]) / 1e6
    if fmt == "savedmodel":
        st.caption(f"{size:.1f} MB · unzip to get `model/1/` (TF Serving's name/version layout) · serving endpoint:")
        st.code(report.get("signature", ""), language=None, wrap_lines=True)
    else:
        ok = report.get("same_top_class", True) or task != "classification"
        st.caption(f"{size:.2f} MB")
        (st.success if ok else st.warning)(tflite_summary(report, task), icon=":material/fact_check:")


def _run_of(run: Run | str | Path) -> Run | None:
    """The run itself (for its names); a page that passes the run's folder gets it from the store."""
    if isinstance(run, Run):
        return run
    from components import state

    return state.run_store(read_only=True).get(Path(run).name)


def export_panel(run: Run | str | Path, *, key: str = "export") -> None:
    """Downloads for one finished run (the model in three formats, the project and a training script).

    Files are named after the project and the run (`Run.file_stem`), never the run id or a server path.
    """
    found = _run_of(run)
    files = found.files if found else RunFiles(run)  # type: ignore[arg-type]
    if not files.has_model:
        st.info("This run saved no model, so there is nothing to export.", icon=":material/info:")
        return
    mtime = model_mtime(files.root)
    info = files.info_doc()
    task = info.get("task", "")
    doc = files.project_doc()
    stem = found.file_stem if found else slug((doc or {}).get("name") or "") or "model"

    st.markdown("##### The model")
    with st.container(border=True):
        st.markdown("**Keras** (`.keras`) — the end-to-end model: it takes raw inputs, as on this page.")
        st.caption("Load it with `keras.saving.load_model(path)`."
                   + ("" if info.get("kind") == "images" else " Its preprocessing uses Layerlab's own layers: load it "
                      "where `layerlab` can be imported (or take their classes from the training script below)."))
        st.download_button("Download model.keras", data=partial(files.read_bytes, MODEL), file_name=f"{stem}.keras",
                           mime="application/octet-stream", icon=":material/download:", key=f"{key}_keras_download",
                           on_click="ignore")
    with st.container(border=True):
        st.markdown("**TensorFlow Serving** — a SavedModel, zipped.")
        with errors.guard():
            _convert(files, mtime, "savedmodel", key, "Prepare the SavedModel", task, stem)
    with st.container(border=True):
        st.markdown("**TensorFlow Lite** (`.tflite`) — for phones and small devices, checked against the Keras model.")
        with errors.guard():
            _convert(files, mtime, "tflite", key, "Convert to TFLite", task, stem)

    st.markdown("##### The recipe")
    with st.container(border=True):
        name = slug((doc or {}).get("name") or "") or stem
        c1, c2 = st.columns(2)
        with c1:
            st.markdown("**Project** (`.json`) — data, preparation, model and training settings.")
            st.caption("Upload it under **Import** to continue where this run left off.")
            st.download_button("Download the project", data=partial(files.read_bytes, PROJECT),
                               file_name=f"{name}.json", mime="application/json", icon=":material/download:",
                               key=f"{key}_project_download", on_click="ignore", disabled=doc is None)
        with c2:
            st.markdown("**Training script** (`.py`) — trains the same model with plain Keras, without Layerlab.")
            st.caption("`python train.py --epochs 1` for a quick try.")
            # Written on the click: the script copies Layerlab's Keras layers' source, which imports TensorFlow,
            # and a page showing this tab (Predict) must not wait on that import.
            st.download_button("Download the training script", data=partial(script_bytes, str(files.root),
                                                                            json.dumps(doc, sort_keys=True)),
                               file_name=f"train_{name}.py", mime="text/x-python", icon=":material/download:",
                               key=f"{key}_script_download", on_click="ignore", disabled=doc is None)


# ---- import: a project someone saved ------------------------------------------------------------------


def _load_project(key: str) -> None:
    """Upload callback: validate the project file and make it this session's project."""
    from components import state
    from layerlab.errors import SpecError
    from layerlab.spec import load_spec

    file = st.session_state.get(key)
    st.session_state.pop(f"{key}_loaded", None)
    st.session_state.pop(f"{key}_error", None)
    if file is None:
        return
    try:
        try:
            data = json.loads(file.getvalue().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise SpecError("", f"{file.name} is not a text file, so it is not a project.",
                            "Upload the .json file that Layerlab's Export tab gave you.") from None
        except json.JSONDecodeError as exc:
            raise SpecError("", f"{file.name} is not valid JSON (line {exc.lineno}: {exc.msg}).",
                            "Upload the .json file that Layerlab's Export tab gave you.") from None
        except RecursionError:
            raise SpecError("", f"{file.name} is nested too deeply to be a project.",
                            "Upload the .json file that Layerlab's Export tab gave you.") from None
        spec = load_spec(data)
        workspace.check_source(spec.data.source, state.owner())
    except LayerlabError as exc:
        errors.flag(f"{key}_error", exc)
        return
    state.set_project(spec)
    st.session_state[f"{key}_loaded"] = spec.to_json()


def project_upload(key: str = "import_project") -> None:
    """Upload a project JSON to continue someone's work; a bad file gets the message naming its field."""
    from components import nav

    st.file_uploader("A project file (.json)", type=["json"], key=key, on_change=_load_project, args=(key,),
                     max_upload_size=5, help="The project JSON from the Export tab (or `python -m layerlab init`).")
    problem = st.session_state.get(f"{key}_error")  # shown while the refused file stays in the uploader
    if problem is not None:
        errors.show_error(problem)
    loaded = st.session_state.get(f"{key}_loaded")
    if not loaded:
        return
    from layerlab.spec import load_spec

    spec = load_spec(loaded)
    d = spec.data
    kind = {"images": "image", "series": "time-series"}.get(d.kind, d.kind)
    source = workspace.source_of(d.source)
    st.success(f"Opened the project **{md(spec.name)}**: {kind} data from {md(source.display_name)}, model {md(spec.model.template)} "
               f"with {len(spec.model.layers)} layers, {spec.train.epochs} epochs.", icon=":material/folder_open:")
    if not source.exists:
        st.warning(f"Its data ({md(source.display_name)}) is not on this server: upload the data on the **Data** page "
                   "before training.", icon=":material/warning:")
    c1, c2 = st.columns(2)
    with c1:
        nav.link(shell.BUILD, "Look at the model", ":material/account_tree:")
    with c2:
        nav.link(shell.TRAIN, "Train it", ":material/model_training:")
