"""One registry of benchmarks: a name, a group, one line of help and a `run(quick)` that returns figures.

A benchmark module in `bench/groups/` registers itself with `@benchmark(name, group, title)`;
`load()` imports the modules named in `groups.GROUPS`, in that order (the order of `--list`,
of a full run and of the Markdown table).
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.measure import rnd

Result = dict[str, Any]  # {"figures": [fig(...), ...], "details": {...}}; a bare list of figures is accepted too
RunFn = Callable[[bool], "Result | list[dict[str, Any]]"]


@dataclass(frozen=True)
class Benchmark:
    name: str
    group: str
    title: str
    run: RunFn


BENCHMARKS: dict[str, Benchmark] = {}


class Skip(Exception):
    """A benchmark that cannot run here; the message says why."""


def benchmark(name: str, group: str, title: str) -> Callable[[RunFn], RunFn]:
    """Register `run(quick: bool)` as benchmark `name` of `group`; `title` is its one line of help."""
    def register(fn: RunFn) -> RunFn:
        if name in BENCHMARKS and BENCHMARKS[name].run is not fn:
            raise ValueError(f"Invalid value received for argument `name`. Expected a new benchmark name. "
                             f"Received: name={name!r} (already registered)")
        BENCHMARKS[name] = Benchmark(name, group, title, fn)
        return fn
    return register


def load() -> dict[str, Benchmark]:
    """Import every benchmark module (they register themselves) and return the registry."""
    from groups import GROUPS

    for module in GROUPS:
        importlib.import_module(f"groups.{module}")
    return BENCHMARKS


def select(only: str | None) -> list[str]:
    """The benchmarks named by `--only` (comma-separated benchmark names or groups), in registry order."""
    if not only:
        return list(BENCHMARKS)
    chosen: list[str] = []
    for token in (t.strip() for t in only.split(",") if t.strip()):
        hits = [n for n, b in BENCHMARKS.items() if token in (n, b.group)]
        if not hits:
            raise SystemExit(f"unknown benchmark or group {token!r}; see --list")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def fig(name: str, value: Any, unit: str, goal: str | None = None, note: str | None = None) -> dict[str, Any]:
    """One figure; `goal` like '≥ 0.95', '≤ 3', '< 50', '== False' is checked when the value is a number/bool."""
    return {"name": name, "value": rnd(value, 4) if isinstance(value, float) else value, "unit": unit,
            "goal": goal, "met": meets(value, goal), "note": note}


def meets(value: Any, goal: str | None) -> bool | None:
    """Whether `value` meets `goal` ('≥ 0.95', '< 50', '== True', …); None when there is nothing to check."""
    if goal is None or value is None:
        return None
    m = re.match(r"^\s*(≥|>=|≤|<=|<|>|==)\s*(.+)$", goal)
    if not m:
        return None
    op, raw = m.groups()
    want: Any = {"True": True, "False": False}.get(raw.strip().split()[0])
    if want is None:
        try:
            want = float(raw.strip().split()[0])
        except ValueError:
            return None
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return {"≥": value >= want, ">=": value >= want, "≤": value <= want, "<=": value <= want, "<": value < want,
            ">": value > want, "==": value == want}[op]
