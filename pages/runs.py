"""Runs: every run on this server. Select one to make it current, rename, stop, delete or
download it; select several to overlay their curves and compare their settings."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import partial

import pandas as pd
import streamlit as st

from components import errors, nav, run_compare, run_status, shell, state
from components.markup import md
from layerlab import workspace
from layerlab.runs.files import MODEL
from layerlab.train import insights
from layerlab.runs.runner import stop_run
from layerlab.runs.store import Run, RunStore


def _data_label(source: str | None) -> str:
    """`sample:NAME` as it is; an upload by its file name, never the server's folders."""
    if not source:
        return "—"
    found = workspace.source_of(source)
    return found.raw if found.is_sample else found.display_name


def _best(store: RunStore, run: Run, metric: str) -> float | None:
    """The best `metric` of the run's epochs (MAE in the target's units); else the store's record of it."""
    found = insights.best(run_compare.epoch_rows(store, run), metric)
    if found:
        return found[0]
    if metric == "val_loss":
        return run.best_val
    return run.best_metric if run.best_metric_name == metric else None


def table(store: RunStore, runs: list[Run]) -> pd.DataFrame:
    """One row per run; accuracy columns when some run classifies, MAE columns when some run
    predicts numbers (empty where a run's task has no such metric)."""
    metrics = [m.removeprefix("val_") for m in run_compare.metrics_of(runs)[1:]]
    cols: dict[str, list] = {
        "Name": [r.name for r in runs],
        "Data": [_data_label(r.data_source) for r in runs],
        "Template": [r.template or "—" for r in runs],
        "Status": [run_status.STATUS.get(r.status, (r.status,))[0] for r in runs],
    }
    for m in metrics:
        cols[f"Best val. {_NAMES[m]}"] = [_best(store, r, f"val_{m}") if insights.main_metric(r.task) == m else None
                                          for r in runs]
    cols["Best val. loss"] = [_best(store, r, "val_loss") for r in runs]
    for m in metrics:
        cols[f"Test {_NAMES[m]}"] = [r.test_metrics.get(m) for r in runs]
    cols.update({
        "Duration": [run_status.format_duration(r.duration) if r.started else "—" for r in runs],
        "Device": [r.device or "—" for r in runs],
        "Started": [datetime.fromtimestamp(r.started) if r.started else None for r in runs],
        "By": [run_status.started_by(r, state.owner()) for r in runs],
    })
    return pd.DataFrame(cols)


_NAMES = {"accuracy": "accuracy", "mae": "MAE"}


def is_mine(run: Run) -> bool:
    return run.owner in (None, state.owner())


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
        targets = [(shell.TRAIN, "Curves on Train", ":material/model_training:")]
        if run.has_model:
            targets += [(shell.EVALUATE, "Evaluate", ":material/analytics:"),
                        (shell.PREDICT, "Predict", ":material/online_prediction:")]
        for col, (title, label, icon) in zip(st.columns(3), targets):
            if col.button(label, icon=icon, key=f"runs_open_{title.lower()}", type="tertiary",
                          help=f"Make this the current run and open {title}."):
                state.set_run(run.id)
                st.switch_page(nav.page(title))

def _selection_default(ids: list[str]) -> dict | None:
    wanted = st.session_state.get("runs_selected") or ([state.run_id()] if state.run_id() else [])
    wanted = [wanted] if isinstance(wanted, str) else wanted
    rows = [ids.index(i) for i in wanted if i in ids]
    return {"selection": {"rows": rows}} if rows else None


def _manage_pick(selected: list[Run]) -> Run:
    """Which of several selected runs the actions apply to (the current run if selected)."""
    by_id = {r.id: r for r in selected}
    ids = list(by_id)
    default = state.run_id() if state.run_id() in by_id else ids[0]
    if st.session_state.get("runs_manage") not in by_id:
        st.session_state["runs_manage"] = default
    chosen = st.selectbox("Manage", ids, format_func=lambda i: by_id[i].name, key="runs_manage",
                          help="Rename, stop, delete, download or open one of the selected runs.")
    return by_id[chosen]


nav.ensure_app()
st.title("Runs")
with errors.guard():
    store = state.run_store()
    store.reap()
    # This session's runs, the command line's, and the current run (one opened from a shared link);
    # other sessions' runs are theirs: not listed, and never stoppable or deletable from here.
    me, current = state.owner(), state.run_id()
    runs = [r for r in store.list() if r.owner in (None, "cli", me) or r.id == current]
    if not runs:
        st.info("No runs yet — train one on the **Train** page.", icon=":material/info:")
        nav.link(shell.TRAIN, "Go to Train")
        st.stop()
    ids = [r.id for r in runs]
    # The table's key follows the list, so a new or deleted run never leaves a stale row selected.
    key = "runs_table_" + hashlib.sha1(",".join(ids).encode()).hexdigest()[:10]
    frame = table(store, runs)
    percent = {c: st.column_config.NumberColumn(format="percent") for c in frame if c.endswith("accuracy")}
    numbers = {c: st.column_config.NumberColumn(format="%.4f") for c in frame if c.endswith(("loss", "MAE"))}
    event = st.dataframe(frame, hide_index=True, key=key, on_select="rerun", selection_mode="multi-row",
                         placeholder="—", selection_default=_selection_default(ids), column_config={
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
        manage(store, selected[0])
    else:
        st.subheader(f"Compare {len(selected)} runs")
        run_compare.show(store, selected)
        st.subheader("Manage a selected run")
        manage(store, _manage_pick(selected))
