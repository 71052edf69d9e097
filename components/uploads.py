"""This session's uploaded files, each with a Delete button (the user's data is theirs to remove)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components import state
from components.markup import md
from layerlab.housekeeping import delete_upload
from layerlab.workspace import uploaded_files


def _delete(path: str) -> None:
    reason = delete_upload(path)
    if reason:
        st.session_state["data.upload_msg"] = ("error", md(reason))
        return
    spec = state.project()
    if spec is not None and Path(spec.data.source).resolve() == Path(path).resolve():
        state.set_project(None)
    st.session_state["data.upload_msg"] = ("success", f"Deleted {md(Path(path).name)}.")


def uploads_manager() -> None:
    files = uploaded_files(state.owner())
    kind, text = st.session_state.pop("data.upload_msg", (None, None))
    if kind:
        getattr(st, kind)(text)
    if not files:
        return
    with st.expander(f"Your uploaded files ({len(files)})", icon=":material/folder:"):
        st.caption("Kept on this server for this session; removed automatically a day after nothing uses them.")
        for i, f in enumerate(files):
            name, size, button = st.columns([5, 2, 2], vertical_alignment="center")
            name.text(f.name)
            size.caption(f"{f.stat().st_size / 1e6:.1f} MB")
            button.button("Delete", key=f"data.delete_upload.{i}", icon=":material/delete:", on_click=_delete,
                          args=(str(f),), help="Delete this file now (not possible while a run still uses it).")
