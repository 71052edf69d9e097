"""Home: what Layerlab does, where this project stands, and a one-click sample to start."""

from __future__ import annotations

import streamlit as st

from components import nav, shell, state
from components.errors import guard
from components.markup import md
from layerlab.project import new_project
from layerlab.samples import SAMPLES
from layerlab.workspace import Source

nav.ensure_app()  # a deep link in Streamlit's legacy pages/ mode goes through app.py first

STEP_TEXT = {
    "Data": "Pick a bundled sample, or upload your own: a zip of images in one folder per class, or a table "
            "(CSV, Excel, Parquet, JSON Lines) of rows, texts with labels, or values over time.",
    "Prepare": "Choose how the data is cleaned, scaled and split, and random changes that help the model learn.",
    "Build": "Start from a ready-made model and change its layers as you like.",
    "Train": "Start training and watch the model learn, live.",
    "Evaluate": "See how well it does on examples it has never seen, and where it goes wrong.",
    "Predict": "Try it on new inputs, and download the trained model.",
}

# One sample per kind of data, one click each: (sample, button label, key, icon). Digits stays first
# and primary: the quickest to train and the one a class sees first.
QUICK_SAMPLES = (
    ("digits", "Try a sample: handwritten digits", "home.try_digits", ":material/rocket_launch:"),
    ("penguins", "Penguins — a table", "home.try_penguins", ":material/table_chart:"),
    ("tweets", "Tweet sentiment — text", "home.try_tweets", ":material/chat:"),
    ("sunspots", "Sunspots — a time series", "home.try_sunspots", ":material/show_chart:"),
)


def _progress() -> dict[str, tuple[bool, str]]:
    """For each step: (done, a few words on where it stands)."""
    spec = state.project()
    runs = []
    with guard():
        runs = state.run_store(read_only=True).list(owner=state.owner())
    completed = [r for r in runs if r.status == "completed"]
    has_data = spec is not None
    has_layers = bool(spec and spec.model.layers)
    return {
        "Data": (has_data, f"Using **{md(spec.name)}**" if has_data else "Not chosen yet"),
        "Prepare": (has_data, "Settings suggested from your data" if has_data else "Needs data first"),
        "Build": (has_layers, f"{len(spec.model.layers)} layers" if has_layers else "No layers yet"),
        "Train": (bool(runs), f"{len(runs)} run{'s' if len(runs) != 1 else ''}" if runs else "No run yet"),
        "Evaluate": (bool(completed), "A finished run to evaluate" if completed else "Needs a finished run"),
        "Predict": (bool(completed), "A trained model is ready" if completed else "Needs a finished run"),
    }


def _try_sample(name: str, title: str) -> None:
    with guard():
        with st.spinner(f"Setting up the {title} project…"):
            spec = new_project(str(Source.of_sample(name)))
        state.set_project(spec)
        st.switch_page(nav.page(shell.TRAIN))


st.title("Layerlab")
st.markdown(
    "Teach a computer to recognise pictures, read texts, predict from a table or forecast a time series — "
    "by pointing and clicking, no code needed.\n\n"
    "Bring your data — a zip of images sorted into one folder per class (say `cats/` and `dogs/`), a spreadsheet, "
    "a column of texts with their labels, or measurements over time — or start with a bundled sample. "
    "Layerlab suggests a model that fits your data; you can train it as it is, or change its layers first. "
    "Everything you choose can be downloaded as plain Keras code."
)

available = [q for q in QUICK_SAMPLES if q[0] in SAMPLES]
replaces = " It replaces the project you have open." if state.project() else ""
if available:
    (name, label, key, icon), others = available[0], available[1:]
    left, right = st.columns([1, 2], vertical_alignment="center")
    with left:
        if st.button(label, type="primary", icon=icon, key=key):
            _try_sample(name, SAMPLES[name].title.lower())
    with right:
        st.caption(f"Sets up a project with the {SAMPLES[name].title.lower()} sample and a ready model, then takes "
                   "you straight to training." + replaces)
    if others:
        st.caption("Or start with another kind of data:")
        for col, (name, label, key, icon) in zip(st.columns(len(others)), others):
            with col:
                if st.button(label, key=key, icon=icon, help=SAMPLES[name].description, width="stretch"):
                    _try_sample(name, SAMPLES[name].title.lower())

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
