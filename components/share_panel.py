"""The Share button of a run and its list of view links (the rules live in `layerlab.sharing`).

A link is shown once, when it is made: only its hash is kept, so it cannot be shown again (make
another). Each link in the list says until when it works and what it allows, and can be revoked.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import streamlit as st

from components import errors, state
from layerlab import sharing
from layerlab.runs.store import Run, RunStore

DAYS = {1: "1 day", 7: "7 days", 30: "30 days"}


def link(token: str) -> str:
    """The view link for a token: this server's address as the browser reached it, then `/?share=<token>`."""
    from components import shell

    url = urlsplit(st.context.url or "")
    parts = url.path.rstrip("/").split("/")
    if parts[-1] in {p.url for p in shell.PAGES if p.url}:  # drop this page's own path, keep a baseUrlPath
        parts = parts[:-1]
    return urlunsplit((url.scheme or "http", url.netloc or "localhost:8501", "/".join(parts) + "/",
                       f"share={token}", ""))


def _when(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%d %b %Y, %H:%M")


def _describe(share: sharing.Share) -> str:
    allows = [w for w, on in (("model download", share.allow_model), ("test rows", share.allow_rows)) if on]
    if share.revoked is not None:
        status = f"revoked {_when(share.revoked)}"
    elif not share.valid:
        status = f"expired {_when(share.expires)}"
    else:
        status = f"works until {_when(share.expires)}"
    return f"Made {_when(share.created)} · {status} · " + (", ".join(allows) if allows else "curves, metrics and predictions only")


def share_panel(store: RunStore, run: Run) -> None:
    """Create a view link for one of this session's runs; list and revoke its links."""
    me = state.owner()
    with st.expander("Share a read-only link", icon=":material/share:"):
        st.caption("Whoever has the link sees this run's curves, metrics and predictions, and nothing else of "
                   "yours; they cannot rename, delete, stop or continue it.")
        with st.form(f"share_form_{run.id}", border=False):
            days = st.selectbox("The link works for", list(DAYS), index=1, format_func=DAYS.get, key="share_days")
            allow_model = st.checkbox("Let them download the model", key="share_allow_model")
            allow_rows = st.checkbox("Show them rows of the test set (examples, mistakes, worst rows)",
                                     key="share_allow_rows")
            if st.form_submit_button("Create link", icon=":material/add_link:"):
                with errors.guard():
                    token, _ = sharing.create(store, run.id, me, days=days, allow_model=allow_model,
                                              allow_rows=allow_rows)
                    st.session_state["share_new"] = (run.id, link(token))
        new = st.session_state.get("share_new")
        if new and new[0] == run.id:
            st.success("Copy the link now: it is not kept, so it cannot be shown again.", icon=":material/link:")
            st.code(new[1], language=None)
        for share in sharing.shares_of(store, run.id, me):
            left, right = st.columns([5, 1], vertical_alignment="center")
            left.caption(_describe(share))
            if share.valid and right.button("Revoke", key=f"share_revoke_{share.id}", type="tertiary",
                                            icon=":material/link_off:"):
                sharing.revoke(store, share.id, me)
                if new and new[0] == run.id:
                    st.session_state.pop("share_new", None)
                st.rerun()
