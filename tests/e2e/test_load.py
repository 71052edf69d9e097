"""Eight people at once on a 2-core machine, on different samples (digits, penguins, sunspots): the
concurrency limit queues the extra runs, all finish, each session sees only its own project and run,
and the server's memory stays bounded.

A `solo` test: it runs after the rest with no other test beside it (tests/conftest.py), and is sized
to take under a third of its timeout on a 2-core machine; the end of the test output prints its
duration and how long the runs took, so a slowdown shows long before it fails."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from layerlab.runs.store import RunStore
from tests.e2e.conftest import open_page, serve_app, server_memory_mb, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.solo]

SESSIONS = 8
# Home's one-click samples, taken in turn: (button name, the sample's source); tweets would take
# minutes a run here, so it is left to the single-session tests.
SAMPLES = [("Try a sample: handwritten digits", "sample:digits"), ("Penguins — a table", "sample:penguins"),
           ("Sunspots — a time series", "sample:sunspots")]


def test_eight_sessions_train_at_once(browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     record_property) -> None:
    monkeypatch.setenv("LAYERLAB_CONCURRENT_RUNS", "2")
    home = tmp_path / "home"
    with serve_app(home, tmp_path / "server.log") as base:
        pages = []
        for i in range(SESSIONS):
            page = browser.new_context(viewport={"width": 1300, "height": 1600}).new_page()
            open_page(page, base)
            page.get_by_role("button", name=re.compile(re.escape(SAMPLES[i % len(SAMPLES)][0]))).click()
            wait_idle(page)
            box = page.get_by_role("spinbutton", name="Epochs", exact=True)
            box.fill("2")
            box.press("Enter")
            wait_idle(page)
            pages.append(page)
        for page in pages:  # press Start in every session, as quickly as people in a room would
            page.get_by_role("button", name=re.compile("Start training")).click()
        store = RunStore(home / "runs")
        seen_queued = False
        started = time.monotonic()
        # 235 s on a 2-core machine shared with seven other test runs (load 10-25); alone well under that.
        deadline = time.time() + 400  # fail with the runs' statuses rather than at the timeout
        while time.time() < deadline:
            runs = store.list()
            seen_queued |= any(r.status == "queued" for r in runs)
            assert sum(r.status in ("starting", "running") for r in runs) <= 2
            if len(runs) == SESSIONS and all(r.status == "completed" for r in runs):
                break
            time.sleep(0.3)
        record_property("all runs finished after", f"{time.monotonic() - started:.0f} s")
        runs = store.list()
        assert len(runs) == SESSIONS and all(r.status == "completed" for r in runs), [(r.status, r.message) for r in runs]
        assert seen_queued, "with 8 runs and a limit of 2, some must have waited in the queue"
        owners = {r.owner for r in runs}
        assert len(owners) == SESSIONS  # one project (and owner) per browser session
        from layerlab.spec import load_spec

        sources = sorted(load_spec(r.path / "project.json").data.source for r in runs)
        assert sources == sorted(SAMPLES[i % len(SAMPLES)][1] for i in range(SESSIONS))  # each its own data

        stale = 0
        for page in pages:
            expect(page).to_have_url(re.compile(r"run=[0-9a-f-]+"), timeout=120_000)
            run_id = re.search(r"run=([0-9a-f-]+)", page.url).group(1)
            mine = store.get(run_id)
            done = page.get_by_text("Completed").first
            try:
                expect(done).to_be_visible(timeout=60_000)
            except AssertionError:
                # On a saturated machine (this test beside another test worker) a page's live view
                # has been seen to stop redrawing; the run itself is never lost: a reload re-finds
                # it from the address and shows how it ended.
                stale += 1
                page.reload()
                expect(done).to_be_visible(timeout=120_000)
            assert run_id in page.url
            # Another session's run opened by URL can be watched, never stopped.
            other = next(r for r in runs if r.owner != mine.owner)
            assert store.request_stop(other.id, owner=mine.owner) is False
        peak = server_memory_mb(base, "VmHWM")
        record_property("server peak memory", f"{peak:.0f} MB with {SESSIONS} sessions")
        record_property("live views that needed a reload", stale)
        assert peak < 2048
