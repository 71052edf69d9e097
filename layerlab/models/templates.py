"""Starting models per data kind: a body of registry layers sized to the data.

A template is only a list of `LayerSpec`s: once picked, the user edits the layers like
any others, and the head is added by build_model. Each template reads the input shape,
so it never pools an 8x8 image below one pixel nor flattens a 128x128 map into a
huge Dense layer. No Keras here: templates are plain data.
"""

from __future__ import annotations

from typing import Any

from layerlab.data.info import DataInfo
from layerlab.errors import SpecError
from layerlab.models.layers import LAYERS
from layerlab.registry import Entry, Registry
from layerlab.spec import LayerSpec

Body = list[dict[str, Any]]

# Entries in the same Registry as layers: name, group = the data kind, help = one line,
# meta title = what lists show, build(info) = the body's layer dicts. No parameters: a
# template's sizes come from the data.
TEMPLATES = Registry("template")


def _template(name: str, kind: str, title: str, help: str):
    return TEMPLATES.register(name, kind, help, title=title)


def templates_for(kind: str) -> list[Entry]:
    """Templates for one data kind, the default first."""
    found = TEMPLATES.groups().get(kind, [])
    first = default_template(kind) if kind in _kinds() else None
    return sorted(found, key=lambda t: t.name != first)


def _kinds() -> dict:
    from layerlab.kinds.registry import KINDS

    return KINDS


def default_template(kind: str) -> str:
    """The template a new project of this kind starts from (each data kind names its own)."""
    try:
        return _kinds()[kind].default_template
    except KeyError:
        raise SpecError("data.kind", f"unknown data kind `{kind}`; expected one of: {', '.join(_kinds())}.") from None


def template_layers(name: str, info: DataInfo) -> list[LayerSpec]:
    """The template's body for this data, as validated LayerSpecs (defaults filled in).

    Raises:
        SpecError: unknown template, or one made for another kind of data.
    """
    template = TEMPLATES.get(name, "model.template")
    if template.group != info.kind:
        others = ", ".join(t.name for t in templates_for(info.kind))
        raise SpecError("model.template", f"the template `{name}` is for {template.group} data, "
                        f"but this project's data is {info.kind}.", f"Choose one of: {others}.")
    out = []
    for i, layer in enumerate(template.build(info)):
        entry = LAYERS.get(layer["type"])
        params = entry.validate(layer.get("params", {}), f"template {name} layer {i}")
        out.append(LayerSpec(type=layer["type"], params=params, trainable=layer.get("trainable", True)))
    return out


def _l(type: str, **params: Any) -> dict[str, Any]:
    return {"type": type, "params": params}


def _image_size(info: DataInfo) -> tuple[int, int]:
    h, w = info.input_shape[0], info.input_shape[1]
    return int(h), int(w)


def _conv_stages(h: int, w: int, most: int = 4) -> int:
    """How many halvings keep the smaller side at 2 pixels or more."""
    n = 0
    while min(h, w) // 2 >= 2 and n < most:
        h, w = -(-h // 2), -(-w // 2)
        n += 1
    return n


def _to_vector(h: int, w: int, stages: int) -> dict[str, Any]:
    """Flatten small maps (keeps where things are); average big ones (keeps Dense small)."""
    for _ in range(stages):
        h, w = -(-h // 2), -(-w // 2)
    return _l("Flatten") if h * w <= 16 else _l("GlobalAveragePooling2D")


# ---- images -----------------------------------------------------------------------------------


@_template("small_cnn", "images", "Small CNN",
                    "Two to four Conv2D + pooling stages, then a small Dense layer: fast and strong on small images.")
def _small_cnn(info: DataInfo) -> Body:
    h, w = _image_size(info)
    stages = _conv_stages(h, w)
    filters = (32, 64, 128, 128)
    body: Body = []
    for i in range(stages):
        body += [_l("Conv2D", filters=filters[i], kernel_size=3, padding="same", activation="relu"),
                 _l("MaxPooling2D", pool_size=2, padding="same")]
    if not stages:  # images smaller than 4 pixels: one convolution, no pooling
        body.append(_l("Conv2D", filters=32, kernel_size=min(3, h, w), padding="same", activation="relu"))
    body += [_to_vector(h, w, stages), _l("Dense", units=64 if stages <= 2 else 128, activation="relu"),
             _l("Dropout", rate=0.3)]
    return body


@_template("deeper_cnn", "images", "Deeper CNN (VGG-style)",
                    "Pairs of Conv2D + BatchNorm per stage with dropout: more capacity for bigger photo sets.")
def _deeper_cnn(info: DataInfo) -> Body:
    h, w = _image_size(info)
    stages = max(1, _conv_stages(h, w))
    filters = (32, 64, 128, 256)
    body: Body = []
    for i in range(stages):
        for _ in range(2):
            body += [_l("Conv2D", filters=filters[i], kernel_size=3, padding="same", activation="linear"),
                     _l("BatchNormalization"), _l("Activation", activation="relu")]
        if _conv_stages(h, w) > i:
            body.append(_l("MaxPooling2D", pool_size=2, padding="same"))
        body.append(_l("Dropout", rate=0.2))
    body += [_to_vector(h, w, _conv_stages(h, w)), _l("Dense", units=128, activation="relu"), _l("Dropout", rate=0.4)]
    return body


@_template("tiny_vit", "images", "Tiny Vision Transformer",
                    "Cuts the image into patches and relates them with two attention blocks.")
def _tiny_vit(info: DataInfo) -> Body:
    h, w = _image_size(info)
    side = min(h, w)
    patch = min(side, max(2, side // 8)) if side >= 2 else 1
    return [
        _l("PatchEmbedding", patch_size=patch, embed_dim=64),
        _l("TransformerEncoder", heads=4, key_dim=16, ff_dim=128, dropout=0.1),
        _l("TransformerEncoder", heads=4, key_dim=16, ff_dim=128, dropout=0.1),
        _l("LayerNormalization"),
        _l("GlobalAveragePooling1D"),
        _l("Dense", units=64, activation="gelu"),
        _l("Dropout", rate=0.2),
    ]


def _pretrained(architecture: str) -> Body:
    """A frozen ImageNet backbone, averaged into a vector, then dropout; build_model adds the head."""
    from layerlab.models.backbones import ARCHITECTURES  # no Keras there either

    size = ARCHITECTURES[architecture].size  # what it was trained on
    return [{**_l("Backbone", architecture=architecture, weights="imagenet", image_size=size), "trainable": False},
            _l("GlobalAveragePooling2D"), _l("Dropout", rate=0.2)]


_PRETRAINED = (  # name, architecture, title, help
    ("mobilenet_v3_small", "MobileNetV3Small", "Pretrained MobileNetV3 Small (recommended for photos)",
     ("A frozen MobileNetV3Small that learned from ImageNet's photos, and a small head for your classes: high "
      "accuracy from a few dozen photos per class, in a minute on a laptop. Needs its weights file.")),
    ("efficientnet_b0", "EfficientNetB0", "Pretrained EfficientNetB0",
     ("A frozen EfficientNetB0 from ImageNet and a small head: more accurate than MobileNet, a few times slower. "
      "Needs its weights file.")),
    ("resnet50v2", "ResNet50V2", "Pretrained ResNet50V2",
     "A frozen ResNet50V2 from ImageNet and a small head: strong features, slow without a GPU. Needs its weights file."),
)
for _name, _arch, _title, _help in _PRETRAINED:
    _template(_name, "images", _title, _help)(lambda info, arch=_arch: _pretrained(arch))


# ---- text -------------------------------------------------------------------------------------


@_template("bag_of_embeddings", "text", "Bag of embeddings",
                    "Averages word vectors: very fast, a strong baseline for topics and sentiment.")
def _bag(info: DataInfo) -> Body:
    return [_l("Embedding", output_dim=64), _l("GlobalAveragePooling1D"),
            _l("Dense", units=64, activation="relu"), _l("Dropout", rate=0.3)]


@_template("bilstm", "text", "Bidirectional LSTM",
                    "Reads the text both ways with memory: catches word order and negation.")
def _bilstm(info: DataInfo) -> Body:
    return [_l("Embedding", output_dim=64), _l("Bidirectional", cell="LSTM", units=32),
            _l("Dropout", rate=0.3), _l("Dense", units=32, activation="relu")]


@_template("gru", "text", "GRU", "A single recurrent GRU layer: order-aware and lighter than an LSTM.")
def _gru(info: DataInfo) -> Body:
    return [_l("Embedding", output_dim=64), _l("GRU", units=64), _l("Dropout", rate=0.3)]


@_template("transformer", "text", "Transformer", "Token + position embedding and one self-attention block.")
def _text_transformer(info: DataInfo) -> Body:
    return [_l("TokenAndPositionEmbedding", embed_dim=64),
            _l("TransformerEncoder", heads=4, key_dim=16, ff_dim=128, dropout=0.1),
            _l("GlobalAveragePooling1D"), _l("Dropout", rate=0.2), _l("Dense", units=32, activation="relu")]


# ---- table ------------------------------------------------------------------------------------


@_template("mlp", "table", "Multi-layer perceptron", "Two Dense layers: the classic model for tables.")
def _mlp(info: DataInfo) -> Body:
    return [_l("Dense", units=64, activation="relu"), _l("Dense", units=32, activation="relu")]


@_template("mlp_bn_dropout", "table", "MLP with BatchNorm and Dropout",
                    "Wider Dense layers kept in check by batch normalisation and dropout.")
def _mlp_bn(info: DataInfo) -> Body:
    return [_l("Dense", units=128, activation="relu"), _l("BatchNormalization"), _l("Dropout", rate=0.3),
            _l("Dense", units=64, activation="relu"), _l("BatchNormalization"), _l("Dropout", rate=0.3)]


@_template("residual_mlp", "table", "Residual MLP",
                    "Dense blocks with skip connections: depth without the training trouble.")
def _residual_mlp(info: DataInfo) -> Body:
    return [_l("Dense", units=64, activation="relu"),
            _l("ResidualDenseBlock", units=128, activation="relu", dropout=0.1),
            _l("ResidualDenseBlock", units=128, activation="relu", dropout=0.1),
            _l("LayerNormalization")]


# ---- series -----------------------------------------------------------------------------------


@_template("lstm_forecaster", "series", "LSTM forecaster",
                    "An LSTM reads the window step by step; a Dense layer turns its memory into the forecast.")
def _lstm_forecaster(info: DataInfo) -> Body:
    return [_l("LSTM", units=64), _l("Dense", units=32, activation="relu")]


@_template("cnn_1d", "series", "1D CNN", "Conv1D filters find local patterns in the window: fast to train.")
def _cnn_1d(info: DataInfo) -> Body:
    window = int(info.input_shape[0])
    body: Body = [_l("Conv1D", filters=32, kernel_size=3, padding="same", activation="relu"),
                  _l("Conv1D", filters=32, kernel_size=3, padding="same", activation="relu")]
    if window >= 8:
        body.append(_l("MaxPooling1D", pool_size=2, padding="same"))
    if window > 64:
        body.append(_l("GlobalAveragePooling1D"))
    else:
        body.append(_l("Flatten"))
    body.append(_l("Dense", units=64, activation="relu"))
    return body


@_template("transformer_series", "series", "Transformer",
                    "Projects each step, adds positions and relates steps with self-attention.")
def _transformer_series(info: DataInfo) -> Body:
    return [_l("Dense", units=32, activation="linear"), _l("PositionEmbedding"),
            _l("TransformerEncoder", heads=4, key_dim=8, ff_dim=64, dropout=0.1),
            _l("GlobalAveragePooling1D"), _l("Dense", units=32, activation="relu")]
