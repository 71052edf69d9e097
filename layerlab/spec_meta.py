"""Spec fields as registry Params: what a widget needs, read from the pydantic schema itself.

The spec's fields carry their limits (`ge`, `le`, `gt`, `lt`), their help (`description`)
and their words for the UI (`json_schema_extra`: `label`, `choices` = {value: words},
`step`, `log`, `limit` = the name of a server limit that caps the field). Turning a field
into the same `Param` the layer registry uses lets one widget generator draw a layer's
setting and a spec field alike, and keeps every limit in one place: the schema.
"""

from __future__ import annotations

import types
from functools import lru_cache
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from layerlab.registry import Param, ParamKind
from layerlab.settings import limits
from layerlab.spec import ProjectSpec


def _kind(annotation: Any) -> tuple[ParamKind, tuple[Any, ...]]:
    """The Param kind (and choices) of a field's type; `X | None` counts as X."""
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if get_origin(annotation) is Literal:
        return "choice", get_args(annotation)
    return {bool: "bool", int: "int", float: "float"}.get(annotation, "str"), ()


def _bounds(metadata: list[Any]) -> tuple[float | None, float | None]:
    """Widget limits from the field's constraints (an exclusive bound is the widget's edge)."""
    lo = hi = None
    for m in metadata:
        if isinstance(m, (Ge, Gt)):
            lo = m.ge if isinstance(m, Ge) else m.gt
        elif isinstance(m, (Le, Lt)):
            hi = m.le if isinstance(m, Le) else m.lt
    return lo, hi


@lru_cache(maxsize=None)
def _static_param(model: type[BaseModel], name: str) -> Param:
    try:
        info = model.model_fields[name]
    except KeyError:
        raise KeyError(f"{model.__name__} has no field `{name}`") from None
    kind, choices = _kind(info.annotation)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    lo, hi = _bounds(info.metadata)
    default = info.default if info.default is not PydanticUndefined else None
    words = extra.get("choices") or {}
    return Param(name, kind, default, info.description or "", min=lo, max=hi, choices=choices,
                 step=extra.get("step"), log=bool(extra.get("log", False)), label=extra.get("label", ""),
                 choice_labels=tuple(words.items()))


def param(model: type[BaseModel], name: str) -> Param:
    """The Param of one field of a spec model, e.g. `param(TrainSpec, "epochs")`.

    A field capped by a server limit (`json_schema_extra={"limit": "vocabulary"}`) gets that
    limit as its maximum, read now: the limit is the environment's, not the import's.
    """
    found = _static_param(model, name)
    extra = model.model_fields[name].json_schema_extra
    limit = extra.get("limit") if isinstance(extra, dict) else None
    if limit:
        from dataclasses import replace

        found = replace(found, max=getattr(limits(), limit))
    return found


def _owner(path: str) -> tuple[type[BaseModel], str]:
    """The model that holds the field at a dotted path of the project, and the field's name."""
    model: type[BaseModel] = ProjectSpec
    *parents, last = path.split(".")
    for part in parents:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            raise KeyError(f"`{part}` in `{path}` is not a section of the project")
        model = annotation
    return model, last


def field_param(path: str) -> Param:
    """The Param of the project field at a dotted path, e.g. `field_param("prepare.split.test")`."""
    return param(*_owner(path))


def value_at(spec: BaseModel, path: str) -> Any:
    """The spec's current value at a dotted path."""
    node: Any = spec
    for part in path.split("."):
        node = getattr(node, part)
    return node
