"""The Train page's live view of one run: one top-level fragment that re-runs every second while the
run is active (and once otherwise): status, Stop, key numbers, plain-words hints, curves, the log,
and, once it has ended, what to do next (Evaluate, Predict, train more).
"""

from __future__ import annotations

import streamlit as st

from components import errors, nav, run_compare, run_status, shell, state, train_controls, training_chart
from layerlab import identity
from layerlab.runs.runner import stop_run
from layerlab.runs.store import Run, RunStore
from layerlab.train import insights


def _run_train(run: Run) -> dict:
    """The run's own training settings (from its project.json; read once per run and session)."""
    cached = st.session_state.get("train_run_spec")
    if not cached or cached[0] != run.id:
        doc = train_controls.run_spec(run) or {}
        cached = (run.id, doc.get("train") or {})
        st.session_state["train_run_spec"] = cached
    return cached[1]


def hints(run: Run, rows: list[dict]) -> None:
    """What the curves say, in plain words (overfitting, a flat or rising loss)."""
    train = _run_train(run)
    found = insights.hints([r for r in rows if r["scope"] == "epoch"],
                           early_stopping=bool(train.get("early_stopping_patience")),
                           schedule=train.get("lr_schedule"))
    for hint in found:
        icon = ":material/lightbulb:" if hint.level == "info" else ":material/warning:"
        (st.warning if hint.level == "warning" else st.info)(hint.text, icon=icon)


def _next_steps(store: RunStore, run: Run) -> None:
    """After a run: Evaluate, Predict, continue it, or fine-tune a new run from it."""
    if run.status != "failed" and run.has_model:
        c1, c2, _ = st.columns([1, 1, 3])
        with c1:
            nav.link(shell.EVALUATE, "Evaluate this run", ":material/analytics:")
        with c2:
            nav.link(shell.PREDICT, "Predict with it", ":material/online_prediction:")
    if train_controls.can_continue(run):
        with st.container(border=True):
            st.markdown("**Train more** — continue this run for more epochs, or fine-tune a new run from it")
            train_controls.train_more(store, run, state.project())


QUEUED_EVERY_S = 3.0  # a queued run only shows its place in the queue: a redraw every second is load for nothing


def live_view(store: RunStore, run_id: str, active: bool) -> None:
    """One top-level fragment: re-runs every second while the run trains, every few seconds while it waits in
    the queue (with eight people starting at once, six wait), once otherwise."""
    first = store.get(run_id)
    queued = active and first is not None and first.status == "queued"

    @st.fragment(run_every=(QUEUED_EVERY_S if queued else 1.0) if active else None)
    def _view() -> None:
        with errors.guard():
            store.reap()
            run = store.get(run_id)
            if run is None:
                st.warning("The current run no longer exists (it was deleted).")
                return
            if queued and run.status != "queued":
                st.rerun(scope="app")  # it started: redraw the page with the one-second timer
            rows = training_chart.read_new_rows(store, run.id)
            # One container per section: the element tree keeps its shape whether the run is
            # active or finished, so nothing from the last timed redraw lingers in a new slot.
            status, controls, numbers, notes, after = (st.container() for _ in range(5))
            with status:
                run_status.show(run, store.queue_position(run.id) if run.status == "queued" else None, rows)
            mine = identity.mine(run.owner, state.owner())
            with controls:
                if run.active and not mine:
                    st.caption(f"Started by {run_status.started_by(run, state.owner())}, not this session: "
                               "you can watch it but not stop it.")
                if run.active and mine and st.button("Stop", icon=":material/stop:", key="train_stop",
                                                     disabled=bool(run.stop_requested)):
                    if stop_run(store, run.id, owner=state.owner()):
                        st.toast("Stopping — the run keeps its best weights.", icon=":material/stop_circle:")
                if run.active and run.stop_requested:
                    st.caption("Stop requested: finishing the current step…")
            scale = run_compare.mae_scale(run)
            with numbers:
                if rows:
                    run_status.key_numbers(run, run_compare.comparable(run, rows))
            with notes:
                hints(run, rows)
            with after:
                if not run.active:
                    _next_steps(store, run)
            head, knob = st.columns([4, 1], vertical_alignment="bottom")
            head.markdown("**Curves** — train vs validation per epoch; the thin line is each batch, smoothed")
            smoothing = knob.slider("Smoothing", 0.0, 0.95, 0.8, 0.05, key="train_smoothing",
                                    help="How much the per-batch line is smoothed (an exponential moving "
                                         "average); 0 shows each batch as it was.")
            training_chart.show(rows, run, smoothing=smoothing, batch_size=_run_train(run).get("batch_size"),
                                mae_scale=scale)
            tail = run.files.log_tail()
            if tail:
                with st.expander("Log", expanded=run.active or run.status == "failed"):
                    st.code(tail, language=None)
            if not run.active and active:
                # It just finished: rerun the page so the timer turns off and Start comes back.
                st.rerun(scope="app")

    _view()
