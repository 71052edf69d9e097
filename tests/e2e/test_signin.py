"""Sign-in (issue #20): with `[auth]` configured, Streamlit's own OpenID Connect sign-in decides who a user
is, against a real provider (oidc-provider-mock) that this test runs on 127.0.0.1.

Alice signs in and trains; signs out; signs in again from a second browser (another context: no shared
cookies) and finds her run there; Bob, signed in, does not.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import main_heading, screenshot, serve_app, wait_idle
from tests.e2e.test_sharing import train_digits_once

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """A real OpenID Connect provider on 127.0.0.1 (a free port); yields its issuer URL."""
    import werkzeug.serving
    from oidc_provider_mock import User, app

    users = [User(sub="alice", claims={"name": "Alice", "email": "alice@example.org"}),
             User(sub="bob", claims={"name": "Bob", "email": "bob@example.org"})]
    server = werkzeug.serving.make_server("127.0.0.1", 0, app(user_claims=users), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def signin_server(provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with `[auth]` in a secrets file of its own (STREAMLIT_SECRETS_FILES), pointed at `provider`."""
    root = tmp_path_factory.mktemp("signin")
    secrets_file = root / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        'client_id = "layerlab-test"\n'
        'client_secret = "not-checked-by-the-test-provider"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n', encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STREAMLIT_SECRETS_FILES", str(secrets_file))
        mp.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test provider speaks plain HTTP on loopback
        with serve_app(root / "layerlab-home", root / "streamlit.log") as base_url:
            yield base_url


def _sign_in(page: Page, base: str, who: str) -> None:
    page.goto(base)
    wait_idle(page)
    expect(page.get_by_text("sign in to see yours")).to_be_visible()
    expect(page.get_by_test_id("stSidebarNavLink")).to_have_count(0)  # nothing else before signing in
    page.get_by_role("button", name=re.compile("Sign in")).click()
    page.get_by_role("button", name=who, exact=True).click()  # the provider's own form: a predefined user
    page.wait_for_url(re.compile(re.escape(base)))
    wait_idle(page)
    expect(page.get_by_text(re.compile(f"Signed in as {who.capitalize()}"))).to_be_visible()


def _runs_page(page: Page, base: str) -> None:
    page.goto(f"{base}/runs")
    wait_idle(page)
    expect(main_heading(page)).to_have_text("Runs")


def test_sign_in_train_sign_out_and_find_the_run_from_another_browser(browser: Browser, signin_server: str,
                                                                      tmp_path: Path) -> None:
    base = signin_server
    first, second, third = (browser.new_context() for _ in range(3))
    try:
        page = first.new_page()
        page.set_viewport_size({"width": 1400, "height": 1600})
        _sign_in(page, base, "alice")
        run = train_digits_once(page)
        page.get_by_role("button", name=re.compile("Sign out")).click()
        page.get_by_role("button", name="End session").click()  # Streamlit ends it at the provider too
        page.wait_for_url(re.compile(re.escape(base)))
        wait_idle(page)
        expect(page.get_by_text("sign in to see yours")).to_be_visible()
        expect(page.get_by_text(run, exact=True)).to_have_count(0)

        # Alice on another device: the same account owns the run.
        other = second.new_page()
        other.set_viewport_size({"width": 1400, "height": 1600})
        _sign_in(other, base, "alice")
        _runs_page(other, base)
        name = other.locator('[role="gridcell"]').get_by_text(re.compile(r"small_cnn #1$"))  # its row in the table
        expect(name).to_have_count(1)
        screenshot(other, "signin-second-browser")

        # Bob, signed in, does not see it (not even by its id).
        bob = third.new_page()
        _sign_in(bob, base, "bob")
        bob.goto(f"{base}/runs?run={run}")
        wait_idle(bob)
        expect(bob.get_by_text(re.compile("not yours and was not shared with you")).first).to_be_visible()
        expect(bob.get_by_text("No runs yet")).to_be_visible()
    finally:
        for ctx in (first, second, third):
            ctx.close()
