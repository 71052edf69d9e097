"""Template: `main()` for series projects: windows split by time, a model that forecasts in the data's units."""

from __future__ import annotations

import keras
import numpy as np

from layerlab.codegen.templates.generated import build_model, compile_model, load_data
from layerlab.codegen.templates.project import SPEC
from layerlab.codegen.templates.series_load import series_values
from layerlab.codegen.templates.training import add_augmentation, arguments, fit_all, make_dataset, report
from layerlab.prep.layers import MinusLastStep, PlusLastStep
from layerlab.prep.prepare import series_columns
from layerlab.prep.series import make_windows

# ---- the script starts here ----


def main() -> None:
    args = arguments()
    keras.utils.set_random_seed(SPEC.train.seed)
    df = load_data(args.data)
    features, targets = series_columns(df, SPEC)
    _frame, values = series_values(df, features)
    target_idx = [features.index(t) for t in targets]
    prep = SPEC.prepare.series
    win = make_windows(values, target_idx, prep, SPEC.prepare.split)
    print(f"{len(values)} steps of {features}; {len(win.x)} windows of {prep.window} steps, horizon {prep.horizon}.")
    core = build_model(win.x.shape[1:])
    inputs = keras.Input(shape=win.x.shape[1:], name="window")
    train_model = keras.Model(inputs, core(add_augmentation(inputs)))
    compile_model(train_model)
    fit_all(train_model, core, make_dataset(win.x[win.parts["train"]], win.y[win.parts["train"]], True),
            make_dataset(win.x[win.parts["validation"]], win.y[win.parts["validation"]], False), args)
    report(train_model, make_dataset(win.x[win.parts["test"]], win.y[win.parts["test"]], False))

    # The end-to-end model takes a raw window (steps x value columns) and forecasts in the data's units.
    tc, ts = win.center[target_idx], win.spread[target_idx]
    raw = keras.Input(shape=(prep.window, len(features)), name="window")
    x = keras.layers.Normalization(mean=win.center.tolist(), variance=(win.spread ** 2).tolist(), name="scale")(raw)
    if prep.predict == "change":
        out = PlusLastStep(target_idx, name="add_last_value")([core(MinusLastStep(name="change")(x)), x])
    else:
        out = core(x)
    out = keras.layers.Normalization(mean=tc.tolist(), variance=(ts ** 2).tolist(), invert=True,
                                     name="target_units")(out)
    e2e = keras.Model(raw, out, name="layerlab_inference")
    e2e.save(args.out)
    nxt = np.asarray(e2e(values[-prep.window:][None].astype("float32")))[0]
    print(f"Saved {args.out}; the next {prep.horizon} step(s) of {targets}: {nxt.tolist()}")
