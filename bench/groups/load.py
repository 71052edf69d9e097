"""Page switches under load (issue #20, finding 8): eight sessions start runs at once, then one of them clicks
through the pages while they train; the switch times, with the load average beside them.

The server queues the runs (LAYERLAB_CONCURRENT_RUNS, default 2), so two workers train while six wait;
the eight live views poll the run store. What a switch costs is split in the details by page, and
whether TensorFlow was in the server process at that moment.

The visitor, whose switches are timed, is a real Chromium page. The seven other sessions stand for the other
people in the room, whose browsers draw on their own computers; `BENCH_LOAD_OTHERS` says how they are played:
- `clients` (the default): `harness.session_client.SessionClient`, the app's WebSocket protocol from Python.
  Each opens Train, clicks Start and re-runs its live view's fragment on the server's own timer, as the
  browser's frontend does, so the server does the same work for it; nothing is rendered on the server's cores.
- `browsers`: seven more Chromium pages on this machine (the figures before 2026-12-07's session 18), whose
  rendering shares the server's 2 cores.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from harness import benchmark, fig, workdir
from harness.measure import median, percentile, rnd
from harness.projects import sample_spec
from harness.server import (
    Server,
    app_pages,
    exception_text,
    h1_text,
    launch_browser,
    owner_with_project,
    require_playwright,
    session_with_project,
    wait_ready,
)
from harness.session_client import SessionClient

SESSIONS = 8
START = re.compile("Start training")
ORDER = ("Runs", "Evaluate", "Data", "Train", "Predict", "Home")  # the pages a visitor clicks through, in turn


def _switch(page: Any, p: dict[str, str], timeout_s: float) -> float | None:
    """Click the sidebar link to `p`; seconds until its page is ready (None when it was not)."""
    link = page.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(p["title"], exact=True))
    t = time.perf_counter()
    try:
        old = h1_text(page)
        link.first.click(timeout=timeout_s * 1000)
        return wait_ready(page, p["url"], p["h1"], old, timeout_s) - t
    except Exception:  # noqa: BLE001 - a switch that never settles (or a click never taken) counts, not crashes
        return None


@benchmark("load", "load", "8 sessions start runs at once; page-switch times (median, p90, max) while they train")
def run(quick: bool) -> dict[str, Any]:
    require_playwright()
    from playwright.sync_api import sync_playwright

    from layerlab.runs.store import RunStore

    pages = {p["title"]: p for p in app_pages()}
    order = [pages[t] for t in ORDER if t in pages]
    # Enough epochs that the runs outlast the budget: the switches are measured while they train (with the worker
    # reusing its process, eight 4-epoch digits runs ended in 90 s, after only 9 switches, most of them in the
    # first seconds when two workers and nine browser pages start at once; with the other sessions played by
    # clients, eight 10-epoch runs ended in 50 s).
    epochs, budget_s = (2, 60) if quick else (40, 180)
    others = os.environ.get("BENCH_LOAD_OTHERS", "clients")
    if others not in ("clients", "browsers"):
        raise ValueError(f"BENCH_LOAD_OTHERS={others!r}: use clients or browsers")
    played: dict[str, Any] = {}
    home = workdir() / "home"
    os.environ.setdefault("LAYERLAB_CONCURRENT_RUNS", "2")  # the server's own default, stated
    timings: list[dict[str, Any]] = []
    sessions: list[Any] = []  # the visitor's browser page first, then the others (pages or SessionClients)
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        server = Server(home, workdir() / "streamlit.log")
        try:
            server.wait_healthy()
            for i in range(SESSIONS):
                spec = sample_spec("sample:digits", epochs=epochs)
                if i and others == "clients":
                    client = SessionClient(server.url, owner_with_project(server, spec))
                    client.open(pages["Train"]["url"])
                    sessions.append(client)
                    continue
                page = session_with_project(browser, server, spec, viewport={"width": 1300, "height": 1000})
                page.goto(f"{server.url}/{pages['Train']['url']}", wait_until="commit")
                wait_ready(page, pages["Train"]["url"], pages["Train"]["h1"], None, 120)
                sessions.append(page)
            started = time.time()
            for s in sessions:  # Start in every session, as quickly as people in a room would
                if isinstance(s, SessionClient):
                    s.click(START)
                else:
                    s.get_by_role("button", name=START).first.click()
            store = RunStore(home / "runs")
            wait_until = time.time() + 60  # the clicks are taken asynchronously: time switches once all runs exist
            while len(store.list()) < SESSIONS and time.time() < wait_until:
                time.sleep(0.1)
            visitor = sessions[0]  # one of them clicks through the pages while all eight runs go on
            end = time.time() + budget_s
            i = 0
            while time.time() < end:
                runs = store.list()
                active = sum(r.active for r in runs)
                if runs and not active:
                    break
                p = order[i % len(order)]
                seconds = _switch(visitor, p, 30)
                timings.append({"page": p["title"], "seconds": rnd(seconds), "load_1m": round(os.getloadavg()[0], 2),
                                "active_runs": active, "tensorflow_in_server": server.has_tensorflow(),
                                "error": exception_text(visitor)})
                i += 1
            finished = sum(r.status == "completed" for r in store.list())
            clients = [s for s in sessions if isinstance(s, SessionClient)]
            took = time.time() - started
            # What the played sessions asked of the server: the live view's re-runs a second (about 1 while
            # their run trains, 1/3 while it waits in the queue), and the script runs the server finished.
            played = {"requests_per_s": [round(c.sent / took, 2) for c in clients],
                      "runs_finished_per_s": [round(c.finished / took, 2) for c in clients]}
        finally:
            for s in sessions:
                if isinstance(s, SessionClient):
                    s.close()
            server.stop()
            browser.close()
    done = [t["seconds"] for t in timings if t["seconds"] is not None]
    stuck = len(timings) - len(done)
    loads = [t["load_1m"] for t in timings]
    by_page = {t: rnd(median(x["seconds"] for x in timings if x["page"] == t and x["seconds"] is not None))
               for t in ORDER}
    figures = [
        fig("load.switch_median_s", median(done), "s", "≤ 1.5", f"{len(done)} page switches while {SESSIONS} runs "
            f"were queued or training; the other {SESSIONS - 1} sessions played by {others}"),
        fig("load.switch_p90_s", percentile(done, 90), "s", "< 2", "the tail a user feels"),
        fig("load.switch_max_s", max(done) if done else None, "s"),
        fig("load.switches_not_ready_in_30s", stuck, "count", "== 0"),
        fig("load.load_avg_1m_median", median(loads), "", None, f"1-minute load average during the switches "
            f"({os.cpu_count()} cores): a load far above the core count inflates every figure"),
    ]
    return {"figures": figures, "details": {"switches": timings, "median_by_page": by_page, "epochs": epochs,
                                            "runs_completed": finished, "sessions": SESSIONS,
                                            "others": others, "played": played}}
