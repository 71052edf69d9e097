"""Session state shared by all pages: the project spec, its owner token and the current run.

A browser reload is a new session with empty session_state, so the project id and the
run id also live in the URL (`?p=…&run=…`) and the project itself on disk: app.py calls
`restore()` on every script run to reattach.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import streamlit as st

from layerlab import workspace
from layerlab.errors import LayerlabError
from layerlab.spec import ProjectSpec, load_spec

_RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[a-f0-9]{6}$")


def owner() -> str:
    """This browser session's project id; doubles as the owner token of its runs."""
    if "pid" not in st.session_state:
        st.session_state["pid"] = uuid.uuid4().hex[:16]
    return st.session_state["pid"]


def uploads_dir() -> Path:
    """This session's upload folder (see `workspace.uploads_dir`)."""
    return workspace.uploads_dir(owner())


SEEN_EVERY_S = 600.0  # how often a session in use marks itself seen on disk


def restore() -> None:
    """Reattach to the project and run named in the URL; put them back in the URL if missing."""
    qp = st.query_params
    pid = qp.get("p")
    if "pid" not in st.session_state and pid and workspace.SESSION_ID.match(pid):
        st.session_state["pid"] = pid
        path = workspace.project_file(pid)
        if path.exists():
            try:
                st.session_state["project"] = load_spec(path)
            except LayerlabError:
                st.session_state["project"] = None
        run = qp.get("run")
        if run and _RUN_ID.match(run):
            st.session_state["run_id"] = run
    if "pid" in st.session_state and qp.get("p") != st.session_state["pid"]:
        qp["p"] = st.session_state["pid"]
    if "pid" in st.session_state and time.time() - st.session_state.get("seen_at", 0.0) > SEEN_EVERY_S:
        # Housekeeping removes the saved project and uploads of sessions not seen for LAYERLAB_SWEEP_HOURS.
        from layerlab.housekeeping import touch_session

        touch_session(st.session_state["pid"])
        st.session_state["seen_at"] = time.time()
    run_id = st.session_state.get("run_id")
    if run_id and qp.get("run") != run_id:
        qp["run"] = run_id


# How long a page waits for the run database while another process holds it: a worker's write takes
# milliseconds, so a longer wait means something is wrong, and the page says so instead of hanging.
# Workers and the CLI keep RunStore's 30 s.
PAGE_BUSY_S = 5.0


def run_store(read_only: bool = False):
    """The run store as pages use it (see PAGE_BUSY_S). `read_only` for a page that mostly looks (Runs,
    Evaluate, Predict, Home): its reads never write, so it still opens on a full disk, where deleting
    runs on the Runs page is the way to free space; its few writes (rename, stop, delete) still work."""
    from layerlab.runs.store import RunStore

    return RunStore(busy_timeout_s=PAGE_BUSY_S, read_only=read_only)


def reap_runs(store) -> None:
    """Mark runs whose worker is gone; a disk that refuses the write only postpones that (the page goes on)."""
    import logging
    import sqlite3

    try:
        store.reap()
    except (OSError, sqlite3.OperationalError):
        logging.getLogger("layerlab.ui").warning("could not mark stale runs: the run database refuses writes", exc_info=True)


def project() -> ProjectSpec | None:
    return st.session_state.get("project")


def set_project(spec: ProjectSpec | None) -> None:
    """Keep the spec in the session and on disk (so a reload finds it)."""
    st.session_state["project"] = spec
    path = workspace.project_file(owner())
    if spec is None:
        path.unlink(missing_ok=True)
    else:
        spec.save(path)
    st.query_params["p"] = owner()


def run_id() -> str | None:
    return st.session_state.get("run_id")


def set_run(run_id: str | None) -> None:
    if run_id is None:
        st.session_state.pop("run_id", None)
        st.query_params.pop("run", None)
    else:
        st.session_state["run_id"] = run_id
        st.query_params["run"] = run_id


def project_json() -> str:
    spec = project()
    return json.dumps(spec.to_dict(), indent=2) if spec else "{}"
