"""The model as a standalone Keras script, so users can leave Layerlab with their work.

The script is generated from the model build_model actually builds, not from a second
description of each layer: every layer is written as its Keras class with the arguments
that differ from that class's defaults (read from `get_config`), and Layerlab's custom
blocks are copied in verbatim (their public source; `_l1l2` from templates/regularizers.py).
So the script cannot drift from what Layerlab trains.
"""

from __future__ import annotations

import inspect
from typing import Any

from layerlab.codegen.fill import engine_source, join, template
from layerlab.data.info import DataInfo
from layerlab.spec import ProjectSpec

_OPTIMIZERS = {
    "adam": "keras.optimizers.Adam(learning_rate={lr})",
    "adamw": "keras.optimizers.AdamW(learning_rate={lr})",
    "sgd": "keras.optimizers.SGD(learning_rate={lr}, momentum=0.9)",
    "rmsprop": "keras.optimizers.RMSprop(learning_rate={lr})",
}


def model_code(spec: ProjectSpec, info: DataInfo) -> str:
    """A runnable Python script that rebuilds and compiles the same model with plain Keras.

    Running it prints `model.count_params()`.

    Raises:
        BuildError: when the model itself cannot be built (same message as build_model).
    """
    return "\n".join([
        _docstring(spec, info),
        "import keras",
        "",
        "",
        model_definitions(spec, info),
        "",
        "",
        'if __name__ == "__main__":',
        "    model = build_model()",
        "    compile_model(model)",
        "    # model.summary()  # layer by layer",
        "    print(model.count_params())",
        "",
    ])


def model_definitions(spec: ProjectSpec, info: DataInfo, shape_parameter: bool = False) -> str:
    """`build_model()` and `compile_model(model)`, after the source of the Layerlab blocks the model uses.

    Args:
        shape_parameter: `build_model(input_shape=...)` takes the input shape (defaulting to
            the project's), for a script that learns the shape from the data it prepares.

    Raises:
        BuildError: when the model itself cannot be built (same message as build_model).
    """
    from layerlab.models import blocks
    from layerlab.models.build import HEAD, HEAD_RESHAPE, _no_weights, build_model, loss_for

    with _no_weights():  # only the layers' settings are read: no weights allocated (nor pretrained ones loaded)
        model = build_model(spec, info)
    custom: list[type] = []
    lines: list[str] = []
    inp = model.inputs[0]
    shape = tuple(int(d) for d in inp.shape[1:])
    shape_arg = "input_shape" if shape_parameter else repr(shape)
    lines.append(f"    inputs = keras.Input(shape={shape_arg}, dtype={_dtype(inp.dtype)!r}, name='input')")
    var = "inputs"
    files = _file_blocks(spec)
    for layer in model.layers[1:]:
        if layer.name in files:
            lines.extend(line.format(var=var) for line in files[layer.name])
            var = "x"
            continue
        if type(layer).__module__ == blocks.__name__ and type(layer) not in custom:
            custom.append(type(layer))
        forced = {"dtype": "float32"} if layer.name in (HEAD, HEAD_RESHAPE) else {}
        lines.append(f"    x = {_frozen_if(render_layer(layer, forced, skip=('trainable',)), layer.trainable)}({var})")
        var = "x"
    lines.append("    return keras.Model(inputs, x, name=" + repr(model.name) + ")")

    metrics = ["accuracy"] if info.task == "classification" else ["mae"]
    optimizer = _OPTIMIZERS[spec.train.optimizer].format(lr="learning_rate")
    sources = [engine_source(cls) for cls in custom]
    if any("_l1l2(" in src for src in sources):
        sources.insert(0, template("regularizers"))
    if files:
        sources.append(template("model_file"))
    if any(not layer.trainable for layer in model.layers):
        sources.append(template("frozen"))
    signature = f"input_shape: tuple = {shape!r}" if shape_parameter else ""
    return join(*sources, "\n".join([
        f"def build_model({signature}) -> keras.Model:",
        '    """The core model: inputs arrive already prepared (see the top of this file)."""',
        *lines,
    ]), "\n".join([
        f"def compile_model(model: keras.Model, learning_rate: float = {spec.train.learning_rate!r}) -> None:",
        f"    model.compile(optimizer={optimizer}, loss={loss_for(info)!r}, metrics={metrics!r})",
    ]))


def _file_blocks(spec: ProjectSpec) -> dict[str, list[str]]:
    """The lines of each `keras_file` block (a model made elsewhere, cut at a layer), by its layer name:
    the script loads the same file (by the name it was uploaded with, beside the script) and cuts it the same way."""
    from layerlab.models.keras_file import LAYER_TYPE, default_cut
    from layerlab.models.start_from import built_names
    from layerlab.workspace import model_file_display

    out = {}
    for layer, name in zip(spec.model.layers, built_names(list(spec.model.layers))):
        if layer.type == LAYER_TYPE:
            file, cut = layer.params.get("file", ""), layer.params.get("cut_at") or default_cut(layer.params["file"])
            out[name] = [(f"    made_elsewhere = keras.saving.load_model(model_file({model_file_display(file)!r}), "
                         "compile=False)"),
                         "    x = " + _frozen_if(f"keras.Model(made_elsewhere.inputs, made_elsewhere.get_layer({cut!r})"
                                            f".output, name={name!r})", layer.trainable) + "({var})"]
    return out


def _frozen_if(layer_source: str, trainable: bool) -> str:
    """A frozen layer is frozen after it is made, as `build_model` freezes it: a `trainable=False` argument would
    leave the layers made inside it (a block, a backbone, a model from a file) trainable."""
    return layer_source if trainable else f"frozen({layer_source})"


def _docstring(spec: ProjectSpec, info: DataInfo) -> str:
    shape = tuple(info.input_shape)
    inputs = {
        "images": f"images of shape {shape} (height, width, channels), pixel values scaled to [0, 1]",
        "text": f"token ids of shape {shape} (vocabulary of {info.extra.get('vocab_size', '?')} tokens)",
        "table": f"{shape[0]} numeric features per row, already encoded and scaled",
        "series": f"windows of {shape[0]} steps x {shape[-1]} features",
    }.get(info.kind, f"arrays of shape {shape}")
    if info.task == "classification":
        outputs = f"classes: {', '.join(info.class_names)}"
        if info.n_classes == 2:
            outputs += f" (one sigmoid output: the probability of {info.class_names[1]!r})"
    elif info.task == "forecasting":
        outputs = f"forecast of {info.extra.get('horizon')} steps x {info.extra.get('n_targets')} targets"
    else:
        outputs = f"{info.outputs} value(s) per example"
    return (f'"""{spec.name}: the model built in Layerlab, as a standalone Keras script.\n\n'
            f"Inputs: {inputs}.\nOutputs: {outputs}.\n"
            'Needs only Keras 3 with a backend (pip install keras tensorflow)."""\n')


def _dtype(dtype: Any) -> str:
    return str(getattr(dtype, "name", dtype))


def render_layer(layer: Any, forced: dict[str, Any] | None = None, named: bool = True,
            skip: tuple[str, ...] = ()) -> str:
    """`keras.layers.X(arg=value, ...)` with only the arguments that differ from X's defaults."""
    import keras

    cls = type(layer)
    if isinstance(layer, keras.layers.Bidirectional):
        # Bidirectional sets zero_output_for_mask on its copies itself.
        inner = render_layer(layer.forward_layer, named=False, skip=("zero_output_for_mask",))
        extra = "" if layer.merge_mode == "concat" else f", merge_mode={layer.merge_mode!r}"
        return f"keras.layers.Bidirectional({inner}{extra}, name={layer.name!r})"
    config = layer.get_config()
    required = [
        p.name for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    own = cls.__module__.startswith("layerlab")
    if own:  # Layerlab's blocks: show every setting, as the Build page does
        settings = list(inspect.signature(cls.__init__).parameters)[1:]
        required = [k for k in settings if k in config]
    reference = _reference_config(cls, {k: config[k] for k in required}, layer)
    args = [f"{k}={_value(config[k])}" for k in required]
    for key, value in config.items():
        if key in required or key == "name" or key in skip or key in (forced or {}):
            continue
        if key in reference and reference[key] == value:
            continue
        args.append(f"{key}={_value(value)}")
    args += [f"{k}={v!r}" for k, v in (forced or {}).items()]
    if named:
        args.append(f"name={layer.name!r}")
    prefix = "" if own else "keras.layers."
    return f"{prefix}{cls.__name__}({', '.join(args)})"


def _reference_config(cls: type, args: dict[str, Any], layer: Any) -> dict[str, Any]:
    """The config of a default instance built on the same input: building normalises some
    values (LayerNormalization's axis -1 becomes [-1]), which must not look like settings."""
    from layerlab.models.build import _no_weights

    ref = cls(**{k: v for k, v in args.items() if k != "weights"})  # a pretrained Backbone's: no download
    try:
        with _no_weights():
            ref.build(layer.input.shape)
    except Exception:  # noqa: BLE001, S110 - an unbuilt reference is still a fair comparison
        pass
    return ref.get_config()


def _value(value: Any) -> str:
    """Python source for a config value; serialized Keras objects become constructor calls."""
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        module = value.get("module") or ""
        name = value["class_name"]
        prefix = f"{module}." if module.startswith("keras") else ""
        kwargs = ", ".join(f"{k}={_value(v)}" for k, v in (value["config"] or {}).items())
        return f"{prefix}{name}({kwargs})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(_value(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)
