"""Prepare: how the data is shaped for the model (image size and colour; table filling, scaling and
encoding; text vocabulary; series gaps and windows), how it is split, and augmentation with a live
before/after preview. The widgets for tables, text and series live in components/prep_widgets.py."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from components import nav
from components.data_preview import display_image
from components.errors import edit, guard, show_flagged
from components.param_widgets import param_widget
from components.prep_widgets import (augment_editor, series_preview, series_section, split_section, table_preview,
                                     table_section, text_preview, text_section)
from components.table_view import overview
from layerlab.workspace import source_stamp
from layerlab.registry import Param
from layerlab.errors import LayerlabError
from layerlab.spec import ImagePrep, SplitSpec, StepSpec

nav.ensure_app()  # a deep link in Streamlit's legacy pages/ mode goes through app.py first

FLAG = "prepare.error"
PREVIEW_IMAGES = 4
VARIANTS = 4
PREVIEW_PX = 96

_IMG = ImagePrep.model_fields
HEIGHT = Param("height", "int", _IMG["height"].default, "Height every image is resized to, in pixels. "
               "Smaller trains faster; too small loses detail.", min=4, max=512)
WIDTH = Param("width", "int", _IMG["width"].default, "Width every image is resized to, in pixels.", min=4, max=512)
COLOR = Param("color", "choice", "rgb", "Grayscale keeps one channel (faster, enough for digits or scans); "
              "RGB keeps colour.", choices=("grayscale", "rgb"), label="Colour")
RESCALE = Param("rescale", "bool", True, "Divide pixel values by 255 so they lie between 0 and 1: "
                "networks learn much better from small numbers.", label="Rescale pixels to 0–1")
VALIDATION = Param("validation", "float", 0.15, "Share of images held back during training to watch for "
                   "overfitting (checked after every epoch).", min=0.05, max=0.5, step=0.05, label="Validation share")
TEST = Param("test", "float", 0.15, "Share of images kept aside until the end, for an honest final score.",
             min=0.05, max=0.5, step=0.05, label="Test share")
SEED = Param("seed", "int", 42, "The same seed gives the same split every time.", min=0, max=2**31 - 1,
             label="Random seed")
STRATIFY = Param("stratify", "bool", True, "Keep each class's share the same in every split.",
                 label="Keep class balance in each split")


def _set(path: str, key: str) -> None:
    edit(FLAG, **{path: st.session_state[key]})


def _field(param: Param, path: str, value: Any) -> Any:
    key = f"prepare.{path}"
    return param_widget(param, key, value, on_change=_set, kwargs={"path": path, "key": key})


def _steps_dicts(steps: list[StepSpec]) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in steps]


def _new_seed() -> None:
    st.session_state["prepare.preview_seed"] = st.session_state.get("prepare.preview_seed", 0) + 1


@st.cache_data(max_entries=32, show_spinner=False)
def _split_sizes(source: str, split_json: str) -> dict[str, int]:
    """How many images land in training, validation and test with these settings."""
    from layerlab.data.images import open_images
    from layerlab.data.split import split_indices

    src = open_images(source)
    return split_indices(len(src), SplitSpec.model_validate_json(split_json), src.labels).sizes()


@st.cache_data(max_entries=32, show_spinner=False)
def _preview(source: str, prep_json: str, split_json: str, steps_json: str, seed: int) -> list[tuple[str, list[Any]]]:
    """(class name, [prepared image, variant 1, …]) for training images of a few classes."""
    import numpy as np

    from layerlab.prep import augment
    from layerlab.data.images import open_images
    from layerlab.data.split import split_indices

    prep = ImagePrep.model_validate_json(prep_json)
    steps = [StepSpec.model_validate(s) for s in json.loads(steps_json)]
    src = open_images(source)
    train = split_indices(len(src), SplitSpec.model_validate_json(split_json), src.labels).train
    rng = np.random.default_rng(seed)
    classes = list(range(len(src.class_names)))
    classes = classes[::max(1, len(classes) // PREVIEW_IMAGES)][:PREVIEW_IMAGES]
    picked, images = [], []
    for k in classes:
        candidates = train[src.labels[train] == k]
        for i in rng.permutation(candidates)[:5]:  # a few tries past unreadable files
            try:
                images.append(src.decode(int(i), prep))
            except LayerlabError:
                continue
            picked.append(src.class_names[k])
            break
    if not steps:
        return [(name, [img]) for name, img in zip(picked, images)]
    variants = augment.preview(images, steps, rescale=prep.rescale, variants=VARIANTS, seed=seed)
    return [(name, [img, *vs]) for name, img, vs in zip(picked, images, variants)]


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
WHAT = {"table": "rows", "text": "texts", "series": "windows"}


def _other_kinds(spec: Any) -> None:
    """Tables, text and series: their own settings, then the split, augmentation and the preview."""
    kind = spec.data.kind
    if kind == "table":
        table_section(spec)
    elif kind == "text":
        text_section(spec)
    elif kind == "series":
        numeric: list[str] = []
        with guard():
            numeric = overview(spec.data.source, source_stamp(spec.data.source))["numeric"]
        series_section(spec, [c for c in numeric if c != spec.data.date])
    else:
        st.info(f"This project holds {kind} data, which this page cannot prepare yet.")
        return
    split_section(spec)
    with st.container(border=True):
        augment_editor(spec, WHAT[kind])
    {"table": table_preview, "text": text_preview, "series": series_preview}[kind](spec)


st.title("Prepare")
spec = nav.require_project()
st.markdown(INTRO.get(spec.data.kind, INTRO["images"]))
show_flagged(FLAG)

if spec.data.kind != "images":
    _other_kinds(spec)
    nav.link("Build", "Next: Build")
    st.stop()

# ---- image size and colour ----------------------------------------------------------------
img = spec.prepare.image
with st.container(border=True):
    st.subheader("Image size and colour")
    c1, c2, c3, c4 = st.columns(4)
    with c1:
        _field(HEIGHT, "prepare.image.height", img.height)
    with c2:
        _field(WIDTH, "prepare.image.width", img.width)
    with c3:
        _field(COLOR, "prepare.image.color", img.color)
    with c4:
        _field(RESCALE, "prepare.image.rescale", img.rescale)
    channels = 1 if img.color == "grayscale" else 3
    st.caption(f"The model takes in images of **{img.height} × {img.width} × {channels}** "
               f"({'grayscale' if channels == 1 else 'colour'}). Changing this changes the model's input: "
               "the **Build** page checks that your layers still fit.")

# ---- split ----------------------------------------------------------------------------------
split = spec.prepare.split
with st.container(border=True):
    st.subheader("Split")
    c1, c2, c3 = st.columns([2, 2, 1])
    with c1:
        _field(VALIDATION, "prepare.split.validation", split.validation)
    with c2:
        _field(TEST, "prepare.split.test", split.test)
    with c3:
        st.metric("Training share", f"{split.train:.0%}", help="What is left after validation and test.")
    c1, c2 = st.columns([1, 2])
    with c1:
        _field(SEED, "prepare.split.seed", split.seed)
    with c2:
        _field(STRATIFY, "prepare.split.stratify", split.stratify)
    sizes = None
    with guard():
        sizes = _split_sizes(spec.data.source, split.model_dump_json())
    if sizes:
        st.caption(f"**{sizes['train']:,}** images to train on · **{sizes['validation']:,}** to validate · "
                   f"**{sizes['test']:,}** to test. Validation and test together must leave at least 30% for training.")

# ---- augmentation ---------------------------------------------------------------------------
with st.container(border=True):
    augment_editor(spec, "images")

# ---- preview --------------------------------------------------------------------------------
with st.container(border=True):
    head, again = st.columns([5, 1], vertical_alignment="center")
    head.subheader("Preview")
    again.button("New examples", key="prepare.reshuffle", icon=":material/shuffle:", on_click=_new_seed)
    if spec.prepare.augment:
        st.caption(f"Each row: a training image as the model sees it ({img.height} × {img.width}, {img.color}), "
                   f"then {VARIANTS} random versions made by the augmentation steps above, as training would see them.")
    else:
        st.caption(f"Images as the model sees them ({img.height} × {img.width}, {img.color}). "
                   "Add an augmentation step to see the random versions training would make.")
    rows = None
    with guard():
        with st.spinner("Making the preview…"):
            rows = _preview(spec.data.source, img.model_dump_json(), spec.prepare.split.model_dump_json(),
                            json.dumps(_steps_dicts(spec.prepare.augment)), st.session_state.get("prepare.preview_seed", 0))
    rows = rows or []
    if rows and len(rows[0][1]) == 1:
        st.image([display_image(images[0], PREVIEW_PX) for _, images in rows],
                 caption=[f"class {name}" for name, _ in rows], output_format="PNG")
    for name, images in rows if rows and len(rows[0][1]) > 1 else []:
        captions = [f"{name} · as prepared"] + [f"variant {k}" for k in range(1, len(images))]
        st.image([display_image(im, PREVIEW_PX) for im in images], caption=captions, output_format="PNG")

nav.link("Build", "Next: Build")
