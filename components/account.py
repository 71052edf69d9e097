"""Sign-in and sign-out, when the server has `[auth]` in .streamlit/secrets.toml (Streamlit's own st.login).

Without `[auth]` every browser is an anonymous user (state.owner); with it, shell.run shows only
`sign_in_page` until the user signs in, and the account (the provider's issuer and subject) owns the
runs, uploads and project, from any device. View links (`?share=`) open without signing in: the token
is the permission.
"""

from __future__ import annotations

import streamlit as st

from components import state
from components.markup import md


def sign_in_page() -> None:
    st.title("Layerlab")
    st.info("This server keeps runs per account: sign in to see yours and to train.", icon=":material/lock:")
    if st.button("Sign in", type="primary", icon=":material/login:", key="account_sign_in"):
        st.login()


def sidebar() -> None:
    """Who is signed in, and Sign out (nothing when sign-in is off)."""
    if not state.signed_in_user():
        return
    with st.sidebar:
        who = st.user.get("name") or st.user.get("email") or "your account"
        st.caption(f"Signed in as **{md(who)}**")
        if st.button("Sign out", icon=":material/logout:", key="account_sign_out"):
            st.logout()
