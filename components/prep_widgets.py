"""Prepare-page widgets for tables, text and series, the split, and the augmentation editor.

Every widget is *controlled* (see param_widgets): it shows the spec's value and a change
goes through the spec's validation (`components.errors.edit`); a refused value snaps back
and its message shows at the top of the page. Labels and help texts for the preparation
fields sit in the tables below, beside nothing else of the UI.

Previews are cached per source stamp and settings: the vocabulary (fitted on a sample of the
training texts), the series windows, and the before/after view of each augmentation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import state
from components.errors import edit, flag, guard
from components.markup import md
from components.param_widgets import entry_widgets, param_widget
from components.table_view import plain, read_frame
from layerlab.workspace import source_stamp
from layerlab.prep.augment import AUGMENTATIONS, steps_for
from layerlab.errors import LayerlabError
from layerlab.registry import Param
from layerlab.settings import limits
from layerlab.spec import ProjectSpec, SeriesPrep, StepSpec, TablePrep, TextPrep

FLAG = "prepare.error"
TEXT_FIT_SAMPLE = 5_000
HELDOUT_SAMPLE = 2_000
PREVIEW_ROWS = 5
PREVIEW_TEXTS = 4
SERIES_EXAMPLES = 6
MAX_WINDOW_VALUES = 20_000_000  # above this many numbers, window counts are worked out without cutting them
BEFORE, AFTER, TARGET = "#4C78A8", "#F58518", "#54A24B"

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


# ---- data helpers (cached) -------------------------------------------------------------------------


def _spec_of(data_json: str, prepare: dict[str, Any]) -> ProjectSpec:
    from layerlab.spec import load_spec

    return load_spec({"data": json.loads(data_json), "prepare": prepare})


def _labels(values: pd.Series) -> np.ndarray:
    return pd.factorize(values.astype("str"), sort=True)[0]


@st.cache_data(max_entries=32, show_spinner=False)
def row_split_sizes(source: str, stamp: tuple[float, int], data_json: str, split_json: str) -> dict[str, int]:
    """Rows (or texts) in training, validation and test for a table or text project."""
    from layerlab.data.split import split_indices
    from layerlab.spec import SplitSpec

    d = json.loads(data_json)
    split = SplitSpec.model_validate_json(split_json)
    df = read_frame(source, stamp)["frame"]
    if d["kind"] == "text" and d.get("text") in df.columns:  # rows without a text are left out, as in training
        from layerlab.data.profile import as_text

        df = df[(as_text(df[d["text"]]).fillna("").str.strip() != "").to_numpy()]
    y = df[d["target"]].dropna() if d.get("target") in df.columns else pd.Series(range(len(df)))
    labels = _labels(y) if d["task"] == "classification" and split.stratify else None
    return split_indices(len(y), split, labels).sizes()


def _training_texts(df: pd.DataFrame, text: str, target: str, split_json: str) -> tuple[pd.Series, pd.Series]:
    """(training texts, validation texts) split as training will split them."""
    from layerlab.data.profile import as_text
    from layerlab.data.split import split_indices
    from layerlab.spec import SplitSpec

    part = df[[text, target]].dropna(subset=[target])
    texts = as_text(part[text]).fillna("")
    keep = (texts.str.strip() != "").to_numpy()
    texts, labels = texts[keep].reset_index(drop=True), part[target][keep].reset_index(drop=True)
    split = SplitSpec.model_validate_json(split_json)
    idx = split_indices(len(texts), split, _labels(labels) if split.stratify else None)
    return texts.iloc[idx.train], texts.iloc[idx.validation]


@st.cache_resource(max_entries=4, show_spinner=False)
def _text_fit(source: str, stamp: tuple[float, int], text: str, target: str, prep_json: str, split_json: str) -> Any:
    """fit_text on a random sample of the training texts (a Keras layer: cached as a resource, never changed)."""
    from layerlab.prep.text import fit_text

    train, val = _training_texts(read_frame(source, stamp)["frame"], text, target, split_json)
    sample = train.sample(n=min(TEXT_FIT_SAMPLE, len(train)), random_state=0)
    fit = fit_text(sample.to_numpy(dtype=object), TextPrep.model_validate_json(prep_json))
    heldout = val.sample(n=min(HELDOUT_SAMPLE, len(val)), random_state=0).to_numpy(dtype=object)
    return fit, sample.to_numpy(dtype=object), heldout


@st.cache_data(max_entries=16, show_spinner=False)
def text_coverage(source: str, stamp: tuple[float, int], text: str, target: str, prep_json: str,
                  split_json: str) -> dict[str, Any]:
    """Vocabulary size, its coverage of the training sample and of unseen (validation) texts, and notes."""
    from layerlab.prep.text import vectorize

    fit, sample, heldout = _text_fit(source, stamp, text, target, prep_json, split_json)
    ids = vectorize(fit.vectorizer, heldout) if len(heldout) else np.zeros((0, 1), "int32")
    words = int((ids > 0).sum())
    unseen = float(1 - (ids == 1).sum() / words) if words else 0.0
    cut = float(np.mean(ids[:, -1] > 0)) if len(ids) else 0.0
    return {"vocab": int(fit.vocab_size), "coverage": float(fit.coverage), "heldout": unseen, "cut": cut,
            "sample": int(len(sample)), "notes": list(fit.notes)}


def _words(ids: np.ndarray, vocab: list[str], before: np.ndarray | None = None) -> str:
    """Token ids as words; a word blanked by augmentation shows as ▢, padding is left out."""
    out = []
    for k, i in enumerate(ids.tolist()):
        if i == 0:
            if before is not None and before[k] != 0:
                out.append("▢")
            continue
        out.append(str(vocab[i]) if i < len(vocab) else "[UNK]")
    return " ".join(out)


@st.cache_data(max_entries=16, show_spinner=False)
def text_aug_preview(source: str, stamp: tuple[float, int], text: str, target: str, prep_json: str,
                     split_json: str, steps_json: str, seed: int) -> pd.DataFrame:
    """A few training texts as word sequences the model reads, before and after the augmentation."""
    from layerlab.prep.augment import preview_arrays
    from layerlab.prep.text import vectorize

    fit, sample, _ = _text_fit(source, stamp, text, target, prep_json, split_json)
    rng = np.random.default_rng(seed)
    picked = sample[rng.choice(len(sample), size=min(PREVIEW_TEXTS, len(sample)), replace=False)]
    ids = vectorize(fit.vectorizer, picked)
    steps = [StepSpec.model_validate(s) for s in json.loads(steps_json)]
    after = preview_arrays(ids, steps, seed=seed) if steps else ids
    vocab = [str(w) for w in fit.vectorizer.get_vocabulary()]
    rows = [{"as the model reads it": _words(b, vocab), "after augmentation": _words(a, vocab, b)}
            for b, a in zip(ids, np.asarray(after).astype("int64"))]
    return pd.DataFrame(rows, columns=["as the model reads it", "after augmentation"])


@st.cache_data(max_entries=16, show_spinner=False)
def table_rows_preview(source: str, stamp: tuple[float, int], data_json: str, prepare_json: str,
                       steps_json: str, seed: int) -> dict[str, Any]:
    """A few rows: raw numbers, the prepared numbers (filled, scaled) and the same after augmentation."""
    from components.roles_editor import describe
    from layerlab.prep.augment import preview_arrays

    spec = _spec_of(data_json, json.loads(prepare_json))
    df = read_frame(source, stamp)["frame"]
    info = describe(spec)  # cached: fitting the columns of a big table takes seconds
    numeric = [c for c in info.extra["columns"] if c["type"] == "numeric"]
    if not numeric:
        return {"numeric": 0}
    target = spec.data.target
    pool = df[df[target].notna()] if target in df.columns else df
    rows = pool.sample(n=min(PREVIEW_ROWS, len(pool)), random_state=seed)
    raw = pd.DataFrame({c["name"]: pd.to_numeric(rows[c["name"]], errors="coerce") for c in numeric})
    prepared = pd.DataFrame({c["name"]: (raw[c["name"]].fillna(c["fill"]) - c["center"]) / c["spread"]
                             for c in numeric})
    steps = [StepSpec.model_validate(s) for s in json.loads(steps_json)]
    after = prepared
    if steps:
        values = preview_arrays(prepared.to_numpy(dtype="float32"), steps, info=info, seed=seed)
        after = pd.DataFrame(np.asarray(values)[:, : len(numeric)], columns=prepared.columns)
    index = [f"row {i + 1}" for i in rows.index]
    for frame in (raw, prepared, after):
        frame.index = index
    return {"numeric": len(numeric), "raw": raw, "prepared": prepared.round(3), "after": after.round(3),
            "steps": bool(steps)}


def _window_counts(n: int, prep: SeriesPrep, split: Any) -> dict[str, Any]:
    """Window counts per part without cutting the windows (mirrors layerlab.prep.series.make_windows)."""
    from layerlab.errors import DataError

    w, h = prep.window, prep.horizon
    n_test, n_val = max(1, int(round(n * split.test))), max(1, int(round(n * split.validation)))
    b_val, b_test = n - n_val - n_test, n - n_test
    if b_val < w + h or n_test < h or n_val < h:
        raise DataError(f"The series has {n} steps: too short for a window of {w} and a horizon of {h} "
                        "with this split.",
                        f"Use a shorter window (at most about {max(2, b_val - h)}), a shorter horizon, or more data.")
    starts = np.arange(w, n - h + 1, prep.stride)
    end = starts + h
    sizes = {"train": int((end <= b_val).sum()), "validation": int(((starts >= b_val) & (end <= b_test)).sum()),
             "test": int((starts >= b_test).sum())}
    for name, k in sizes.items():
        if k == 0:
            raise DataError(f"No {name} windows fit in the series with a window of {w}, horizon {h} and stride "
                            f"{prep.stride}.", "Use a shorter window or horizon, a stride of 1, or change the split.")
    return {"sizes": sizes, "bounds": (b_val, b_test)}


@st.cache_data(max_entries=16, show_spinner=False)
def series_plan(source: str, stamp: tuple[float, int], data_json: str, series_json: str,
                split_json: str) -> dict[str, Any]:
    """Windows per part, where the parts start, the filled series (for the chart) and a few training windows."""
    from layerlab.prep.prepare import series_columns
    from layerlab.data.series import fill_gaps, prepare_series
    from layerlab.prep.series import make_windows

    spec = _spec_of(data_json, {"series": json.loads(series_json), "split": json.loads(split_json)})
    prep, split = spec.prepare.series, spec.prepare.split
    df = read_frame(source, stamp)["frame"]
    features, targets = series_columns(df, spec)
    sf = fill_gaps(prepare_series(df, spec.data.date, features), prep.fill)
    frame = sf.frame
    if frame[features].isna().to_numpy().any():
        frame = frame.dropna(subset=features).reset_index(drop=True)
    values = frame[features].to_numpy(dtype="float64")
    n = len(values)
    target_idx = [features.index(t) for t in targets]
    examples: list[dict[str, Any]] = []
    if n * prep.window * len(features) <= MAX_WINDOW_VALUES:
        win = make_windows(values, target_idx, prep, split)
        sizes = {k: int(len(v)) for k, v in win.parts.items()}
        bounds = tuple(int(b) for b in win.bounds)
        rng = np.random.default_rng(0)
        train = win.parts["train"]
        for i in rng.choice(train, size=min(SERIES_EXAMPLES, len(train)), replace=False):
            examples.append({"x": win.x[i].tolist(), "y": win.y[i].tolist(), "start": int(win.start[i])})
    else:
        counted = _window_counts(n, prep, split)
        sizes, bounds = counted["sizes"], counted["bounds"]
    keep = np.unique(np.linspace(0, n - 1, min(n, 4000)).round().astype("int64")) if n else np.arange(0)
    x = frame[spec.data.date].iloc[keep].tolist() if spec.data.date else keep.tolist()
    return {"n": n, "sizes": sizes, "bounds": bounds, "features": features, "targets": targets,
            "target_idx": target_idx, "examples": examples, "notes": list(sf.notes),
            "x": x, "pos": keep.tolist(), "y": frame[targets[0]].iloc[keep].astype("float64").tolist(),
            "x_bounds": [frame[spec.data.date].iloc[b] if spec.data.date else b for b in bounds]}


@st.cache_data(max_entries=16, show_spinner=False)
def series_aug_preview(window: list[list[float]], steps_json: str, seed: int) -> list[list[float]]:
    from layerlab.prep.augment import preview_arrays

    steps = [StepSpec.model_validate(s) for s in json.loads(steps_json)]
    x = np.asarray(window, dtype="float32")[None]
    return np.asarray(preview_arrays(x, steps, seed=seed))[0].tolist()


# ---- figures (pure) ---------------------------------------------------------------------------------


def split_figure(plan: dict[str, Any], date: str | None) -> go.Figure:
    """The (filled) series with the validation and test parts shaded: split by time."""
    fig = go.Figure(go.Scatter(x=plan["x"], y=plan["y"], mode="lines", name=plain(plan["targets"][0]),
                               line=dict(color=BEFORE, width=1.3)))
    last = plan["x"][-1] if plan["x"] else None
    b_val, b_test = plan["x_bounds"]
    fig.add_vrect(x0=b_val, x1=b_test, fillcolor="rgba(245,133,24,0.15)", line_width=0, layer="below",
                  annotation_text="validation", annotation_position="top left")
    fig.add_vrect(x0=b_test, x1=last, fillcolor="rgba(84,162,75,0.18)", line_width=0, layer="below",
                  annotation_text="test", annotation_position="top left")
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), showlegend=False)
    fig.update_xaxes(title=plain(date) if date else "step")
    return fig


def window_figure(before: list[list[float]], after: list[list[float]] | None, target: list[list[float]],
                  features: list[str], target_idx: list[int]) -> go.Figure:
    """One window of scaled values before (solid) and after (dashed) augmentation, then the targets."""
    fig = go.Figure()
    w = len(before)
    steps = list(range(-w + 1, 1))
    arr_b = np.asarray(before)
    for j, name in enumerate(features[:3]):
        fig.add_trace(go.Scatter(x=steps, y=arr_b[:, j].tolist(), mode="lines+markers", name=f"{plain(name)} (window)",
                                 line=dict(color=BEFORE, width=2), marker=dict(size=4), opacity=1 - 0.25 * j))
        if after is not None:
            fig.add_trace(go.Scatter(x=steps, y=np.asarray(after)[:, j].tolist(), mode="lines+markers",
                                     name=f"{plain(name)} (augmented)", line=dict(color=AFTER, width=2, dash="dash"),
                                     marker=dict(size=4), opacity=1 - 0.25 * j))
    arr_t = np.asarray(target)
    horizon = list(range(1, len(arr_t) + 1))
    for k, idx in enumerate(target_idx[:3]):
        fig.add_trace(go.Scatter(x=horizon, y=arr_t[:, k].tolist(), mode="lines+markers",
                                 name=f"{plain(features[idx])} (to forecast)", line=dict(color=TARGET, width=2),
                                 marker=dict(size=6, symbol="diamond")))
    fig.add_vline(x=0.5, line_dash="dot", line_color="#94A3B8")
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=10), hovermode="x unified",
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    fig.update_xaxes(title="time step (0 = the last step the model sees)")
    fig.update_yaxes(title="scaled value")
    return fig


# ---- sections ---------------------------------------------------------------------------------------


def table_section(spec: ProjectSpec) -> None:
    t = spec.prepare.table
    with st.container(border=True):
        st.subheader("Missing values, scaling and categories")
        numbers, categories = st.columns(2, gap="large")
        with numbers:
            st.markdown("**Numbers**")
            choice("table.impute_numeric", "Fill missing numbers with", "prepare.table.impute_numeric",
                   t.impute_numeric)
            if t.impute_numeric == "constant":
                field(FILL_VALUE, "prepare.table.fill_value", t.fill_value)
            choice("table.scale", "Scale numbers", "prepare.table.scale", t.scale)
        with categories:
            st.markdown("**Categories**")
            choice("table.impute_categorical", "Fill missing categories with", "prepare.table.impute_categorical",
                   t.impute_categorical)
            choice("table.encode", "Encode categories", "prepare.table.encode", t.encode)
            if t.encode == "embedding":
                field(EMBEDDING_DIM, "prepare.table.embedding_dim", t.embedding_dim)
        field(DROP, "prepare.table.drop_constant_and_ids", t.drop_constant_and_ids)
        with guard():
            from components.roles_editor import describe

            info = describe(spec)
            columns = info.extra.get("columns", [])
            n_num = sum(c["type"] == "numeric" for c in columns)
            st.caption(f"Each row becomes **{info.input_shape[0]:,}** numbers for the model: {n_num} numeric "
                       f"column(s) and {len(columns) - n_num} categorical column(s). Everything is learned from "
                       "the training rows only and saved inside the trained model, so predictions take raw rows.")


def text_section(spec: ProjectSpec) -> None:
    t = spec.prepare.text
    with st.container(border=True):
        st.subheader("Words and vocabulary")
        c1, c2, c3 = st.columns(3)
        with c1:
            field(LOWER, "prepare.text.lowercase", t.lowercase)
            field(PUNCT, "prepare.text.strip_punctuation", t.strip_punctuation)
        with c2:
            field(replace(VOCAB, max=limits().vocabulary), "prepare.text.vocab_size", t.vocab_size)  # the server's limit
            field(SEQ, "prepare.text.sequence_length", t.sequence_length)
        with c3:
            choice("text.ngrams", "Tokens", "prepare.text.ngrams", t.ngrams)
        with guard(), st.spinner("Building the vocabulary from the training texts…"):
            cov = text_coverage(spec.data.source, source_stamp(spec.data.source), spec.data.text, spec.data.target,
                                t.model_dump_json(), spec.prepare.split.model_dump_json())
            m1, m2, m3 = st.columns(3)
            m1.metric("Vocabulary", f"{cov['vocab']:,} words",
                      help=f"Fitted on a random sample of {cov['sample']:,} training texts.")
            m2.metric("Known words in unseen texts", f"{cov['heldout']:.0%}",
                      help="Share of the words in validation texts that are in the vocabulary; the rest become "
                           f"'unknown'. On the training sample: {cov['coverage']:.0%}.")
            m3.metric("Texts cut", f"{cov['cut']:.0%}", help=f"Validation texts longer than {t.sequence_length} "
                      "tokens, which are cut to fit.")
            for note in cov["notes"][1:]:
                st.caption(f":material/info: {md(note)}")


def _targets_changed(key: str) -> None:
    spec = state.project()
    chosen = list(st.session_state[key])
    targets = None if chosen in ([], [spec.data.target]) else chosen
    checked_edit({"prepare.series.targets": targets}, _check_series)


def _check_series(new: ProjectSpec) -> None:
    series_plan(new.data.source, source_stamp(new.data.source), new.data.model_dump_json(),
                new.prepare.series.model_dump_json(), new.prepare.split.model_dump_json())


def _set_checked(path: str, key: str) -> None:
    checked_edit({path: st.session_state[key]}, _check_series)


def series_section(spec: ProjectSpec, numeric: list[str]) -> None:
    s = spec.prepare.series
    with st.container(border=True):
        st.subheader("Gaps, scaling and windows")
        c1, c2, c3 = st.columns(3)
        with c1:
            choice("series.fill", "Fill missing time steps", "prepare.series.fill", s.fill, on_change=_set_checked)
        with c2:
            choice("series.scale", "Scale values", "prepare.series.scale", s.scale)
        with c3:
            if "predict" in SeriesPrep.model_fields:
                choice("series.predict", "Learn to forecast", "prepare.series.predict", getattr(s, "predict"))
        c1, c2, c3 = st.columns(3)
        with c1:
            field(WINDOW, "prepare.series.window", s.window, on_change=_set_checked)
        with c2:
            field(HORIZON, "prepare.series.horizon", s.horizon, on_change=_set_checked)
        with c3:
            field(STRIDE, "prepare.series.stride", s.stride, on_change=_set_checked)
        key = "prepare.prepare.series.targets"
        current = list(s.targets or ([spec.data.target] if spec.data.target else []))
        options = list(dict.fromkeys([*numeric, *current]))
        if st.session_state.get(key) != current:
            st.session_state[key] = current
        st.multiselect("Columns to forecast", options, key=key, on_change=_targets_changed, args=(key,),
                       help="One column for a univariate forecast; several to forecast them together "
                            "(multivariate). The other numeric columns are inputs only.")
        st.caption(f"{'Univariate' if len(current) <= 1 else 'Multivariate'}: each example is the last "
                   f"**{s.window}** steps; the model forecasts the next **{s.horizon}** step(s) of "
                   f"{', '.join(f'`{c}`' for c in current) or 'the target'}.")


def split_section(spec: ProjectSpec) -> None:
    split = spec.prepare.split
    kind, task = spec.data.kind, spec.data.task
    with st.container(border=True):
        st.subheader("Split")
        series = kind == "series"
        on_change = _set_checked if series else None
        c1, c2, c3 = st.columns([2, 2, 1])
        with c1:
            field(VALIDATION, "prepare.split.validation", split.validation, on_change=on_change)
        with c2:
            field(TEST, "prepare.split.test", split.test, on_change=on_change)
        with c3:
            st.metric("Training share", f"{split.train:.0%}", help="What is left after validation and test.")
        if series:
            st.info("A series is split **by time**: the earliest part trains the model, the next part validates "
                    "it and the latest part tests it. Windows are never shuffled across these parts, so the "
                    "model is always tested on a future it has not seen.", icon=":material/schedule:")
            with guard():
                plan = series_plan(spec.data.source, source_stamp(spec.data.source), spec.data.model_dump_json(),
                                   spec.prepare.series.model_dump_json(), split.model_dump_json())
                sizes = plan["sizes"]
                st.caption(f"**{sizes['train']:,}** windows to train on · **{sizes['validation']:,}** to validate · "
                           f"**{sizes['test']:,}** to test (from {plan['n']:,} time steps).")
                st.plotly_chart(split_figure(plan, spec.data.date), width="stretch", key="prepare.split.chart")
            return
        c1, c2 = st.columns([1, 2])
        with c1:
            field(SEED, "prepare.split.seed", split.seed)
        with c2:
            if task == "classification":
                field(STRATIFY, "prepare.split.stratify", split.stratify)
                from components.health_report import class_weights_toggle

                class_weights_toggle(spec, key="prepare.class_weights", flag=FLAG)
            else:
                st.caption("Rows are shuffled with the seed and split at random.")
        with guard():
            sizes = row_split_sizes(spec.data.source, source_stamp(spec.data.source), spec.data.model_dump_json(),
                                    split.model_dump_json())
            what = "texts" if kind == "text" else "rows"
            st.caption(f"**{sizes['train']:,}** {what} to train on · **{sizes['validation']:,}** to validate · "
                       f"**{sizes['test']:,}** to test. Validation and test together must leave at least 30% "
                       "for training.")


# ---- augmentation ---------------------------------------------------------------------------------


def _steps_dicts(steps: list[StepSpec]) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in steps]


def _set_steps(steps: list[dict[str, Any]]) -> None:
    edit(FLAG, **{"prepare.augment": steps})


def _add_step() -> None:
    name = st.session_state.get("prepare.add_step")
    spec = state.project()
    if not name or spec is None:
        return
    entry = AUGMENTATIONS.get(name)
    _set_steps(_steps_dicts(spec.prepare.augment) + [{"type": name, "params": entry.defaults()}])


def _remove_step(i: int) -> None:
    spec = state.project()
    steps = _steps_dicts(spec.prepare.augment)
    if 0 <= i < len(steps):
        del steps[i]
        _set_steps(steps)


def _set_step_param(i: int, name: str, value: Any) -> None:
    spec = state.project()
    steps = _steps_dicts(spec.prepare.augment)
    if 0 <= i < len(steps):
        steps[i]["params"][name] = value
        _set_steps(steps)


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def augment_editor(spec: ProjectSpec, what: str) -> None:
    """The steps (each with its own widgets, generated from the registry) and 'Add a step'."""
    kind = spec.data.kind
    st.subheader("Augmentation")
    st.markdown(f"Random changes applied to training {what} each time the model sees them, so it learns the "
                f"pattern rather than the exact {what}. They are never applied to validation, test or "
                "prediction data.")
    steps = spec.prepare.augment
    names = steps_for(kind)
    if not steps:
        st.caption("No augmentation yet: add a step below." if names else
                   "No augmentation steps exist for this kind of data.")
    for i, step in enumerate(steps):
        entry = AUGMENTATIONS.get(step.type)
        with st.container(border=True):
            head, remove = st.columns([5, 1], vertical_alignment="center")
            head.markdown(f"**{i + 1}. {_title(step.type)}** — {entry.help}")
            remove.button("Remove", key=f"prepare.aug.{i}.remove", icon=":material/delete:",
                          on_click=_remove_step, args=(i,))
            if kind not in entry.meta.get("kinds", (kind,)):
                st.warning(f"This step is for {', '.join(entry.meta['kinds'])} data, not {kind}: remove it.",
                           icon=":material/warning:")
            entry_widgets(entry, step.params, f"prepare.aug.{i}.{step.type}",
                          on_change=lambda name, value, i=i: _set_step_param(i, name, value))
    if not names:
        return
    used = {s.type for s in steps}
    unused = [n for n in names if n not in used] or names
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    with c1:
        if st.session_state.get("prepare.add_step") not in unused:
            st.session_state["prepare.add_step"] = unused[0]
        st.selectbox("Add a step", unused, key="prepare.add_step",
                     format_func=lambda n: f"{_title(n)} — {AUGMENTATIONS.get(n).help}")
    with c2:
        st.button("Add step", key="prepare.add", icon=":material/add:", on_click=_add_step)


def new_seed() -> None:
    st.session_state["prepare.preview_seed"] = st.session_state.get("prepare.preview_seed", 0) + 1


def _preview_head(title: str) -> int:
    head, again = st.columns([5, 1], vertical_alignment="center")
    head.subheader(title)
    again.button("New examples", key="prepare.reshuffle", icon=":material/shuffle:", on_click=new_seed)
    return st.session_state.get("prepare.preview_seed", 0)


def _steps_json(spec: ProjectSpec) -> str:
    kind = spec.data.kind
    usable = [s for s in spec.prepare.augment if kind in AUGMENTATIONS.get(s.type).meta.get("kinds", (kind,))]
    return json.dumps(_steps_dicts(usable))


def table_preview(spec: ProjectSpec) -> None:
    with st.container(border=True):
        seed = _preview_head("Preview")
        with guard(), st.spinner("Making the preview…"):
            out = table_rows_preview(spec.data.source, source_stamp(spec.data.source), spec.data.model_dump_json(),
                                     spec.prepare.model_dump_json(), _steps_json(spec), seed)
            if not out["numeric"]:
                st.caption("No numeric columns: the categories are encoded as chosen above, and noise has "
                           "nothing to change.")
                return
            if out["steps"]:
                st.caption("A few training rows' numbers as the model sees them (filled and scaled), and the same "
                           "rows after one random draw of the augmentation. Categories are not changed.")
                left, right = st.columns(2)
                left.markdown("**Prepared**")
                left.dataframe(out["prepared"], key="prepare.preview.before")
                right.markdown("**After augmentation**")
                right.dataframe(out["after"], key="prepare.preview.after")
            else:
                st.caption("A few rows' numbers as they are in the table, and as the model sees them (filled "
                           "and scaled). Add an augmentation step to see what it changes.")
                left, right = st.columns(2)
                left.markdown("**In the table**")
                left.dataframe(out["raw"], key="prepare.preview.raw")
                right.markdown("**Prepared**")
                right.dataframe(out["prepared"], key="prepare.preview.before")


def text_preview(spec: ProjectSpec) -> None:
    with st.container(border=True):
        seed = _preview_head("Preview")
        with guard(), st.spinner("Making the preview…"):
            frame = text_aug_preview(spec.data.source, source_stamp(spec.data.source), spec.data.text,
                                     spec.data.target, spec.prepare.text.model_dump_json(),
                                     spec.prepare.split.model_dump_json(), _steps_json(spec), seed)
            if json.loads(_steps_json(spec)):
                st.caption("Training texts as the model reads them (the words it knows, in order; [UNK] is an "
                           "unknown word) and after one random draw of the augmentation (▢ = a blanked word).")
                st.table(frame)
            else:
                st.caption("Training texts as the model reads them: the words it knows, in order ([UNK] is an "
                           "unknown word). Add an augmentation step to see what it changes.")
                st.table(frame[["as the model reads it"]])


def series_preview(spec: ProjectSpec) -> None:
    with st.container(border=True):
        seed = _preview_head("Preview")
        with guard():
            plan = series_plan(spec.data.source, source_stamp(spec.data.source), spec.data.model_dump_json(),
                               spec.prepare.series.model_dump_json(), spec.prepare.split.model_dump_json())
            if not plan["examples"]:
                st.caption("The series is too long to cut a preview window here; training cuts them as set above.")
                return
            example = plan["examples"][seed % len(plan["examples"])]
            steps = _steps_json(spec)
            after = series_aug_preview(example["x"], steps, seed) if json.loads(steps) else None
            st.plotly_chart(window_figure(example["x"], after, example["y"], plan["features"], plan["target_idx"]),
                            width="stretch", key="prepare.preview.window")
            shifted = getattr(spec.prepare.series, "predict", "level") == "change"
            st.caption("One training window as the model sees it (scaled"
                       + (", then shifted so that its last value is 0), " if shifted else "), ")
                       + ("the same window after one random draw of the augmentation (dashed), " if after else "")
                       + "and the steps it learns to forecast (green).")

