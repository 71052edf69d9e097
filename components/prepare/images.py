"""The Prepare page for images: size and colour, and the preview of training images."""

from __future__ import annotations

import streamlit as st

from components.data_preview import display_image
from components.errors import guard
from components.prepare.cached import image_examples
from components.prepare.fields import field
from components.prepare.previews import preview_head
from layerlab.spec import ProjectSpec

PREVIEW_PX = 96


def image_section(spec: ProjectSpec) -> None:
    img = spec.prepare.image
    with st.container(border=True):
        st.subheader("Image size and colour")
        c1, c2, c3, c4 = st.columns(4)
        with c1:
            field("prepare.image.height", img.height)
        with c2:
            field("prepare.image.width", img.width)
        with c3:
            field("prepare.image.color", img.color)
        with c4:
            field("prepare.image.rescale", img.rescale)
        channels = 1 if img.color == "grayscale" else 3
        st.caption(f"The model takes in images of **{img.height} × {img.width} × {channels}** "
                   f"({'grayscale' if channels == 1 else 'colour'}). Changing this changes the model's input: "
                   "the **Build** page checks that your layers still fit.")


def image_preview(spec: ProjectSpec) -> None:
    img = spec.prepare.image
    with st.container(border=True):
        seed = preview_head("Preview")
        if spec.prepare.augment:
            st.caption(f"Each row: a training image as the model sees it ({img.height} × {img.width}, {img.color}), "
                       "then 4 random versions made by the augmentation steps above, as training would see them.")
        else:
            st.caption(f"Images as the model sees them ({img.height} × {img.width}, {img.color}). "
                       "Add an augmentation step to see the random versions training would make.")
        rows = None
        with guard(), st.spinner("Making the preview…"):
            rows = image_examples(spec, seed)
        rows = rows or []
        if rows and len(rows[0][1]) == 1:
            st.image([display_image(images[0], PREVIEW_PX) for _, images in rows],
                     caption=[f"class {name}" for name, _ in rows], output_format="PNG")
        for name, images in rows if rows and len(rows[0][1]) > 1 else []:
            captions = [f"{name} · as prepared"] + [f"variant {k}" for k in range(1, len(images))]
            st.image([display_image(im, PREVIEW_PX) for im in images], caption=captions, output_format="PNG")
