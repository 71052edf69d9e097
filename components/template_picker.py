"""The Build page's template picker: choose a starting model, and confirm before it replaces layers.

The choices come from the template registry (`layerlab.models.templates.TEMPLATES`), drawn
by the same widget generator as every spec field; applying one goes through the engine's
`with_template`, so the CLI's `init --template` and this picker give the same layers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from components import state
from components.layer_editor import FLAG, OPEN
from components.param_widgets import param_widget
from layerlab import spec_meta
from layerlab.errors import LayerlabError
from layerlab.spec import ModelSpec, ProjectSpec

KEY = "build.template"
CONFIRM = "build.confirm"


def _apply(name: str, info: Any) -> None:
    from layerlab.project import with_template

    st.session_state.pop(CONFIRM, None)
    try:
        new = with_template(state.project(), name, info)
    except LayerlabError as exc:
        st.session_state[FLAG] = exc
        return
    state.set_project(new)
    st.session_state[OPEN] = set()


def _ask(name: str) -> None:
    st.session_state[CONFIRM] = name


def _cancel() -> None:
    st.session_state.pop(CONFIRM, None)


def template_picker(spec: ProjectSpec, info: Any) -> None:
    """The templates of this data kind (the project's own first chosen), Apply, and the confirmation."""
    from layerlab.models.templates import TEMPLATES, templates_for

    templates = templates_for(spec.data.kind)
    if not templates:
        return
    names = tuple(t.name for t in templates)
    current = spec.model.template if spec.model.template in TEMPLATES else None
    param = replace(spec_meta.param(ModelSpec, "template"), kind="choice", choices=names,
                    choice_labels=tuple((t.name, t.title) for t in templates))
    with st.container(border=True):
        st.subheader("Start from a template")
        c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
        with c1:
            picked = st.session_state.get(KEY)
            name = param_widget(param, KEY, picked if picked in names else current if current in names else names[0])
        with c2:
            ask = bool(spec.model.layers)  # layers to lose: ask first
            st.button("Apply template", key="build.apply", on_click=_ask if ask else _apply,
                      args=(name,) if ask else (name, info), icon=":material/restart_alt:",
                      type="secondary" if ask else "primary")
        st.caption(TEMPLATES.get(name).help
                   + (f" · Your model started from **{TEMPLATES.get(current).title}**." if current else ""))
        pending = st.session_state.get(CONFIRM)
        if pending:
            st.warning(f"Replace your {len(spec.model.layers)} layers with the **{TEMPLATES.get(pending).title}** "
                       "template? Your changes to the layers are lost.", icon=":material/warning:")
            y, n = st.columns(2)
            y.button("Yes, replace my layers", key="build.confirm_yes", type="primary", on_click=_apply,
                     args=(pending, info))
            n.button("Cancel", key="build.confirm_no", on_click=_cancel)
