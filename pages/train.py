"""Train: the training settings, Start, and the live view of the current run (components/train_live.py).

The data is named as its user knows it (the file's name, never the server's folder); Start is off,
with the reason, while a run of this session is active or the data's health check finds an error.
"""

from __future__ import annotations

import streamlit as st

from components import errors, nav, shell, state, train_controls, train_live, train_start
from components.markup import md
from layerlab import identity
from layerlab.device import missing_gpu as device_missing_gpu
from layerlab.settings import executor
from layerlab.workspace import source_of

nav.ensure_app()
st.title(shell.TRAIN)
spec = nav.require_project()
with errors.guard():
    store = state.run_store()
    store.reap()
    run_id = state.run_id()
    current = store.get(run_id) if run_id else None
    if current is not None and not identity.visible(current.owner, state.owner()):
        current = None  # another session's run: its id alone shows nothing
    active = bool(current and current.active)
    # Only this session's own active run holds the controls; another owner's run is just watched.
    busy = active and identity.mine(current.owner, state.owner())

    gpus = train_controls.gpu_names()
    device = current.device if current and current.device else train_controls.device_label(gpus, ray=executor() == "ray")
    data = source_of(spec.data.source).display_name  # the file's name, never the server's folders
    st.caption(f"Trains on: **{md(device)}** · model {md(spec.model.template)} · data {md(data)}")
    lacking = device_missing_gpu(gpus, spec.train)
    if lacking:
        st.warning(lacking, icon=":material/warning:")
    train_controls.basic(spec, disabled=busy)
    train_controls.initial_weights(store, state.project() or spec, disabled=busy)
    spec = state.project() or spec
    train_controls.advanced(spec, disabled=busy, gpus=gpus)
    errors.show_flagged(train_controls.ERROR_FLAG)
    spec = state.project() or spec
    st.caption(f"Advanced: {train_controls.summary(spec)}")

    train_start.start_button(store, spec, busy=busy)

    if current is None:
        if run_id:
            st.warning(f"The run {md(run_id)} from the address bar was not found; it may have been deleted.")
        st.info("No run yet: choose the settings and press **Start training**. The curves appear here while it trains.")
    else:
        st.subheader("Current run")
        train_live.live_view(store, current.id, active)
