"""Predict on images: upload one or many, take one with the camera (camera.py), or draw one (small grayscale
models, like the 8×8 digits)."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from components import errors
from components.markup import message
from components.predict.camera import camera_view
from components.predict.shared import EXPLAIN_IMAGES, explain_images_toggle, heat, image_result
from layerlab.errors import DataError
from layerlab.inference import inputs

CANVAS_PX = 280
DRAWABLE_MAX_SIDE = 64  # draw only for small grayscale models, like the 8×8 digits
# Tests put a drawing (uint8 RGBA or grayscale) under this key: AppTest cannot drive the canvas.
DRAWING_KEY = "predict_drawing"


def can_draw(info: Any) -> bool:
    """Drawing suits small grayscale models (8×8 digits, 28×28 letters), not photos."""
    h, w, c = info.input_shape
    return c == 1 and max(h, w) <= DRAWABLE_MAX_SIDE


def image_view(predictor: Any, tag: str) -> None:
    modes = ["Upload images", "Camera"] + (["Draw"] if can_draw(predictor.info) else [])
    mode = st.segmented_control("Input", modes, default="Upload images", key="predict_image_mode",
                                label_visibility="collapsed") or "Upload images"
    if mode == "Draw":
        drawing_view(predictor)
        return
    if mode == "Camera":
        camera_view(predictor)
        return
    files = st.file_uploader("Images to classify", type=inputs.IMAGE_TYPES, accept_multiple_files=True,
                             key="predict_files", help="PNG, JPEG, BMP, GIF or WebP; one or more.")
    if files:
        show_image_results(predictor, files)
    else:
        st.info("Upload one or more images to see what the model predicts.", icon=":material/upload:")


def show_image_results(predictor: Any, files: list[Any]) -> None:
    ready, problems = [], []
    for f in files:
        try:
            ready.append((f.name, inputs.image(f.getvalue(), predictor.spec.prepare.image, f.name)))
        except DataError as exc:
            problems.append(message(exc.message))
    for msg in problems:
        st.warning(f"{msg} It was skipped.", icon=":material/broken_image:")
    if not ready:
        return
    results = predictor.predict_images([img for _, img in ready])
    explain = explain_images_toggle("predict_explain_images")
    for i, ((name, img), res) in enumerate(zip(ready, results)):
        hm = heat(predictor, img) if explain and i < EXPLAIN_IMAGES else None
        image_result(name, img, res, len(predictor.info.class_names), f"predict_probs_{i}_{name}", heat=hm)


def _canvas(info: Any) -> np.ndarray | None:
    """The canvas's RGBA pixels (None before anything is drawn, or when the canvas is unavailable)."""
    h, w, _ = info.input_shape
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception as exc:  # noqa: BLE001 - the page works without the optional canvas
        st.warning(f"The drawing canvas is not available here ({type(exc).__name__}). Upload an image instead.")
        return None
    # A brush about one model pixel wide, once the drawing is scaled down to the model's size.
    brush = max(8, round(CANVAS_PX / max(h, w) * 1.1))
    result = st_canvas(stroke_width=brush, stroke_color="#FFFFFF", background_color="#000000", height=CANVAS_PX,
                       width=CANVAS_PX, drawing_mode="freedraw", return_image_data=True, key="predict_canvas")
    return result.image_data


def drawing_view(predictor: Any) -> None:
    info = predictor.info
    left, right = st.columns([1, 1], gap="large")
    with left:
        injected = st.session_state.get(DRAWING_KEY)
        image = injected if injected is not None else _canvas(info)
        st.caption("Draw in white on black, as in the training images; the canvas's own buttons undo or clear.")
        fit = st.toggle("Centre and fit the drawing", value=True, key="predict_draw_fit",
                        help="Crop to what you drew and centre it, as the training digits fill their frame. "
                             "Off: the whole canvas is scaled down.")
    with right:
        if image is None:
            st.info("Draw something on the canvas to see what the model predicts.", icon=":material/draw:")
            return
        with errors.guard():
            if not inputs.has_ink(inputs.drawing_to_gray(image)):
                st.info("The canvas is empty: draw something on it.", icon=":material/draw:")
                return
            img = inputs.drawing(image, predictor.spec.prepare.image, fit=fit)
            res = predictor.predict_images([img])[0]
            hm = heat(predictor, img) if explain_images_toggle("predict_explain_drawing") else None
            image_result("your drawing", img, res, len(info.class_names), "predict_draw_probs", ratio=(2, 3), heat=hm)
