"""Session state shared by all pages: the project spec, who the user is and the current run.

Who: a signed-in user (when `[auth]` is configured, see `signed_in_user`) or else an anonymous
browser identified by an owner secret in a cookie (`identity.COOKIE`, set by the page itself: Streamlit
can read cookies but not set them). Only the derived owner id (`identity.owner_of`) is stored or
compared; the secret is never put in the URL, a file, a path, a log line or a page.

A browser reload is a new session with empty session_state: the cookie (or the sign-in) brings the
owner back, the project comes from disk, and the run id rides in the URL (`?run=…`, which grants
nothing: a run that is not this owner's is not opened). app.py calls `restore()` on every script run.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import streamlit as st

from layerlab import identity, workspace
from layerlab.errors import LayerlabError
from layerlab.spec import ProjectSpec, load_spec

_RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[a-f0-9]{6}$")


def auth_configured() -> bool:
    """True when `.streamlit/secrets.toml` has an `[auth]` section (st.user then says whether one signed in)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all: no sign-in
        return False


def signed_in_user() -> str | None:
    """The signed-in user's owner id (from the provider's issuer and subject), None when nobody is signed in."""
    if not auth_configured() or not st.user.get("is_logged_in"):
        return None
    return identity.user_owner(str(st.user.get("iss") or ""), str(st.user.get("sub") or ""))


def _cookie_secret() -> str:
    """This browser's owner secret: the cookie's, or a new one that `restore` asks the browser to keep."""
    secret = st.context.cookies.get(identity.COOKIE)
    if identity.is_secret(secret):
        return secret
    if not identity.is_secret(st.session_state.get("secret")):
        st.session_state["secret"] = identity.new_secret()
    return st.session_state["secret"]


def owner() -> str:
    """This session's owner id: what its runs, uploads and saved project are named by. Grants nothing."""
    if "pid" not in st.session_state:
        user = signed_in_user()
        st.session_state["pid"] = user or identity.owner_of(_cookie_secret())
    return st.session_state["pid"]


def uploads_dir() -> Path:
    """This session's upload folder (see `workspace.uploads_dir`)."""
    return workspace.uploads_dir(owner())


def _keep_cookie() -> None:
    """Ask the browser to keep a new owner secret (once per session; the next request sends it back).

    The script sets the cookie for this origin only (SameSite=Strict, Secure under https); it cannot be
    HttpOnly, as only a script can set it here. Sent in the sidebar so no page's layout moves."""
    secret = st.session_state.get("secret")
    if not secret or st.session_state.get("cookie_sent") == secret or st.context.cookies.get(identity.COOKIE) == secret:
        return
    max_age = identity.COOKIE_DAYS * 86400
    st.sidebar.html(
        f"<script>document.cookie = '{identity.COOKIE}={secret}; Path=/; Max-Age={max_age}; SameSite=Strict'"
        " + (location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True)
    st.session_state["cookie_sent"] = secret

SEEN_EVERY_S = 600.0  # how often a session in use marks itself seen on disk


def restore() -> None:
    """Reattach to the owner's project and the run named in the URL (only if it is the owner's)."""
    qp = st.query_params
    qp.pop("p", None)  # older links carried the owner key here: it is never read, and dropped from the URL
    user = signed_in_user()
    if (user or None) != st.session_state.get("user"):  # signed in or out: that owner's project and runs
        if user or st.session_state.get("user"):
            for key in ("pid", "project", "run_id"):
                st.session_state.pop(key, None)
        st.session_state["user"] = user
    if not user and auth_configured():
        return  # sign-in is on and nobody is signed in: no anonymous owner (shell.run shows only sign-in)
    if "pid" not in st.session_state:
        me = owner()
        path = workspace.project_file(me)
        if path.exists():
            try:
                st.session_state["project"] = load_spec(path)
            except LayerlabError:
                st.session_state["project"] = None
        run = qp.get("run")
        if run and _RUN_ID.match(run):
            found = run_store().get(run)
            if found is not None and identity.visible(found.owner, me):
                st.session_state["run_id"] = run
            else:
                qp.pop("run", None)
                st.session_state["foreign_run"] = run
    if not user:
        _keep_cookie()
    if time.time() - st.session_state.get("seen_at", 0.0) > SEEN_EVERY_S:
        # Housekeeping removes the saved project and uploads of sessions not seen for LAYERLAB_SWEEP_HOURS.
        from layerlab.housekeeping import touch_session

        touch_session(owner())
        st.session_state["seen_at"] = time.time()
    run_id = st.session_state.get("run_id")
    if run_id and qp.get("run") != run_id:
        qp["run"] = run_id


def foreign_run_notice() -> None:
    """Say plainly, on every page until another run is opened, why the run id from the address bar opened
    nothing (no rows, no curves: only this)."""
    if st.session_state.get("foreign_run"):
        st.warning("The run in this link is not yours and was not shared with you, so it is not shown. "
                   "Its owner can share it with the **Share** button on the Runs page.", icon=":material/lock:")


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


def run_id() -> str | None:
    return st.session_state.get("run_id")


def set_run(run_id: str | None) -> None:
    st.session_state.pop("foreign_run", None)
    if run_id is None:
        st.session_state.pop("run_id", None)
        st.query_params.pop("run", None)
    else:
        st.session_state["run_id"] = run_id
        st.query_params["run"] = run_id


def project_json() -> str:
    spec = project()
    return json.dumps(spec.to_dict(), indent=2) if spec else "{}"
