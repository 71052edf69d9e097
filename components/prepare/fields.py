"""Controlled widgets for the preparation fields, with their labels, choices and help.

Every widget shows the spec's value and a change goes through the spec's validation
(`components.errors.edit`); a refused value snaps back and its message shows at the top of the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from components import state
from components.errors import edit, flag
from components.param_widgets import param_widget
from layerlab.errors import LayerlabError
from layerlab.registry import Param
from layerlab.spec import ImagePrep, ProjectSpec, SeriesPrep, TablePrep, TextPrep

FLAG = "prepare.error"

# ---- metadata: labels and help for the preparation fields -------------------------------------------

CHOICES: dict[str, dict[str, str]] = {
    "table.impute_numeric": {"median": "Median (middle value)", "mean": "Mean (average)",
                             "constant": "A fixed value"},
    "table.impute_categorical": {"missing_token": "Its own category, “[missing]”",
                                 "most_frequent": "The most frequent category"},
    "table.scale": {"standardize": "Standardise (mean 0, spread 1)", "minmax": "Min–max (0 to 1)",
                    "none": "No scaling"},
    "table.encode": {"one_hot": "One-hot (one 0/1 value per category)", "integer": "Integer (one number)",
                     "embedding": "Embedding (learned vectors)"},
    "text.ngrams": {1: "Single words", 2: "Single words and word pairs"},
    "series.fill": {"interpolate": "Interpolate (a straight line between neighbours)",
                    "ffill": "Repeat the last known value", "drop": "Drop the rows (no filling)"},
    "series.scale": {"standardize": "Standardise (mean 0, spread 1)", "minmax": "Min–max (0 to 1)",
                     "none": "No scaling"},
    "series.predict": {"change": "The change from the last value", "level": "The values themselves"},
}
HELP = {
    "table.impute_numeric": "What replaces a missing number. The median is robust to outliers.",
    "table.impute_categorical": "What replaces a missing category.",
    "table.scale": "Networks learn best from numbers of similar size; scaling is learned on the training rows.",
    "table.encode": "How categories become numbers. One-hot suits few categories; an embedding suits many.",
    "text.ngrams": "Word pairs (“not good”) capture a little word order, at the cost of a larger vocabulary.",
    "series.fill": "Missing time steps are added at the series' frequency, then filled this way.",
    "series.scale": "Scaling is learned on the training part of the series only.",
    "series.predict": "Learning the change from each window's last value copes with trends the training part "
                      "never reached (a rising CO₂ level, growing sales); the values themselves suit series that "
                      "stay in one range.",
}
_T, _X, _S = TablePrep.model_fields, TextPrep.model_fields, SeriesPrep.model_fields
FILL_VALUE = Param("fill_value", "float", _T["fill_value"].default, "The number that replaces missing numbers.",
                   min=-1e12, max=1e12, step=1.0, label="Fill value")
EMBEDDING_DIM = Param("embedding_dim", "int", _T["embedding_dim"].default, "Length of the learned vector per "
                      "category.", min=1, max=64, label="Embedding size")
DROP = Param("drop_constant_and_ids", "bool", True, "Leave out columns with the same value everywhere, and "
             "ID-like columns where every row differs: they teach the model nothing.",
             label="Drop constant and ID-like columns")
LOWER = Param("lowercase", "bool", True, "“Good” and “good” become the same word.", label="Lower-case")
PUNCT = Param("strip_punctuation", "bool", True, "Remove punctuation so “good!” and “good” are the same word.",
              label="Strip punctuation")
VOCAB = Param("vocab_size", "int", _X["vocab_size"].default, "How many of the most frequent words the model "
              "knows; the rest become one 'unknown' word.", min=100, max=None, step=500, log=True,
              label="Vocabulary size")  # max: the server's LAYERLAB_VOCABULARY, set where it is drawn; log: a typed number
SEQ = Param("sequence_length", "int", _X["sequence_length"].default, "Words per text the model reads: longer "
            "texts are cut, shorter ones padded.", min=4, max=2_000, label="Sequence length")
WINDOW = Param("window", "int", _S["window"].default, "How many past time steps each forecast looks at.",
               min=2, max=2_000, label="Window length")
HORIZON = Param("horizon", "int", _S["horizon"].default, "How many steps ahead to forecast.", min=1, max=500,
                label="Horizon")
STRIDE = Param("stride", "int", _S["stride"].default, "Steps between the starts of two windows: 1 uses every "
               "window; more gives fewer, less similar examples.", min=1, max=500, label="Stride")
VALIDATION = Param("validation", "float", 0.15, "Share held back during training to watch for overfitting "
                   "(checked after every epoch).", min=0.05, max=0.5, step=0.05, label="Validation share")
TEST = Param("test", "float", 0.15, "Share kept aside until the end, for an honest final score.",
             min=0.05, max=0.5, step=0.05, label="Test share")
SEED = Param("seed", "int", 42, "The same seed gives the same split every time.", min=0, max=2**31 - 1,
             label="Random seed")
_IMG = ImagePrep.model_fields
HEIGHT = Param("height", "int", _IMG["height"].default, "Height every image is resized to, in pixels. "
               "Smaller trains faster; too small loses detail.", min=4, max=512)
WIDTH = Param("width", "int", _IMG["width"].default, "Width every image is resized to, in pixels.", min=4, max=512)
COLOR = Param("color", "choice", "rgb", "Grayscale keeps one channel (faster, enough for digits or scans); "
              "RGB keeps colour.", choices=("grayscale", "rgb"), label="Colour")
RESCALE = Param("rescale", "bool", True, "Divide pixel values by 255 so they lie between 0 and 1: "
                "networks learn much better from small numbers.", label="Rescale pixels to 0–1")
STRATIFY = Param("stratify", "bool", True, "Keep each class's share the same in every split.",
                 label="Keep class balance in each split")


# ---- controlled widgets -----------------------------------------------------------------------------


def _set(path: str, key: str) -> None:
    edit(FLAG, **{path: st.session_state[key]})


def field(param: Param, path: str, value: Any, on_change: Callable[..., None] | None = None) -> Any:
    """A controlled widget for one spec field (key `prepare.<path>`)."""
    key = f"prepare.{path}"
    return param_widget(param, key, value, on_change=on_change or _set, kwargs={"path": path, "key": key})


def choice(name: str, label: str, path: str, value: Any, on_change: Callable[..., None] | None = None) -> Any:
    """A controlled selectbox for a Literal spec field, showing words instead of codes."""
    options = CHOICES[name]
    key = f"prepare.{path}"
    if st.session_state.get(key) != value:
        st.session_state[key] = value
    return st.selectbox(label, list(options), key=key, format_func=lambda v: options.get(v, str(v)),
                        help=HELP.get(name), on_change=on_change or _set, kwargs={"path": path, "key": key})


def checked_edit(changes: dict[str, Any], check: Callable[[ProjectSpec], Any]) -> bool:
    """Apply `changes` through the spec's validation, then `check(new)` against the data; keep the old on refusal."""
    spec = state.project()
    if spec is None:
        return False
    try:
        new = spec.edit(**changes)
        check(new)
    except LayerlabError as exc:
        flag(FLAG, exc)
        return False
    st.session_state.pop(FLAG, None)
    state.set_project(new)
    return True
