"""The augmentation editor: the steps, each with widgets generated from the registry, and 'Add a step'."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import state
from components.errors import edit
from components.param_widgets import entry_widgets
from components.prepare.fields import FLAG
from layerlab.prep.augment import AUGMENTATIONS, steps_for
from layerlab.spec import ProjectSpec, StepSpec


def _steps_dicts(steps: list[StepSpec]) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in steps]


def _set_steps(steps: list[dict[str, Any]]) -> None:
    edit(FLAG, **{"prepare.augment": steps})


def _add_step() -> None:
    name = st.session_state.get("prepare.add_step")
    spec = state.project()
    if not name or spec is None:
        return
    entry = AUGMENTATIONS.get(name)
    _set_steps(_steps_dicts(spec.prepare.augment) + [{"type": name, "params": entry.defaults()}])


def _remove_step(i: int) -> None:
    spec = state.project()
    steps = _steps_dicts(spec.prepare.augment)
    if 0 <= i < len(steps):
        del steps[i]
        _set_steps(steps)


def _set_step_param(i: int, name: str, value: Any) -> None:
    spec = state.project()
    steps = _steps_dicts(spec.prepare.augment)
    if 0 <= i < len(steps):
        steps[i]["params"][name] = value
        _set_steps(steps)


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def augment_editor(spec: ProjectSpec, what: str) -> None:
    """The steps (each with its own widgets, generated from the registry) and 'Add a step'."""
    kind = spec.data.kind
    st.subheader("Augmentation")
    st.markdown(f"Random changes applied to training {what} each time the model sees them, so it learns the "
                f"pattern rather than the exact {what}. They are never applied to validation, test or "
                "prediction data.")
    steps = spec.prepare.augment
    names = steps_for(kind)
    if not steps:
        st.caption("No augmentation yet: add a step below." if names else
                   "No augmentation steps exist for this kind of data.")
    for i, step in enumerate(steps):
        entry = AUGMENTATIONS.get(step.type)
        with st.container(border=True):
            head, remove = st.columns([5, 1], vertical_alignment="center")
            head.markdown(f"**{i + 1}. {_title(step.type)}** — {entry.help}")
            remove.button("Remove", key=f"prepare.aug.{i}.remove", icon=":material/delete:",
                          on_click=_remove_step, args=(i,))
            if kind not in entry.meta.get("kinds", (kind,)):
                st.warning(f"This step is for {', '.join(entry.meta['kinds'])} data, not {kind}: remove it.",
                           icon=":material/warning:")
            entry_widgets(entry, step.params, f"prepare.aug.{i}.{step.type}",
                          on_change=lambda name, value, i=i: _set_step_param(i, name, value))
    if not names:
        return
    used = {s.type for s in steps}
    unused = [n for n in names if n not in used] or names
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    with c1:
        if st.session_state.get("prepare.add_step") not in unused:
            st.session_state["prepare.add_step"] = unused[0]
        st.selectbox("Add a step", unused, key="prepare.add_step",
                     format_func=lambda n: f"{_title(n)} — {AUGMENTATIONS.get(n).help}")
    with c2:
        st.button("Add step", key="prepare.add", icon=":material/add:", on_click=_add_step)
