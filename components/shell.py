"""The app shell: the one list of pages, and `run()`, which app.py (and a page opened directly) calls.

Every page title, file, icon, URL and section is listed once here; `components/nav.py` (links,
guards), app.py and the Home page's steps take them from this list. To add a page: one line in PAGES
(and the page file).

    PAGES entries: (file, title, icon, url path, section)   # "" url = the default page
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import streamlit as st


class PageEntry(NamedTuple):
    file: str
    title: str
    icon: str
    url: str
    section: str


HOME, DATA, PREPARE, BUILD, TRAIN, EVALUATE, PREDICT, RUNS = (
    "Home", "Data", "Prepare", "Build", "Train", "Evaluate", "Predict", "Runs")
SERVE = "Serve"
TUNE = "Tune"
PAGES = [PageEntry(*p) for p in (
    ("pages/home.py", HOME, ":material/home:", "", "Start"),
    ("pages/data.py", DATA, ":material/dataset:", "data", "Workflow"),
    ("pages/prepare.py", PREPARE, ":material/tune:", "prepare", "Workflow"),
    ("pages/build.py", BUILD, ":material/account_tree:", "build", "Workflow"),
    ("pages/train.py", TRAIN, ":material/model_training:", "train", "Workflow"),
    ("pages/tune.py", TUNE, ":material/instant_mix:", "tune", "Workflow"),
    ("pages/evaluate.py", EVALUATE, ":material/analytics:", "evaluate", "Workflow"),
    ("pages/predict.py", PREDICT, ":material/online_prediction:", "predict", "Workflow"),
    ("pages/serve.py", SERVE, ":material/api:", "serve", "Share"),
    ("pages/runs.py", RUNS, ":material/history:", "runs", "History"),
)]
BY_TITLE = {p.title: p for p in PAGES}
# What a view link (`/?share=<token>`) opens instead of the navigation: one run, read-only, no other page.
SHARED = PageEntry("pages/shared.py", "Shared run", ":material/share:", "", "")
# The workflow's steps in order (the Home page's checklist).
STEPS = [p.title for p in PAGES if p.section == "Workflow" and p.title != TUNE]  # Tune is optional: no step

_local = threading.local()


@contextmanager
def _inside_app() -> Iterator[None]:
    """Marks a script run that went through `run()`'s st.navigation (see `nav.ensure_app`)."""
    _local.active = True
    try:
        yield
    finally:
        _local.active = False


def inside_app() -> bool:
    return getattr(_local, "active", False)


@st.cache_resource(ttl=3600, show_spinner=False)
def _housekeeping() -> bool:
    """Once an hour per server: mark runs whose worker is gone, drop the saved projects of sessions not seen for
    LAYERLAB_SWEEP_HOURS (unless a run of theirs is queued or running), then uploads (and their unpacked copies)
    nobody uses, and stop the model servers of those sessions."""
    from components import state
    from layerlab.housekeeping import sweep_derived, sweep_servers, sweep_uploads

    try:
        state.run_store().reap()
        sweep_uploads()
        sweep_derived()
        sweep_servers()
    except Exception:  # noqa: BLE001 - housekeeping must never keep the app from opening
        return False
    return True


COLLECT_EVERY_S = 10.0
_collected = [0.0]  # when this process last collected (monotonic seconds)


def _collect() -> None:
    """Collect what the runs before this one left, at most every COLLECT_EVERY_S (Streamlit's own collection
    after every run is off in .streamlit/config.toml: it also ran after each timed rerun of a live view). A
    collection per page run was a quarter of the server's script time when a class pressed Start at once
    (py-spy, 2026-12-07); Python's own generational collection still runs in between.

    Once the libraries are imported (the warm-up's end), what is alive then (their long-lived objects) is frozen
    out of later collections, which would otherwise rescan them every time.
    """
    import time

    from layerlab import warmup

    now = time.monotonic()
    if now - _collected[0] < COLLECT_EVERY_S:
        return
    _collected[0] = now
    gc.collect()
    if gc.get_freeze_count() == 0 and warmup.done():  # not half-way through the warm-up's imports
        gc.freeze()


def _only(page) -> None:
    """Run one page with no navigation to the others (a view link; the sign-in screen)."""
    with _inside_app():
        st.navigation([page], position="hidden").run()


def run() -> None:
    """Build the navigation from PAGES and run the chosen page."""
    from components import account, state
    from layerlab import warmup

    _collect()
    st.set_page_config(page_title="Layerlab", page_icon=":material/layers:", layout="wide")
    warmup.start()
    _housekeeping()
    state.restore()
    if st.query_params.get("share"):
        _only(st.Page(SHARED.file, title=SHARED.title, icon=SHARED.icon, default=True))
        return
    if state.auth_configured() and not state.signed_in_user():
        _only(st.Page(account.sign_in_page, title="Sign in", icon=":material/login:", default=True))
        return
    account.sidebar()
    state.foreign_run_notice()
    pages = {p.title: st.Page(p.file, title=p.title, icon=p.icon, url_path=p.url or None, default=(p.url == ""))
             for p in PAGES}
    sections: dict[str, list] = {}
    for p in PAGES:
        sections.setdefault(p.section, []).append(pages[p.title])
    navigation = st.navigation(sections)
    st.session_state["_pages"] = pages
    with _inside_app():
        navigation.run()
