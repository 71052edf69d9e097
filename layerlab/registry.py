"""Declarative registries: each entry names its parameters (type, range, default, help) and
a builder, so the UI generates its widgets and the spec validates from the same table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal

from layerlab.errors import SpecError

ParamKind = Literal["int", "float", "bool", "choice", "str"]


@dataclass(frozen=True)
class Param:
    """One parameter of a layer or step, with everything a widget and a validator need."""

    name: str
    kind: ParamKind
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] = ()
    step: float | None = None
    log: bool = False
    label: str = ""
    # Words shown for each choice, as (value, words) pairs (a choice without words shows itself).
    choice_labels: tuple[tuple[Any, str], ...] = ()

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def choice_label(self, value: Any) -> str:
        """The words a widget shows for one choice."""
        return next((words for v, words in self.choice_labels if v == value), str(value))

    def expected(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "str":
            return "a text"
        noun = "an integer" if self.kind == "int" else "a number"
        if self.min is not None and self.max is not None:
            return f"{noun} between {_fmt(self.min)} and {_fmt(self.max)}"
        if self.min is not None:
            return f"{noun} of at least {_fmt(self.min)}"
        return noun

    def validate(self, value: Any, where: str) -> Any:
        """Return the value in its canonical type, or raise SpecError naming `where`."""
        bad = SpecError(where, f"expected {self.expected()}, received {value!r}.")
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise bad
        if self.kind == "choice":
            if value in self.choices:
                return value
            raise bad
        if self.kind == "str":
            if isinstance(value, str) and len(value) <= 200:
                return value
            raise bad
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if self.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise bad
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise bad
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise bad
        return value


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


@dataclass(frozen=True)
class Entry:
    """A registered layer, step or template: what it is, what it takes, how to build it.

    `meta` holds what only some registries need (a template's `title`, say).
    """

    name: str
    group: str
    help: str
    params: tuple[Param, ...]
    build: Callable[..., Any]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """The name a list shows: `meta["title"]` where the registry gives one, else the name."""
        return self.meta.get("title") or self.name

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def validate(self, params: dict[str, Any], where: str) -> dict[str, Any]:
        """Fill defaults, refuse unknown names, check every value against its range."""
        if not isinstance(params, dict):
            raise SpecError(where, f"expected a mapping of parameters, received {params!r}.")
        known = {p.name for p in self.params}
        unknown = sorted(set(params) - known)
        if unknown:
            raise SpecError(
                f"{where}.{unknown[0]}",
                f"`{self.name}` has no parameter `{unknown[0]}`; expected one of: {', '.join(sorted(known)) or 'none'}.",
            )
        return {p.name: p.validate(params.get(p.name, p.default), f"{where}.{p.name}") for p in self.params}


class Registry:
    """Name → Entry, in registration order (the order the UI lists them in)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, Entry] = {}

    def add(self, entry: Entry) -> Entry:
        if entry.name in self._entries:
            raise ValueError(f"{self.what} `{entry.name}` is registered twice")
        self._entries[entry.name] = entry
        return entry

    def register(self, name: str, group: str, help: str, *params: Param, **meta: Any) -> Callable:
        """Decorator form: the decorated function is the builder."""

        def wrap(fn: Callable) -> Callable:
            self.add(Entry(name, group, help, tuple(params), fn, dict(meta)))
            return fn

        return wrap

    def get(self, name: str, where: str = "") -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise SpecError(
                where, f"unknown {self.what} `{name}`; expected one of: {', '.join(self._entries)}."
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return list(self._entries)

    def groups(self) -> dict[str, list[Entry]]:
        out: dict[str, list[Entry]] = {}
        for e in self._entries.values():
            out.setdefault(e.group, []).append(e)
        return out
