"""Widgets generated from registry Params: one generator for layer and augmentation
settings (`entry_widgets`) and for the project's own fields (`spec_widget`).

A spec field becomes a Param through `layerlab.spec_meta`, so its label, help, choices
and limits come from the schema, never from here. Widgets are *controlled*: the project
spec holds the value, and before a widget is drawn its session-state value is set from
the spec. A user's change goes through a callback into the spec (validated); a refused
change snaps back to the spec's value on the next run. That way moving, deleting or
replacing layers never leaves stale widget values.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import streamlit as st

from components.errors import edit
from layerlab import spec_meta
from layerlab.registry import Entry, Param
from layerlab.spec import ProjectSpec

_SLIDER_MAX_STEPS = 200


def _sync(key: str, value: Any) -> None:
    """Make the widget under `key` show `value` (must run before the widget is drawn).

    Set on every run, even when unchanged: a value set through the Session State API is
    sent to the browser only in the run that set it, and a run cut short by a rerun never
    reaches the browser, which would then show a stale value while the spec holds another.
    """
    st.session_state[key] = value


def _decimals(step: float) -> int:
    text = f"{step:.10f}".rstrip("0")
    return max(1, len(text.split(".")[1])) if "." in text else 1


def widget_kind(param: Param) -> str:
    """Which widget a Param gets: toggle, selectbox, text, slider or number."""
    if param.kind == "bool":
        return "toggle"
    if param.kind == "choice":
        return "selectbox"
    if param.kind == "str":
        return "text"
    if param.min is None or param.max is None or param.log:
        return "number"
    step = param.step or (1 if param.kind == "int" else (param.max - param.min) / 100)
    return "slider" if (param.max - param.min) / step <= _SLIDER_MAX_STEPS else "number"


def param_widget(param: Param, key: str, value: Any, *, on_change: Callable[..., None] | None = None,
                 kwargs: dict[str, Any] | None = None, disabled: bool = False) -> Any:
    """Draw the widget for one Param showing `value`; returns the widget's value.

    `on_change(**kwargs)` runs when the user changes it; read the new value from
    `st.session_state[key]`.
    """
    value = param.default if value is None and param.kind != "str" else value
    common = dict(key=key, help=param.help, on_change=on_change, kwargs=kwargs, disabled=disabled)
    kind = widget_kind(param)
    if kind == "toggle":
        _sync(key, bool(value))
        return st.toggle(param.title, **common)
    if kind == "selectbox":
        options = list(param.choices)
        _sync(key, value if value in options else options[0])
        return st.selectbox(param.title, options, format_func=param.choice_label, **common)
    if kind == "text":
        _sync(key, "" if value is None else str(value))
        return st.text_input(param.title, max_chars=200, **common)
    if param.kind == "int":
        _sync(key, int(value))
        lo = None if param.min is None else int(param.min)
        hi = None if param.max is None else int(param.max)
        step = int(param.step or 1)
        if kind == "slider":
            return st.slider(param.title, lo, hi, step=step, **common)
        return st.number_input(param.title, lo, hi, step=step, **common)
    _sync(key, float(value))
    lo = None if param.min is None else float(param.min)
    hi = None if param.max is None else float(param.max)
    if kind == "slider":
        step = float(param.step or (hi - lo) / 100)
        return st.slider(param.title, lo, hi, step=step, format=f"%.{_decimals(step)}f", **common)
    if param.log:
        step = float(param.step or max(abs(float(value)) / 10, 1e-8))
        return st.number_input(param.title, lo, hi, step=step, format="%.2e", **common)
    step = float(param.step or 0.01)
    return st.number_input(param.title, lo, hi, step=step, format=f"%.{_decimals(step)}f", **common)


def entry_widgets(entry: Entry, values: dict[str, Any], prefix: str,
                  on_change: Callable[[str, Any], None] | None = None, *, columns: int = 3,
                  disabled: bool = False) -> dict[str, Any]:
    """Widgets for every parameter of a registry entry, laid out in `columns` columns.

    `on_change(name, value)` runs (as a callback) when the user changes parameter `name`.
    Keys are `{prefix}.{param name}`. Returns the current values; an entry without
    parameters gets a short caption instead.
    """
    if not entry.params:
        st.caption("No settings: this layer works as it is.")
        return {}

    def changed(name: str, key: str) -> None:
        if on_change is not None:
            on_change(name, st.session_state[key])

    out: dict[str, Any] = {}
    cols = st.columns(min(columns, len(entry.params)))
    for i, param in enumerate(entry.params):
        key = f"{prefix}.{param.name}"
        with cols[i % len(cols)]:
            out[param.name] = param_widget(param, key, values.get(param.name, param.default),
                                           on_change=changed, kwargs={"name": param.name, "key": key},
                                           disabled=disabled)
    return out


def _edit_field(flag: str, path: str, key: str) -> None:
    edit(flag, **{path: st.session_state[key]})


def spec_widget(spec: ProjectSpec, path: str, flag: str, *, key: str | None = None, param: Param | None = None,
                on_change: Callable[[str, str], None] | None = None, disabled: bool = False) -> Any:
    """The widget for the project field at a dotted `path` (e.g. "train.epochs"), bound to `spec`.

    Label, help, choices and limits come from the schema (`spec_meta.field_param`); pass
    `param` to narrow them (fewer choices, say). A change is written through the spec's
    validation, a refusal kept under `flag`; `on_change(path, key)` replaces that write
    (to check the change against the data first). The key defaults to the path.
    """
    key = key or path
    return param_widget(param or spec_meta.field_param(path), key, spec_meta.value_at(spec, path),
                        on_change=on_change or partial(_edit_field, flag), kwargs={"path": path, "key": key},
                        disabled=disabled)
