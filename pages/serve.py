"""Serve: put finished runs behind a REST API that other programs call, see it answer, stop it."""

from __future__ import annotations

import streamlit as st

from components import errors, nav, run_picker, shell, state
from components.serve.server import server_view
from components.serve.start import start_form
from layerlab.serve import manage

nav.ensure_app()
st.title(shell.SERVE)
st.caption("Let other programs use your model — a spreadsheet macro, a web form, a phone app — through an HTTP "
           "API that speaks TensorFlow Serving's REST protocol. The server runs on its own, so it keeps serving "
           "when you switch pages or reload; stop it here when you are done.")
with errors.guard():
    servers = manage.list_servers(state.owner())
    for server in servers:
        with errors.guard():
            server_view(server)
    runs = run_picker.candidates(state.run_store(), need="model")
    if not runs:
        st.info("No finished run yet — train one on the **Train** page, then come back to serve it.",
                icon=":material/info:")
        nav.link(shell.TRAIN, "Go to Train")
        st.stop()
    st.subheader("Serve another model" if servers else "Start a model server")
    start_form(runs)
