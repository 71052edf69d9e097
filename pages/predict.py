"""Predict: run a trained model on the user's own images."""

from __future__ import annotations

import os

import streamlit as st

from components import charts, errors, nav, run_picker
from components.data_preview import display_image
from layerlab.errors import DataError
from layerlab.train.store import RunStore

IMAGE_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp"]
DISPLAY_PX = 160


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def _predictor(run_dir: str, model_mtime: float):
    """One loaded model per (run folder, model file time): a retrained run loads afresh."""
    # The server process must not take all GPU memory from the training workers (see NOTES).
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    from layerlab.predict import load_predictor

    return load_predictor(run_dir)


def show_results(predictor, files) -> None:
    ready, problems = [], []
    for f in files:
        try:
            ready.append((f.name, predictor.prepare_image(f.getvalue())))
        except DataError as exc:
            problems.append(f"**{f.name}**: {exc.message}")
    for msg in problems:
        st.warning(f"{msg} It was skipped.", icon=":material/broken_image:")
    if not ready:
        return
    results = predictor.predict_images([img for _, img in ready])
    k = min(5, len(predictor.info.class_names))
    for i, ((name, img), res) in enumerate(zip(ready, results)):
        with st.container(border=True):
            left, right = st.columns([1, 3], vertical_alignment="center")
            with left:
                h, w = img.shape[:2]
                st.image(display_image(img, DISPLAY_PX), caption=f"{name} — as the model sees it ({w}×{h})")
            with right:
                st.metric("Predicted class", res["label"], help="The class with the highest probability.")
                st.caption(f"{res['confidence']:.1%} confident · the top {k} classes:")
                st.plotly_chart(charts.probability_figure(res["probabilities"], k), width="stretch",
                                key=f"predict_probs_{i}_{name}")


nav.ensure_app()
st.title("Predict")
with errors.guard():
    store = RunStore()
    run = run_picker.pick_run(store, need="model", key="predict_run")
    model_path = run.path / "model.keras"
    predictor = _predictor(str(run.path), model_path.stat().st_mtime)
    if predictor.info.kind != "images":
        st.info(f"This run learned from {predictor.info.kind} data; the Predict page takes images for now.")
        st.stop()
    classes = predictor.info.class_names
    h, w, c = predictor.info.input_shape
    shown = ", ".join(f"`{n}`" for n in classes[:20]) + (f" and {len(classes) - 20} more" if len(classes) > 20 else "")
    st.caption(f"Classes: {shown} · images are resized to {w}×{h} "
               f"{'grayscale' if c == 1 else 'colour'}, as in training.")
    files = st.file_uploader("Images to classify", type=IMAGE_TYPES, accept_multiple_files=True, key="predict_files",
                             help="PNG, JPEG, BMP, GIF or WebP; one or more.")
    if files:
        show_results(predictor, files)
    else:
        st.info("Upload one or more images to see what the model predicts.", icon=":material/upload:")
    nav.link("Evaluate", "See how this run did on its test set", ":material/analytics:")
