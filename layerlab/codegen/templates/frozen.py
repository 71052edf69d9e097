"""Template: freezing a layer after it is made, as Layerlab's `build_model` does (`layer.trainable = False`)."""

from __future__ import annotations

import keras

# ---- the script starts here ----


def frozen(layer: keras.layers.Layer) -> keras.layers.Layer:
    """The layer with its weights and those of every layer inside it frozen (batch normalisation in it then
    runs in inference mode). Set after the layer is made: its `trainable=False` argument would leave the
    layers it makes inside itself trainable."""
    layer.trainable = False
    return layer
