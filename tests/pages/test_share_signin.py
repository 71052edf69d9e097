"""With `[auth]` in the secrets, pages wait for sign-in; a view link still opens without it (the token is
the permission). The sign-in itself, against a real provider, is tests/e2e/test_signin.py."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import RUN_TIMEOUT_S, app_script

pytestmark = pytest.mark.usefixtures("home")
AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "c",
        "client_secret": "s", "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}


def _open(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(app_script()), default_timeout=RUN_TIMEOUT_S)
    at.secrets["auth"] = AUTH
    at.query_params.update(query or {})
    return at.run()


def test_with_auth_configured_nothing_opens_before_sign_in():
    at = _open({"run": "20260101-000000-abcdef"})

    assert not at.exception
    assert at.title[0].value == "Layerlab"
    assert "sign in to see yours" in at.info[0].value
    assert at.button(key="account_sign_in").label == "Sign in"
    assert "_pages" not in at.session_state  # no navigation to the workflow's pages
    assert "secret" not in at.session_state  # no anonymous owner either


def test_a_view_link_needs_no_sign_in():
    at = _open({"share": "x" * 43})

    assert not at.exception
    assert at.title[0].value == "Shared run"
    assert "revoked, it expired, or it was never made" in at.error[0].value
    assert not [b for b in at.button if b.key == "account_sign_in"]
