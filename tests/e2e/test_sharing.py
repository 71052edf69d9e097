"""Issue #20 in two real browsers (two contexts: two users, each with its own cookies).

Alice trains; her owner secret is in a cookie, never in the address bar; a reload keeps her session.
Bob pasting her address (with `?run=<id>`) sees nothing of the run; her Share link shows it to him
read-only; once she revokes it, the link shows nothing.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from layerlab import identity
from tests.e2e.conftest import (
    assert_no_exception,
    goto_page,
    main_heading,
    open_page,
    screenshot,
    set_epochs,
    start_training,
    wait_idle,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def train_digits_once(page: Page) -> str:
    """Home's digits sample, one epoch, until it completes; the run's id (from the address bar)."""
    page.get_by_role("button", name=re.compile("Try a sample: handwritten digits")).click()
    expect(main_heading(page)).to_have_text(re.compile("Train"))
    wait_idle(page)
    set_epochs(page, 1)
    start_training(page)
    expect(page.get_by_test_id("stMain").get_by_text(re.compile("Completed$")).first).to_be_visible(timeout=120_000)
    return re.search(r"[?&]run=([\w-]+)", page.url).group(1)


def _open_link(page: Page, url: str) -> None:
    page.goto(url)
    wait_idle(page)


def test_a_run_is_seen_only_by_its_owner_and_through_a_share_link(browser: Browser, app_server: str) -> None:
    alice_ctx, bob_ctx = browser.new_context(), browser.new_context()
    alice, bob = alice_ctx.new_page(), bob_ctx.new_page()
    try:
        for p in (alice, bob):
            p.set_viewport_size({"width": 1400, "height": 1800})
        open_page(alice, app_server)
        run = train_digits_once(alice)

        # The secret is a cookie, not in the address bar; a reload keeps the session (and its run).
        cookie = {c["name"]: c for c in alice_ctx.cookies()}[identity.COOKIE]
        assert identity.is_secret(cookie["value"]) and cookie["sameSite"] == "Strict"
        assert cookie["value"] not in alice.url and "p=" not in alice.url
        alice.reload()
        wait_idle(alice)
        expect(alice.get_by_text(run, exact=True)).to_be_visible()

        # Bob opens Alice's address: a plain message, no rows, no curves, on every page.
        address = alice.url
        _open_link(bob, address)
        expect(bob.get_by_text(re.compile("not yours and was not shared with you")).first).to_be_visible()
        for title in ("Evaluate", "Predict", "Runs"):
            goto_page(bob, app_server, title)
            expect(bob.get_by_text(re.compile("not yours and was not shared with you")).first).to_be_visible()
            expect(bob.get_by_test_id("stPlotlyChart")).to_have_count(0)
            expect(bob.get_by_text(run, exact=True)).to_have_count(0)
        screenshot(bob, "sharing-1-run-id-alone")
        assert identity.COOKIE in {c["name"] for c in bob_ctx.cookies()}
        assert {c["value"] for c in bob_ctx.cookies()}.isdisjoint({cookie["value"]})  # two users

        # Alice shares the run (the current run is selected on Runs); the link shows it to Bob read-only.
        goto_page(alice, app_server, "Runs")
        alice.get_by_text("Share a read-only link").click()
        create = alice.get_by_role("button", name=re.compile("Create link"))
        expect(create).to_be_visible()
        wait_idle(alice)
        create.click()
        wait_idle(alice)
        code = alice.get_by_test_id("stCode").first
        expect(code).to_be_visible(timeout=60_000)  # made by the click's rerun, which a busy CI worker may delay
        link = code.inner_text().strip()
        assert "share=" in link and cookie["value"] not in link
        screenshot(alice, "sharing-2-link-made")
        _open_link(bob, link)
        expect(main_heading(bob)).to_have_text(re.compile("Shared run: "))
        expect(bob.get_by_test_id("stPlotlyChart").first).to_be_visible()
        expect(bob.get_by_test_id("stSidebarNavLink")).to_have_count(0)  # no way into the other pages
        for label in ("Delete…", "Rename", "Start training", "Stop"):
            expect(bob.get_by_role("button", name=label)).to_have_count(0)
        expect(bob.get_by_role("button", name=re.compile("Download model.keras"))).to_have_count(0)  # not allowed
        bob.get_by_role("tab", name=re.compile("Evaluation")).click()
        expect(bob.get_by_text("Confusion matrix").first).to_be_visible()
        expect(bob.get_by_text("Most confident mistakes")).to_have_count(0)  # no test rows
        screenshot(bob, "sharing-3-shared-view")
        assert_no_exception(bob)

        # Revoked: the same link shows nothing.
        alice.get_by_role("button", name=re.compile("Revoke")).first.click()
        wait_idle(alice)
        expect(alice.get_by_text(re.compile("revoked")).first).to_be_visible()
        _open_link(bob, link)
        expect(bob.get_by_text(re.compile("revoked, it expired, or it was never made"))).to_be_visible()
        expect(bob.get_by_test_id("stPlotlyChart")).to_have_count(0)
        screenshot(bob, "sharing-4-revoked")
    finally:
        alice_ctx.close()
        bob_ctx.close()
