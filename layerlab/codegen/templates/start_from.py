"""Template: a project that starts from an earlier Layerlab run takes that run's weights, layer by layer.

As `layerlab.models.start_from.copy_start_weights` does in training: every body layer the earlier model has
by name takes its weights (they must have the same shapes), layers added since keep fresh weights, the head
is new. The script cannot read Layerlab's run folders: the earlier run's model.keras (Predict → Export) is
given with `--start-from`. tests/engine/test_codegen_templates.py pins this to the engine.
"""

from __future__ import annotations

import os

import keras

# ---- the script starts here ----
START_FROM_RUN = ""  # the Layerlab run whose layers this project starts from ("" when it starts afresh)
START_FROM_LAYERS: list = []  # this model's layers that take the earlier run's weights (when it has them)


def copy_start_weights(core: keras.Model, path: str) -> int:
    """Copy the earlier run's weights (its model.keras, at `path`) into the body layers it has by name; returns
    how many layers took weights."""
    if not START_FROM_RUN:
        return 0
    if not path or not os.path.isfile(path):
        raise SystemExit(f"This project starts from the weights of the Layerlab run {START_FROM_RUN}, and this "
                         f"script needs them: {'there is no file ' + repr(path) if path else 'no file was given'}. "
                         "Download that run's Keras model in Layerlab (Predict → Export → model.keras) and give "
                         "it with --start-from PATH.")
    earlier = keras.saving.load_model(path, compile=False)
    models = [earlier, *(layer for layer in earlier.layers if isinstance(layer, keras.Model))]
    theirs = {layer.name: layer for model in models for layer in model.layers}
    took = 0
    for name in START_FROM_LAYERS:
        if name not in theirs:
            continue
        ours = core.get_layer(name)
        a, b = [tuple(w.shape) for w in theirs[name].weights], [tuple(w.shape) for w in ours.weights]
        if a != b:
            raise SystemExit(f"The layer `{name}` cannot take the weights of run {START_FROM_RUN}: there its weights "
                             f"have the shapes {a}, here {b}. Prepare the data as that run did.")
        ours.set_weights(theirs[name].get_weights())
        took += 1
    new = len(START_FROM_LAYERS) - took
    print(f"Starting from run {START_FROM_RUN}: {took} layer(s) took its weights" + (f", {new} new" if new else "")
          + "; new head.")
    return took
