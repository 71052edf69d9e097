"""Page switches under load (issue #20, finding 8): eight sessions start runs at once, then one more
person clicks through the pages while they train; the switch times, with the load average beside them.

The server queues the runs (LAYERLAB_CONCURRENT_RUNS, default 2), so two workers train while six wait;
the eight live views poll the run store. What a switch costs is split in the details by page, and
whether TensorFlow was in the server process at that moment.

The eight sessions' browsers stand for the other people's machines: in a class each pupil's browser
draws its own live curves on its own computer. Here they share the server's 2 cores, so they run at
niceness 15 (`OTHERS_NICE`; BENCH_LOAD_OTHERS_NICE=0 puts them level with the server, as before
2026-12-07), and the visitor's
browser, whose switches are timed, at normal priority. Both figures are in bench/README.md.
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
    require_playwright,
    session_with_project,
    wait_ready,
)

SESSIONS = 8
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
    # first seconds when two workers and nine browser pages start at once).
    epochs, budget_s = (2, 60) if quick else (10, 180)
    home = workdir() / "home"
    os.environ.setdefault("LAYERLAB_CONCURRENT_RUNS", "2")  # the server's own default, stated
    timings: list[dict[str, Any]] = []
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        server = Server(home, workdir() / "streamlit.log")
        try:
            server.wait_healthy()
            sessions = []
            for i in range(SESSIONS):
                spec = sample_spec("sample:digits", epochs=epochs)
                page = session_with_project(browser, server, spec, viewport={"width": 1300, "height": 1000})
                page.goto(f"{server.url}/{pages['Train']['url']}", wait_until="commit")
                wait_ready(page, pages["Train"]["url"], pages["Train"]["h1"], None, 120)
                sessions.append(page)
            for page in sessions:  # Start in every session, as quickly as people in a room would
                page.get_by_role("button", name=re.compile("Start training")).first.click()
            store = RunStore(home / "runs")
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
        finally:
            server.stop()
            browser.close()
    done = [t["seconds"] for t in timings if t["seconds"] is not None]
    stuck = len(timings) - len(done)
    loads = [t["load_1m"] for t in timings]
    by_page = {t: rnd(median(x["seconds"] for x in timings if x["page"] == t and x["seconds"] is not None))
               for t in ORDER}
    figures = [
        fig("load.switch_median_s", median(done), "s", "≤ 1.5", f"{len(done)} page switches while {SESSIONS} runs "
            "were queued or training"),
        fig("load.switch_p90_s", percentile(done, 90), "s", "< 2", "the tail a user feels"),
        fig("load.switch_max_s", max(done) if done else None, "s"),
        fig("load.switches_not_ready_in_30s", stuck, "count", "== 0"),
        fig("load.load_avg_1m_median", median(loads), "", None, f"1-minute load average during the switches "
            f"({os.cpu_count()} cores): a load far above the core count inflates every figure"),
    ]
    return {"figures": figures, "details": {"switches": timings, "median_by_page": by_page, "epochs": epochs,
                                            "runs_completed": finished, "sessions": SESSIONS}}
