"""What to search and the budget: one checkbox per searchable setting (from the engine's registry),
its range to narrow, and Start, which launches the study's driver process."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import state
from layerlab.spec import ProjectSpec
from layerlab.tune import space

DEFAULT_ON = ("lr",)  # ticked at first: the setting that matters most
STUDY_KEY = "tune_study"


def current() -> str | None:
    """The study this session watches (kept in the URL too, so a reload finds it)."""
    from layerlab.tune import study

    name = st.session_state.get(STUDY_KEY) or st.query_params.get("study")
    if not name or not study.NAME.match(name) or not study.journal_path(name).exists():
        return None
    st.session_state[STUDY_KEY] = name
    return name


def set_current(name: str | None) -> None:
    if name is None:
        st.session_state.pop(STUDY_KEY, None)
        st.query_params.pop("study", None)
    else:
        st.session_state[STUDY_KEY] = name
        st.query_params["study"] = name


def open_earlier() -> None:
    """A picker of this session's studies (a study also reopens from the URL's `?study=`)."""
    from layerlab.tune import study

    def owner_of(name: str) -> str | None:
        try:
            return study.config_of(study.load(name)).get("owner")
        except Exception:  # noqa: BLE001 - an unreadable journal is not offered
            return None

    mine = [name for name in study.names() if owner_of(name) == state.owner()]
    if mine:
        st.selectbox("Open a study of this session", mine, index=None, key="tune_open", placeholder="Choose a study",
                     on_change=lambda: set_current(st.session_state.get("tune_open")))


def _range(dim: space.Dim, disabled: bool) -> dict[str, Any] | None:
    """The narrowed range of one ticked dim (None when it is the default)."""
    key = f"tune_{dim.name}"
    if dim.kind == "choice":
        picked = st.multiselect(f"{dim.label}: choices", list(dim.choices), default=list(dim.choices),
                                key=f"{key}_choices", disabled=disabled, label_visibility="collapsed")
        return {"choices": picked or list(dim.choices)}
    number = int if dim.kind == "int" else float
    fmt = "%d" if dim.kind == "int" else "%g"
    lo, hi = st.columns(2)
    with lo:
        low = st.number_input("From", value=number(dim.low), format=fmt, key=f"{key}_low", disabled=disabled)
    with hi:
        high = st.number_input("To", value=number(dim.high), format=fmt, key=f"{key}_high", disabled=disabled)
    return {"low": low, "high": high}


def search_form(spec: ProjectSpec, *, disabled: bool = False) -> dict[str, dict[str, Any] | None]:
    """The ticked settings and their ranges, as `space.choose` takes them."""
    chosen: dict[str, dict[str, Any] | None] = {}
    for entry in space.SEARCH.values():
        dims = entry.dims(spec)
        if not dims:
            continue
        with st.container(border=True):
            st.markdown(f"**{entry.label}**" + (" (log scale)" if dims[0].log else ""), help=entry.help)
            for dim in dims:
                tick, ranges = st.columns([2, 3], vertical_alignment="bottom")
                with tick:
                    label = dim.label if len(dims) > 1 else f"Search {dim.label[:1].lower()}{dim.label[1:]}"
                    on = st.checkbox(label,
                                     value=dim.group in DEFAULT_ON, key=f"tune_on_{dim.name}", disabled=disabled)
                with ranges:
                    bounds = _range(dim, disabled or not on)
                if on:
                    chosen[dim.name] = bounds
    return chosen


def budget_form(spec: ProjectSpec, *, disabled: bool = False) -> dict[str, Any]:
    """Trials, a time limit and the epochs of each trial."""
    a, b, c = st.columns(3)
    with a:
        trials = st.number_input("Trials", 1, 200, 10, key="tune_trials", disabled=disabled,
                                 help="How many settings to try in all. Two or three run at once, as the server allows.")
    with b:
        minutes = st.number_input("Time limit (minutes, 0 = none)", 0, 24 * 60, 0, key="tune_minutes",
                                  disabled=disabled, help="No new trial starts after this; running ones finish.")
    with c:
        epochs = st.number_input("Epochs per trial", 1, 1000, min(spec.train.epochs, 20), key="tune_epochs",
                                 disabled=disabled, help="At most; early stopping and pruning end most trials sooner.")
    return {"trials": int(trials), "timeout_s": float(minutes) * 60 or None, "epochs": int(epochs)}


def start(store, spec: ProjectSpec, search: dict[str, dict[str, Any] | None], budget: dict[str, Any]) -> str:
    """Create the study and launch its driver process; the page then watches it."""
    from layerlab.tune import driver, study

    name = study.create(spec, search, owner=state.owner(), **budget)
    driver.launch_driver(name, store)
    set_current(name)
    return name
