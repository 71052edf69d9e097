"""Template: `main()` for text projects: a vocabulary fitted on the training texts, a model that takes strings."""

from __future__ import annotations

import keras
import numpy as np

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
    report,
)
from layerlab.data.split import split_indices
from layerlab.prep.text import fit_text, vectorize

# ---- the script starts here ----


def main() -> None:
    args = arguments()
    keras.utils.set_random_seed(SPEC.train.seed)
    df = load_data(args.data)
    text_col = check_column(df, SPEC.data.text, "text")
    target = check_column(df, SPEC.data.target, "target")
    notes: list[str] = []
    df = drop_missing_target(df, target, notes)
    texts = np.array(["" if (t is None or (isinstance(t, float) and np.isnan(t))) else str(t)
                      for t in df[text_col].to_numpy(dtype=object)], dtype=object)
    keep = np.array([bool(t.strip()) for t in texts])
    df, texts = df[keep].reset_index(drop=True), texts[keep]
    y, class_names = labels(df[target], target)
    split = split_indices(len(texts), SPEC.prepare.split, y if SPEC.prepare.split.stratify else None)
    split = _dedupe(split, np.array([" ".join(t.lower().split()) for t in texts], dtype=object), notes, "texts")
    fit = fit_text(texts[split.train], SPEC.prepare.text)
    for note in notes + fit.notes:
        print(note)
    ids = vectorize(fit.vectorizer, texts)
    core = build_model(ids.shape[1:])
    inputs = keras.Input(shape=ids.shape[1:], dtype="int32", name="tokens")
    train_model = keras.Model(inputs, core(add_augmentation(inputs)))
    compile_model(train_model)
    weights = _class_weights(y[split.train], len(class_names)) if CLASS_WEIGHTS else None
    fit_all(train_model, core, make_dataset(ids[split.train], y[split.train], True),
            make_dataset(ids[split.validation], y[split.validation], False), args, weights)
    report(train_model, make_dataset(ids[split.test], y[split.test], False))

    # The end-to-end model takes raw strings.
    raw = keras.Input(shape=(1,), dtype="string", name="text")
    keras.Model(raw, core(fit.vectorizer(raw)), name="layerlab_inference").save(args.out)
    print(f"Saved {args.out}; classes: {class_names}")
