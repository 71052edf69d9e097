"""The layer registry: every layer a user can add from the Build page.

Each entry: name, group, parameters (type, range, default, help) and a builder that
returns a Keras layer. The Build page's widgets and the spec's validation are both
generated from this table, so adding a layer type touches this file only.

Meta keys, read by `layerlab.models.build` to explain shape errors in plain words:
- `needs`: what input the layer expects: "any"; "image" (height, width, channels);
  "sequence" (steps, features); "tokens" (the raw token ids of text, so first layer).
- `uses_info=True`: the builder takes an `info: DataInfo` keyword (vocabulary size,
  sequence length) that build_model passes.
- `check`: a function (params, input_shape) -> (message, hint) or None, for rules
  only the input shape can settle (Reshape's sizes).

This module must stay importable without Keras: builders import it (and blocks) lazily.
"""

from __future__ import annotations

import math
from typing import Any

from layerlab.errors import LayerlabError
from layerlab.registry import Param, Registry

LAYERS = Registry("layer type")

ACTIVATIONS = ("relu", "gelu", "swish", "tanh", "sigmoid", "elu", "selu", "softplus", "linear")


def _units(default: int = 64) -> Param:
    return Param("units", "int", default, "How many neurons: more can learn more, but slower and may overfit.", min=1, max=8192)


def _activation(default: str = "relu") -> Param:
    return Param("activation", "choice", default, "The non-linearity applied to each output.", choices=ACTIVATIONS)


def _filters(default: int = 32) -> Param:
    return Param("filters", "int", default, "How many patterns (feature maps) the layer learns.", min=1, max=2048)


def _kernel(default: int = 3) -> Param:
    return Param("kernel_size", "int", default, "Width of the window each filter looks at.", min=1, max=15)


def _strides() -> Param:
    return Param("strides", "int", 1, "Step between windows (2 halves the size).", min=1, max=4)


def _padding(causal: bool = False) -> Param:
    if causal:
        return Param("padding", "choice", "same",
                     "'same' keeps the length; 'valid' shrinks it by the window; 'causal' looks only at earlier steps.",
                     choices=("same", "valid", "causal"))
    return Param("padding", "choice", "same", "'same' keeps the size; 'valid' shrinks it by the window.", choices=("same", "valid"))


def _pool(default: int = 2) -> Param:
    return Param("pool_size", "int", default, "Window that is reduced to one value (2 halves the size).", min=1, max=8)


def _rate(name: str = "rate", default: float = 0.3, help: str = "Share of values dropped at each step.") -> Param:
    return Param(name, "float", default, help, min=0, max=0.95, step=0.05)


def _regularizer(l1: float, l2: float) -> Any:
    if not l1 and not l2:
        return None
    import keras

    return keras.regularizers.L1L2(l1=l1, l2=l2)


def _l1() -> Param:
    return Param("l1", "float", 0.0, "L1 weight penalty: pushes weights to exactly zero.", min=0, max=1, step=1e-4)


def _l2() -> Param:
    return Param("l2", "float", 0.0, "L2 weight penalty: keeps weights small against overfitting.", min=0, max=1, step=1e-4)


def _return_sequences() -> Param:
    return Param("return_sequences", "bool", False,
                 "Output every step (to feed another recurrent or attention layer) instead of only the last.")


def _recurrent_dropout() -> Param:
    return _rate("recurrent_dropout", 0.0, "Share of the memory connections dropped while training (slower, regularises).")


def _input_dropout() -> Param:
    return _rate("dropout", 0.0, "Share of the inputs dropped at each step while training.")


def parse_shape(text: str) -> tuple[int, ...]:
    """Read a target shape written as "4,4,8" (one -1 allowed: 'whatever is left').

    Raises:
        LayerlabError: saying what is wrong with the text.
    """
    parts = [p.strip() for p in str(text).replace("(", "").replace(")", "").replace("x", ",").split(",")]
    parts = [p for p in parts if p]
    if not parts:
        raise LayerlabError(f"the target shape {text!r} is empty.", "Write sizes separated by commas, e.g. 4,4,8.")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise LayerlabError(f"the target shape {text!r} is not a list of whole numbers.",
                            "Write sizes separated by commas, e.g. 4,4,8 (one size may be -1).") from None
    if any(d == 0 or d < -1 for d in dims) or dims.count(-1) > 1:
        raise LayerlabError(f"the target shape {text!r} has a size below 1.",
                            "Every size must be at least 1; one size may be -1 to mean 'whatever is left'.")
    return dims


def _reshape_check(params: dict[str, Any], input_shape: tuple[int, ...]) -> tuple[str, str] | None:
    try:
        dims = parse_shape(params["target_shape"])
    except LayerlabError as exc:
        return exc.message, exc.hint
    total = math.prod(input_shape)
    known = math.prod(d for d in dims if d != -1)
    if -1 in dims:
        if total % known:
            return (f"cannot split {total} values into {params['target_shape']}: {total} is not a multiple of {known}.",
                    f"Choose sizes whose product divides {total}.")
    elif known != total:
        return (f"cannot turn {total} values into {params['target_shape']} ({known} values).",
                f"The sizes must multiply to {total}, e.g. {total},1; or write -1 for one size.")
    return None


def _info_value(info: Any, key: str, layer: str) -> int:
    value = (getattr(info, "extra", None) or {}).get(key)
    if not isinstance(value, int) or value < 1:
        raise LayerlabError(f"{layer} needs text data with a known {key.replace('_', ' ')}.",
                            "Use it on text projects, as the first layer.")
    return value


# ---- Core -----------------------------------------------------------------------------------


@LAYERS.register("Dense", "Core", "A fully connected layer: every input feeds every neuron.",
                 _units(), _activation(), _l1(), _l2(), needs="any")
def _dense(units: int, activation: str, l1: float, l2: float) -> Any:
    import keras

    return keras.layers.Dense(units, activation=activation, kernel_regularizer=_regularizer(l1, l2))


@LAYERS.register("Dropout", "Core", "Switches off a random share of values while training, against overfitting.",
                 Param("rate", "float", 0.3, "Share of values dropped at each step.", min=0, max=0.95, step=0.05), needs="any")
def _dropout(rate: float) -> Any:
    import keras

    return keras.layers.Dropout(rate)


@LAYERS.register("Activation", "Core", "Applies a non-linearity on its own.", _activation(), needs="any")
def _act(activation: str) -> Any:
    import keras

    return keras.layers.Activation(activation)


@LAYERS.register("BatchNormalization", "Core", "Re-centres and re-scales values per batch: faster, steadier training.", needs="any")
def _bn() -> Any:
    import keras

    return keras.layers.BatchNormalization()


@LAYERS.register("LayerNormalization", "Core", "Re-centres and re-scales each example on its own (used with attention).",
                 needs="any")
def _ln() -> Any:
    import keras

    return keras.layers.LayerNormalization()


@LAYERS.register("Flatten", "Core", "Unrolls an image or sequence into one long vector (before Dense layers).", needs="any")
def _flatten() -> Any:
    import keras

    return keras.layers.Flatten()


@LAYERS.register("Reshape", "Core", "Rearranges the same values into a new shape, e.g. a vector of 128 into 4,4,8.",
                 Param("target_shape", "str", "-1,1", "New sizes separated by commas (batch not included); "
                       "one may be -1 for 'whatever is left'.", label="Target shape"),
                 needs="any", check=_reshape_check)
def _reshape(target_shape: str) -> Any:
    import keras

    return keras.layers.Reshape(parse_shape(target_shape))


@LAYERS.register("ResidualDenseBlock", "Core", "Two Dense layers whose result is added back to the input: "
                 "lets deep tables nets train.", _units(), _activation(), _rate("dropout", 0.1), _l1(), _l2(), needs="any")
def _res_dense(units: int, activation: str, dropout: float, l1: float, l2: float) -> Any:
    from layerlab.models.blocks import ResidualDenseBlock

    return ResidualDenseBlock(units, activation=activation, dropout=dropout, l1=l1, l2=l2)


# ---- Convolution ------------------------------------------------------------------------------


@LAYERS.register("Conv1D", "Convolution", "Slides small filters along a sequence to find local patterns.",
                 _filters(), _kernel(), _strides(), _padding(causal=True), _activation(), _l1(), _l2(), needs="sequence")
def _conv1d(filters: int, kernel_size: int, strides: int, padding: str, activation: str, l1: float, l2: float) -> Any:
    import keras

    return keras.layers.Conv1D(filters, kernel_size, strides=strides, padding=padding, activation=activation,
                               kernel_regularizer=_regularizer(l1, l2))


@LAYERS.register("Conv2D", "Convolution", "Slides small filters over an image to find local patterns (edges, strokes).",
                 _filters(), _kernel(), _strides(), _padding(), _activation(), _l1(), _l2(), needs="image")
def _conv2d(filters: int, kernel_size: int, strides: int, padding: str, activation: str, l1: float, l2: float) -> Any:
    import keras

    return keras.layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, activation=activation,
                               kernel_regularizer=_regularizer(l1, l2))


@LAYERS.register("SeparableConv2D", "Convolution", "A cheaper Conv2D: filters each channel, then mixes channels.",
                 _filters(), _kernel(), _strides(), _padding(), _activation(), _l1(), _l2(), needs="image")
def _sepconv2d(filters: int, kernel_size: int, strides: int, padding: str, activation: str, l1: float, l2: float) -> Any:
    import keras

    return keras.layers.SeparableConv2D(filters, kernel_size, strides=strides, padding=padding, activation=activation,
                                        depthwise_regularizer=_regularizer(l1, l2),
                                        pointwise_regularizer=_regularizer(l1, l2))


@LAYERS.register("MaxPooling1D", "Convolution", "Keeps the strongest value in each window: halves the sequence length.",
                 _pool(), _padding(), needs="sequence")
def _maxpool1d(pool_size: int, padding: str) -> Any:
    import keras

    return keras.layers.MaxPooling1D(pool_size, padding=padding)


@LAYERS.register("MaxPooling2D", "Convolution", "Keeps the strongest value in each window: halves the image size.",
                 _pool(), _padding(), needs="image")
def _maxpool2d(pool_size: int, padding: str) -> Any:
    import keras

    return keras.layers.MaxPooling2D(pool_size, padding=padding)


@LAYERS.register("AveragePooling1D", "Convolution", "Averages each window: halves the sequence length, smoothly.",
                 _pool(), _padding(), needs="sequence")
def _avgpool1d(pool_size: int, padding: str) -> Any:
    import keras

    return keras.layers.AveragePooling1D(pool_size, padding=padding)


@LAYERS.register("AveragePooling2D", "Convolution", "Averages each window: halves the image size, smoothly.",
                 _pool(), _padding(), needs="image")
def _avgpool2d(pool_size: int, padding: str) -> Any:
    import keras

    return keras.layers.AveragePooling2D(pool_size, padding=padding)


@LAYERS.register("GlobalAveragePooling1D", "Convolution", "Averages over all steps: sequence → vector.", needs="sequence")
def _gap1d() -> Any:
    import keras

    return keras.layers.GlobalAveragePooling1D()


@LAYERS.register("GlobalAveragePooling2D", "Convolution", "Averages each feature map into one number: image → vector.", needs="image")
def _gap2d() -> Any:
    import keras

    return keras.layers.GlobalAveragePooling2D()


@LAYERS.register("GlobalMaxPooling1D", "Convolution", "Keeps each feature's strongest step: sequence → vector.", needs="sequence")
def _gmp1d() -> Any:
    import keras

    return keras.layers.GlobalMaxPooling1D()


@LAYERS.register("GlobalMaxPooling2D", "Convolution", "Keeps each feature map's strongest value: image → vector.", needs="image")
def _gmp2d() -> Any:
    import keras

    return keras.layers.GlobalMaxPooling2D()


@LAYERS.register("ResidualConvBlock", "Convolution", "Two Conv2D layers with batch norm whose result is added back "
                 "to the input (ResNet-style): deeper image models that still train.",
                 _filters(), _kernel(), _activation(), _l1(), _l2(), needs="image")
def _res_conv(filters: int, kernel_size: int, activation: str, l1: float, l2: float) -> Any:
    from layerlab.models.blocks import ResidualConvBlock

    return ResidualConvBlock(filters, kernel_size, activation=activation, l1=l1, l2=l2)


# ---- Pretrained -------------------------------------------------------------------------------


def _backbone_params() -> tuple[Param, ...]:
    from layerlab.models.backbones import ARCHITECTURES, DEFAULT, IMAGE_SIZES, IMAGENET, NO_WEIGHTS

    return (
        Param("architecture", "choice", DEFAULT, "The pretrained network. " + " ".join(
            f"{a.name}: {a.help}" for a in ARCHITECTURES.values()), choices=tuple(ARCHITECTURES)),
        Param("weights", "choice", IMAGENET, "ImageNet: what the network learned from 1.2 million photos (the point "
              "of a pretrained model); none: random weights, trained from scratch.", choices=(IMAGENET, NO_WEIGHTS),
              choice_labels=((IMAGENET, "Pretrained on ImageNet"), (NO_WEIGHTS, "None (random)"))),
        Param("image_size", "choice", 224, "The side of the square your images are resized to for the network: "
              "224 is what it was trained on; smaller is faster and a little less accurate.", choices=IMAGE_SIZES),
    )


def _backbone_check(params: dict[str, Any], input_shape: tuple[int, ...]) -> tuple[str, str] | None:
    if input_shape[-1] not in (1, 3):
        return (f"takes grayscale or RGB images, but the input has {input_shape[-1]} channels.",
                "Choose RGB (or grayscale) colour on the Prepare page.")
    return None


@LAYERS.register("Backbone", "Pretrained", "A network pretrained on ImageNet (MobileNet, EfficientNet, ResNet), as "
                 "one block: it turns an image into the features a small head learns your classes from. It scales "
                 "and resizes your pixels itself.", *_backbone_params(), needs="image", uses_info=True,
                 check=_backbone_check)
def _backbone(architecture: str, weights: str, image_size: int, *, info: Any) -> Any:
    from layerlab.models.backbones import backbone_layer

    return backbone_layer(architecture, weights, image_size, float(info.extra.get("pixel_max", 1.0)))


# ---- Recurrent --------------------------------------------------------------------------------


def _recurrent(cls_name: str, units: int, return_sequences: bool, dropout: float, recurrent_dropout: float,
               l1: float, l2: float) -> Any:
    import keras

    cls = getattr(keras.layers, cls_name)
    return cls(units, return_sequences=return_sequences, dropout=dropout, recurrent_dropout=recurrent_dropout,
               kernel_regularizer=_regularizer(l1, l2), recurrent_regularizer=_regularizer(l1, l2))


_RNN_PARAMS = (_units(64), _return_sequences(), _input_dropout(), _recurrent_dropout(), _l1(), _l2())


@LAYERS.register("SimpleRNN", "Recurrent", "Reads a sequence step by step with a short memory.",
                 *_RNN_PARAMS, needs="sequence")
def _simple_rnn(units: int, return_sequences: bool, dropout: float, recurrent_dropout: float, l1: float, l2: float) -> Any:
    return _recurrent("SimpleRNN", units, return_sequences, dropout, recurrent_dropout, l1, l2)


@LAYERS.register("LSTM", "Recurrent", "Reads a sequence step by step with gated long-term memory.",
                 *_RNN_PARAMS, needs="sequence")
def _lstm(units: int, return_sequences: bool, dropout: float, recurrent_dropout: float, l1: float, l2: float) -> Any:
    return _recurrent("LSTM", units, return_sequences, dropout, recurrent_dropout, l1, l2)


@LAYERS.register("GRU", "Recurrent", "Like LSTM with fewer gates: a little faster, often as good.",
                 *_RNN_PARAMS, needs="sequence")
def _gru(units: int, return_sequences: bool, dropout: float, recurrent_dropout: float, l1: float, l2: float) -> Any:
    return _recurrent("GRU", units, return_sequences, dropout, recurrent_dropout, l1, l2)


@LAYERS.register("Bidirectional", "Recurrent", "Reads the sequence forwards and backwards and joins both views "
                 "(outputs twice the units).",
                 Param("cell", "choice", "LSTM", "The recurrent layer run in each direction.", choices=("LSTM", "GRU")),
                 *_RNN_PARAMS, needs="sequence")
def _bidirectional(cell: str, units: int, return_sequences: bool, dropout: float, recurrent_dropout: float,
                   l1: float, l2: float) -> Any:
    import keras

    return keras.layers.Bidirectional(_recurrent(cell, units, return_sequences, dropout, recurrent_dropout, l1, l2))


# ---- Attention --------------------------------------------------------------------------------


@LAYERS.register("TransformerEncoder", "Attention", "Self-attention: every step looks at every other step, "
                 "then a small feed-forward net.",
                 Param("heads", "int", 4, "How many attention patterns are learned side by side.", min=1, max=32),
                 Param("key_dim", "int", 16, "Size of each head's queries and keys.", min=1, max=512),
                 Param("ff_dim", "int", 128, "Width of the feed-forward net after attention.", min=1, max=8192),
                 _rate("dropout", 0.1, "Share of attention weights and outputs dropped while training."),
                 Param("causal", "bool", False, "Let each step look only at earlier steps (for forecasting or generation)."),
                 needs="sequence")
def _transformer(heads: int, key_dim: int, ff_dim: int, dropout: float, causal: bool) -> Any:
    from layerlab.models.blocks import TransformerEncoder

    return TransformerEncoder(heads, key_dim, ff_dim, dropout=dropout, causal=causal)


@LAYERS.register("TokenAndPositionEmbedding", "Attention", "Turns token ids into vectors and adds where each token "
                 "stands: the first layer of a text transformer.",
                 Param("embed_dim", "int", 64, "Length of each token's vector.", min=2, max=2048),
                 needs="tokens", uses_info=True)
def _tok_pos(embed_dim: int, *, info: Any) -> Any:
    from layerlab.models.blocks import TokenAndPositionEmbedding

    return TokenAndPositionEmbedding(_info_value(info, "vocab_size", "TokenAndPositionEmbedding"),
                                     _info_value(info, "sequence_length", "TokenAndPositionEmbedding"), embed_dim)


@LAYERS.register("PatchEmbedding", "Attention", "Cuts an image into square patches and turns each into a vector "
                 "with its position: the first layer of a Vision Transformer.",
                 Param("patch_size", "int", 4, "Side of each square patch in pixels.", min=1, max=64),
                 Param("embed_dim", "int", 64, "Length of each patch's vector.", min=2, max=2048),
                 needs="image")
def _patches(patch_size: int, embed_dim: int) -> Any:
    from layerlab.models.blocks import PatchEmbedding

    return PatchEmbedding(patch_size, embed_dim)


@LAYERS.register("PositionEmbedding", "Attention", "Adds a learned vector per step, so attention can tell "
                 "the order of a sequence.", needs="sequence")
def _pos() -> Any:
    from layerlab.models.blocks import PositionEmbedding

    return PositionEmbedding()


# ---- Text -------------------------------------------------------------------------------------


@LAYERS.register("Embedding", "Text", "Turns each token id into a learned vector: the first layer for text.",
                 Param("output_dim", "int", 64, "Length of each token's vector.", min=2, max=2048),
                 Param("mask_padding", "bool", True, "Ignore the padding after short texts (pooling and recurrent layers skip it)."),
                 needs="tokens", uses_info=True)
def _embedding(output_dim: int, mask_padding: bool, *, info: Any) -> Any:
    import keras

    return keras.layers.Embedding(_info_value(info, "vocab_size", "Embedding"), output_dim, mask_zero=mask_padding)


# ---- Transfer -----------------------------------------------------------------------------------


def _keras_file_check(params: dict[str, Any], input_shape: tuple[int, ...]) -> tuple[str, str] | None:
    from layerlab.models.keras_file import input_problem

    return input_problem(params, input_shape)


@LAYERS.register("keras_file", "Transfer", "A model made elsewhere (an uploaded .keras file), cut at one of its layers: "
                 "its layers up to there, with their learned weights, as one block; a new head follows.",
                 Param("file", "str", "", "The uploaded .keras file (upload it under 'Start from' on Build).",
                       label="Model file"),
                 Param("cut_at", "str", "", "The file's layer whose output the block ends with; empty: the layer "
                       "before the file's own output layer.", label="Cut at layer"),
                 needs="any", check=_keras_file_check)
def _keras_file(file: str, cut_at: str) -> Any:
    from layerlab.models.keras_file import block

    return block(file, cut_at)
