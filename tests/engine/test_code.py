"""The exported script rebuilds the very same model with plain Keras, outside Layerlab."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from layerlab.models.backbones import pretrained
from layerlab.models.templates import TEMPLATES, template_layers

KIND_INFO = {
    "images": dict(shape=(12, 12, 3), classes=4),
    "text": dict(shape=(16,), classes=2, vocab=40),
    "table": dict(task="regression", shape=(6,), outputs=2),
    "series": dict(shape=(12, 3), horizon=2, targets=2),
}

# Non-default settings of many layer types, so the export is checked beyond template defaults.
SINKS = {
    "images": [("ResidualConvBlock", {"filters": 6, "kernel_size": 5, "l2": 0.01}),
               ("SeparableConv2D", {"filters": 5, "strides": 2, "activation": "elu", "l1": 0.001}),
               ("AveragePooling2D", {"pool_size": 3, "padding": "valid"}),
               ("Conv2D", {"filters": 4, "kernel_size": 1, "activation": "linear"}),
               ("BatchNormalization", {}), ("GlobalMaxPooling2D", {}), ("Dropout", {"rate": 0.2})],
    "text": [("Embedding", {"output_dim": 6}),
             ("Bidirectional", {"cell": "GRU", "units": 3, "return_sequences": True, "recurrent_dropout": 0.1}),
             ("Conv1D", {"filters": 4, "kernel_size": 2, "padding": "causal"}), ("MaxPooling1D", {"pool_size": 3}),
             ("LayerNormalization", {}), ("GlobalMaxPooling1D", {}), ("Activation", {"activation": "tanh"})],
    "table": [("Dense", {"units": 6, "activation": "selu", "l1": 0.01, "l2": 0.02}),
              ("Reshape", {"target_shape": "3,-1"}), ("SimpleRNN", {"units": 5, "return_sequences": True}),
              ("AveragePooling1D", {}), ("Flatten", {}), ("ResidualDenseBlock", {"units": 7, "dropout": 0.2})],
    "series": [("Conv1D", {"filters": 8, "strides": 2}), ("PositionEmbedding", {}),
               ("TransformerEncoder", {"heads": 2, "key_dim": 3, "ff_dim": 5, "dropout": 0.0, "causal": True}),
               ("LSTM", {"units": 4, "dropout": 0.1, "l2": 0.001}), ("Dense", {"units": 3})],
}

RUNNER = r"""
import contextlib, io, json, runpy, sys

def plain(cfg):
    if isinstance(cfg, dict):
        return {k: plain(v) for k, v in cfg.items() if k != "name"}
    if isinstance(cfg, (list, tuple)):
        return [plain(v) for v in cfg]
    return cfg

out = {}
for path in sys.argv[1:]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ns = runpy.run_path(path, run_name="__main__")
    model = ns["model"]
    out[path] = {"stdout": buf.getvalue(), "optimizer": type(model.optimizer).__name__, "loss": model.loss,
                 "layers": [[l.name, type(l).__name__, l.count_params(), plain(l.get_config())] for l in model.layers]}
print(json.dumps(out, default=repr))
"""


def _plain(cfg):
    if isinstance(cfg, dict):
        return {k: _plain(v) for k, v in cfg.items() if k != "name"}
    if isinstance(cfg, (list, tuple)):
        return [_plain(v) for v in cfg]
    return cfg


def _outside_env() -> dict[str, str]:
    """No PYTHONPATH: the scripts must not be able to import layerlab."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def _cases(tiny_info, tiny_spec):
    cases = []
    for template in TEMPLATES:
        info = tiny_info(template.group, **KIND_INFO[template.group])
        layers = template_layers(template.name, info)
        if pretrained(layers):  # its script would download ImageNet weights: the same block from scratch below
            continue
        cases.append((template.name, tiny_spec(info, [(layer.type, layer.params) for layer in layers]), info))
    info = tiny_info("images", **KIND_INFO["images"])
    cases.append(("backbone", tiny_spec(info, [("Backbone", {"weights": "none", "image_size": 32}),
                                               ("GlobalAveragePooling2D", {})]), info))
    for kind, body in SINKS.items():
        info = tiny_info(kind, **KIND_INFO[kind])
        cases.append((f"sink_{kind}", tiny_spec(info, body, optimizer="sgd", learning_rate=0.05), info))
    return cases


@pytest.mark.slow
def test_scripts_rebuild_the_same_models_outside_layerlab(tiny_info, tiny_spec, tmp_path):
    from layerlab.codegen.model_code import model_code
    from layerlab.models.build import build_model

    expected, paths = {}, []
    for name, spec, info in _cases(tiny_info, tiny_spec):
        code = model_code(spec, info)
        compile(code, name, "exec")  # valid Python
        assert "import layerlab" not in code and "from layerlab" not in code
        path = tmp_path / f"{name}.py"
        path.write_text(code, encoding="utf-8")
        paths.append(str(path))
        model = build_model(spec, info)
        expected[str(path)] = (model, spec)
    done = subprocess.run([sys.executable, "-c", RUNNER, *paths], cwd=tmp_path, env=_outside_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(results) == set(expected)
    for path, (model, spec) in expected.items():
        got = results[path]
        assert got["stdout"].strip() == str(model.count_params()), path
        want = [[layer.name, type(layer).__name__, layer.count_params(),
                 json.loads(json.dumps(_plain(layer.get_config()), default=repr))] for layer in model.layers]
        assert got["layers"] == want, path
        assert got["optimizer"] == {"adam": "Adam", "sgd": "SGD"}[spec.train.optimizer]


@pytest.mark.slow
def test_a_script_runs_on_its_own(tiny_info, tiny_spec, tmp_path):
    from layerlab.codegen.model_code import model_code
    from layerlab.models.build import build_model

    info = tiny_info("text", **KIND_INFO["text"])
    spec = tiny_spec(info, [(layer.type, layer.params) for layer in template_layers("transformer", info)])
    code = model_code(spec, info)
    assert "class TransformerEncoder(keras.layers.Layer)" in code and "class TokenAndPositionEmbedding" in code
    assert "class PatchEmbedding" not in code  # only the blocks the model uses
    (tmp_path / "model.py").write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, "model.py"], cwd=tmp_path, env=_outside_env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == str(build_model(spec, info).count_params())


def test_script_reads_like_keras(tiny_info, tiny_spec):
    from layerlab.codegen.model_code import model_code

    info = tiny_info("images", **KIND_INFO["images"])
    code = model_code(tiny_spec(info, SINKS["images"], optimizer="sgd", learning_rate=0.05), info)
    assert "inputs = keras.Input(shape=(12, 12, 3), dtype='float32', name='input')" in code
    assert "kernel_regularizer=keras.regularizers.L1L2(l1=0.0, l2=0.01)" not in code  # the block takes plain numbers
    assert "ResidualConvBlock(filters=6, kernel_size=5, activation='relu', l1=0.0, l2=0.01" in code
    assert "keras.layers.SeparableConv2D(filters=5, kernel_size=(3, 3), strides=(2, 2), padding='same', " in code
    assert "depthwise_regularizer=keras.regularizers.L1L2(l1=0.001, l2=0.0)" in code
    assert "keras.layers.Dense(units=4, activation='softmax', dtype='float32', name='head')" in code
    assert "def compile_model(model: keras.Model, learning_rate: float = 0.05)" in code  # phase 2 passes its own
    assert "optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)" in code
    assert "Inputs: images of shape (12, 12, 3)" in code and "classes: c0, c1, c2, c3" in code
    assert "glorot" not in code.lower()  # defaults are left out


def test_a_model_that_cannot_be_built_has_no_code(tiny_info, tiny_spec):
    from layerlab.codegen.model_code import model_code
    from layerlab.models.build import BuildError

    info = tiny_info("table")
    with pytest.raises(BuildError, match="Conv2D"):
        model_code(tiny_spec(info, [("Conv2D", {})]), info)
