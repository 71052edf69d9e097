"""A `.keras` file made elsewhere as the start of a model: cut at one of its layers, kept as ONE block.

The file is checked and loaded as `layerlab.inference.outside` loads any foreign model (size and
parameter limits, no Lambda, Keras safe mode), kept in the workspace under its content's name
(`workspace.save_model_file`), and named by that in the `keras_file` layer's params. The block is a
functional sub-model from the file's input to the chosen layer's output, with the file's weights; a new
head (and any layers the user adds) follows. It saves and loads inside the run's end-to-end `.keras`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from layerlab.errors import LayerlabError
from layerlab.spec import LayerSpec, ProjectSpec, load_spec
from layerlab.workspace import model_file, model_file_display, save_model_file

LAYER_TYPE = "keras_file"


def store(name: str, data: bytes) -> str:
    """Check an uploaded .keras file (as outside.load does: limits, no Lambda, loads in safe mode) and keep it;
    returns the name a `keras_file` layer refers to it by.

    Raises:
        LayerlabError: naming what is wrong with the file.
    """
    from layerlab.inference import outside

    model = outside.load(data, name)
    _single_input(model, name)
    return save_model_file(name, data)


def cut_points(stored: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The file's layers a model can be cut at, in order, with their output shapes (batch left out).

    The input layer is left out and so is the last layer (the file's own output head, which a new head
    replaces); a model of one layer offers that layer.
    """
    return list(_summary(stored, _stamp(stored))[1])


def default_cut(stored: str) -> str:
    """The layer a cut defaults to: the last one before the file's own output layer."""
    return cut_points(stored)[-1][0]


def block(stored: str, cut_at: str = "") -> Any:
    """The file's model from its input to `cut_at`'s output (default: before its output layer), as one Keras
    model with the file's weights.

    Raises:
        LayerlabError: the file is gone or cannot be used, or it has no layer `cut_at`.
    """
    import keras

    from layerlab.inference import outside

    path = model_file(stored)
    shown = model_file_display(stored)
    model = outside.load(path.read_bytes(), shown)
    cut = cut_at or default_cut(stored)
    names = [name for name, _ in cut_points(stored)]
    if cut not in names:
        raise LayerlabError(f"The model in {shown} has no layer `{cut}` to cut at; it has: "
                            f"{', '.join(names[:12])}{' …' if len(names) > 12 else ''}.",
                            "Pick one of its layers to cut at.")
    return keras.Model(model.inputs, model.get_layer(cut).output, name=f"{LAYER_TYPE}_{cut}")


def input_problem(params: dict[str, Any], shape: tuple[int, ...]) -> tuple[str, str] | None:
    """The `check` of the keras_file layer: the file's model must take the shape that reaches it."""
    stored = params.get("file") or ""
    try:
        wanted = _summary(stored, _stamp(stored))[0]
    except LayerlabError as exc:
        return exc.message, exc.hint
    if len(wanted) != len(shape) or any(w is not None and w != s for w, s in zip(wanted, shape)):
        fmt = "(" + ", ".join("any" if d is None else str(d) for d in wanted) + ")"
        return (f"takes inputs of shape {fmt} (the model in {model_file_display(stored)}), but what reaches it has "
                f"the shape ({', '.join(map(str, shape))}).",
                "Set Prepare's image size and colour (or the data's columns) to what that model was trained on.")
    return None


def start_from_file(spec: ProjectSpec, stored: str, cut_at: str = "", freeze: str = "all") -> ProjectSpec:
    """The project with its body replaced by the file's model cut at `cut_at` (one block, frozen unless
    `freeze` is "none"), and a pooling layer after it when the cut leaves an image or a sequence.

    Raises:
        LayerlabError: the file, the cut or the freeze choice cannot be used.
    """
    from layerlab.models.start_from import parse_freeze

    keep = parse_freeze(freeze)
    cut = cut_at or default_cut(stored)
    shapes = dict(cut_points(stored))
    if cut not in shapes:
        block(stored, cut)  # raises, naming the layers there are
    body = [LayerSpec(type=LAYER_TYPE, params={"file": stored, "cut_at": cut}, trainable=keep is None or keep > 0)]
    pool = {3: "GlobalAveragePooling2D", 2: "GlobalAveragePooling1D"}.get(len(shapes[cut]))
    if pool:
        body.append(LayerSpec(type=pool))
    data = spec.to_dict()
    data["model"] = {"template": spec.model.template,
                     "layers": [layer.model_dump(mode="json", exclude_none=True) for layer in body]}
    return load_spec(data)


def _single_input(model: Any, name: str) -> None:
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise LayerlabError(f"The model in {name} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
                            "Layerlab can start from a model with one input and one output.",
                            "Save a model with one input and one output.")


def _stamp(stored: str) -> float:
    return model_file(stored).stat().st_mtime


@lru_cache(maxsize=16)
def _summary(stored: str, stamp: float) -> tuple[tuple[Any, ...], tuple[tuple[str, tuple[Any, ...]], ...]]:
    """(the input shape, the cut points) of a kept file, loaded once per file (the Build page asks on every edit)."""
    from layerlab.inference import outside

    shown = model_file_display(stored)
    model = outside.load(model_file(stored).read_bytes(), shown)
    _single_input(model, shown)
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if not layers:
        raise LayerlabError(f"The model in {shown} has no layers.", "Save a model with layers.")
    keep = layers[:-1] or layers
    points = tuple((layer.name, tuple(layer.output.shape[1:])) for layer in keep)
    return tuple(model.inputs[0].shape[1:]), points
