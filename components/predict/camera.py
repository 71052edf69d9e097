"""Predict from the camera: the picture just taken, its class, probabilities and what the model looked at.

The picture is read by `layerlab.inference.inputs.image`, as an uploaded image is, and shown with the same
result view (`shared.image_result`); the heat map is on by default, as one picture costs little to explain.
Clearing the picture (the camera's own button) makes the camera ready for the next one.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import errors
from components.predict.shared import explain_images_toggle, heat, image_result
from layerlab.inference import inputs


def camera_view(predictor: Any) -> None:
    left, right = st.columns([1, 1], gap="large")
    with left:
        shot = st.camera_input("Take a picture to classify", key="predict_camera",
                               help="Point the camera at one object; clear the picture to take the next one.")
    with right:
        if shot is None:
            st.info("Take a picture to see what the model predicts.", icon=":material/photo_camera:")
            return
        with errors.guard():
            img = inputs.image(shot.getvalue(), predictor.spec.prepare.image, "The picture")
            res = predictor.predict_images([img])[0]
            hm = heat(predictor, img) if explain_images_toggle("predict_explain_camera", value=True) else None
            image_result("your picture", img, res, len(predictor.info.class_names), "predict_camera_probs",
                         ratio=(2, 3), heat=hm)
