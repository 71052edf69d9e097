"""Pick finished runs and start a model server for them."""

from __future__ import annotations

import streamlit as st

from components import run_picker, state
from layerlab.runs.store import Run
from layerlab.serve import manage


def start_form(runs: list[Run]) -> None:
    """Runs to serve (the current one preselected) and Start serving, which waits until the server is ready."""
    by_id = {r.id: r for r in runs}
    current = state.run_id()
    chosen = st.multiselect("Runs to serve", list(by_id), default=[current if current in by_id else runs[0].id],
                            format_func=lambda i: run_picker.label(by_id[i]), key="serve_runs",
                            help="Runs of one project are served as versions of one model (the newest answers "
                                 "unless a request names a version); runs of other projects as models of their own.")
    if st.button("Start serving", type="primary", icon=":material/play_arrow:", disabled=not chosen,
                 key="serve_start"):
        with st.spinner("Starting the model server: it loads each model once, which takes a few seconds…"):
            server = manage.start_server([by_id[i] for i in chosen], state.owner())
            manage.wait_ready(server)
        st.rerun()
