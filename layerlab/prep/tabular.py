"""Table preparation as Keras layers, fitted on the training rows only.

`fit_table` returns a preprocessing model (raw columns in → one float vector out; training looks the
categories up beforehand, see `encode_categories`) plus the column facts the Predict form needs
(ranges, categories, defaults). Numeric columns come first in the vector, so noise augmentation can
target just them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from layerlab.errors import DataError
from layerlab.settings import limits
from layerlab.spec import TablePrep

MISSING_TOKEN = "[missing]"


@dataclass
class TableFit:
    columns: list[dict[str, Any]]
    model: Any
    width: int
    numeric_width: int
    notes: list[str] = field(default_factory=list)
    lookup: Any = None  # raw columns → categories as vocabulary indices (see fit_table)
    encoder: Any = None  # those → the row vector: what the training model starts with


def input_name(i: int, column: str) -> str:
    """A Keras-safe input name that still reads like the column."""
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", str(column)).strip("_")[:40] or "col"
    return f"c{i}_{slug}"


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def raw_inputs(df: pd.DataFrame, columns: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Raw column values as the saved model takes them: floats (NaN = missing) or strings ('' = missing)."""
    out: dict[str, np.ndarray] = {}
    for col in columns:
        name = col["name"]
        if name not in df.columns:
            raise DataError(f"The column `{name}` is missing.", f"Provide every column the model was trained on: "
                            f"{', '.join(c['name'] for c in columns)}.")
        s = df[name]
        if col["type"] == "numeric":
            values = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float32", na_value=np.nan)
            bad = s.notna() & np.isnan(values)
            if bad.any():
                example = s[bad].iloc[0]
                raise DataError(f"The column `{name}` should hold numbers, but has {example!r}.",
                                "Fix or remove that value.")
        else:
            try:  # each distinct value made a string once, shared by its rows: 8 bytes a row, not a str each
                codes, uniques = pd.factorize(s, use_na_sentinel=True)
                texts = np.array([str(v) for v in np.asarray(uniques, dtype=object)] + [""], dtype=object)
                values = texts[codes]  # a missing value (code -1) takes the last: ""
            except TypeError:  # unhashable cells (lists, dicts)
                values = np.array(["" if pd.isna(v) else str(v) for v in s.to_numpy(dtype=object)], dtype=object)
        out[col["input"]] = values.reshape(-1, 1)
    return out


def analyze_columns(train: pd.DataFrame, features: list[str], prep: TablePrep) -> list[dict[str, Any]]:
    """Per column: type, fill value, scaling and categories learned from `train` (pandas only)."""
    if not features:
        raise DataError("No input columns are left to learn from.", "Mark at least one column as a feature.")
    columns: list[dict[str, Any]] = []
    for i, name in enumerate(features):
        s = train[name]
        col: dict[str, Any] = {"name": str(name), "input": input_name(i, name)}
        if is_numeric(s):
            v = pd.to_numeric(s, errors="coerce").astype("float64")
            fill = {"mean": v.mean(), "median": v.median(), "constant": prep.fill_value}[prep.impute_numeric]
            fill = 0.0 if pd.isna(fill) else float(fill)
            filled = v.fillna(fill)
            if prep.scale == "standardize":
                center, spread = float(filled.mean()), float(filled.std(ddof=0))
            elif prep.scale == "minmax":
                center, spread = float(filled.min()), float(filled.max() - filled.min())
            else:
                center, spread = 0.0, 1.0
            col.update(type="numeric", fill=fill, center=center, spread=spread if spread > 0 else 1.0,
                       min=float(v.min()) if v.notna().any() else 0.0, max=float(v.max()) if v.notna().any() else 0.0,
                       default=float(v.median()) if v.notna().any() else 0.0,
                       integer=bool(v.dropna().mod(1).eq(0).all()))
        else:
            # Count each distinct value, then strip those few: no stripped copy of a 2,000,000-row column.
            raw_counts = s.value_counts(dropna=True)
            keys = raw_counts.index.to_series().astype("string").str.strip()
            counts = raw_counts.groupby(keys.to_numpy(dtype=object), sort=False).sum()
            counts = counts[(counts.index != "") & (counts > 0)].sort_values(ascending=False, kind="stable")
            fill = MISSING_TOKEN if prep.impute_categorical == "missing_token" or counts.empty else str(counts.index[0])
            vocab = [str(v) for v in counts.index[: min(1000, limits().vocabulary)]]
            if fill not in vocab:
                vocab.append(fill)
            col.update(type="categorical", fill=fill, categories=vocab,
                       default=str(counts.index[0]) if not counts.empty else fill)
        columns.append(col)
    columns.sort(key=lambda c: c["type"] != "numeric")  # numeric first: see module docstring
    return columns


def encoded_width(columns: list[dict[str, Any]], prep: TablePrep) -> int:
    """Length of the prepared row vector (what the model's first layer sees)."""
    per_cat = {"one_hot": lambda c: len(c["categories"]) + 1, "integer": lambda c: 1,
               "embedding": lambda c: prep.embedding_dim}[prep.encode]
    return sum(1 if c["type"] == "numeric" else per_cat(c) for c in columns)


def fit_table(train: pd.DataFrame, features: list[str], prep: TablePrep) -> TableFit:
    """Fit imputation, scaling and encoding on `train` and build the preprocessing model.

    It is two models in a row: `lookup` (raw columns → the same columns with each category as its index in
    the vocabulary, 0 for one not seen in training) and `encoder` (those → one float vector). Training feeds
    the encoder with indices looked up before the data reaches the model (`encode_categories`): no string
    tensor enters the training model, so it runs under tf.distribute (whose first batch is mean-reduced over
    the replicas, which strings cannot be) and XLA can compile it. `model` chains both for the saved model.
    """
    import keras

    from layerlab.prep.layers import FillEmptyString, FillMissing

    columns = analyze_columns(train, features, prep)
    numeric = [c for c in columns if c["type"] == "numeric"]
    raw = {c["input"]: keras.Input(shape=(1,), name=c["input"], dtype="float32" if c in numeric else "string")
           for c in columns}
    looked_up = {c["input"]: raw[c["input"]] if c in numeric else keras.layers.StringLookup(
                 vocabulary=c["categories"], output_mode="int", name=f"lookup_{c['input']}")(
                 FillEmptyString(c["fill"], name=f"impute_{c['input']}")(raw[c["input"]])) for c in columns}
    lookup = keras.Model(raw, looked_up, name="table_lookup")
    inputs = {c["input"]: keras.Input(shape=(1,), name=c["input"], dtype="float32" if c in numeric else "int64")
              for c in columns}
    parts = []
    if numeric:
        x = keras.layers.Concatenate(name="numbers")([inputs[c["input"]] for c in numeric]) if len(numeric) > 1 \
            else inputs[numeric[0]["input"]]
        x = FillMissing([c["fill"] for c in numeric], name="impute_numbers")(x)
        if prep.scale != "none":
            x = keras.layers.Normalization(mean=[c["center"] for c in numeric],
                                           variance=[c["spread"] ** 2 for c in numeric], name="scale_numbers")(x)
        parts.append(x)
    numeric_width = len(numeric)
    for c in columns:
        if c["type"] != "categorical":
            continue
        x = inputs[c["input"]]
        if prep.encode == "one_hot":
            x = keras.layers.CategoryEncoding(len(c["categories"]) + 1, output_mode="one_hot",
                                              name=f"onehot_{c['input']}")(x)
        elif prep.encode == "embedding":
            x = keras.layers.Embedding(len(c["categories"]) + 1, prep.embedding_dim, name=f"embed_{c['input']}")(x)
            x = keras.layers.Flatten(name=f"flat_{c['input']}")(x)
        else:
            x = keras.layers.Rescaling(1.0 / max(1, len(c["categories"])), name=f"index_{c['input']}")(
                keras.ops.cast(x, "float32"))
        parts.append(x)
    out = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="row")(parts)
    encoder = keras.Model(inputs, out, name="table_encoding")
    model = keras.Model(raw, encoder(lookup(raw)), name="table_preprocessing")
    width = int(encoder.output.shape[-1])
    assert width == encoded_width(columns, prep), (width, encoded_width(columns, prep))
    if width > limits().columns * 10:
        raise DataError(f"After encoding, each row has {width:,} values, too many for this model.",
                        "Ignore high-cardinality columns (like names or free text), or use integer encoding.")
    return TableFit(columns, model, width, numeric_width, lookup=lookup, encoder=encoder)


def encode_categories(x: dict[str, np.ndarray], fit: TableFit) -> dict[str, np.ndarray]:
    """`raw_inputs` with each category column replaced by its vocabulary indices (int64), as the encoder
    takes them: each distinct value is looked up once, by the saved model's own lookup layers."""
    out = dict(x)
    for c in fit.columns:
        if c["type"] != "categorical":
            continue
        k = c["input"]
        codes, uniques = pd.factorize(x[k].reshape(-1), use_na_sentinel=False)
        distinct = np.asarray(uniques, dtype=object).astype(str).reshape(-1, 1)
        index = fit.lookup.get_layer(f"lookup_{k}")(fit.lookup.get_layer(f"impute_{k}")(distinct))
        out[k] = np.asarray(index, dtype="int64")[codes].reshape(x[k].shape)
    return out
