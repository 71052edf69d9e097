"""Tune: what to search and the budget, Start (a driver process runs the study; never this script),
and the live study: its trials (each an ordinary run), Optuna's charts, Stop, Continue, Use the best."""

from __future__ import annotations

import streamlit as st

from components import errors, nav, shell, state
from components.tune import live, setup

nav.ensure_app()
st.title(shell.TUNE)
spec = nav.require_project()
with errors.guard():
    from layerlab.tune import study

    store = state.run_store()
    name = setup.current()
    running = bool(name and study.running(name))
    st.caption("Layerlab tries settings for you: each trial is an ordinary run (it shows on Runs, and can be "
               "evaluated), the sampler (Optuna's TPE) learns from the trials so far, and trials that fall behind "
               "the others early are pruned.")
    with st.expander("New study", expanded=name is None, icon=":material/instant_mix:"):
        st.markdown("**What to search** — tick the settings to try; the rest stays as the project has it.")
        search = setup.search_form(spec, disabled=running)
        st.markdown("**Budget**")
        budget = setup.budget_form(spec, disabled=running)
        if st.button("Start tuning", type="primary", icon=":material/play_arrow:", key="tune_start",
                     disabled=running, help="A study is running: stop it first." if running else None):
            with errors.guard():
                setup.start(store, spec, search, budget)
                st.session_state.pop("tune_used", None)
                st.rerun()
    setup.open_earlier()
    if name is None:
        st.info("No study yet: tick what to search, set the budget and press **Start tuning**.",
                icon=":material/info:")
    else:
        live.live(store, name)
