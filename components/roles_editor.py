"""The column roles editor: what each column is for (target, feature, text, date, ignore) and the
task, pre-filled from the project; applying re-creates the project with `roles.project_from_roles`.

The rules live in `layerlab/roles.py`. A wrong combination is shown in words, the project in use
stays, and the form goes back to showing that project (never roles that are not in effect).
A new target marked beside the old one moves the role; a note says where the old target went.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from components import state
from components.markup import md, message
from components.errors import flag, show_flagged
from components.table_view import read_frame
from layerlab.workspace import source_stamp
from layerlab.roles import ROLES, TASKS, guesses, move_target, project_from_roles, reading, roles_of_columns
from layerlab.spec import ProjectSpec

FLAG = "data.roles.error"
MOVED = "data.roles.moved"
ROLE_WORDS = {"feature": "Feature", "target": "Target", "text": "Text", "date": "Date", "ignore": "Ignore"}
ROLE_LEGEND = ("**Target**: what to predict (or forecast) · **Feature**: an input · **Text**: the text to read · "
               "**Date**: the time axis of a series · **Ignore**: left out")
TASK_WORDS = {"classification": "Classification: predict a label", "regression": "Regression: predict a number",
              "forecasting": "Forecasting: predict the next values over time"}
PER_COLUMN_LIMIT = 60  # above this many columns, the compact editor (a few pickers) is used
_NONE = "(none)"


@st.cache_data(max_entries=8, show_spinner=False)
def _guesses(source: str, stamp: tuple[float, int]) -> list[Any]:
    return guesses(read_frame(source, stamp)["frame"])


def _use_reading(roles: dict[str, str], task: str) -> None:
    """Button callback: re-create the project for another reading of the table."""
    spec = state.project()
    if spec is None:
        return
    try:
        new = project_from_roles(spec, read_frame(spec.data.source, source_stamp(spec.data.source))["frame"],
                                 roles, task)
    except Exception as exc:  # noqa: BLE001 - shown in words; the project in use stays
        flag(FLAG, exc)
        return
    st.session_state.pop(FLAG, None)
    st.session_state.pop(MOVED, None)
    state.set_project(new)


def readings(spec: ProjectSpec) -> None:
    """The task in use in words, and each other reading Layerlab sees in the table as one click."""
    source = spec.data.source
    now = reading(spec)
    st.markdown(f"**Task:** {message(now)}")
    others = [g for g in _guesses(source, source_stamp(source)) if g.words != now]
    if not others:
        return
    st.caption("Also possible:")
    for i, (g, column) in enumerate(zip(others, st.columns(len(others)))):
        column.button(md(g.words.replace("`", "")), key=f"data.reading.{i}", icon=":material/swap_horiz:",
                      on_click=_use_reading, args=(g.roles, g.task))


def _signature(spec: ProjectSpec) -> str:
    d = spec.data
    return json.dumps([d.source, d.kind, d.task, d.target, d.text, d.date, d.features, d.ignore,
                       spec.prepare.series.targets])


def _role_key(i: int) -> str:
    return f"data.role.{i}"


def _apply(names: list[str], compact: bool) -> None:
    """Form callback: build the roles from the widgets and re-create the project."""
    spec = state.project()
    if spec is None:
        return
    task = st.session_state["data.task"]
    if compact:
        roles = {n: "feature" for n in names}
        for n in st.session_state.get("data.roles.ignore", []):
            roles[n] = "ignore"
        for role in ("text", "date"):
            chosen = st.session_state.get(f"data.roles.{role}", _NONE)
            if chosen != _NONE:
                roles[chosen] = role
        for n in st.session_state.get("data.roles.targets", []):
            roles[n] = "target"
    else:
        roles = {n: st.session_state[_role_key(i)] for i, n in enumerate(names)}
    st.session_state.pop(MOVED, None)
    try:
        df = read_frame(spec.data.source, source_stamp(spec.data.source))["frame"]
        roles, moved = move_target(spec, roles, task)
        new = project_from_roles(spec, df, roles, task)
    except Exception as exc:  # noqa: BLE001 - shown in words; the project in use stays and the form shows it
        flag(FLAG, exc)
        st.session_state.pop("data.roles.synced", None)
        return
    st.session_state.pop(FLAG, None)
    if moved:
        st.session_state[MOVED] = moved
    state.set_project(new)


def _sync(spec: ProjectSpec, names: list[str], roles: dict[str, str], compact: bool) -> None:
    """Show the project's roles in the widgets when the project changed (not after a refusal)."""
    sig = _signature(spec)
    if st.session_state.get("data.roles.synced") == sig and "data.task" in st.session_state:
        return
    st.session_state["data.roles.synced"] = sig
    st.session_state["data.task"] = spec.data.task
    if compact:
        st.session_state["data.roles.targets"] = [n for n in names if roles[n] == "target"]
        st.session_state["data.roles.text"] = next((n for n in names if roles[n] == "text"), _NONE)
        st.session_state["data.roles.date"] = next((n for n in names if roles[n] == "date"), _NONE)
        st.session_state["data.roles.ignore"] = [n for n in names if roles[n] == "ignore"]
    else:
        for i, n in enumerate(names):
            st.session_state[_role_key(i)] = roles[n]


def roles_editor(spec: ProjectSpec, ov: dict[str, Any]) -> None:
    """The form: a task, and a role for every column (or a few pickers for very wide tables)."""
    names, types, prof = ov["names"], ov["types"], ov["profile"]
    roles = roles_of_columns(spec, names, types)
    compact = len(names) > PER_COLUMN_LIMIT
    _sync(spec, names, roles, compact)
    if show_flagged(FLAG):
        d = spec.data
        st.caption(f"The project in use is unchanged: {d.task} of {md(d.target)}. The form shows its roles.")
    if st.session_state.get(MOVED):
        st.info(message(st.session_state[MOVED]), icon=":material/swap_horiz:")
    with st.form("data.roles", border=True):
        task_col, _ = st.columns([2, 3])
        task_col.selectbox("Task", TASKS, key="data.task", format_func=TASK_WORDS.get,
                           help="Classification and regression learn from rows (or texts); forecasting learns "
                                "from the past values of a series.")
        if compact:
            st.caption(f"{len(names):,} columns: every column is a feature unless chosen below.")
            st.multiselect("Target (several only for forecasting)", names, key="data.roles.targets")
            c1, c2 = st.columns(2)
            c1.selectbox("Text column", [_NONE, *names], key="data.roles.text")
            c2.selectbox("Date column", [_NONE, *names], key="data.roles.date")
            st.multiselect("Ignored columns", names, key="data.roles.ignore")
        else:
            st.caption(ROLE_LEGEND)
            per_row = 1 if len(names) <= 4 else (2 if len(names) <= 12 else 3)
            grid = st.columns(per_row, gap="large")
            for i, name in enumerate(names):
                c = prof.column_profiles[i]
                with grid[i % per_row]:
                    label, role = st.columns([3, 2], vertical_alignment="center")
                    with label:
                        st.text(name)  # plain text: a column name is never read as markdown or HTML
                        st.caption(f"{c.type} · {c.missing_pct:.0f}% missing")
                    role.selectbox(f"Role of column {i + 1}", ROLES, key=_role_key(i), format_func=ROLE_WORDS.get,
                                   label_visibility="collapsed")
        st.form_submit_button("Apply roles", key="data.roles.apply", type="primary", icon=":material/check:",
                              on_click=_apply, args=(names, compact))
    st.caption("Applying re-creates the project for the same data. It keeps your preparation settings and "
               "layers while the kind of data stays the same.")
