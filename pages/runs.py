"""Runs: every run on this server. Select one to make it current, rename, stop, delete or
download it; select several to overlay their curves and compare their settings."""

from __future__ import annotations

import hashlib

import streamlit as st

from components import errors, nav, run_actions, run_compare, run_table, shell, state
from layerlab import identity

nav.ensure_app()
st.title(shell.RUNS)
with errors.guard():
    store = state.run_store(read_only=True)
    state.reap_runs(store)
    # This session's runs and the command line's; other sessions' runs are theirs: not listed, whatever
    # run id the URL names (a run is shown to others only through a view token: the Share button).
    me = state.owner()
    runs = [r for r in store.list() if identity.visible(r.owner, me)]
    if not runs:
        st.info("No runs yet — train one on the **Train** page.", icon=":material/info:")
        nav.link(shell.TRAIN, "Go to Train")
        st.stop()
    ids = [r.id for r in runs]
    # The table's key follows the list, so a new or deleted run never leaves a stale row selected.
    key = "runs_table_" + hashlib.sha1(",".join(ids).encode()).hexdigest()[:10]
    frame = run_table.table(store, runs)
    percent = {c: st.column_config.NumberColumn(format="percent") for c in frame if c.endswith("accuracy")}
    numbers = {c: st.column_config.NumberColumn(format="%.4f") for c in frame if c.endswith(("loss", "MAE"))}
    event = st.dataframe(frame, hide_index=True, key=key, on_select="rerun", selection_mode="multi-row",
                         placeholder="—", selection_default=run_actions.selection_default(ids), column_config={
                             **percent, **numbers,
                             "Started": st.column_config.DatetimeColumn(format="D MMM, HH:mm"),
                             "Name": st.column_config.TextColumn(width="medium"),
                             "Status": st.column_config.TextColumn(width="small"),
                             "Duration": st.column_config.TextColumn(width="small"),
                         })
    rows = sorted(event.selection.rows) if event else []
    selected = [runs[i] for i in rows if i < len(runs)]
    st.session_state["runs_selected"] = [r.id for r in selected]
    if not selected:
        st.caption("Select a row to make it the current run, rename, stop, delete or download it; "
                   "select several to compare their curves and settings.")
    elif len(selected) == 1:
        st.subheader("Selected run")
        run_actions.manage(store, selected[0])
    else:
        st.subheader(f"Compare {len(selected)} runs")
        run_compare.show(store, selected)
        st.subheader("Manage a selected run")
        run_actions.manage(store, run_actions.manage_pick(selected))
