"""Guards and links between steps: a page that needs an earlier step says so and links to it."""

from __future__ import annotations

import streamlit as st

from components import shell, state
from layerlab.spec import ProjectSpec

STEPS = shell.STEPS


def ensure_app() -> None:
    """Route a page that Streamlit ran directly back through the shell, then stop.

    A folder named pages/ beside the entrypoint makes Streamlit start in its legacy
    multipage mode: until some session calls st.navigation, a deep link such as /train
    runs pages/train.py alone, without app.py (no navigation, no state restore). Every
    page calls this first; `shell.run()` then builds the navigation and runs the page properly.
    """
    if shell.inside_app():
        return
    shell.run()
    st.stop()


def page(title: str):
    """The st.Page registered for `title` (for st.page_link / st.switch_page); its file outside the app."""
    pages = st.session_state.get("_pages", {})
    return pages.get(title) or shell.BY_TITLE[title].file


def link(title: str, label: str | None = None, icon: str | None = None) -> None:
    st.page_link(page(title), label=label or f"Go to {title}", icon=icon or ":material/arrow_forward:")


def require_project() -> ProjectSpec:
    """The current project, or a message with a link to the Data page (and the page stops)."""
    spec = state.project()
    if spec is None:
        st.info("No data chosen yet. Start on the **Data** page: pick a bundled sample or upload your own.")
        link(shell.DATA, "Choose data")
        st.stop()
    return spec
