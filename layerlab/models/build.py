"""Assemble a Keras model from the spec: input, the user's body layers, a locked head.

Keras' own shape errors name internal ops; here every problem is checked before Keras
sees it and reported as a BuildError in plain words that names the layer (position and
type) and the fix. `check_model` runs the same assembly without allocating weights (a
Keras StatelessScope defers them), so the Build page can call it on every change, even
for a model that would need gigabytes.
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from layerlab.data.info import DataInfo
from layerlab.errors import LayerlabError
from layerlab.models.layers import LAYERS
from layerlab.spec import LayerSpec, ProjectSpec, TrainSpec

if TYPE_CHECKING:  # pragma: no cover
    import keras

RECURRENT = ("SimpleRNN", "LSTM", "GRU", "Bidirectional")
HEAD = "head"
HEAD_RESHAPE = "head_reshape"
_WINDOW_PARAMS = ("kernel_size", "pool_size", "patch_size")


class BuildError(LayerlabError):
    """The model cannot be built as specified.

    `layer_index` is the index into the body layers (spec.model.layers) of the layer at
    fault, or None when the problem is the data, the head or the model as a whole.
    """

    def __init__(self, message: str, hint: str = "", layer_index: int | None = None) -> None:
        super().__init__(message, hint)
        self.layer_index = layer_index


@dataclass
class BuildReport:
    """What the Build page shows: one row per layer, sizes, and the first problem if any."""

    ok: bool
    rows: list[dict[str, Any]] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    memory_mb: float = 0.0
    error: str | None = None
    error_index: int | None = None
    hint: str = ""


# ---- public API -------------------------------------------------------------------------------


def resolve_layers(spec: ProjectSpec, layers: list[LayerSpec] | None = None) -> list[LayerSpec]:
    """The body to build: `layers` when given (the Build page's draft), else spec.model.layers.

    An empty body is allowed where it makes sense: on a table it is a linear model.
    """
    return list(spec.model.layers if layers is None else layers)


def build_model(spec: ProjectSpec, info: DataInfo, layers: list[LayerSpec] | None = None) -> "keras.Model":
    """The uncompiled core model: Input(info.input_shape) → body → head.

    Body layers are named f"{i:02d}_{type}" (lower case) or by LayerSpec.name; a layer whose
    LayerSpec has `trainable=False` is built frozen (see `layerlab.train.phases` for phase 2).

    Raises:
        BuildError: in plain words, naming the layer at fault and the fix.
    """
    import keras

    body = resolve_layers(spec, layers)
    with _no_weights():  # checks shapes and size first, without allocating anything
        _assemble(body, info)
    built = _assemble(body, info)
    return keras.Model(built.inputs, built.outputs, name=_safe_name(spec.name) or "layerlab_model")


def check_model(spec: ProjectSpec, info: DataInfo, layers: list[LayerSpec] | None = None,
                batch_size: int | None = None) -> BuildReport:
    """Shapes, parameter counts and a rough memory estimate, or the first problem.

    Never raises for model problems, and allocates no weights: fast enough to run on
    every edit. Rows built before a problem are kept, so the page can show how far it got.
    """
    batch = batch_size or spec.train.batch_size
    rows: list[dict[str, Any]] = []
    error: tuple[str, int | None, str] | None = None
    try:
        body = resolve_layers(spec, layers)
        with _no_weights():
            _assemble(body, info, rows)
    except LayerlabError as exc:
        error = (exc.message, getattr(exc, "layer_index", None), exc.hint)
    except Exception as exc:  # a Keras failure no check foresaw: report it, never crash the page
        error = (f"the model cannot be built: {_first_line(exc)}", None,
                 "Undo the last change, or check the layers' settings.")
    total = sum(r["params"] for r in rows)
    trainable = sum(r.pop("_trainable") for r in rows)
    memory = _memory_mb(total, sum(r.pop("_elements") for r in rows), batch)
    if error is None:
        return BuildReport(True, rows, total, trainable, memory)
    return BuildReport(False, rows, total, trainable, memory, *error)


def loss_for(info: DataInfo) -> str:
    """The loss the head implies: cross-entropy for classes, mean squared error for numbers."""
    if info.task == "classification":
        return "binary_crossentropy" if info.n_classes == 2 else "sparse_categorical_crossentropy"
    return "mse"


def compile_model(model: "keras.Model", train: TrainSpec, info: DataInfo, steps_per_execution: int = 1,
                  jit_compile: bool | str = "auto") -> None:
    """Compile with the spec's optimizer and learning rate and the loss the head implies; `steps_per_execution`
    steps run in one call to the device, `jit_compile` asks for XLA (see train.speed)."""
    import keras

    lr = train.learning_rate
    optimizers = {
        "adam": lambda: keras.optimizers.Adam(learning_rate=lr),
        "adamw": lambda: keras.optimizers.AdamW(learning_rate=lr),
        "sgd": lambda: keras.optimizers.SGD(learning_rate=lr, momentum=0.9),
        "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=lr),
    }
    metrics = ["accuracy"] if info.task == "classification" else ["mae"]
    # By keyword: the third positional argument of compile is loss_weights.
    model.compile(optimizer=optimizers[train.optimizer](), loss=loss_for(info), metrics=metrics,
                  steps_per_execution=steps_per_execution, jit_compile=jit_compile)


def probabilities(outputs: np.ndarray, info: DataInfo) -> np.ndarray:
    """(N, n_classes) class probabilities from raw model outputs.

    The 2-class head has one sigmoid unit p = P(class 1); it becomes [1 - p, p].
    """
    if info.task != "classification":
        raise LayerlabError(f"class probabilities exist only for classification, not {info.task}.")
    out = np.asarray(outputs, dtype=np.float32)
    if out.ndim == 1:
        out = out[:, None]
    if out.shape[-1] == 1 and info.n_classes == 2:
        p = np.clip(out[:, 0], 0.0, 1.0)
        return np.stack([1.0 - p, p], axis=1)
    if out.shape[-1] != info.n_classes:
        raise LayerlabError(f"the model outputs {out.shape[-1]} values per example but the data has "
                            f"{info.n_classes} classes.", "Retrain the model on this data.")
    return out


# ---- assembly ---------------------------------------------------------------------------------


@dataclass
class _Built:
    inputs: Any
    outputs: Any
    total: int


@contextmanager
def _no_weights() -> Iterator[None]:
    """Build layers with deferred (never allocated) weights, then forget them.

    Keras keeps such variables in a thread-local list and would allocate them at the
    next stateless scope's exit; restoring the list keeps a huge rejected model from
    ever being allocated. Without that private hook we build for real (still correct).
    """
    import keras

    try:
        from keras.src.backend.common import global_state
    except ImportError:  # pragma: no cover - a future Keras may move it
        yield
        return
    before = list(global_state.get_global_attribute("uninitialized_variables") or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        global_state.set_global_attribute("uninitialized_variables", before)


def _assemble(body: list[LayerSpec], info: DataInfo, rows: list[dict[str, Any]] | None = None) -> _Built:
    import keras

    from layerlab.settings import limits

    rows = [] if rows is None else rows
    limit = limits().model_params
    units, head_shape = _head_size(info)
    shape = tuple(int(d) for d in info.input_shape)
    if not shape or any(d < 1 for d in shape):
        raise BuildError(f"the data's input shape {shape} is empty.", "Check the data preparation.")
    dtype = "int32" if info.kind == "text" else "float32"
    inputs = keras.Input(shape=shape, dtype=dtype, name="input")
    rows.append(_row(None, "input", "Input", shape, 0, 0))
    if info.kind == "text" and not body:
        raise BuildError("the model has no layers, but text arrives as token ids (whole numbers standing for words).",
                         "Start the model with Embedding or TokenAndPositionEmbedding.")

    x = inputs
    total = trainable = 0
    reducer: tuple[int, LayerSpec] | None = None  # the last layer that lowered the rank (for hints)
    used = {"input", HEAD, HEAD_RESHAPE}
    for i, spec in enumerate(body):
        what = f"{spec.type} (layer {i + 1})"
        try:
            entry = LAYERS.get(spec.type)
            params = entry.validate(spec.params, f"layer {i + 1}")
        except LayerlabError as exc:
            raise BuildError(f"{what}: {exc.message}", exc.hint, i) from None
        prev = body[i - 1] if i else None
        _check_input(i, spec, entry.meta.get("needs", "any"), shape, info, prev, reducer)
        _check_window(i, spec, params, shape, prev)
        check = entry.meta.get("check")
        if check is not None:
            problem = check(params, shape)
            if problem:
                raise BuildError(f"{what} {problem[0]}", problem[1], i)
        name = _layer_name(i, spec, used)
        try:
            layer = entry.build(**params, **({"info": info} if entry.meta.get("uses_info") else {}))
        except LayerlabError as exc:
            raise BuildError(f"{what}: {exc.message}", exc.hint, i) from None
        layer.name = name
        if not spec.trainable:  # frozen: no weight changes; a BatchNormalization inside runs in inference mode
            layer.trainable = False
        try:
            y = layer(x)
        except Exception as exc:
            raise BuildError(f"{what} cannot take its input: {_source(i, prev, shape)}.",
                             f"Check its settings against that shape. (Keras says: {_first_line(exc)})", i) from None
        out = tuple(y.shape[1:])
        if any(d is not None and d < 1 for d in out):
            raise BuildError(f"{what} shrinks the data to {_fmt(out)}: nothing is left.",
                             "Remove a pooling layer or a strided or 'valid' convolution before it, or use padding 'same'.", i)
        n, t = layer.count_params(), _trainable(layer)
        total += n
        trainable += t
        rows.append(_row(i, name, spec.type, out, n, t))
        if total > limit:
            raise BuildError(f"the model would have {total:,} parameters, more than the limit of {limit:,}; "
                             f"{what} alone has {n:,}.", _too_big_hint(spec, shape, reducer), i)
        if len(out) < len(shape):
            reducer = (i, spec)
        x, shape = y, tuple(int(d) for d in out)

    if len(shape) > 1:
        last = f"the last layer ({body[-1].type}, layer {len(body)}) outputs" if body else "the input data is"
        raise BuildError(f"{last} {_describe(shape)} but the output head needs a flat vector.",
                         _head_hint(body, shape), len(body) - 1 if body else None)
    head = keras.layers.Dense(units, activation=_head_activation(info), dtype="float32", name=HEAD)
    x = head(x)
    n = head.count_params()
    total, trainable = total + n, trainable + n
    rows.append(_row(None, HEAD, "Dense", (units,), n, n))
    if head_shape is not None:
        x = keras.layers.Reshape(head_shape, dtype="float32", name=HEAD_RESHAPE)(x)
        rows.append(_row(None, HEAD_RESHAPE, "Reshape", head_shape, 0, 0))
    if total > limit:
        raise BuildError(f"the model would have {total:,} parameters, more than the limit of {limit:,}; "
                         f"the output head alone has {n:,} because it receives {shape[0]:,} values.",
                         "Shrink what reaches the head: pooling, GlobalAveragePooling, or a smaller Dense layer at the end.",
                         None)
    return _Built(inputs, x, total)


def _head_size(info: DataInfo) -> tuple[int, tuple[int, int] | None]:
    """Units of the head's Dense layer, and the (horizon, n_targets) reshape for forecasts."""
    if info.task == "classification":
        if info.n_classes < 2:
            raise BuildError(f"classification needs at least 2 classes, but the data has {info.n_classes}.",
                             "Check the label column or folders, or choose regression.")
        return (1 if info.n_classes == 2 else info.n_classes), None
    if info.task == "forecasting":
        horizon = int(info.extra.get("horizon", info.outputs))
        targets = int(info.extra.get("n_targets", 1))
        if horizon < 1 or targets < 1:
            raise BuildError("forecasting needs a horizon and at least one target.", "Check the series settings.")
        return horizon * targets, (horizon, targets)
    if info.task == "regression":
        if info.outputs < 1:
            raise BuildError("regression needs at least one value to predict.", "Check the target column.")
        return int(info.outputs), None
    raise BuildError(f"unknown task `{info.task}`; expected classification, regression or forecasting.")


def _head_activation(info: DataInfo) -> str:
    if info.task == "classification":
        return "sigmoid" if info.n_classes == 2 else "softmax"
    return "linear"


# ---- checks in plain words --------------------------------------------------------------------


_NEEDS = {
    "image": (3, "an image-shaped input (height, width, channels)"),
    "sequence": (2, "a sequence (steps, features)"),
}


def _check_input(i: int, spec: LayerSpec, needs: str, shape: tuple[int, ...], info: DataInfo,
                 prev: LayerSpec | None, reducer: tuple[int, LayerSpec] | None) -> None:
    what = f"{spec.type} (layer {i + 1})"
    if needs == "tokens":
        if info.kind != "text":
            raise BuildError(f"{what} turns token ids (words as numbers) into vectors, "
                             f"but this project's data is {info.kind}.", "Remove it: it is only for text.", i)
        if i > 0:
            raise BuildError(f"{what} must read the token ids of the text, but {_source(i, prev, shape)}.",
                             "Move it to the top of the model.", i)
        return
    if info.kind == "text" and i == 0:
        raise BuildError(f"{what} receives token ids (whole numbers standing for words), "
                         "which it cannot learn from directly.",
                         "Start the model with Embedding or TokenAndPositionEmbedding.", i)
    if needs not in _NEEDS:
        return
    rank, phrase = _NEEDS[needs]
    if len(shape) == rank:
        return
    verb = " to attend over" if spec.type == "TransformerEncoder" else ""
    raise BuildError(f"{what} needs {phrase}{verb} but {_source(i, prev, shape)}.",
                     _rank_hint(spec, needs, shape, info, reducer), i)


def _rank_hint(spec: LayerSpec, needs: str, shape: tuple[int, ...], info: DataInfo,
               reducer: tuple[int, LayerSpec] | None) -> str:
    t = spec.type
    if needs == "image":
        if len(shape) == 1:
            if reducer is not None:
                return f"Remove {reducer[1].type} (layer {reducer[0] + 1}) so the image shape reaches it, or use Dense."
            return "Use Dense for flat vectors, or Reshape the values into height,width,channels first."
        if len(shape) == 2:
            twin = t.replace("2D", "1D")
            if twin != t and twin in LAYERS:
                return f"Use {twin} for sequences."
            return "Use Conv1D for sequences, or Reshape into height,width,channels first."
        return "Reshape into height,width,channels first."
    # needs a sequence
    if len(shape) == 1:
        if reducer is not None:
            r_i, r = reducer
            if r.type in RECURRENT and not r.params.get("return_sequences", False):
                return f"Turn on return_sequences in {r.type} (layer {r_i + 1}) so it outputs every step."
            return f"Remove {r.type} (layer {r_i + 1}) so the sequence reaches it, or use Dense instead."
        return "Use Dense for flat vectors, or Reshape into steps,features first (e.g. -1,1: one feature per step)."
    if len(shape) == 3:
        if t == "TransformerEncoder":
            return "Add PatchEmbedding before it to cut the image into a sequence of patches."
        twin = t.replace("1D", "2D")
        if twin != t and twin in LAYERS:
            return f"Use {twin} for images."
        return "For images use Conv2D layers, or Reshape into steps,features first (e.g. rows as steps)."
    return "Reshape into steps,features first."


def _check_window(i: int, spec: LayerSpec, params: dict[str, Any], shape: tuple[int, ...], prev: LayerSpec | None) -> None:
    """A 'valid' window larger than what is left would shrink the data below one step or pixel."""
    key = next((k for k in _WINDOW_PARAMS if k in params), None)
    if key is None or (params.get("padding", "valid") != "valid" and key != "patch_size"):
        return
    window = int(params[key])
    spatial = shape[:-1]
    if not spatial or min(spatial) >= window:
        return
    what = f"{spec.type} (layer {i + 1})"
    unit = "pixels" if len(spatial) == 2 else "steps"
    need = "×".join([str(window)] * len(spatial))
    if key == "patch_size":
        hint = f"Use a patch_size of at most {min(spatial)}."
    else:
        hint = "Remove a pooling layer or strided convolution before it, use padding 'same', or a smaller window."
    raise BuildError(f"{what} needs at least {need} {unit} (its window) but {_source(i, prev, shape)}: "
                     "the data has shrunk too far.", hint, i)


def _head_hint(body: list[LayerSpec], shape: tuple[int, ...]) -> str:
    if len(shape) == 3:
        return "Add Flatten or GlobalAveragePooling2D at the end."
    hint = "Add GlobalAveragePooling1D or Flatten at the end"
    for j in range(len(body) - 1, -1, -1):
        if body[j].type in RECURRENT and body[j].params.get("return_sequences"):
            hint += f", or turn off return_sequences in {body[j].type} (layer {j + 1})"
            break
    return hint + "."


def _too_big_hint(spec: LayerSpec, shape: tuple[int, ...], reducer: tuple[int, LayerSpec] | None) -> str:
    if spec.type in ("Dense", "ResidualDenseBlock") and reducer is not None and reducer[1].type == "Flatten":
        return (f"It receives {math.prod(shape):,} values from Flatten (layer {reducer[0] + 1}): pool the images smaller "
                "first, use GlobalAveragePooling2D instead of Flatten, or use fewer units.")
    return "Use fewer units or filters, or shrink the data with pooling before it."


# ---- small helpers ------------------------------------------------------------------------------


def _describe(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return f"a flat vector of {shape[0]}"
    if len(shape) == 2:
        return f"a sequence of {shape[0]} steps × {shape[1]} features {_fmt(shape)}"
    if len(shape) == 3:
        return f"an image-shaped tensor {_fmt(shape)}"
    return f"a tensor of shape {_fmt(shape)}"


def _source(i: int, prev: LayerSpec | None, shape: tuple[int, ...]) -> str:
    if i == 0 or prev is None:
        return f"the input data is {_describe(shape)}"
    return f"the layer before it ({prev.type}) outputs {_describe(shape)}"


def _fmt(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line[:300]


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text or "").strip("_")[:60]


def _layer_name(i: int, spec: LayerSpec, used: set[str]) -> str:
    name = _safe_name(spec.name or "") or f"{i:02d}_{spec.type.lower()}"
    if name in used:
        name = f"{name}_{i:02d}"
    while name in used:
        name += "_"
    used.add(name)
    return name


def _trainable(layer: Any) -> int:
    return int(sum(math.prod(w.shape) for w in layer.trainable_weights))


def _row(index: int | None, name: str, type_: str, shape: tuple[int, ...], params: int, trainable: int) -> dict[str, Any]:
    return {"index": index, "name": name, "type": type_, "output_shape": _fmt(shape), "params": int(params),
            "_trainable": int(trainable), "_elements": math.prod(shape)}


def _memory_mb(total: int, elements: int, batch: int) -> float:
    """Weights + Adam's two slots + gradients (4 copies), plus forward and backward activations."""
    return round((total * 4 * 4 + batch * elements * 4 * 2) / 2**20, 2)
