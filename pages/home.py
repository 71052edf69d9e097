"""Home: what Layerlab does, where this project stands, and a one-click sample to start."""

from __future__ import annotations

import streamlit as st

from components import nav, state
from components.errors import guard
from layerlab.project import new_project

nav.ensure_app()  # a deep link in Streamlit's legacy pages/ mode goes through app.py first

STEP_TEXT = {
    "Data": "Pick a bundled sample, or upload a zip of images sorted into one folder per class.",
    "Prepare": "Choose the image size, how the data is split, and random changes that help it learn.",
    "Build": "Start from a ready-made model and change its layers as you like.",
    "Train": "Start training and watch the model learn, live.",
    "Evaluate": "See how well it does on images it has never seen.",
    "Predict": "Try it on new images, and download the trained model.",
}


def _progress() -> dict[str, tuple[bool, str]]:
    """For each step: (done, a few words on where it stands)."""
    spec = state.project()
    runs = []
    with guard():
        from layerlab.train.store import RunStore

        runs = RunStore().list(owner=state.owner())
    completed = [r for r in runs if r.status == "completed"]
    has_data = spec is not None
    has_layers = bool(spec and spec.model.layers)
    return {
        "Data": (has_data, f"Using **{spec.name}**" if has_data else "Not chosen yet"),
        "Prepare": (has_data, "Settings suggested from your data" if has_data else "Needs data first"),
        "Build": (has_layers, f"{len(spec.model.layers)} layers" if has_layers else "No layers yet"),
        "Train": (bool(runs), f"{len(runs)} run{'s' if len(runs) != 1 else ''}" if runs else "No run yet"),
        "Evaluate": (bool(completed), "A finished run to evaluate" if completed else "Needs a finished run"),
        "Predict": (bool(completed), "A trained model is ready" if completed else "Needs a finished run"),
    }


def _try_digits() -> None:
    with guard():
        with st.spinner("Setting up the handwritten digits project…"):
            spec = new_project("sample:digits")
        state.set_project(spec)
        st.switch_page(nav.page("Train"))


st.title("Layerlab")
st.markdown(
    "Teach a computer to recognise pictures — by pointing and clicking, no code needed.\n\n"
    "Bring a zip of images sorted into one folder per class (say `cats/` and `dogs/`), "
    "or start with a bundled sample. Layerlab suggests a model that fits your data; "
    "you can train it as it is, or change its layers first. Everything you choose can be "
    "downloaded as plain Keras code."
)

left, right = st.columns([1, 2], vertical_alignment="center")
with left:
    if st.button("Try a sample: handwritten digits", type="primary", icon=":material/rocket_launch:",
                 key="home.try_digits"):
        _try_digits()
with right:
    st.caption("Sets up a small project with 1,797 handwritten digits and a ready model, "
               "then takes you straight to training."
               + (" It replaces the project you have open." if state.project() else ""))

st.subheader("Steps")
progress = _progress()
for i, step in enumerate(nav.STEPS):
    if i % 3 == 0:
        cols = st.columns(3)
    done, status = progress[step]
    with cols[i % 3], st.container(border=True, height="stretch"):
        mark = ":material/check_circle:" if done else ":material/radio_button_unchecked:"
        colour = "green" if done else "gray"
        st.markdown(f"#### :{colour}[{mark}] {i + 1}. {step}")
        st.markdown(STEP_TEXT[step])
        st.caption(status)
        nav.link(step, f"Open {step}")
