"""Template: `main()` for table projects: prepare on the training rows, train, test, save an end-to-end model."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from layerlab.codegen.templates.generated import build_model, compile_model, load_data
from layerlab.codegen.templates.labels import _dedupe, check_column, drop_missing_target, labels
from layerlab.codegen.templates.project import SPEC
from layerlab.codegen.templates.training import (
    CLASS_WEIGHTS,
    _class_weights,
    add_augmentation,
    arguments,
    fit_all,
    make_dataset,
    part,
    report,
)
from layerlab.data.split import split_indices
from layerlab.prep.prepare import usable_features
from layerlab.prep.tabular import fit_table, raw_inputs

# ---- the script starts here ----


def main() -> None:
    args = arguments()
    keras.utils.set_random_seed(SPEC.train.seed)
    df = load_data(args.data)
    target = check_column(df, SPEC.data.target, "target")
    notes: list[str] = []
    df = drop_missing_target(df, target, notes)
    features = usable_features(df, SPEC, notes)
    task = SPEC.data.task
    if task == "classification":
        y, class_names = labels(df[target], target)
        split = split_indices(len(df), SPEC.prepare.split, y if SPEC.prepare.split.stratify else None)
    else:
        y_raw = pd.to_numeric(df[target], errors="coerce").to_numpy(dtype="float32")
        class_names = []
        split = split_indices(len(df), SPEC.prepare.split)
        center, spread = float(y_raw[split.train].mean()), float(y_raw[split.train].std() or 1.0)
        y = ((y_raw - center) / spread).astype("float32")
    split = _dedupe(split, pd.util.hash_pandas_object(df[features], index=False).to_numpy(), notes, "rows")
    for note in notes:
        print(note)
    fit = fit_table(df.iloc[split.train], features, SPEC.prepare.table)
    print(f"{len(df)} rows; {len(features)} input columns encoded as {fit.width} values per row.")
    x = raw_inputs(df, fit.columns)
    pre = fit.model
    core = build_model((fit.width,))
    inputs = {k: keras.Input(shape=(1,), name=k, dtype=t.dtype) for k, t in pre.input.items()}
    train_model = keras.Model(inputs, core(add_augmentation(pre(inputs))))
    compile_model(train_model)
    weights = _class_weights(y[split.train], len(class_names)) if CLASS_WEIGHTS else None
    fit_all(train_model, core, make_dataset(part(x, split.train), y[split.train], True),
            make_dataset(part(x, split.validation), y[split.validation], False), args, weights)
    test_ds = make_dataset(part(x, split.test), y[split.test], False)
    report(train_model, test_ds)

    # The end-to-end model takes raw columns (numbers, or strings for categories).
    out = core(pre(inputs))
    if task == "regression":
        out = keras.layers.Normalization(mean=center, variance=spread ** 2, invert=True, name="target_units")(out)
    e2e = keras.Model(inputs, out, name="layerlab_inference")
    if task == "regression":
        pred = np.asarray(e2e.predict(test_ds, verbose=0)).ravel()
        print(f"Test mean absolute error of `{target}`: {np.mean(np.abs(pred - y_raw[split.test])):.4f}")
    e2e.save(args.out)
    print(f"Saved {args.out}; inputs: {', '.join(c['name'] for c in fit.columns)}")
