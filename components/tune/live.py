"""A study, live: one top-level fragment that re-runs every second while the study's driver runs (once
otherwise): its state and Stop or Continue, the trials table, Optuna's optimisation history, parallel
coordinates and parameter importances, and "Use the best"."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components import errors, nav, run_status, shell, state
from components.markup import md
from layerlab.runs.store import RunStore
from layerlab.tune import results, space
from layerlab.tune import study as studies

STATE_WORDS = {"complete": "Complete", "pruned": "Pruned", "failed": "Failed", "running": "Running",
               "waiting": "Waiting"}


def _metric_words(metric: str) -> str:
    return metric.replace("val_", "Best validation ").replace("mae", "MAE")


def table(rows: list[dict[str, Any]], dims: list[space.Dim], metric: str) -> pd.DataFrame:
    """One row per trial: its number, status, parameters, best validation metric and epochs run."""
    labels = {d.name: d.label for d in dims}
    frame: dict[str, list[Any]] = {
        "Trial": [r["trial"] for r in rows],
        "Status": [run_status.STATUS.get(r["run_status"], (STATE_WORDS.get(r["state"], r["state"]),))[0]
                   if r["run_status"] else STATE_WORDS.get(r["state"], r["state"]) for r in rows],
    }
    for name, label in labels.items():
        frame[label] = [r["params"].get(name) for r in rows]
    frame[_metric_words(metric)] = [r["best"] for r in rows]
    frame["Epochs"] = [r["epochs_run"] for r in rows]
    return pd.DataFrame(frame)


def _figures(name: str, complete: int) -> None:
    """Optuna's own plotly figures; importances need two complete trials."""
    import optuna.visualization as vis

    if complete < 1:
        st.caption("The charts appear when a first trial has completed.")
        return
    study = studies.load(name)
    history, importance = st.tabs(["Optimisation history", "Parameter importances"])
    with history:
        fig = vis.plot_optimization_history(study)
        fig.update_layout(uirevision=name, height=340)
        st.plotly_chart(fig, width="stretch", key="tune_history")
        fig = vis.plot_parallel_coordinate(study)
        fig.update_layout(uirevision=name, height=340)
        st.plotly_chart(fig, width="stretch", key="tune_parallel")
    with importance:
        if complete < 2 or len(study.best_trial.params) < 1:
            st.caption("Parameter importances need at least two complete trials.")
        else:
            fig = vis.plot_param_importances(study)
            fig.update_layout(uirevision=name, height=300)
            st.plotly_chart(fig, width="stretch", key="tune_importance")


def _use_best(store: RunStore, name: str) -> None:
    spec, run_id = results.best_spec(name, store, state.project())
    state.set_project(spec)
    state.set_run(run_id)
    st.session_state["tune_used"] = run_id


def _controls(store: RunStore, name: str, running: bool, config: dict[str, Any], done: int) -> None:
    mine = config.get("owner") in (None, state.owner())
    if running and mine:
        if st.button("Stop the study", icon=":material/stop:", key="tune_stop"):
            studies.request_stop(name, store)
            st.toast("Stopping: the running trials stop now.", icon=":material/stop_circle:")
    elif not running and mine:
        more_col, button_col = st.columns([1, 2], vertical_alignment="bottom")
        with more_col:
            more = st.number_input("More trials", 1, 200, 5, key="tune_more")
        with button_col:
            if st.button("Continue the study", icon=":material/play_arrow:", key="tune_continue",
                         help="Goes on from the trials so far: the sampler learns from them."):
                from layerlab.tune import driver

                studies.set_budget(name, trials=done + int(more))
                driver.launch_driver(name, store)
                st.rerun()


def live(store: RunStore, name: str) -> None:
    """The study's live view (one top-level fragment, timed only while its driver runs)."""
    running = studies.running(name)

    @st.fragment(run_every=1.0 if running else None)
    def _view() -> None:
        with errors.guard():
            store.reap()
            now_running = studies.running(name)
            if running and not now_running:
                st.rerun()  # the study ended: redraw the page once, without the timer
            config = studies.config_of(studies.load(name))
            rows = results.trials(name, store)
            counts = results.counts(rows)
            driver = studies.driver_state(name)
            done = sum(counts[s] for s in studies.STATES)
            words = {"running": "Running", "starting": "Starting", "finished": "Finished", "stopped": "Stopped",
                     "failed": "Failed"}.get(driver.get("state"), "Not running")
            st.markdown(f"**Study {md(name)}** · {words} · {done} of {config['trials']} trials done "
                        f"({counts['complete']} complete, {counts['pruned']} pruned, {counts['failed']} failed, "
                        f"{counts['running']} running) · optimising the {md(_metric_words(config['metric']).lower())} "
                        f"({'higher' if config['direction'] == 'maximize' else 'lower'} is better)")
            if driver.get("state") == "failed" and driver.get("message"):
                st.error(f"The study stopped: {md(driver['message'])}", icon=":material/error:")
            _controls(store, name, now_running, config, done)
            frame = table(rows, space.dims_from(config["dims"]), config["metric"])
            metric_col = _metric_words(config["metric"])
            fmt = "percent" if config["metric"] == "val_accuracy" else "%.4g"
            st.dataframe(frame, hide_index=True, key="tune_trials_table", placeholder="—",
                         column_config={metric_col: st.column_config.NumberColumn(format=fmt)})
            best = results.best_trial(rows, config["direction"])
            if best is not None:
                shown = ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}"
                                  for k, v in best["params"].items())
                value = f"{best['value']:.1%}" if config["metric"] == "val_accuracy" else f"{best['value']:.4g}"
                st.success(f"Best so far: trial {best['trial']} ({md(shown)}), {md(metric_col.lower())} {value}.",
                           icon=":material/emoji_events:")
                if st.button("Use the best", type="primary", icon=":material/done_all:", key="tune_use_best",
                             help="Makes its settings the project's, and its run the current one."):
                    _use_best(store, name)
            if st.session_state.get("tune_used"):
                st.info("The best trial's settings are now the project's, and its run is the current one.",
                        icon=":material/check_circle:")
                c1, c2, _ = st.columns([1, 1, 3])
                with c1:
                    nav.link(shell.TRAIN, "See it on Train", ":material/model_training:")
                with c2:
                    nav.link(shell.EVALUATE, "Evaluate it", ":material/analytics:")
            _figures(name, counts["complete"])

    _view()
