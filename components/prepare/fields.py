"""Controlled widgets for the preparation fields (labels, choices, help and limits from the spec's schema).

Every widget shows the spec's value and a change goes through the spec's validation
(`components.errors.edit`); a refused value snaps back and its message shows at the top of the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from components.errors import edit
from components.param_widgets import param_widget
from layerlab.spec_meta import field_param

FLAG = "prepare.error"

# ---- controlled widgets -----------------------------------------------------------------------------


def _set(path: str, key: str) -> None:
    edit(FLAG, **{path: st.session_state[key]})


def field(path: str, value: Any, on_change: Callable[..., None] | None = None) -> Any:
    """A controlled widget for one spec field (key `prepare.<path>`): its label, help, choices and limits come
    from the spec's schema (`spec_meta.field_param`), never from a copy here."""
    key = f"prepare.{path}"
    return param_widget(field_param(path), key, value, on_change=on_change or _set, kwargs={"path": path, "key": key})
