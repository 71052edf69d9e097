"""Guards and links between steps: a page that needs an earlier step says so and links to it."""

from __future__ import annotations

import streamlit as st

from components import state
from layerlab.spec import ProjectSpec

STEPS = ["Data", "Prepare", "Build", "Train", "Evaluate", "Predict"]


def page(title: str):
    """The st.Page registered for `title` (for st.page_link / st.switch_page)."""
    pages = st.session_state.get("_pages", {})
    return pages.get(title, f"pages/{title.lower()}.py")


def link(title: str, label: str | None = None, icon: str | None = None) -> None:
    st.page_link(page(title), label=label or f"Go to {title}", icon=icon or ":material/arrow_forward:")


def require_project() -> ProjectSpec:
    """The current project, or a message with a link to the Data page (and the page stops)."""
    spec = state.project()
    if spec is None:
        st.info("No data chosen yet. Start on the **Data** page: pick a bundled sample or upload your own.")
        link("Data", "Choose data")
        st.stop()
    return spec
