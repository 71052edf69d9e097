"""Start training on the Train page: the button, and why it is off when it is.

Start is off while this session's run is active, and while the data's health check (the Data page's,
`components.health_report` over the engine's `health_report`) finds an error: a run would only fail
on it, later and in less plain words.
"""

from __future__ import annotations

import streamlit as st

from components import model_cache, nav, shell, state
from components.markup import md, message
from layerlab.errors import LayerlabError
from layerlab.runs.runner import start_run
from layerlab.runs.store import RunStore
from layerlab.spec import ProjectSpec


def blocking_problem(spec: ProjectSpec):
    """The first error of the data's health check (a `Finding`), or None; images have no such check."""
    if spec.data.kind == "images":
        return None
    from components import health_report
    from components.table_view import source_stamp

    try:
        found = health_report.findings(spec.data.source, source_stamp(spec.data.source),
                                       health_report.roles_json(spec))
    except (LayerlabError, OSError):
        return None  # the data cannot be read now: the run says why when it starts
    return next((f for f in found if f.level == "error"), None)


def start_button(store: RunStore, spec: ProjectSpec, *, busy: bool) -> None:
    """Start training (a new run of the project, made current), or the reason it cannot start now."""
    problem = None if busy else blocking_problem(spec)
    source = store.get(spec.train.init_from_run) if spec.train.init_from_run else None
    if busy:
        why = "A run is in progress: stop it or wait for it to finish."
    elif problem is not None:
        why = f"The data has a problem to fix first: {problem.title}."
    else:
        why = f"A new run that starts from the weights of {md(source.name)}." if source else None
    if problem is not None:
        st.error(f"**Training cannot start: {message(problem.title)}** — {message(problem.detail)}\n\n"
                 f":material/arrow_forward: {message(problem.action)}", icon=":material/error:")
        nav.link(shell.DATA, "Fix it on the Data page")
    if st.button("Start training", type="primary", icon=":material/play_arrow:", key="train_start",
                 disabled=busy or problem is not None, help=why):
        run = start_run(spec, store, owner=state.owner())
        model_cache.start_host()  # in its own process, so Predict is ready by the time the run ends
        state.set_run(run.id)
        st.session_state.pop("train_rows", None)
        st.rerun()
