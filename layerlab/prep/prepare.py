"""From a spec to arrays ready for the pipeline: load, validate, split, fit preparation.

One preparer per data kind (`prepare_images`, …; the kind objects in `layerlab/kinds/` point to
them and `prepare` asks the kind). Each returns a `Prepared`: the examples and their split,
the DataInfo the model is built from, and how to wrap the trained core model — for
training (`train_model`) and as the saved end-to-end model that takes raw inputs
(`inference_model`). Preparation is always fitted on the training split only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

# progress(fraction done, what is happening in words), e.g. (0.4, "Decoding images: 24,000 of 60,000")
Progress = Callable[[float, str], None]

import numpy as np

from layerlab.data.info import DataInfo
from layerlab.data.split import Split, split_indices
from layerlab.errors import DataError
from layerlab.spec import ProjectSpec


def _identity(core: Any) -> Any:
    return core


@dataclass
class Prepared:
    """All examples with their split; `x` is an array (or dict of arrays), `y` the targets.

    For a large image set `x` is `layerlab.data.image_cache.ImageRows`, which reads the decoded
    images from their cache on disk when indexed; `part` then gives ImageRows too.
    """

    info: DataInfo
    x: Any
    y: np.ndarray
    split: Split
    names: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    train_model: Callable[[Any], Any] = _identity
    inference_model: Callable[[Any], Any] | None = None
    raw: Any = None  # what a user would recognise per example (texts, rows, target values)

    def part(self, which: str) -> tuple[Any, np.ndarray]:
        idx = getattr(self.split, which)
        if isinstance(self.x, dict):
            return {k: v[idx] for k, v in self.x.items()}, self.y[idx]
        return self.x[idx], self.y[idx]


# ---- images ---------------------------------------------------------------------------------


def prepare_images(spec: ProjectSpec, progress: Progress | None) -> Prepared:
    from layerlab.data.image_cache import load_images
    from layerlab.data.images import open_images

    src = open_images(spec.data.source, progress)
    data = load_images(src, spec.prepare.image, progress)
    prep = spec.prepare.image
    channels = 1 if prep.color == "grayscale" else 3
    info = DataInfo(kind="images", task="classification", input_shape=(prep.height, prep.width, channels),
                    class_names=data.class_names, extra={"pixel_max": 1.0 if prep.rescale else 255.0})
    split = split_indices(len(data.labels), spec.prepare.split, data.labels if spec.prepare.split.stratify else None,
                          data.class_names)
    notes: list[str] = []
    split = _dedupe(split, data.hashes, notes, "images")
    if data.skipped:
        notes.append(f"{len(data.skipped)} file(s) skipped: " + "; ".join(f"{n} ({r})" for n, r in data.skipped[:5])
                     + (" …" if len(data.skipped) > 5 else ""))
    if data.cache is not None:
        size = f"{data.images.nbytes / 1e6:,.0f} MB"
        where = "in memory" if isinstance(data.images, np.ndarray) else "streamed from disk batch by batch"
        notes.append(f"{'Reused the' if data.from_cache else 'Decoded the'} {len(data.labels):,} images "
                     f"({size} at {prep.height}×{prep.width}) {'cached' if data.from_cache else 'once into a cache'} "
                     f"on disk; training reads them {where}.")

    def inference(core: Any) -> Any:
        import keras

        h, w, c = info.input_shape
        raw = keras.Input(shape=(None, None, c), name="pixels")
        x = keras.layers.Resizing(h, w, interpolation="bilinear", name="resize")(raw)
        if prep.rescale:
            x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(x)
        return keras.Model(raw, core(x), name="layerlab_inference")

    return Prepared(info, data.images, data.labels, split, data.names, notes, inference_model=inference,
                    raw={"source_indices": data.source_indices})


# ---- shared for tables and text -------------------------------------------------------------


def labels(values: Any, column: str) -> tuple[np.ndarray, list[str]]:
    """Class indices and names (sorted) for a label column; refuses unusable targets."""
    import pandas as pd

    s = pd.Series(values)
    if s.isna().all():
        raise DataError(f"The target column `{column}` is empty.", "Pick another target column.")
    # Each distinct value once (not each of 2,000,000 rows as a Python object): its text names the class.
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    texts = [str(v) for v in np.asarray(uniques, dtype=object)]
    names = sorted({t for t, v in zip(texts, np.asarray(uniques, dtype=object)) if not pd.isna(v)}, key=_natural)
    if len(names) < 2:
        raise DataError(f"The target column `{column}` has only one class (`{names[0]}`); a classifier needs two or more.",
                        "Pick another target, or add examples of other classes.")
    index = {n: i for i, n in enumerate(names)}
    y = np.array([index[t] for t in texts], dtype="int64")[codes]
    return y, names


def _natural(text: str) -> tuple:
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


def check_column(df: Any, column: str | None, role: str) -> str:
    if not column:
        raise DataError(f"No {role} column is set.", f"Choose the {role} column on the Data page (or pass --{role} on the CLI).")
    if column not in df.columns:
        raise DataError(f"The {role} column `{column}` is not in the data.",
                        f"Pick one of: {', '.join(map(str, list(df.columns)[:20]))}.")
    return column


def load_frame(spec: ProjectSpec) -> Any:
    """The table behind a table, text or series project (a sample, or a file read with read_table)."""
    from layerlab.samples import get_sample
    from layerlab.workspace import Source

    name = Source(spec.data.source).sample
    if name is not None:
        return get_sample(name).load()
    from layerlab.data.tables import read_table

    return read_table(spec.data.source).frame


def _dedupe(split: Split, keys: np.ndarray, notes: list[str], what: str) -> Split:
    from layerlab.data.split import drop_test_duplicates

    split, dropped = drop_test_duplicates(split, keys)
    if dropped:
        notes.append(f"{dropped} test {what} also appear in the training data and were left out of the test set, "
                     "so the test score is not flattered by examples the model has already seen.")
    return split


def drop_missing_target(df: Any, column: str, notes: list[str]) -> Any:
    missing = df[column].isna()
    if missing.all():
        raise DataError(f"The target column `{column}` is empty.", "Pick another target column.")
    if missing.any():
        notes.append(f"{int(missing.sum())} row(s) without a `{column}` value were left out.")
        df = df[~missing].reset_index(drop=True)
    return df


def text_rows(df: Any, text_col: str, notes: list[str]) -> tuple[Any, np.ndarray]:
    """The rows with a text, and their texts as str (rows with an empty text are left out)."""
    texts = df[text_col].to_numpy(dtype=object)
    texts = np.array(["" if (t is None or (isinstance(t, float) and np.isnan(t))) else str(t) for t in texts], dtype=object)
    empty = np.array([not t.strip() for t in texts], dtype=bool)
    if len(empty) and empty.mean() > 0.5:
        raise DataError(f"The text column `{text_col}` is mostly empty ({empty.mean():.0%} of rows).",
                        "Pick the column that holds the texts.")
    if empty.any():
        notes.append(f"{int(empty.sum())} row(s) with an empty text were left out.")
        df, texts = df[~empty].reset_index(drop=True), texts[~empty]
    return df, texts


def training_split(n: int, spec: ProjectSpec, y: np.ndarray | None = None,
                   class_names: Sequence[str] | None = None) -> Split:
    """The split of `n` rows or texts that training uses (stratified by the class indices `y` when asked;
    `class_names` name a class in a message instead of its index)."""
    stratify = y is not None and spec.data.task == "classification" and spec.prepare.split.stratify
    return split_indices(n, spec.prepare.split, y if stratify else None, class_names)


# ---- tables ---------------------------------------------------------------------------------


def table_features(df: Any, spec: ProjectSpec) -> list[str]:
    d = spec.data
    skip = {d.target, d.date, *d.ignore}
    cols = d.features if d.features is not None else [c for c in df.columns if c not in skip]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(f"The feature column `{missing[0]}` is not in the data.", "Update the column roles on the Data page.")
    return [c for c in cols if c not in skip]


def usable_features(df: Any, spec: ProjectSpec, notes: list[str]) -> list[str]:
    """The table's feature columns, without constant and ID-like ones when the spec says so."""
    import pandas as pd

    features = table_features(df, spec)
    if not spec.prepare.table.drop_constant_and_ids:
        return features
    kept = []
    for c in features:
        s = df[c]
        if s.nunique(dropna=True) <= 1:
            notes.append(f"Dropped `{c}`: it has the same value in every row.")
        elif s.nunique() == len(df) > 20 and not pd.api.types.is_float_dtype(s):
            notes.append(f"Dropped `{c}`: every row has a different value, like an ID.")
        else:
            kept.append(c)
    return kept


class RowNames(Sequence):
    """`row 1`, `row 2`, … made when asked: a 2,000,000-row table needs no list of 2,000,000 names."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [f"row {k + 1}" for k in range(*i.indices(self.n))]
        i = int(i)
        if not -self.n <= i < self.n:
            raise IndexError(i)
        return f"row {i % self.n + 1}"


class _RowsOf:
    """The columns of `df` at `rows`, taken one column at a time (`view[name]`): fitting the
    preparation on the training rows without a copy of the whole training frame."""

    def __init__(self, df: Any, rows: np.ndarray) -> None:
        self.df, self.rows = df, rows

    def __getitem__(self, name: str) -> Any:
        return self.df[name].iloc[self.rows]

    def __len__(self) -> int:
        return len(self.rows)


def prepare_table(spec: ProjectSpec, progress: Progress | None) -> Prepared:
    import pandas as pd

    from layerlab.prep.tabular import encode_categories, fit_table, raw_inputs

    df = load_frame(spec)
    target = check_column(df, spec.data.target, "target")
    notes: list[str] = []
    df = drop_missing_target(df, target, notes)
    task = spec.data.task
    if task == "classification":  # before the features: a one-class target is the problem to name
        y, class_names = labels(df[target], target)
    features = usable_features(df, spec, notes)
    if task == "classification":
        split = training_split(len(df), spec, y, class_names)
    elif task == "regression":
        yv = pd.to_numeric(df[target], errors="coerce")
        if yv.isna().any():
            raise DataError(f"The target `{target}` must hold numbers for regression, but has {df[target][yv.isna()].iloc[0]!r}.",
                            "Pick a numeric target, or choose classification.")
        class_names = []
        split = training_split(len(df), spec)
        y_raw = yv.to_numpy(dtype="float32")
    else:
        raise DataError("A table is used for classification or regression.", "For forecasting, choose time-series data.")
    split = _dedupe(split, pd.util.hash_pandas_object(df[features], index=False).to_numpy(), notes, "rows")
    fit = fit_table(_RowsOf(df, split.train), features, spec.prepare.table)
    extra: dict[str, Any] = {"columns": fit.columns, "numeric_width": fit.numeric_width, "target": target}
    if task == "regression":
        center, spread = float(y_raw[split.train].mean()), float(y_raw[split.train].std() or 1.0)
        y = ((y_raw - center) / spread).astype("float32")
        extra.update(target_center=center, target_spread=spread)
    info = DataInfo(kind="table", task=task, input_shape=(fit.width,), class_names=class_names, extra=extra)
    x = encode_categories(raw_inputs(df, fit.columns), fit)  # the model trains on numbers only
    pre = fit.model

    def train_model(core: Any) -> Any:
        import keras

        from layerlab.prep.augment import pipeline

        inputs = {k: keras.Input(shape=(1,), name=k, dtype=t.dtype) for k, t in fit.encoder.input.items()}
        z = fit.encoder(inputs)
        aug = pipeline(spec.prepare.augment, seed=spec.train.seed, info=info)
        if aug is not None:
            z = aug(z)
        return keras.Model(inputs, core(z), name="layerlab_train")

    def inference(core: Any) -> Any:
        import keras

        inputs = {k: keras.Input(shape=(1,), name=k, dtype=t.dtype) for k, t in pre.input.items()}
        out = core(pre(inputs))
        if task == "regression":
            out = keras.layers.Normalization(mean=extra["target_center"], variance=extra["target_spread"] ** 2,
                                             invert=True, name="target_units")(out)
        return keras.Model(inputs, out, name="layerlab_inference")

    # Only the test rows of the table are kept (evaluation shows them): the whole frame is let go
    # before training, so a 2,000,000-row table is not held beside its inputs.
    return Prepared(info, x, y, split, RowNames(len(df)), notes + fit.notes, train_model=train_model,
                    inference_model=inference,
                    raw={"frame": df[features + [target]].iloc[split.test], "frame_rows": split.test,
                         "y": y_raw if task == "regression" else None})


# ---- text -----------------------------------------------------------------------------------


def prepare_text(spec: ProjectSpec, progress: Progress | None) -> Prepared:
    from layerlab.prep.text import fit_text, vectorize

    df = load_frame(spec)
    text_col = check_column(df, spec.data.text, "text")
    target = check_column(df, spec.data.target, "target")
    notes: list[str] = []
    df, texts = text_rows(drop_missing_target(df, target, notes), text_col, notes)
    if spec.data.task != "classification":
        raise DataError("Text data is used for classification.", "Choose classification as the task.")
    y, class_names = labels(df[target], target)
    split = training_split(len(texts), spec, y, class_names)
    split = _dedupe(split, np.array([" ".join(t.lower().split()) for t in texts], dtype=object), notes, "texts")
    fit = fit_text(texts[split.train], spec.prepare.text)
    ids = vectorize(fit.vectorizer, texts)
    info = DataInfo(kind="text", task="classification", input_shape=(spec.prepare.text.sequence_length,),
                    class_names=class_names,
                    extra={"vocab_size": fit.vocab_size, "sequence_length": spec.prepare.text.sequence_length,
                           "coverage": fit.coverage, "text": text_col, "target": target})
    vec = fit.vectorizer

    def inference(core: Any) -> Any:
        import keras

        raw = keras.Input(shape=(1,), dtype="string", name="text")
        return keras.Model(raw, core(vec(raw)), name="layerlab_inference")

    names = [t[:80] for t in texts]
    return Prepared(info, ids, y, split, names, notes + fit.notes, inference_model=inference, raw={"texts": texts})


# ---- time series ----------------------------------------------------------------------------


def series_columns(df: Any, spec: ProjectSpec) -> tuple[list[str], list[str]]:
    """(features, targets) of a series project: numeric value columns, and which to forecast."""
    import pandas as pd

    d = spec.data
    skip = {d.date, *d.ignore}
    if d.features is not None:
        features = [c for c in d.features if c not in skip]
    else:
        features = [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])]
    targets = spec.prepare.series.targets or ([d.target] if d.target else features[:1])
    for c in targets:
        if c not in features:
            features.append(c)
    for c in features:
        check_column(df, c, "value")
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise DataError(f"The value column `{c}` does not hold numbers.", "Mark it as ignored, or pick numeric columns.")
    if not targets:
        raise DataError("No value column to forecast.", "Choose the target column on the Data page.")
    return features, targets


def prepare_series(spec: ProjectSpec, progress: Progress | None) -> Prepared:
    from layerlab.data.series import fill_gaps, prepare_series
    from layerlab.data.split import Split
    from layerlab.prep.series import make_windows

    if spec.data.task != "forecasting":
        raise DataError("Time-series data is used for forecasting.", "Choose forecasting as the task.")
    df = load_frame(spec)
    if spec.data.date:
        check_column(df, spec.data.date, "date")
    features, targets = series_columns(df, spec)
    sf = fill_gaps(prepare_series(df, spec.data.date, features), spec.prepare.series.fill)
    notes = list(sf.notes)
    frame = sf.frame
    values = frame[features].to_numpy(dtype="float64")
    if np.isnan(values).any():
        frame = frame.dropna(subset=features).reset_index(drop=True)
        values = frame[features].to_numpy(dtype="float64")
        notes.append("Rows with missing values that could not be filled were dropped.")
    target_idx = [features.index(t) for t in targets]
    prep = spec.prepare.series
    win = make_windows(values, target_idx, prep, spec.prepare.split)
    split = Split(win.parts["train"], win.parts["validation"], win.parts["test"])
    dates = frame[spec.data.date].astype(str).tolist() if spec.data.date else [str(i) for i in range(len(frame))]
    info = DataInfo(kind="series", task="forecasting", input_shape=(prep.window, len(features)),
                    outputs=prep.horizon * len(targets),
                    extra={"horizon": prep.horizon, "n_targets": len(targets), "targets": targets, "features": features,
                           "center": win.center.tolist(), "spread": win.spread.tolist(), "window": prep.window,
                           "date": spec.data.date, "freq": sf.freq, "last_dates": dates[-prep.window:],
                           "last_window": values[-prep.window:].tolist(), "bounds": list(win.bounds)})
    tc, ts = win.center[target_idx], win.spread[target_idx]

    def inference(core: Any) -> Any:
        import keras

        from layerlab.prep.layers import MinusLastStep, PlusLastStep

        raw = keras.Input(shape=(prep.window, len(features)), name="window")
        x = keras.layers.Normalization(mean=win.center.tolist(), variance=(win.spread ** 2).tolist(), name="scale")(raw)
        if prep.predict == "change":
            out = PlusLastStep(target_idx, name="add_last_value")([core(MinusLastStep(name="change")(x)), x])
        else:
            out = core(x)
        out = keras.layers.Normalization(mean=tc.tolist(), variance=(ts ** 2).tolist(), invert=True,
                                         name="target_units")(out)
        return keras.Model(raw, out, name="layerlab_inference")

    names = [dates[s] if s < len(dates) else str(s) for s in win.start]
    return Prepared(info, win.x, win.y, split, names, notes, inference_model=inference,
                    raw={"dates": dates, "values": values, "start": win.start, "last": win.last,
                         "relative": prep.predict == "change"})


def prepare(spec: ProjectSpec, progress: Progress | None = None) -> Prepared:
    """Load, split and fit the preparation of the project's data. Raises DataError with a plain message.

    `progress(fraction, text)` hears how the long steps go (unpacking, decoding images): the
    training worker passes one so the run's status shows them.
    """
    from layerlab.kinds import get_kind

    return get_kind(spec.data.kind).prepare(spec, progress)
