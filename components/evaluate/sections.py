"""The Evaluate page per task: which views it shows, in which order, for one run's test evaluation.

Each view runs through `view`, so a missing or malformed part of an evaluation becomes a note in its
place, not a traceback. The evaluation is read through `RunFiles` and cached per file version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import streamlit as st

from components import errors, nav, run_picker, shell, state, verdict
from components.evaluate import classification as cls
from components.evaluate import confusion, explanations, forecast, gallery, regression, summaries
from components.evaluate.examples import examples_for
from components.markup import md, message
from layerlab.errors import LayerlabError
from layerlab.runs.files import RunFiles
from layerlab.runs.store import Run, RunStore
from layerlab.spec import ProjectSpec

_LOG = logging.getLogger("layerlab.ui")
PREDICT_LINK = {"images": "Try the model on your own images", "table": "Predict new rows",
                "text": "Classify new texts", "series": "Forecast what comes next"}


@st.cache_data(max_entries=16, show_spinner=False)
def _evaluation(run_dir: str, mtime: float | None) -> dict:
    # mtime is part of the cache key only: a run evaluated again is read again.
    return RunFiles(run_dir).evaluation()


def read_evaluation(run: Run) -> dict:
    """The run's test evaluation (its `task` always set); LayerlabError when missing or damaged."""
    return _evaluation(run.run_dir, run.files.evaluation_mtime())


def spec_of(run: Run) -> ProjectSpec | None:
    try:
        return run.files.spec()
    except (LayerlabError, OSError):
        return None


def view(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Render one view (and return what it returns); a missing or malformed part of the evaluation
    becomes a note in its place, not a traceback (None is returned then)."""
    try:
        return fn(*args, **kwargs)
    except LayerlabError as exc:
        errors.show_error(exc)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        _LOG.warning("evaluation view %s failed", getattr(fn, "__name__", fn), exc_info=True)
        st.warning(f"This part of the evaluation is missing or damaged ({type(exc).__name__}: {message(exc)}). "
                   "Train the run again to rebuild it.", icon=":material/warning:")
    return None


def classification(ev: dict, run: Run, spec: ProjectSpec | None, rows: bool = True) -> None:
    view(summaries.classification_summary, ev)
    left, right = st.columns([2, 3], gap="large")
    with left:
        view(cls.per_class_table, ev)
    with right:
        view(confusion.confusion_matrix, ev, run.id)
    if "roc" in ev and "pr" in ev:
        view(cls.binary_curves, ev)
    if not rows:  # a view link that does not show the test set: no images, texts or rows of it
        return
    examples = examples_for(ev, spec)
    heat = None
    if examples.kind == "images":
        if st.toggle("Show what the model looked at", key="evaluate_explain",
                     help="Covers one patch of each image at a time: red marks where hiding the picture lowers the "
                          "predicted class's probability most. Loads the model the first time."):
            with errors.guard():
                heat = explanations.image_heat(run)
                st.caption("Red marks the parts of each image that pushed the model towards its prediction: "
                           "covering them lowers the predicted class's probability most.")
    st.subheader("Examples of a pair of classes")
    cell = view(confusion.pick_cell, ev, run.id)
    if cell is not None:
        view(confusion.cell_examples, ev, examples, *cell, heat=heat)
    view(gallery.mistakes, ev, examples, heat=heat)
    if examples.kind == "text" and examples.texts:
        positions = [int(m["index"]) for m in ev.get("mistakes") or []]
        if cell is not None:
            positions += [c["index"] for c in confusion.cell_items(ev, examples, *cell)[1]]
        view(explanations.explain_texts, ev, examples, run, positions)


def regression_views(ev: dict, run: Run, spec: ProjectSpec | None, rows: bool = True) -> None:
    target = spec.data.target if spec else None
    view(summaries.regression_summary, ev, target)
    if rows:  # predicted vs actual plots every test row's target
        view(regression.regression_charts, ev, target)
        view(regression.worst_rows, ev, examples_for(ev, spec))


def forecasting(ev: dict, run: Run, spec: ProjectSpec | None, rows: bool = True) -> None:
    view(summaries.forecast_summary, ev)
    view(forecast.forecast_step_errors, ev)
    if rows:  # the test span is the test set's own values
        view(forecast.forecast_span, ev)


BY_TASK = {"classification": classification, "regression": regression_views, "forecasting": forecasting}


def show(run: Run, *, rows: bool = True, links: bool = True) -> None:
    """Everything Evaluate shows for one run, then a link to Predict.

    `rows=False` leaves out everything drawn from the test set's own rows (examples, mistakes, worst rows,
    the forecast span): a view link shows them only when its owner allowed it. `links=False`: no page links
    (a shared view has no other pages)."""
    ev = read_evaluation(run)
    spec = spec_of(run)
    if run.status != "completed":
        st.caption(f"This run was {run.status}: the evaluation uses the best weights it had reached.")
    verdict.show(run, key=f"evaluate_verdict_{run.id}", actions=False)
    BY_TASK[ev["task"]](ev, run, spec, rows)
    if not links:
        return
    kind = spec.data.kind if spec else "images"
    nav.link(shell.PREDICT, PREDICT_LINK.get(kind, "Go to Predict"), ":material/online_prediction:")


def note_current_without_evaluation(store: RunStore) -> None:
    """The current run (from the URL or another page) ended without a test evaluation: say so, not silently skip it."""
    run_id = state.run_id()
    current = store.get(run_id) if run_id else None
    if current is None or current.owner != state.owner() or current.status not in run_picker.USABLE or current.files.has_evaluation:
        return
    why = ("its evaluation file is missing" if current.status == "completed"
           else f"it was {current.status} before its test evaluation was written")
    kept = current.files.saved_epochs()
    st.info(f"Run **{md(current.name)}** has no evaluation to show: {why}. " + (
        f"Its checkpoint holds {kept} epoch(s): on the Train page, **Evaluate it as it is** tests it, "
        "or continue training it." if kept else "Train it again to evaluate it."), icon=":material/info:")
    if kept:
        nav.link(shell.TRAIN, "Go to Train")
