"""Data: pick a bundled sample or upload your own (a zip of image class folders, or a table file),
then look at what it holds: images per class, or for tables, text and series the columns, their
roles, a health check and the views that suit the kind of data."""

from __future__ import annotations

import streamlit as st

from components import nav, shell, state
from components.camera_capture import camera_capture
from components.data_preview import images_view
from components.data_tables import table_like_view
from components.errors import guard
from components.uploads import upload_box, uploads_manager
from components.markup import md
from layerlab.kinds import KINDS
from layerlab.project import new_project
from layerlab.samples import SAMPLES
from layerlab.workspace import Source

nav.ensure_app()  # a deep link in Streamlit's legacy pages/ mode goes through app.py first


def _use_sample(name: str) -> None:
    with guard():
        with st.spinner(f"Opening {SAMPLES[name].title.lower()}…"):
            spec = new_project(str(Source.of_sample(name)))
        state.set_project(spec)
        st.rerun()


st.title(shell.DATA)
st.markdown("Choose what the model learns from: a bundled sample, or your own data — a zip of images, a table "
            "of rows, texts with their labels, or values over time, or pictures from this device's camera.")

spec = state.project()
# on_change="rerun": the camera tab's content runs only while it is open, so the browser asks for the camera only there.
tab_sample, tab_upload, tab_camera = st.tabs(
    [":material/inventory_2: Bundled samples", ":material/upload: Upload your data",
     ":material/photo_camera: Images from the camera"], key="data.source_tab", on_change="rerun")

with tab_sample:
    if not SAMPLES:
        st.info("No bundled samples are installed.")
    kinds = [k for k in KINDS if any(s.kind == k for s in SAMPLES.values())]
    for kind, column in zip(kinds, st.columns(max(1, len(kinds)))):
        with column:
            st.subheader(KINDS[kind].title)
            for sample in (s for s in SAMPLES.values() if s.kind == kind):
                in_use = spec is not None and Source(spec.data.source).sample == sample.name
                with st.container(border=True):
                    st.markdown(f"**{sample.title}** — {sample.description}")
                    st.caption(f"Source: {sample.source}")
                    if in_use:
                        st.markdown(":green[:material/check_circle: In use]")
                    elif st.button("Use this sample", key=f"data.sample.{sample.name}", type="primary"):
                        _use_sample(sample.name)

with tab_upload:
    upload_box()
    uploads_manager()

if tab_camera.open:
    with tab_camera:
        camera_capture()

spec = state.project()
if spec is None:
    st.info("No data chosen yet: pick a sample above, upload a zip of your images or a table, or take pictures "
            "with the camera and click **Use these pictures**.", icon=":material/info:")
    st.stop()

st.divider()
st.header(md(spec.name))
if KINDS[spec.data.kind].tabular:
    table_like_view(spec)  # its own words when the file cannot be read; the way on stays
    nav.link(shell.PREPARE, "Next: Prepare")
elif images_view(spec):
    nav.link(shell.PREPARE, "Next: Prepare")
