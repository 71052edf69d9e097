"""Template: `main()` for image projects: split, train, test, and save a model that takes raw pixels."""

from __future__ import annotations

import hashlib

import keras
import numpy as np

from layerlab.codegen.templates.generated import build_model, compile_model, load_data
from layerlab.codegen.templates.labels import _dedupe
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

# ---- the script starts here ----


def main() -> None:
    args = arguments()
    keras.utils.set_random_seed(SPEC.train.seed)
    images, labels, class_names = load_data(args.data)
    print(f"{len(labels)} images of {len(class_names)} classes, {images.shape[1:]} each.")
    split = split_indices(len(labels), SPEC.prepare.split, labels if SPEC.prepare.split.stratify else None)
    notes: list[str] = []
    split = _dedupe(split, np.array([hashlib.blake2b(a.tobytes(), digest_size=12).hexdigest() for a in images],
                                    dtype=object), notes, "images")
    for note in notes:
        print(note)
    prep = SPEC.prepare.image
    x = images.astype("float32") * (1.0 / 255.0 if prep.rescale else 1.0)
    sizes = {k: len(getattr(split, k)) for k in ("train", "validation", "test")}
    print(f"Split: {sizes}")
    core = build_model(x.shape[1:])
    inputs = keras.Input(shape=x.shape[1:], name="pixels")
    train_model = keras.Model(inputs, core(add_augmentation(inputs)))
    compile_model(train_model)
    y_tr = labels[split.train]
    weights = _class_weights(y_tr, len(class_names)) if CLASS_WEIGHTS else None
    fit_all(train_model, core, make_dataset(x[split.train], y_tr, True),
            make_dataset(x[split.validation], labels[split.validation], False), args, weights)
    report(train_model, make_dataset(x[split.test], labels[split.test], False))

    # The end-to-end model takes raw pixels (0-255) of any size, like Layerlab's model.keras.
    h, w, c = x.shape[1:]
    raw = keras.Input(shape=(None, None, c), name="pixels")
    z = keras.layers.Resizing(h, w, interpolation="bilinear", name="resize")(raw)
    if prep.rescale:
        z = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(z)
    keras.Model(raw, core(z), name="layerlab_inference").save(args.out)
    print(f"Saved {args.out}; classes: {class_names}")
