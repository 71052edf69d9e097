"""Evaluate: how a finished run does on its held-out test set, beside a naive baseline.

Classification: accuracy, per-class table, confusion matrix (click a cell to see its examples),
ROC and precision-recall for two classes, the most confident mistakes (images, texts or rows)
and, on request, what the model looked at. Regression: errors, predicted vs actual, residuals,
the worst rows. Forecasting: error per horizon step and the test span, per target.
The model itself is loaded only when an explanation is asked for.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from components import errors, nav, run_picker, state
from components import evaluation_views as views
from components.markup import md
from components.model_cache import get_predictor, model_mtime
from layerlab.errors import LayerlabError
from layerlab.spec import ProjectSpec, load_spec
from layerlab.runs.store import Run, RunStore, saved_epochs

_LOG = logging.getLogger("layerlab.ui")
TASKS = ("classification", "regression", "forecasting")


@st.cache_data(max_entries=16, show_spinner=False)
def _evaluation(path: str, mtime: float) -> dict:
    try:
        ev = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LayerlabError(f"The run's evaluation could not be read ({type(exc).__name__}: {exc}).",
                            "Train the run again, or pick another run.") from None
    if not isinstance(ev, dict) or task_of(ev) is None:
        raise LayerlabError("The run's evaluation is damaged: it holds no test results that Layerlab knows.",
                            "Train the run again, or pick another run.")
    return ev


def read_evaluation(run: Run) -> dict:
    path = run.path / "evaluation.json"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise LayerlabError("This run has no evaluation: its evaluation.json is missing.",
                            "Train the run again, or pick another run.") from None
    return _evaluation(str(path), mtime)


def task_of(ev: dict) -> str | None:
    """The evaluation's task; inferred from its keys for files written before `task` was stored."""
    task = ev.get("task")
    if task in TASKS:
        return task
    if "confusion_matrix" in ev:
        return "classification"
    if "mae_per_step" in ev:
        return "forecasting"
    if "r2" in ev:
        return "regression"
    return None


def _spec(run: Run) -> ProjectSpec | None:
    try:
        return load_spec(run.path / "project.json")
    except (LayerlabError, OSError):
        return None


def view(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Render one view (and return what it returns); a missing or malformed part of evaluation.json
    becomes a note in its place, not a traceback (None is returned then)."""
    try:
        return fn(*args, **kwargs)
    except LayerlabError as exc:
        errors.show_error(exc)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        _LOG.warning("evaluation view %s failed", getattr(fn, "__name__", fn), exc_info=True)
        st.warning(f"This part of the evaluation is missing or damaged ({type(exc).__name__}: {md(exc)}). "
                   "Train the run again to rebuild it.", icon=":material/warning:")
    return None


# ---- the test examples -------------------------------------------------------------------------


@st.cache_resource(max_entries=2, ttl=600, show_spinner="Opening the data…")
def _image_source(source: str):
    from layerlab.data.images import open_images

    return open_images(source)


def _image_of(src, prep, item: dict) -> np.ndarray | None:
    """The test image of a gallery item as the model saw it, or None if it cannot be found again."""
    i = int(item["source_index"]) if "source_index" in item else None
    if i is None:
        return None
    name = item.get("name")
    if name is not None and src.files and (i >= len(src.files) or src.item_name(i) != name):
        # Unreadable files were skipped at training time, which shifts indices: find it by name.
        matches = [k for k, f in enumerate(src.files) if f.name == name and int(src.labels[k]) == int(item["true"])]
        if not matches:
            return None
        i = matches[0]
    if i >= len(src) or (name is None and int(src.labels[i]) != int(item["true"])):
        return None  # the data changed since training
    try:
        return src.decode(i, prep)
    except (LayerlabError, OSError):
        return None  # unreadable now


def examples_for(ev: dict, spec: ProjectSpec | None) -> views.Examples:
    kind = spec.data.kind if spec else (ev.get("examples") or {}).get("kind", "images")
    if kind != "images":
        target = spec.data.target if spec else None
        return views.examples_from(ev, kind, target)
    ex = views.Examples(kind="images", true_labels=ev.get("true_labels"))
    if spec is None:
        return ex
    try:
        src = _image_source(spec.data.source)
    except LayerlabError as exc:
        st.warning(f"The images cannot be shown: {md(exc.message)}", icon=":material/broken_image:")
        return ex
    ex.image = lambda item: _image_of(src, spec.prepare.image, item)
    if ex.true_labels is None and ev.get("test_source_indices") is not None:
        labels = src.labels
        ex.true_labels = [int(labels[i]) if i < len(labels) else -1 for i in ev["test_source_indices"]]
    return ex


# ---- explanations (the model is loaded only here) ----------------------------------------------


@st.cache_data(max_entries=512, show_spinner="Covering one patch at a time…")
def _image_heat(run_dir: str, mtime: float, source_index: int, _image: np.ndarray, _load: Callable) -> np.ndarray:
    from layerlab.explain import image_occlusion

    return image_occlusion(_load(), _image)["heat"]


@st.cache_data(max_entries=256, show_spinner="Removing one word at a time…")
def _word_effects(run_dir: str, mtime: float, text: str, _load: Callable) -> dict:
    from layerlab.explain import text_occlusion

    return text_occlusion(_load(), text)


def image_heat(run: Run) -> Callable[[dict, np.ndarray], np.ndarray | None]:
    """A gallery hook: the image with the occlusion heat map laid over it (cached per run and image)."""
    from layerlab.explain import overlay

    mtime = model_mtime(run.path)
    failed: list[BaseException] = []

    def heat(item: dict, img: np.ndarray) -> np.ndarray | None:
        if "source_index" not in item or failed:
            return None
        try:
            h = _image_heat(str(run.path), mtime, int(item["source_index"]), img, lambda: get_predictor(run.path))
        except Exception as exc:  # noqa: BLE001 - the plain image is shown instead, with one message
            _LOG.warning("image occlusion failed", exc_info=True)
            failed.append(exc)
            errors.show_error(exc if isinstance(exc, LayerlabError) else LayerlabError(
                f"The model could not explain these images ({type(exc).__name__}: {str(exc)[:200]}).",
                "The plain images are shown instead."))
            return None
        return overlay(img, h, alpha=0.75)

    return heat


def explain_texts(ev: dict, examples: views.Examples, run: Run, positions: list[int]) -> None:
    st.subheader("Which words mattered")
    on = st.toggle("Show which words changed the prediction most", key="evaluate_explain_text",
                   help="Removes one word at a time and measures how the predicted class's probability changes. "
                        "Loads the model the first time.")
    if not on:
        return
    shown = [i for i in dict.fromkeys(positions) if i in examples.texts]
    if not shown:
        st.caption("No texts to explain.")
        return
    names, pred, true = ev["class_names"], ev.get("predictions") or [], examples.true_labels or []

    def label(i: int) -> str:
        text = examples.texts[i]
        cut = text[:70] + ("…" if len(text) > 70 else "")
        said = f"predicted {names[pred[i]]}" if i < len(pred) else ""
        was = f"true {names[true[i]]}, " if i < len(true) else ""
        return f"{cut} ({was}{said})"

    i = st.selectbox("Text to explain", shown, format_func=label, key=f"evaluate_explain_pick_{run.id}")
    with errors.guard():
        result = _word_effects(str(run.path), model_mtime(run.path), examples.texts[i], lambda: get_predictor(run.path))
        views.text_explanation(result, key=f"evaluate_words_{i}")


# ---- per task ----------------------------------------------------------------------------------


def classification(ev: dict, run: Run, spec: ProjectSpec | None) -> None:
    view(views.classification_summary, ev)
    left, right = st.columns([2, 3], gap="large")
    with left:
        view(views.per_class_table, ev)
    with right:
        view(views.confusion_matrix, ev, run.id)
    if "roc" in ev and "pr" in ev:
        view(views.binary_curves, ev)
    examples = examples_for(ev, spec)
    heat = None
    if examples.kind == "images":
        if st.toggle("Show what the model looked at", key="evaluate_explain",
                     help="Covers one patch of each image at a time: red marks where hiding the picture lowers the "
                          "predicted class's probability most. Loads the model the first time."):
            with errors.guard():
                heat = image_heat(run)
                st.caption("Red marks the parts of each image that pushed the model towards its prediction: "
                           "covering them lowers the predicted class's probability most.")
    st.subheader("Examples of a pair of classes")
    cell = view(views.pick_cell, ev, run.id)
    if cell is not None:
        view(views.cell_examples, ev, examples, *cell, heat=heat)
    view(views.mistakes, ev, examples, heat=heat)
    if examples.kind == "text" and examples.texts:
        positions = [int(m["index"]) for m in ev.get("mistakes") or []]
        if cell is not None:
            positions += [c["index"] for c in views.cell_items(ev, examples, *cell)[1]]
        view(explain_texts, ev, examples, run, positions)


def regression(ev: dict, run: Run, spec: ProjectSpec | None) -> None:
    target = spec.data.target if spec else None
    view(views.regression_summary, ev, target)
    view(views.regression_charts, ev, target)
    view(views.worst_rows, ev, examples_for(ev, spec))


def forecasting(ev: dict, run: Run, spec: ProjectSpec | None) -> None:
    view(views.forecast_summary, ev)
    view(views.forecast_step_errors, ev)
    view(views.forecast_span, ev)


def note_current_without_evaluation(store: RunStore) -> None:
    """The current run (from the URL or another page) ended without a test evaluation: say so, not silently skip it."""
    run_id = state.run_id()
    current = store.get(run_id) if run_id else None
    if current is None or current.status not in run_picker.USABLE or (current.path / "evaluation.json").exists():
        return
    why = ("its evaluation.json is missing" if current.status == "completed"
           else f"it was {current.status} before its test evaluation was written")
    kept = saved_epochs(current.path)
    st.info(f"Run **{views.md(current.name)}** has no evaluation to show: {why}. " + (
        f"Its checkpoint holds {kept} epoch(s): on the Train page, **Evaluate it as it is** tests it, "
        "or continue training it." if kept else "Train it again to evaluate it."), icon=":material/info:")
    if kept:
        nav.link("Train", "Go to Train")


PREDICT_LINK = {"images": "Try the model on your own images", "table": "Predict new rows",
                "text": "Classify new texts", "series": "Forecast what comes next"}

nav.ensure_app()
st.title("Evaluate")
with errors.guard():
    store = state.run_store()
    note_current_without_evaluation(store)
    run = run_picker.pick_run(store, need="evaluation", key="evaluate_run")
    ev = read_evaluation(run)
    spec = _spec(run)
    if run.status != "completed":
        st.caption(f"This run was {run.status}: the evaluation uses the best weights it had reached.")
    {"classification": classification, "regression": regression, "forecasting": forecasting}[task_of(ev)](ev, run, spec)
    kind = spec.data.kind if spec else "images"
    nav.link("Predict", PREDICT_LINK.get(kind, "Go to Predict"), ":material/online_prediction:")
