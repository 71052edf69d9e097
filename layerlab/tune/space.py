"""What a study can search: a registry of small declarative entries, and the checks on a chosen space.

An entry names the spec fields (or layer settings) it changes, its type, a default range read from
the project (so `units` of a 64-unit layer searches 32–128), whether the range is on a log scale, and
one line of help. Entries exist only where the spec really has the setting: `units` only when the
model has a Dense/recurrent layer, `image_size` only for images, `window` only for series.

A chosen space is `{dim name: None | {"low": …, "high": …} | {"choices": […]}}` (None: the default
range); `choose` checks every range against the spec's own limits and names the one that cannot be built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from layerlab.errors import SpecError
from layerlab.spec import ProjectSpec, load_spec

DimKind = Literal["float", "int", "choice"]


@dataclass(frozen=True)
class Dim:
    """One searched value: its range and the spec paths it is written to."""

    name: str                      # "lr", "units.5" (layer 5)
    group: str                     # the registry entry ("units")
    label: str
    help: str
    kind: DimKind
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    log: bool = False
    targets: tuple[str, ...] = ()  # dotted paths in the spec's dict; list items by index
    min: float | None = None       # what the spec allows
    max: float | None = None
    allowed: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "kind": self.kind, "low": self.low, "high": self.high,
                "choices": list(self.choices), "log": self.log, "targets": list(self.targets)}


@dataclass(frozen=True)
class Entry:
    name: str
    label: str
    help: str
    dims: Callable[[ProjectSpec], list[Dim]]


SEARCH: dict[str, Entry] = {}


def _entry(name: str, label: str, help: str):
    def add(fn: Callable[[ProjectSpec], list[Dim]]) -> Callable[[ProjectSpec], list[Dim]]:
        SEARCH[name] = Entry(name, label, help, fn)
        return fn
    return add


def _field(path: str) -> Any:
    from layerlab.spec_meta import field_param

    return field_param(path)


def _clip(value: float, lo: float | None, hi: float | None) -> float:
    if lo is not None:
        value = max(value, lo)
    if hi is not None:
        value = min(value, hi)
    return value


def _spec_dim(name: str, path: str, low: float, high: float, help: str, *, log: bool = False,
              targets: tuple[str, ...] | None = None) -> Dim:
    p = _field(path)
    kind: DimKind = "int" if p.kind == "int" else "float"
    lo, hi = _clip(low, p.min, p.max), _clip(high, p.min, p.max)
    if kind == "int":
        lo, hi = int(lo), int(hi)
    return Dim(name, name, p.title, help, kind, lo, hi, log=log, targets=targets or (path,), min=p.min, max=p.max)


@_entry("lr", "Learning rate", "The optimizer's step size, searched on a log scale.")
def _lr(spec: ProjectSpec) -> list[Dim]:
    return [_spec_dim("lr", "train.learning_rate", 1e-4, 1e-2, SEARCH["lr"].help, log=True)]


@_entry("batch_size", "Batch size", "Examples per training step (log scale): smaller often generalises better, "
        "larger is faster.")
def _batch(spec: ProjectSpec) -> list[Dim]:
    return [_spec_dim("batch_size", "train.batch_size", 16, 128, SEARCH["batch_size"].help, log=True)]


@_entry("optimizer", "Optimizer", "How the weights are updated: Adam, AdamW, SGD with momentum or RMSprop.")
def _optimizer(spec: ProjectSpec) -> list[Dim]:
    p = _field("train.optimizer")
    return [Dim("optimizer", "optimizer", p.title, SEARCH["optimizer"].help, "choice", choices=tuple(p.choices),
                targets=("train.optimizer",), allowed=tuple(p.choices))]


def _layer_dims(spec: ProjectSpec, group: str, params: tuple[str, ...], span: Callable[[float], tuple[float, float]],
                kind: DimKind, help: str, log: bool = False) -> list[Dim]:
    """One dim per layer that has one of `params` (its first), ranged around the layer's value."""
    from layerlab.models.layers import LAYERS

    out = []
    for i, layer in enumerate(spec.model.layers):
        name = next((n for n in params if n in layer.params), None)
        if name is None:
            continue
        p = next(q for q in LAYERS.get(layer.type).params if q.name == name)
        lo, hi = span(float(layer.params[name]))
        lo, hi = _clip(lo, p.min, p.max), _clip(hi, p.min, p.max)
        if kind == "int":
            lo, hi = int(lo), int(hi)
        out.append(Dim(f"{group}.{i}", group, f"{layer.type} {i + 1}: {name}", help, kind, lo, hi, log=log,
                       targets=(f"model.layers.{i}.params.{name}",), min=p.min, max=p.max))
    return out


@_entry("units", "Units / filters", "Neurons of each Dense or recurrent layer, or filters of each convolution "
        "(log scale, from half to twice the project's value).")
def _units(spec: ProjectSpec) -> list[Dim]:
    return _layer_dims(spec, "units", ("units", "filters"), lambda v: (max(1, v / 2), v * 2), "int",
                       SEARCH["units"].help, log=True)


@_entry("dropout", "Dropout rates", "Share of values each Dropout layer (or a recurrent layer's input dropout) "
        "switches off while training.")
def _dropout(spec: ProjectSpec) -> list[Dim]:
    dims = _layer_dims(spec, "dropout", ("rate", "dropout"), lambda v: (0.0, 0.5), "float", SEARCH["dropout"].help)
    # Only rates that are dropout rates (a Dropout layer's, a recurrent layer's `dropout`).
    keep = {i for i, layer in enumerate(spec.model.layers) if "Dropout" in layer.type or "dropout" in layer.params}
    return [d for d in dims if int(d.name.split(".")[1]) in keep]


@_entry("weight_decay", "Weight decay (L2)", "One L2 weight penalty for every layer that takes one (log scale): "
        "keeps weights small against overfitting.")
def _weight_decay(spec: ProjectSpec) -> list[Dim]:
    targets = tuple(f"model.layers.{i}.params.l2" for i, l in enumerate(spec.model.layers) if "l2" in l.params)
    if not targets:
        return []
    return [Dim("weight_decay", "weight_decay", "L2 penalty", SEARCH["weight_decay"].help, "float", 1e-6, 1e-2,
                log=True, targets=targets, min=0.0, max=1.0)]


@_entry("image_size", "Image size", "The side every image is resized to (height = width): larger keeps detail, "
        "smaller trains faster.")
def _image_size(spec: ProjectSpec) -> list[Dim]:
    if spec.data.kind != "images":
        return []
    side = max(spec.prepare.image.height, spec.prepare.image.width)
    return [_spec_dim("image_size", "prepare.image.height", max(4, side // 2), side * 2, SEARCH["image_size"].help,
                      targets=("prepare.image.height", "prepare.image.width"))]


@_entry("sequence_length", "Sequence length", "Words per text the model reads.")
def _sequence_length(spec: ProjectSpec) -> list[Dim]:
    if spec.data.kind != "text":
        return []
    n = spec.prepare.text.sequence_length
    return [_spec_dim("sequence_length", "prepare.text.sequence_length", max(4, n // 2), n * 2,
                      SEARCH["sequence_length"].help)]


@_entry("window", "Window length", "How many past time steps each forecast looks at.")
def _window(spec: ProjectSpec) -> list[Dim]:
    if spec.data.kind != "series":
        return []
    n = spec.prepare.series.window
    return [_spec_dim("window", "prepare.series.window", max(2, n // 2), n * 2, SEARCH["window"].help)]


def available(spec: ProjectSpec) -> list[Dim]:
    """Every dim this project can search, with its default range, in registry order."""
    return [d for entry in SEARCH.values() for d in entry.dims(spec)]


def expand(spec: ProjectSpec, names: list[str]) -> dict[str, None]:
    """`["lr", "units"]` (entry or dim names, as the CLI takes them) → the dims they mean, default ranges.

    Raises:
        SpecError: a name that is no entry, or an entry this project has nothing to search for.
    """
    dims = available(spec)
    out: dict[str, None] = {}
    for name in names:
        found = [d.name for d in dims if d.group == name or d.name == name]
        if not found:
            if name in SEARCH:
                raise SpecError("search", f"this project has nothing to search for `{name}` "
                                f"({SEARCH[name].help[:1].lower()}{SEARCH[name].help[1:].rstrip('.')}).",
                                f"Search one of: {', '.join(sorted({d.group for d in dims}))}.")
            raise SpecError("search", f"unknown search setting `{name}`; expected one of: "
                            f"{', '.join(sorted({d.group for d in dims}))}.")
        out.update(dict.fromkeys(found))
    return out


def choose(spec: ProjectSpec, search: dict[str, dict[str, Any] | None]) -> list[Dim]:
    """The dims to search, each narrowed to its chosen range and checked.

    Raises:
        SpecError: naming the dim whose range cannot be built (an unknown name or layer, low > high,
            a bound outside the spec's limits, a choice the spec does not have).
    """
    if not search:
        raise SpecError("search", "nothing to search: tick at least one setting.")
    dims = {d.name: d for d in available(spec)}
    out = []
    for name, bounds in search.items():
        if name not in dims:
            group, _, index = name.partition(".")
            if index and group in SEARCH:
                raise SpecError(f"search.{name}", f"layer {index} does not exist or has no setting for `{group}`; "
                                f"this model has: {', '.join(n for n in dims if n.startswith(group + '.')) or 'none'}.")
            raise SpecError(f"search.{name}", f"unknown search setting; expected one of: {', '.join(dims)}.")
        out.append(_narrow(dims[name], bounds or {}))
    return out


def _narrow(dim: Dim, bounds: dict[str, Any]) -> Dim:
    where = f"search.{dim.name}"
    if dim.kind == "choice":
        choices = tuple(bounds.get("choices") or dim.choices)
        bad = [c for c in choices if c not in dim.allowed]
        if bad:
            raise SpecError(where, f"expected choices among {', '.join(map(str, dim.allowed))}; received {bad[0]!r}.")
        return replace(dim, choices=choices)
    try:
        low = float(bounds.get("low", dim.low))
        high = float(bounds.get("high", dim.high))
    except (TypeError, ValueError):
        raise SpecError(where, f"expected numbers for low and high; received {bounds!r}.") from None
    if low > high:
        raise SpecError(where, f"the range is empty: low {low:g} is above high {high:g}.")
    for value in (low, high):
        if (dim.min is not None and value < dim.min) or (dim.max is not None and value > dim.max):
            raise SpecError(where, f"{value:g} is outside what the project allows "
                            f"({_fmt(dim.min)} to {_fmt(dim.max)}).")
    if dim.log and low <= 0:
        raise SpecError(where, f"a log-scale range must start above 0; received low {low:g}.")
    if dim.kind == "int":
        if not (float(low).is_integer() and float(high).is_integer()):
            raise SpecError(where, f"expected whole numbers; received {low:g} to {high:g}.")
        return replace(dim, low=int(low), high=int(high))
    return replace(dim, low=low, high=high)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def suggest(trial: Any, dims: list[Dim]) -> dict[str, Any]:
    """Ask an Optuna trial for a value of every dim."""
    out = {}
    for d in dims:
        if d.kind == "choice":
            out[d.name] = trial.suggest_categorical(d.name, list(d.choices))
        elif d.kind == "int":
            out[d.name] = trial.suggest_int(d.name, int(d.low), int(d.high), log=d.log)
        else:
            out[d.name] = trial.suggest_float(d.name, float(d.low), float(d.high), log=d.log)
    return out


def apply(spec: ProjectSpec, dims: list[Dim], params: dict[str, Any]) -> ProjectSpec:
    """The project with a trial's values written into it (validated); dims not in `params` keep theirs."""
    data = spec.to_dict()
    for d in dims:
        if d.name not in params:
            continue
        for path in d.targets:
            node: Any = data
            *parents, last = path.split(".")
            for key in parents:
                node = node[int(key)] if isinstance(node, list) else node[key]
            node[last] = params[d.name]
    return load_spec(data)


def dims_from(raw: list[dict[str, Any]]) -> list[Dim]:
    """Dims back from a study's stored `to_dict()`s (the driver and the page read them)."""
    return [Dim(r["name"], r["name"].split(".")[0], r.get("label") or r["name"], "", r["kind"], r.get("low"), r.get("high"),
                tuple(r.get("choices") or ()), bool(r.get("log")), tuple(r["targets"])) for r in raw]
