"""Shared run: what a view link (`?share=<token>`) opens, and nothing else of the app (see shell.run)."""

from __future__ import annotations

import streamlit as st

from components import errors, nav, shared_view, state
from layerlab import sharing

nav.ensure_app()
with errors.guard():
    store = state.run_store()
    share = sharing.check(store, st.query_params.get("share"))
    run = store.get(share.run_id) if share else None
    if share is None or run is None:
        st.title("Shared run")
        st.error(shared_view.NOT_OPEN, icon=":material/link_off:")
        st.stop()
    shared_view.show(store, run, share)
