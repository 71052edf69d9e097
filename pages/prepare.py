"""Prepare: how the data is shaped for the model (image size and colour; table filling, scaling and
encoding; text vocabulary; series gaps and windows), how it is split, and augmentation with a live
before/after preview. The pieces live in components/prepare/, the rules in layerlab/preview.py."""

from __future__ import annotations

import streamlit as st

from components import nav, shell
from components.errors import guard, show_flagged
from components.prepare.augment_editor import augment_editor
from components.prepare.fields import FLAG
from components.prepare.images import image_preview, image_section
from components.prepare.previews import series_preview, table_preview, text_preview
from components.prepare.sections import series_section, split_section, table_section, text_section
from components.table_view import overview
from layerlab.workspace import source_stamp

nav.ensure_app()  # a deep link in Streamlit's legacy pages/ mode goes through app.py first

INTRO = {
    "images": "Decide how every image is shaped before the model sees it, how the images are split "
              "for training and testing, and which random changes help the model learn.",
    "table": "Decide how missing values are filled, how numbers are scaled and categories encoded, how the rows "
             "are split for training and testing, and which random changes help the model learn.",
    "text": "Decide how texts become words and word numbers, how the texts are split for training and testing, "
            "and which random changes help the model learn.",
    "series": "Decide how gaps are filled, how the series is cut into windows, what to forecast, how it is split "
              "in time, and which random changes help the model learn.",
}
WHAT = {"images": "images", "table": "rows", "text": "texts", "series": "windows"}


def _series_section(spec) -> None:
    numeric: list[str] = []
    with guard():
        numeric = overview(spec.data.source, source_stamp(spec.data.source))["numeric"]
    series_section(spec, [c for c in numeric if c != spec.data.date])


SETTINGS = {"images": image_section, "table": table_section, "text": text_section, "series": _series_section}
PREVIEWS = {"images": image_preview, "table": table_preview, "text": text_preview, "series": series_preview}

st.title(shell.PREPARE)
spec = nav.require_project()
kind = spec.data.kind
st.markdown(INTRO.get(kind, INTRO["images"]))
show_flagged(FLAG)

if kind not in SETTINGS:
    st.info(f"This project holds {kind} data, which this page cannot prepare yet.")
    st.stop()
SETTINGS[kind](spec)
split_section(spec)
with st.container(border=True):
    augment_editor(spec, WHAT[kind])
PREVIEWS[kind](spec)
nav.link(shell.BUILD, "Next: Build")
