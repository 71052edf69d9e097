"""The Prepare page's previews: a few training examples as the model sees them, before and after
one random draw of the augmentation (from `layerlab.preview`, through the caches in `cached`)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.errors import guard
from components.prepare.cached import series_augmented, series_plan, steps_json, table_rows, text_augmented
from components.prepare.figures import window_figure
from layerlab.preview import usable_steps
from layerlab.spec import ProjectSpec


def new_seed() -> None:
    st.session_state["prepare.preview_seed"] = st.session_state.get("prepare.preview_seed", 0) + 1


def preview_head(title: str) -> int:
    head, again = st.columns([5, 1], vertical_alignment="center")
    head.subheader(title)
    again.button("New examples", key="prepare.reshuffle", icon=":material/shuffle:", on_click=new_seed)
    return st.session_state.get("prepare.preview_seed", 0)


def _side_by_side(*tables: tuple[str, Any, str]) -> None:
    """Tables next to each other, each under its title."""
    for column, (title, frame, key) in zip(st.columns(len(tables)), tables):
        column.markdown(f"**{title}**")
        column.dataframe(frame, key=key)


def table_preview(spec: ProjectSpec) -> None:
    with st.container(border=True):
        seed = preview_head("Preview")
        with guard(), st.spinner("Making the preview…"):
            out = table_rows(spec, seed)
            if not out["numeric"]:
                st.caption("No numeric columns: the categories are encoded as chosen above, and noise has "
                           "nothing to change.")
                return
            if out["steps"]:
                st.caption("A few training rows' numbers as the model sees them (filled and scaled), and the same "
                           "rows after one random draw of the augmentation. Categories are not changed.")
                _side_by_side(("Prepared", out["prepared"], "prepare.preview.before"),
                              ("After augmentation", out["after"], "prepare.preview.after"))
            else:
                st.caption("A few rows' numbers as they are in the table, and as the model sees them (filled "
                           "and scaled). Add an augmentation step to see what it changes.")
                _side_by_side(("In the table", out["raw"], "prepare.preview.raw"),
                              ("Prepared", out["prepared"], "prepare.preview.before"))


def text_preview(spec: ProjectSpec) -> None:
    with st.container(border=True):
        seed = preview_head("Preview")
        with guard(), st.spinner("Making the preview…"):
            frame = text_augmented(spec, seed)
            if usable_steps(spec):
                st.caption("Training texts as the model reads them (the words it knows, in order; [UNK] is an "
                           "unknown word) and after one random draw of the augmentation (▢ = a blanked word).")
                st.table(frame)
            else:
                st.caption("Training texts as the model reads them: the words it knows, in order ([UNK] is an "
                           "unknown word). Add an augmentation step to see what it changes.")
                st.table(frame[["as the model reads it"]])


def series_preview(spec: ProjectSpec) -> None:
    with st.container(border=True):
        seed = preview_head("Preview")
        with guard():
            plan = series_plan(spec)
            if not plan["examples"]:
                st.caption("The series is too long to cut a preview window here; training cuts them as set above.")
                return
            example = plan["examples"][seed % len(plan["examples"])]
            after = series_augmented(example["x"], steps_json(spec), seed) if usable_steps(spec) else None
            st.plotly_chart(window_figure(example["x"], after, example["y"], plan["features"], plan["target_idx"]),
                            width="stretch", key="prepare.preview.window")
            shifted = getattr(spec.prepare.series, "predict", "level") == "change"
            st.caption("One training window as the model sees it (scaled"
                       + (", then shifted so that its last value is 0), " if shifted else "), ")
                       + ("the same window after one random draw of the augmentation (dashed), " if after else "")
                       + "and the steps it learns to forecast (green).")
