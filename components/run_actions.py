"""What can be done to a run selected on the Runs page: make it current, download its model, stop,
delete, rename, open it on Train/Evaluate/Predict. Other sessions' runs can only be viewed and downloaded."""

from __future__ import annotations

from functools import partial

import streamlit as st

from components import nav, run_status, share_panel, shell, state
from components.markup import md
from layerlab import identity
from layerlab.runs.files import MODEL
from layerlab.runs.runner import stop_run
from layerlab.runs.store import Run, RunStore


def is_mine(run: Run) -> bool:
    return identity.mine(run.owner, state.owner())


def manage(store: RunStore, run: Run) -> None:
    """Actions on the selected run; other sessions' runs can only be viewed and downloaded."""
    mine = is_mine(run)
    with st.container(border=True):
        run_status.show(run, store.queue_position(run.id) if run.status == "queued" else None)
        if not mine:
            st.caption(f"Started by {run_status.started_by(run, state.owner())}, not this session: you can open and download it, "
                       "but not rename, stop or delete it.")
        c1, c2, c3, c4 = st.columns(4)
        with c1:
            if run.id == state.run_id():
                st.caption(":material/check: This is the current run.")
            elif st.button("Make current", icon=":material/push_pin:", key="runs_make_current",
                           help="Open this run on the Train, Evaluate and Predict pages."):
                state.set_run(run.id)
                st.rerun()
        with c2:
            has_model = run.has_model
            st.download_button("Download model.keras", data=partial(run.files.read_bytes, MODEL),
                               file_name=f"{run.file_stem}.keras", mime="application/octet-stream",
                               icon=":material/download:", key="runs_download", on_click="ignore",
                               disabled=not has_model, help=None if has_model else "This run saved no model.")
        with c3:
            if mine and run.active and st.button("Stop", icon=":material/stop:", key="runs_stop",
                                                 disabled=bool(run.stop_requested)):
                stop_run(store, run.id, owner=state.owner())
                st.rerun()
        with c4:
            if mine and not run.active:
                with st.popover("Delete…", icon=":material/delete:", key="runs_delete_popover"):
                    st.markdown(f"Delete **{md(run.name)}** with its model, curves and log? This cannot be undone.")
                    if st.button("Delete run", type="primary", key="runs_delete"):
                        if store.delete(run.id, owner=state.owner()):
                            if state.run_id() == run.id:
                                state.set_run(None)
                            st.toast(f"Deleted {md(run.name)}.", icon=":material/delete:")
                            st.rerun()
                        else:
                            st.error("This run could not be deleted (it is active or belongs to another session).")
        if mine:
            with st.form("runs_rename", border=False):
                left, right = st.columns([4, 1], vertical_alignment="bottom")
                new_name = left.text_input("Name", value=run.name, max_chars=100, key=f"runs_name_{run.id}")
                if right.form_submit_button("Rename", icon=":material/edit:"):
                    if new_name.strip():
                        store.rename(run.id, new_name)
                        st.rerun()
                    else:
                        st.error("A run needs a name.")
        if mine:
            share_panel.share_panel(store, run)
        targets = [(shell.TRAIN, "Curves on Train", ":material/model_training:")]
        if run.has_model:
            targets += [(shell.EVALUATE, "Evaluate", ":material/analytics:"),
                        (shell.PREDICT, "Predict", ":material/online_prediction:")]
        for col, (title, label, icon) in zip(st.columns(3), targets):
            if col.button(label, icon=icon, key=f"runs_open_{title.lower()}", type="tertiary",
                          help=f"Make this the current run and open {title}."):
                state.set_run(run.id)
                st.switch_page(nav.page(title))

def selection_default(ids: list[str]) -> dict | None:
    """The table's selection to start with: the runs selected last time, else the current run."""
    wanted = st.session_state.get("runs_selected") or ([state.run_id()] if state.run_id() else [])
    wanted = [wanted] if isinstance(wanted, str) else wanted
    rows = [ids.index(i) for i in wanted if i in ids]
    return {"selection": {"rows": rows}} if rows else None


def manage_pick(selected: list[Run]) -> Run:
    """Which of several selected runs the actions apply to (the current run if selected)."""
    by_id = {r.id: r for r in selected}
    ids = list(by_id)
    default = state.run_id() if state.run_id() in by_id else ids[0]
    if st.session_state.get("runs_manage") not in by_id:
        st.session_state["runs_manage"] = default
    chosen = st.selectbox("Manage", ids, format_func=lambda i: by_id[i].name, key="runs_manage",
                          help="Rename, stop, delete, download or open one of the selected runs.")
    return by_id[chosen]
