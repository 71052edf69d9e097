"""Take a run away: its model as .keras, a TF-Serving SavedModel (zip) or a checked TFLite file,
plus the project JSON and a standalone training script.

    from components.export_panel import export_panel
    export_panel(run.path, key="runs_export")   # any page; widget keys start with `key`

The .keras file is offered as it is. The SavedModel and TFLite conversions take seconds,
so they run only when asked (a button), under one lock per server, and their bytes are
cached per run and model file: a second click, or another session, gets them at once.
A model that cannot be converted gets the engine's message naming the problem.
"""

from __future__ import annotations

import re
import tempfile
import threading
from functools import partial
from pathlib import Path
from typing import Any

import streamlit as st

from components import errors
from components.markup import md
from layerlab.errors import LayerlabError

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
def script_bytes(run_dir: str, project_mtime: float) -> bytes:
    """The run's standalone training script (see layerlab.codegen.script)."""
    from layerlab.data.info import DataInfo
    from layerlab.spec import load_spec
    from layerlab.codegen.script import training_script

    run = Path(run_dir)
    return training_script(load_spec(run / "project.json"), DataInfo.load(run / "info.json")).encode("utf-8")


def slug(text: str) -> str:
    """A file-name-safe version of a project or run name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.")[:60] or "project"


def tflite_summary(report: dict[str, Any], task: str) -> str:
    """The TFLite check in words."""
    diff = report.get("max_abs_diff", 0.0)
    text = f"Checked against the Keras model on test inputs: the largest difference between their outputs is {diff:.2g}"
    if task == "classification":
        text += "; the top class agrees on every input" if report.get("same_top_class") else \
            "; the top class differs on some inputs"
    return text + "."


def _convert(run_dir: Path, mtime: float, fmt: str, key: str, label: str, task: str) -> None:
    """A button that converts (once per run and model file), then the download and the check."""
    done: set = st.session_state.setdefault("export_done", set())
    marker = (str(run_dir), mtime, fmt)
    if marker not in done:
        # A callback, so the run that converts no longer shows the button.
        st.button(label, key=f"{key}_{fmt}_convert", icon=":material/autorenew:", on_click=done.add, args=(marker,),
                  help="Converts the model now; it takes a few seconds.")
        return
    with st.spinner("Converting the model…"):
        result = converted(str(run_dir), mtime, fmt)
    if "error" in result:
        errors.show_error(LayerlabError(result["error"], result["hint"]))
        return
    report = result["report"]
    name = f"{run_dir.name}_{FILE_NAMES[fmt]}"
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


def export_panel(run_dir: str | Path, *, key: str = "export") -> None:
    """Downloads for one finished run (the model in three formats, the project and a training script)."""
    run_dir = Path(run_dir)
    model = run_dir / "model.keras"
    if not model.exists():
        st.info("This run saved no model, so there is nothing to export.", icon=":material/info:")
        return
    mtime = model.stat().st_mtime
    task = _task(run_dir)

    st.markdown("##### The model")
    with st.container(border=True):
        st.markdown("**Keras** (`.keras`) — the end-to-end model: it takes raw inputs, as on this page.")
        st.caption("Load it with `keras.saving.load_model(path)`."
                   + ("" if _kind(run_dir) == "images" else " Its preprocessing uses Layerlab's own layers: load it "
                      "where `layerlab` can be imported (or take their classes from the training script below)."))
        st.download_button("Download model.keras", data=partial(model.read_bytes), file_name=f"{run_dir.name}.keras",
                           mime="application/octet-stream", icon=":material/download:", key=f"{key}_keras_download",
                           on_click="ignore")
    with st.container(border=True):
        st.markdown("**TensorFlow Serving** — a SavedModel, zipped.")
        with errors.guard():
            _convert(run_dir, mtime, "savedmodel", key, "Prepare the SavedModel", task)
    with st.container(border=True):
        st.markdown("**TensorFlow Lite** (`.tflite`) — for phones and small devices, checked against the Keras model.")
        with errors.guard():
            _convert(run_dir, mtime, "tflite", key, "Convert to TFLite", task)

    st.markdown("##### The recipe")
    with st.container(border=True):
        project = run_dir / "project.json"
        name = slug(_project_name(project) or run_dir.name)
        c1, c2 = st.columns(2)
        with c1:
            st.markdown("**Project** (`.json`) — data, preparation, model and training settings.")
            st.caption("Upload it under **Import** to continue where this run left off.")
            st.download_button("Download the project", data=partial(project.read_bytes), file_name=f"{name}.json",
                               mime="application/json", icon=":material/download:", key=f"{key}_project_download",
                               on_click="ignore", disabled=not project.exists())
        with c2:
            st.markdown("**Training script** (`.py`) — trains the same model with plain Keras, without Layerlab.")
            st.caption("`python train.py --epochs 1` for a quick try.")
            with errors.guard():
                data = script_bytes(str(run_dir), project.stat().st_mtime)
                st.download_button("Download the training script", data=data, file_name=f"train_{name}.py",
                                   mime="text/x-python", icon=":material/download:", key=f"{key}_script_download",
                                   on_click="ignore")


def _info_field(run_dir: Path, name: str) -> str:
    import json

    try:
        return json.loads((run_dir / "info.json").read_text(encoding="utf-8")).get(name, "")
    except (OSError, ValueError, AttributeError):
        return ""


def _task(run_dir: Path) -> str:
    return _info_field(run_dir, "task")


def _kind(run_dir: Path) -> str:
    return _info_field(run_dir, "kind")


def _project_name(path: Path) -> str | None:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        return None


# ---- import: a project someone saved ------------------------------------------------------------------


def _load_project(key: str) -> None:
    """Upload callback: validate the project file and make it this session's project."""
    import json

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
        _check_source_is_the_users(spec.data.source)
    except LayerlabError as exc:
        errors.flag(f"{key}_error", exc)
        return
    state.set_project(spec)
    st.session_state[f"{key}_loaded"] = spec.to_json()


def _check_source_is_the_users(source: str) -> None:
    """A project file may name any path: open only bundled samples and this session's own uploads,
    never another file on the server (another user's upload, /etc/…)."""
    from components import state
    from layerlab.errors import SpecError
    from layerlab.samples import sample_name

    if sample_name(source) is not None:
        return
    if Path(source).expanduser().resolve().is_relative_to(state.uploads_dir().resolve()):
        return
    shown = source if len(source) <= 80 else source[:60] + "…"
    raise SpecError("data.source", f"`{shown}` is neither a bundled sample nor a file uploaded in this session, "
                    "so Layerlab does not open it.",
                    "Open your data on the Data page (upload it, or pick a sample), or use a project file whose "
                    "data is a bundled sample (`sample:…`).")


def project_upload(key: str = "import_project") -> None:
    """Upload a project JSON to continue someone's work; a bad file gets the message naming its field."""
    from components import nav
    from layerlab.samples import sample_name

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
    st.success(f"Opened the project **{md(spec.name)}**: {kind} data from {md(d.source)}, model {md(spec.model.template)} "
               f"with {len(spec.model.layers)} layers, {spec.train.epochs} epochs.", icon=":material/folder_open:")
    if sample_name(d.source) is None and not Path(d.source).expanduser().exists():
        st.warning(f"Its data ({md(d.source)}) is not on this server: upload the data on the **Data** page "
                   "before training.", icon=":material/warning:")
    c1, c2 = st.columns(2)
    with c1:
        nav.link("Build", "Look at the model", ":material/account_tree:")
    with c2:
        nav.link("Train", "Train it", ":material/model_training:")
