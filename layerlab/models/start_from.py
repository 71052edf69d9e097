"""Transfer learning from an earlier run: its body with its weights, frozen or not per layer, and a new head.

`start_from_run(spec, run, freeze)` turns a project into one whose body is the earlier run's body (its
LayerSpecs, named as its built model named them, so the weights can be matched by name) and records the
run in `model.start_from_run`; `build_model` adds the head for the new data as always. At training time
`copy_start_weights` copies the earlier model's weights into every body layer whose name it knows, and
refuses in plain words (naming the layer and both shapes) a layer whose weights cannot fit.

What carries over per data kind:
- images: the main case. The earlier run's image size, colour and scaling are taken over, so its
  filters see what they were trained on; another size fits up to a Flatten, then the Dense after it
  says so by name.
- table, series: the first layer reads the earlier data's columns one by one, so the columns (features)
  must be the same ones; another target or other classes are fine.
- text: the first layer maps the earlier vocabulary's word numbers; a vocabulary learned from other
  texts numbers the words differently, so only a run on the same texts (same column and text settings)
  can be started from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layerlab.errors import LayerlabError
from layerlab.spec import LayerSpec, ProjectSpec, load_spec

if TYPE_CHECKING:  # pragma: no cover
    from layerlab.data.info import DataInfo
    from layerlab.runs.store import Run, RunStore

FREEZE_CHOICES = "all, none or all-but-K (K a whole number)"
_ALL_BUT = re.compile(r"^all-but-(\d{1,4})$")
# A run that ended with a model of its own (a stopped run keeps its best weights).
FINISHED = ("completed", "stopped", "interrupted", "pruned")


def parse_freeze(text: str) -> int | None:
    """How many of the last body layers stay trainable: "all" → 0, "all-but-K" → K; "none" → None (nothing frozen).

    Raises:
        LayerlabError: for any other text, with the accepted forms.
    """
    value = str(text).strip().lower()
    if value == "all":
        return 0
    if value == "none":
        return None
    match = _ALL_BUT.match(value)
    if match is None:
        raise LayerlabError(f"Invalid value received for `freeze`: {text!r}. Expected {FREEZE_CHOICES}.",
                            "all: keep every earlier layer as it is; all-but-2: let the last 2 learn; "
                            "none: let all learn.")
    return int(match.group(1))


def freeze_layers(layers: list[LayerSpec], freeze: str) -> list[LayerSpec]:
    """The same layers with `trainable` set by a freeze choice (all / none / all-but-K: the last K stay trainable)."""
    keep = parse_freeze(freeze)
    first_trainable = len(layers) if keep == 0 else 0 if keep is None else max(0, len(layers) - keep)
    return [layer.model_copy(update={"trainable": i >= first_trainable}) for i, layer in enumerate(layers)]


def built_names(layers: list[LayerSpec]) -> list[str]:
    """The names `build_model` gives these body layers (an explicit LayerSpec.name, else `00_conv2d` …)."""
    from layerlab.models.build import HEAD, HEAD_RESHAPE, _layer_name

    used = {"input", HEAD, HEAD_RESHAPE}
    return [_layer_name(i, layer, used) for i, layer in enumerate(layers)]


def usable_runs(runs: list[Run], kind: str) -> list[Run]:
    """The finished runs with a model that a project of data kind `kind` can start from."""
    return [r for r in runs if r.status in FINISHED and r.kind == kind and r.files.has_model]


def start_from_run(spec: ProjectSpec, run: Run, freeze: str = "all") -> ProjectSpec:
    """The project with the earlier run's body (named as it was built, frozen per `freeze`) and
    `model.start_from_run` set; the head is rebuilt for this project's data by `build_model`.

    Raises:
        LayerlabError: the run is not finished, has no model, or is of another data kind (or, for
        text, other texts), or `freeze` is not all / none / all-but-K.
    """
    parse_freeze(freeze)
    if run.status not in FINISHED or not run.files.has_model:
        raise LayerlabError(f"The run `{run.name}` did not finish with a model ({run.status}), so there is nothing to "
                            "start from.", "Pick a run that completed, or wait until this one has.")
    earlier = run.files.spec()
    if earlier.data.kind != spec.data.kind:
        raise LayerlabError(f"The run `{run.name}` learned from {earlier.data.kind} data, but this project's data is "
                            f"{spec.data.kind}: its layers expect inputs of another kind.",
                            f"Start from a run trained on {spec.data.kind}, or from a template.")
    if not earlier.model.layers:
        raise LayerlabError(f"The run `{run.name}` has no layers before its output head, so there is nothing to "
                            "start from.", "Pick a run whose model has layers.")
    data = spec.to_dict()
    if spec.data.kind == "images":  # the filters were learned on this size, colour and scaling
        data["prepare"]["image"] = earlier.prepare.image.model_dump(mode="json")
    elif spec.data.kind == "text":
        _check_same_texts(spec, earlier, run.name)
        data["prepare"]["text"] = earlier.prepare.text.model_dump(mode="json")
        data["prepare"]["split"] = earlier.prepare.split.model_dump(mode="json")
    body = list(earlier.model.layers)
    named = [layer.model_copy(update={"name": name}) for layer, name in zip(body, built_names(body))]
    data["model"] = {"template": earlier.model.template, "start_from_run": run.id,
                     "layers": [layer.model_dump(mode="json") for layer in freeze_layers(named, freeze)]}
    return load_spec(data)


def _check_same_texts(spec: ProjectSpec, earlier: ProjectSpec, name: str) -> None:
    if (earlier.data.source, earlier.data.text) != (spec.data.source, spec.data.text):
        raise LayerlabError(f"The run `{name}` learned its vocabulary from other texts: its first layer knows words by "
                            "numbers that mean other words in this data.",
                            "Start a text model only from a run on the same texts (same file and text column); "
                            "another target or other classes are fine.")


def copy_start_weights(core: Any, spec: ProjectSpec, info: DataInfo, store: RunStore,
                       log: Callable[[str], None], owner: str | None = None) -> int:
    """Copy the earlier run's weights into every body layer it has by name (`build_model` froze the layers the
    spec freezes).

    Layers the earlier model does not have (added since) keep their fresh weights; the head is always new.
    `owner` is the new run's: a project file that names another session's run copies nothing from it (the
    command line, which reads the run folders anyway, may start from any run).
    Returns how many layers took weights.

    Raises:
        LayerlabError: the earlier run is gone, its data's columns differ, or a layer's weights cannot fit
        (naming the layer and both shapes).
    """
    from layerlab.identity import CLI_OWNER, visible
    from layerlab.inference.predictor import load_model_file

    run = store.get(spec.model.start_from_run or "")
    if run is None or not run.files.has_model or (owner not in (None, CLI_OWNER) and not visible(run.owner, owner)):
        raise LayerlabError(f"The run `{spec.model.start_from_run}` this model starts from no longer exists (or has "
                            "no model).", "Pick another run to start from on Build, or train from a template.")
    earlier_info = run.files.info()
    _check_same_columns(earlier_info, info, run.name)
    earlier = _core_of(load_model_file(run.files.model_path, f"the model of run {run.name}"))
    pairs = _pairs(core, earlier, spec, earlier_info, info, run.name)
    for ours, theirs in pairs:
        ours.set_weights(theirs.get_weights())
    new = len(spec.model.layers) - len(pairs)
    log(f"Starting from run `{run.name}`: {len(pairs)} layer(s) took its weights"
        + (f", {new} new" if new else "") + f"; {sum(not s.trainable for s in spec.model.layers)} frozen; new head.")
    return len(pairs)


def check_fit(spec: ProjectSpec, info: DataInfo, run: Run) -> None:
    """What `copy_start_weights` will check when training starts, checked now without loading or allocating any
    weights (both models are built with deferred weights): for the Build page, on every change.

    Raises:
        LayerlabError: the data's columns differ, or a layer's weights cannot fit (naming it and both shapes).
    """
    from layerlab.models.build import _no_weights, build_model

    earlier_info = run.files.info()
    _check_same_columns(earlier_info, info, run.name)
    with _no_weights():
        _pairs(build_model(spec, info), build_model(run.files.spec(), earlier_info), spec, earlier_info, info,
               run.name)


def _pairs(core: Any, earlier: Any, spec: ProjectSpec, earlier_info: DataInfo, info: DataInfo,
           run_name: str) -> list[tuple[Any, Any]]:
    """(our layer, the earlier model's layer of that name) for every body layer the earlier model has.

    Raises:
        LayerlabError: a pair whose weights differ in shape, naming the layer and both shapes.
    """
    from layerlab.models.build import HEAD, HEAD_RESHAPE

    theirs = {layer.name: layer for layer in earlier.layers if layer.name not in (HEAD, HEAD_RESHAPE)}
    pairs = []
    for i, (layer_spec, name) in enumerate(zip(spec.model.layers, built_names(list(spec.model.layers)))):
        if name not in theirs:
            continue
        ours = core.get_layer(name)
        a, b = [tuple(w.shape) for w in theirs[name].weights], [tuple(w.shape) for w in ours.weights]
        if a != b:
            raise LayerlabError(f"{layer_spec.type} (layer {i + 1}, `{name}`) cannot take the weights of run "
                                f"`{run_name}`: there its weights have the shapes {_shapes(a)}, here {_shapes(b)}.",
                                _fit_hint(earlier_info, info))
        pairs.append((ours, theirs[name]))
    return pairs


def _core_of(model: Any) -> Any:
    """The core model (input → body → head) inside an end-to-end model that wraps preprocessing around it."""
    from layerlab.models.build import HEAD

    if any(layer.name == HEAD for layer in model.layers):
        return model
    for layer in model.layers:
        if hasattr(layer, "layers") and any(inner.name == HEAD for inner in layer.layers):
            return layer
    raise LayerlabError("The earlier run's model has no output head where Layerlab puts it, so its layers cannot be "
                        "told apart from the head.", "Train the earlier run again with this version of Layerlab.")


def _check_same_columns(earlier: DataInfo, info: DataInfo, name: str) -> None:
    """Tables and series: the first layer reads the columns in order, so they must be the same ones."""
    key = {"table": "columns", "series": "features"}.get(info.kind)
    if key is None:
        return
    theirs, ours = _column_names(earlier.extra.get(key)), _column_names(info.extra.get(key))
    if theirs is not None and ours is not None and theirs != ours:
        missing = [c for c in theirs if c not in ours][:3]
        extra = [c for c in ours if c not in theirs][:3]
        diff = "; ".join(part for part in (
            f"it had {', '.join(map(str, missing))}" if missing else "",
            f"this data adds {', '.join(map(str, extra))}" if extra else "") if part) or "in another order"
        raise LayerlabError(f"The run `{name}` read other input columns than this data gives ({diff}): its first "
                            "layer's weights belong to its own columns.",
                            "Start from a run on data with the same input columns (another target or other classes "
                            "are fine), or train from a template.")


def _column_names(columns: list | None) -> list[str] | None:
    """A table's columns (described with their fitted statistics) or a series' features, by name only: the same
    columns in new data have other statistics, and their encoded widths are checked with the weights' shapes."""
    if columns is None:
        return None
    return [str(c.get("name")) if isinstance(c, dict) else str(c) for c in columns]


def _shapes(shapes: list[tuple[int, ...]]) -> str:
    return ", ".join("(" + ", ".join(str(d) for d in s) + ")" for s in shapes) or "none"


def _fit_hint(earlier: DataInfo, info: DataInfo) -> str:
    a, b = tuple(earlier.input_shape), tuple(info.input_shape)
    if info.kind == "images" and a != b:
        return (f"The earlier run's images were {'×'.join(map(str, a))} (height×width×channels), this project's are "
                f"{'×'.join(map(str, b))}: set the same image size and colour on Prepare, or use "
                "GlobalAveragePooling2D instead of Flatten so that any size fits.")
    if a != b:
        return (f"The earlier run's inputs had the shape {a}, this data's {b}. Use data prepared the same way, "
                "or train from a template.")
    return ("Put the layer's settings back as the earlier run had them, or delete it and add a new one "
            "(which starts from fresh weights).")


def start_from(spec: ProjectSpec, what: str, freeze: str = "all", cut_at: str | None = None,
               runs_dir: str | Path | None = None) -> ProjectSpec:
    """`init --start-from`: `what` is a run id (in `runs_dir`), a run folder, or a `.keras` file (kept in the
    workspace, cut at `cut_at`).

    Raises:
        LayerlabError: no such run or file, `cut_at` given for a run, or what start_from_run / start_from_file refuse.
    """
    path = Path(what).expanduser()
    if path.suffix.lower() == ".keras":
        from layerlab.models import keras_file

        if not path.is_file():
            raise LayerlabError(f"There is no file {what!r}.",
                                "Give the path of a .keras file, a run folder or a run id.")
        stored = keras_file.store(path.name, path.read_bytes())
        return keras_file.start_from_file(spec, stored, cut_at or "", freeze)
    if cut_at:
        raise LayerlabError("Invalid argument `--cut`: a model is cut at a layer only when it starts from a .keras "
                            f"file; {what!r} is a run, whose layers up to its head are kept.",
                            "Leave out --cut, or give a .keras file.")
    return start_from_run(spec, find_run(what, runs_dir), freeze)


def find_run(what: str, runs_dir: str | Path | None = None) -> Run:
    """A run named by its id (in `runs_dir`, default LAYERLAB_HOME's runs) or by its folder in a run store.

    Raises:
        LayerlabError: it is neither.
    """
    from layerlab.runs.store import RunStore

    store = RunStore(runs_dir)
    run = store.get(what) if "/" not in what and what not in (".", "..") else None
    folder = Path(what).expanduser()
    if run is None and (folder.parent / "runs.db").is_file():
        run = RunStore(folder.resolve().parent).get(folder.resolve().name)
    if run is None:
        raise LayerlabError(f"There is no run {what!r}: it is neither a run id in {store.root} nor a run folder of a "
                            "run store (a folder beside a runs.db).",
                            "Name a run by its id (see `train`'s output) or its folder, or give a .keras file.")
    return run
