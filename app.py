"""Layerlab's entry point: builds the navigation; every page lives in pages/."""

from __future__ import annotations

import gc

import streamlit as st

from components import nav, state
from layerlab import warmup

PAGES = [
    ("pages/home.py", "Home", ":material/home:", ""),
    ("pages/data.py", "Data", ":material/dataset:", "data"),
    ("pages/prepare.py", "Prepare", ":material/tune:", "prepare"),
    ("pages/build.py", "Build", ":material/account_tree:", "build"),
    ("pages/train.py", "Train", ":material/model_training:", "train"),
    ("pages/evaluate.py", "Evaluate", ":material/analytics:", "evaluate"),
    ("pages/predict.py", "Predict", ":material/online_prediction:", "predict"),
    ("pages/runs.py", "Runs", ":material/history:", "runs"),
]


@st.cache_resource(ttl=3600, show_spinner=False)
def _housekeeping() -> bool:
    """Once an hour per server: mark runs whose worker is gone, drop the saved projects of sessions not seen for
    LAYERLAB_SWEEP_HOURS (unless a run of theirs is queued or running), then uploads (and their unpacked copies)
    nobody uses."""
    from layerlab.housekeeping import sweep_derived, sweep_uploads

    try:
        state.run_store().reap()
        sweep_uploads()
        sweep_derived()
    except Exception:  # noqa: BLE001 - housekeeping must never keep the app from opening
        return False
    return True


def run() -> None:
    # Streamlit's own collection after every run is off (.streamlit/config.toml): it also ran after each
    # timed rerun of a live view. A whole-app run (a click, a page) collects what the runs before it left.
    gc.collect()
    st.set_page_config(page_title="Layerlab", page_icon=":material/layers:", layout="wide")
    warmup.start()
    _housekeeping()
    state.restore()
    pages = {
        title: st.Page(path, title=title, icon=icon, url_path=url or None, default=(url == ""))
        for path, title, icon, url in PAGES
    }
    navigation = st.navigation({
        "Start": [pages["Home"]],
        "Workflow": [pages[t] for t in ("Data", "Prepare", "Build", "Train", "Evaluate", "Predict")],
        "History": [pages["Runs"]],
    })
    st.session_state["_pages"] = pages
    with nav.inside_app():
        navigation.run()


if __name__ == "__main__":
    run()
