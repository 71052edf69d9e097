"""Uploading data: the upload box (a new upload becomes the project; a refusal keeps the earlier one,
in words) and this session's uploaded files, each with a Delete button (the user's data is theirs to remove)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from components import state
from components.errors import show_error
from components.markup import md, message
from components.table_view import read_frame
from layerlab.errors import LayerlabError
from layerlab.project import ACCEPTED_FILES, kind_of_file, new_project
from layerlab.settings import limits
from layerlab.workspace import save_upload, source_of, source_stamp
from layerlab.housekeeping import delete_upload
from layerlab.workspace import uploaded_files


def _delete(path: str) -> None:
    reason = delete_upload(path)
    if reason:
        st.session_state["data.upload_msg"] = ("error", message(reason))
        return
    spec = state.project()
    if spec is not None and Path(spec.data.source).resolve() == Path(path).resolve():
        state.set_project(None)
    st.session_state["data.upload_msg"] = ("success", f"Deleted {md(source_of(path).display_name)}.")


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
            name.text(source_of(str(f)).display_name)  # as uploaded, without the stored copy's digest
            size.caption(f"{f.stat().st_size / 1e6:.1f} MB")
            button.button("Delete", key=f"data.delete_upload.{i}", icon=":material/delete:", on_click=_delete,
                          args=(str(f),), help="Delete this file now (not possible while a run still uses it).")


def _unpack(path: Path) -> None:
    """Unpack a zip (once per content) with a progress bar: a zip of thousands of images takes a while."""
    from layerlab.data.images import unpack_images

    bar = st.empty()
    try:
        unpack_images(str(path), progress=lambda fraction, text: bar.progress(min(1.0, fraction), text=text))
    finally:
        bar.empty()


def _handle_upload(upload: Any) -> None:
    """Turn a new upload into the project; a refusal keeps the earlier project."""
    seen = st.session_state.get("data.upload_seen")
    if seen and seen[0] == upload.file_id:
        if seen[1] is not None:
            show_error(seen[1])
        return
    error, path = None, None
    try:
        kind = kind_of_file(upload.name)
        with st.spinner(f"{'Unpacking and checking' if kind == 'images' else 'Reading'} {md(upload.name)}…"):
            path = save_upload(state.owner(), upload.name, upload.getvalue())
            if kind == "images":
                _unpack(path)
                spec = new_project(str(path), name=Path(upload.name).stem)
            else:
                read = read_frame(str(path), source_stamp(str(path)))
                spec = new_project(str(path), name=Path(upload.name).stem, frame=read["frame"])
        state.set_project(spec)
    except LayerlabError as exc:
        # Speak of the file the user uploaded, not of our stored copy.
        error = LayerlabError(exc.message.replace(path.name, upload.name), exc.hint) if path else exc
    except Exception as exc:  # noqa: BLE001 - shown in words below, the old project stays
        error = exc
    if error is not None and path is not None:
        current = state.project()
        if current is None or Path(current.data.source) != path.resolve():
            path.unlink(missing_ok=True)
    st.session_state["data.upload_seen"] = (upload.file_id, error)
    if error is None:
        st.rerun()
    show_error(error)
    if state.project() is not None:
        st.caption(f"Your earlier data (**{md(state.project().name)}**) is still in use.")


def upload_box() -> None:
    """What may be uploaded, and the uploader."""
    left, right = st.columns(2)
    with left:
        st.markdown(
            "**Images:** a **.zip** with one folder per class; the folder names become the class names:\n\n"
            "```\nmy-images.zip\n├── cats/   cat001.jpg, cat002.png, …\n└── dogs/   dog001.jpg, …\n```\n"
            "PNG, JPEG, BMP, GIF and WebP images are read; anything else is skipped and listed below."
        )
    with right:
        st.markdown(
            "**A table:** CSV or TSV (any common separator and encoding, decimal commas too), Excel **.xlsx**, "
            "**Parquet** or **JSON Lines**, with the column names in the first row. One row per example, "
            "or per time step for a series; a column of texts makes text data, a date column a time series. "
            "You can change what each column is for below."
        )
    # No `type=` filter: the browser would only turn a wrong file red; kind_of_file says why in words.
    upload = st.file_uploader("A .zip of class folders, or a table file", key="data.upload",
                              max_upload_size=limits().upload_mb,
                              help=f"Accepted: {ACCEPTED_FILES}. Tables: the first row holds the column names.")
    if upload is not None:
        _handle_upload(upload)
