"""Every registered layer builds in a tiny model of a suitable kind; custom blocks survive .keras."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from layerlab.errors import LayerlabError
from layerlab.models.layers import LAYERS, parse_shape

ROOT = Path(__file__).resolve().parents[2]

# type -> (data kind, body around the layer under test as (type, params) pairs, expected output shape of that layer)
CASES: dict[str, tuple[str, list[tuple[str, dict]], tuple[int, ...]]] = {
    "Dense": ("table", [("Dense", {"units": 5, "l1": 0.01, "l2": 0.01})], (5,)),
    "Dropout": ("table", [("Dropout", {"rate": 0.5})], (6,)),
    "Activation": ("table", [("Activation", {"activation": "tanh"})], (6,)),
    "BatchNormalization": ("table", [("BatchNormalization", {})], (6,)),
    "LayerNormalization": ("table", [("LayerNormalization", {})], (6,)),
    "Flatten": ("images", [("Flatten", {})], (64,)),
    "Reshape": ("table", [("Reshape", {"target_shape": "3,2"}), ("Flatten", {})], (3, 2)),
    "ResidualDenseBlock": ("table", [("ResidualDenseBlock", {"units": 8, "l2": 0.01})], (6,)),
    "Conv1D": ("series", [("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "l2": 0.01}), ("Flatten", {})], (10, 4)),
    "Conv2D": ("images", [("Conv2D", {"filters": 4, "padding": "valid", "l1": 0.01}), ("Flatten", {})], (6, 6, 4)),
    "SeparableConv2D": ("images", [("SeparableConv2D", {"filters": 4, "strides": 2, "l2": 0.01}), ("Flatten", {})], (4, 4, 4)),
    "MaxPooling1D": ("series", [("MaxPooling1D", {}), ("Flatten", {})], (5, 2)),
    "MaxPooling2D": ("images", [("MaxPooling2D", {"pool_size": 4, "padding": "valid"}), ("Flatten", {})], (2, 2, 1)),
    "AveragePooling1D": ("series", [("AveragePooling1D", {"pool_size": 3}), ("Flatten", {})], (4, 2)),
    "AveragePooling2D": ("images", [("AveragePooling2D", {}), ("Flatten", {})], (4, 4, 1)),
    "GlobalAveragePooling1D": ("series", [("GlobalAveragePooling1D", {})], (2,)),
    "GlobalAveragePooling2D": ("images", [("GlobalAveragePooling2D", {})], (1,)),
    "GlobalMaxPooling1D": ("series", [("GlobalMaxPooling1D", {})], (2,)),
    "GlobalMaxPooling2D": ("images", [("GlobalMaxPooling2D", {})], (1,)),
    "ResidualConvBlock": ("images", [("ResidualConvBlock", {"filters": 4, "l2": 0.01}), ("GlobalAveragePooling2D", {})], (8, 8, 4)),
    "SimpleRNN": ("series", [("SimpleRNN", {"units": 4, "l2": 0.01})], (4,)),
    "LSTM": ("series", [("LSTM", {"units": 4, "return_sequences": True, "recurrent_dropout": 0.2}), ("Flatten", {})], (10, 4)),
    "GRU": ("series", [("GRU", {"units": 4, "dropout": 0.1})], (4,)),
    "Bidirectional": ("text", [("Embedding", {"output_dim": 4}), ("Bidirectional", {"cell": "GRU", "units": 3})], (6,)),
    "TransformerEncoder": ("series", [("TransformerEncoder", {"heads": 2, "key_dim": 4, "ff_dim": 8, "causal": True}),
                                      ("GlobalAveragePooling1D", {})], (10, 2)),
    "TokenAndPositionEmbedding": ("text", [("TokenAndPositionEmbedding", {"embed_dim": 8}), ("GlobalAveragePooling1D", {})],
                                  (12, 8)),
    "PatchEmbedding": ("images", [("PatchEmbedding", {"patch_size": 4, "embed_dim": 8}), ("Flatten", {})], (4, 8)),
    "PositionEmbedding": ("series", [("PositionEmbedding", {}), ("Flatten", {})], (10, 2)),
    "Embedding": ("text", [("Embedding", {"output_dim": 4}), ("Flatten", {})], (12, 4)),
    "Backbone": ("images", [("Backbone", {"weights": "none", "image_size": 32}), ("GlobalAveragePooling2D", {})],
                 (1, 1, 576)),
}

# Layers whose case needs more than a tiny DataInfo (a file to load), tested in their own module.
ELSEWHERE = {"keras_file": "tests/engine/test_start_from.py"}

REGULARISED = {"Dense", "ResidualDenseBlock", "Conv1D", "Conv2D", "SeparableConv2D", "ResidualConvBlock", "SimpleRNN"}


def _inputs(info, n: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    if info.kind == "text":
        return rng.integers(0, info.extra["vocab_size"], size=(n, *info.input_shape)).astype("int32")
    return rng.random((n, *info.input_shape), dtype=np.float32)


def test_every_registered_layer_has_a_case():
    assert set(CASES) | set(ELSEWHERE) == set(LAYERS.names())


def test_entries_are_complete_for_the_ui():
    for entry in LAYERS:
        assert entry.help and entry.group, entry.name
        assert entry.meta.get("needs") in {"any", "image", "sequence", "tokens"}, entry.name
        assert entry.validate({}, entry.name) == entry.defaults()  # defaults are valid values
        for p in entry.params:
            assert p.help, f"{entry.name}.{p.name}"


def test_regularisation_is_offered_where_promised():
    for name in ("Dense", "Conv1D", "Conv2D", "SeparableConv2D", "ResidualConvBlock", "ResidualDenseBlock",
                 "SimpleRNN", "LSTM", "GRU", "Bidirectional"):
        params = {p.name for p in LAYERS.get(name).params}
        assert {"l1", "l2"} <= params, name
    for name in ("SimpleRNN", "LSTM", "GRU", "Bidirectional"):
        assert {"return_sequences", "recurrent_dropout"} <= {p.name for p in LAYERS.get(name).params}


@pytest.mark.parametrize("layer_type", sorted(CASES))
def test_layer_builds_runs_and_round_trips(layer_type, tiny_info, tiny_spec, tmp_path):
    import keras

    from layerlab.models import blocks
    from layerlab.models.build import build_model

    kind, body, expected = CASES[layer_type]
    info = tiny_info(kind)
    model = build_model(tiny_spec(info, body), info)
    index = next(i for i, (t, _) in enumerate(body) if t == layer_type)
    layer = model.get_layer(f"{index:02d}_{layer_type.lower()}")
    assert tuple(layer.output.shape[1:]) == expected
    x = _inputs(info)
    out = np.asarray(model(x, training=False))
    assert out.shape == ((3, 3) if kind != "series" else (3, 3, 1))  # 3 classes, or a 3-step forecast
    assert np.isfinite(out).all()
    if layer_type in REGULARISED:
        assert len(model.losses) > 0, "l1/l2 must add a penalty to the loss"
    if isinstance(layer, blocks.BLOCKS):
        assert layer.count_params() > 0
        path = tmp_path / "m.keras"
        model.save(path)
        again = keras.saving.load_model(path)  # safe_mode: our blocks load without custom_objects
        assert type(again.get_layer(layer.name)) is type(layer)
        assert again.get_layer(layer.name).get_config() == layer.get_config()
        np.testing.assert_allclose(np.asarray(again(x, training=False)), out, rtol=1e-5, atol=1e-6)


def test_bidirectional_doubles_units_and_wraps_the_chosen_cell(tiny_info, tiny_spec):
    from layerlab.models.build import build_model

    info = tiny_info("text")
    model = build_model(tiny_spec(info, [("Embedding", {"output_dim": 4}),
                                         ("Bidirectional", {"cell": "LSTM", "units": 5, "return_sequences": True}),
                                         ("GlobalMaxPooling1D", {})]), info)
    layer = model.get_layer("01_bidirectional")
    assert type(layer.forward_layer).__name__ == "LSTM"
    assert tuple(layer.output.shape[1:]) == (12, 10)


def test_embedding_sizes_come_from_the_data(tiny_info, tiny_spec):
    from layerlab.models.build import build_model

    info = tiny_info("text", vocab=77)
    model = build_model(tiny_spec(info, [("Embedding", {"output_dim": 3}), ("Flatten", {})]), info)
    assert model.get_layer("00_embedding").count_params() == 77 * 3
    model = build_model(tiny_spec(info, [("TokenAndPositionEmbedding", {"embed_dim": 3}), ("Flatten", {})]), info)
    assert model.get_layer("00_tokenandpositionembedding").count_params() == 77 * 3 + 12 * 3


@pytest.mark.parametrize("text, dims", [("4,4,8", (4, 4, 8)), (" 2, -1 ", (2, -1)), ("(3, 2)", (3, 2)), ("4x4", (4, 4))])
def test_parse_shape_reads_what_users_type(text, dims):
    assert parse_shape(text) == dims


@pytest.mark.parametrize("text, words", [("", "empty"), ("a,b", "whole numbers"), ("0,3", "below 1"),
                                         ("-1,-1", "below 1"), ("2,-3", "below 1")])
def test_parse_shape_refuses_nonsense_in_plain_words(text, words):
    with pytest.raises(LayerlabError, match=words):
        parse_shape(text)


def test_reshape_check_compares_sizes():
    check = LAYERS.get("Reshape").meta["check"]
    assert check({"target_shape": "4,4,8"}, (128,)) is None
    assert check({"target_shape": "-1,8"}, (128,)) is None
    message, hint = check({"target_shape": "4,4,9"}, (128,))
    assert "128 values" in message and "144" in message and "128" in hint
    message, _ = check({"target_shape": "-1,3"}, (128,))
    assert "not a multiple of 3" in message


def test_importing_the_registries_does_not_import_keras():
    code = "import layerlab.spec, layerlab.models.layers, layerlab.models.templates"
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "keras" not in out.stderr and "tensorflow" not in out.stderr
