"""Serve in a real browser: train digits, start serving it from the Serve page, send the test request and
see the answer, watch the request counter move, stop serving (and the server's address stops answering)."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    assert_no_exception,
    goto_page,
    open_page,
    screenshot,
    set_epochs,
    start_training,
    wait_idle,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _figure(page: Page, label: str) -> int:
    """The number a figure shows now (Requests, Errors)."""
    metric = page.get_by_test_id("stMetric").filter(has_text=label).first
    return int(metric.get_by_test_id("stMetricValue").inner_text().replace(",", "").strip())


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v2/health/live", timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


def test_serve_a_trained_run_from_the_page(page: Page, fresh_app_server: str, tmp_path: Path) -> None:
    from layerlab.serve import manage

    page.set_viewport_size({"width": 1400, "height": 2000})
    open_page(page, fresh_app_server)
    page.get_by_role("button", name=re.compile("Try a sample: handwritten digits")).click()
    wait_idle(page)
    set_epochs(page, 2)
    start_training(page)
    expect(page.get_by_text("Completed").first).to_be_visible(timeout=180_000)

    goto_page(page, fresh_app_server, "Serve")
    main = page.get_by_test_id("stMain")
    try:
        main.get_by_role("button", name=re.compile("Start serving")).click()
        expect(main.get_by_text(re.compile("Ready")).first).to_be_visible(timeout=120_000)
        wait_idle(page)
        url = main.get_by_test_id("stCode").filter(has_text=re.compile(r"^http://127\.0\.0\.1:\d+$")).first
        address = url.inner_text().strip()
        assert _answers(address)
        expect(main.get_by_role("link", name=re.compile("API docs"))).to_have_attribute("href", f"{address}/docs")
        expect(main.get_by_text(re.compile(r"^curl -s -X POST"))).to_be_visible()
        before = _figure(page, "Requests")

        main.get_by_role("button", name=re.compile("Send a test request")).click()
        wait_idle(page)
        expect(main.get_by_text(re.compile(r"answered 200")).first).to_be_visible(timeout=30_000)
        expect(main.get_by_test_id("stJson").nth(1)).to_contain_text("predictions")
        deadline = time.monotonic() + 20  # the figures are read again every 2 s
        while _figure(page, "Requests") <= before and time.monotonic() < deadline:
            page.wait_for_timeout(500)
        assert _figure(page, "Requests") == before + 1  # the test request, not the page's own polling
        assert _figure(page, "Errors") == 0
        p50 = page.get_by_test_id("stMetric").filter(has_text="p50 latency").get_by_test_id("stMetricValue")
        expect(p50).to_have_text(re.compile(r"^[\d.]+ ms$"))
        screenshot(page, "serve-ready")
        assert_no_exception(page)

        main.get_by_role("button", name=re.compile("Stop serving")).click()
        wait_idle(page)
        expect(main.get_by_text(re.compile("Ready"))).to_have_count(0)
        expect(main.get_by_role("button", name=re.compile("Start serving"))).to_be_visible()
        assert not _answers(address)
        screenshot(page, "serve-stopped")
        assert_no_exception(page)
    finally:  # a server the test left running would outlive the app (it is its own process group)
        for left in manage.all_servers(tmp_path / "layerlab-home" / "servers"):
            manage._end(left.pid)
