"""Train: the training settings, Start and Stop, and a live view of the current run."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from components import errors, nav, run_status, state, training_chart
from layerlab.device import NO_GPU, gpu_names_quick
from layerlab.train.runner import start_run, stop_run
from layerlab.train.store import RunStore

LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0]
BATCH_SIZES = [8, 16, 32, 64, 128, 256, 512, 1024]
OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD (momentum 0.9)", "rmsprop": "RMSprop"}


@st.cache_data(ttl=300, show_spinner=False)
def _local_device() -> str:
    names = gpu_names_quick()
    if not names:
        return NO_GPU
    return names[0] if len(names) == 1 else f"{len(names)} × {names[0]}"


def _setting(field: str, value, current) -> None:
    """Write a changed widget value into the project (validated; refused values show why)."""
    if value != current:
        state.edit_project(**{f"train.{field}": value})


_STAMP = re.compile(r"^\d\d:\d\d:\d\d  ")


def _log_tail(run_dir: str, lines: int = 14) -> str:
    """The last lines of the run's log.txt, without the Python tracebacks the worker appends
    after a crash (the run's message already says what went wrong, in words)."""
    path = Path(run_dir) / "log.txt"
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 16_384))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    kept, in_traceback = [], False
    for line in text.splitlines():
        if line.startswith("Traceback (most recent call last)"):
            in_traceback = True
        elif _STAMP.match(line):
            in_traceback = False
        if not in_traceback:
            kept.append(line)
    return "\n".join(kept[-lines:])


def settings(spec, disabled: bool) -> None:
    """The training settings; each change goes into the project through its validation."""
    t = spec.train
    sizes = sorted(set(BATCH_SIZES) | {t.batch_size})
    rates = sorted(set(LEARNING_RATES) | {t.learning_rate})
    c1, c2, c3 = st.columns(3)
    with c1:
        epochs = st.number_input("Epochs", 1, 1000, t.epochs, step=1, key="train_epochs", disabled=disabled,
                                 help="Passes over the training data.")
        optimizer = st.selectbox("Optimizer", list(OPTIMIZERS), list(OPTIMIZERS).index(t.optimizer),
                                 format_func=OPTIMIZERS.get, key="train_optimizer", disabled=disabled)
    with c2:
        batch = st.selectbox("Batch size", sizes, sizes.index(t.batch_size), key="train_batch", disabled=disabled,
                             help="Examples per training step.")
        rate = st.select_slider("Learning rate", rates, t.learning_rate, format_func=lambda v: f"{v:g}",
                                key="train_lr", disabled=disabled, help="Step size of the optimizer (log scale).")
    with c3:
        patience = st.number_input("Early stopping patience", 0, 100, t.early_stopping_patience, step=1,
                                   key="train_patience", disabled=disabled,
                                   help="Stop after this many epochs without a better validation loss and keep "
                                        "the best weights. 0 turns early stopping off.")
        seed = st.number_input("Seed", 0, 2**31 - 1, t.seed, step=1, key="train_seed", disabled=disabled,
                               help="The same seed and settings give the same run.")
    for field, value in (("epochs", int(epochs)), ("optimizer", optimizer), ("batch_size", batch),
                         ("learning_rate", rate), ("early_stopping_patience", int(patience)), ("seed", int(seed))):
        _setting(field, value, getattr(t, field))


def live_view(store: RunStore, run_id: str, active: bool) -> None:
    """One top-level fragment: re-runs every second while the run is active, once otherwise."""

    @st.fragment(run_every=1.0 if active else None)
    def _view() -> None:
        with errors.guard():
            store.reap()
            run = store.get(run_id)
            if run is None:
                st.warning("The current run no longer exists (it was deleted).")
                return
            rows = training_chart.read_new_rows(store, run.id)
            run_status.show(run, store.queue_position(run.id) if run.status == "queued" else None, rows)
            mine = run.owner in (None, state.owner())
            if run.active and not mine:
                st.caption(f"Started by `{run.owner}`, not this session: you can watch it but not stop it.")
            if run.active and mine and st.button("Stop", icon=":material/stop:", key="train_stop",
                                                 disabled=bool(run.stop_requested)):
                if stop_run(store, run.id, owner=state.owner()):
                    st.toast("Stopping — the run keeps its best weights.", icon=":material/stop_circle:")
            if run.active and run.stop_requested:
                st.caption("Stop requested: finishing the current step…")
            training_chart.show(rows, run)
            tail = _log_tail(run.run_dir)
            if tail:
                with st.expander("Log", expanded=run.active or run.status == "failed"):
                    st.code(tail, language=None)
            if not run.active:
                if run.status != "failed" and run.has_model:
                    c1, c2, _ = st.columns([1, 1, 3])
                    with c1:
                        nav.link("Evaluate", "Evaluate this run", ":material/analytics:")
                    with c2:
                        nav.link("Predict", "Predict with it", ":material/online_prediction:")
                if active:  # it just finished: rerun the page so the timer turns off and Start comes back
                    st.rerun(scope="app")

    _view()


nav.ensure_app()
st.title("Train")
spec = nav.require_project()
with errors.guard():
    store = RunStore()
    store.reap()
    run_id = state.run_id()
    current = store.get(run_id) if run_id else None
    active = bool(current and current.active)
    # Only this session's own active run holds the controls; another owner's run is just watched.
    busy = active and current.owner in (None, state.owner())

    settings(spec, disabled=busy)
    spec = state.project() or spec
    device = current.device if current and current.device else _local_device()
    st.caption(f"Trains on: **{device}** · model `{spec.model.template}` · data `{spec.data.source}`")

    if st.button("Start training", type="primary", icon=":material/play_arrow:", key="train_start",
                 disabled=busy, help="A run is in progress: stop it or wait for it to finish." if busy else None):
        run = start_run(spec, store, owner=state.owner())
        state.set_run(run.id)
        st.session_state.pop("train_rows", None)
        st.rerun()

    if current is None:
        if run_id:
            st.warning(f"The run `{run_id}` from the address bar was not found; it may have been deleted.")
        st.info("No run yet: choose the settings and press **Start training**. The curves appear here while it trains.")
    else:
        st.subheader("Current run")
        live_view(store, current.id, active)
