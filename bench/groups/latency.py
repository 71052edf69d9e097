"""Live latency: how soon what the worker writes is readable (`latency`), drawn on the Train page
(`latency_page`), and how soon Stop ends a run with its model saved (`stop`)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import Any

import fits
from harness import Skip, benchmark, fig, workdir
from harness.machine import ROOT, child_env, tail
from harness.measure import median, percentile, rnd
from harness.projects import sample_spec
from harness.server import Server, app_pages, launch_browser, require_playwright, session_with_project, wait_ready


def _poll_run(store: Any, run_id: str, proc: subprocess.Popen | None = None, poll_s: float = 0.02,
              timeout: float = 300) -> dict[str, Any]:
    """Poll the store every `poll_s` and note when each metric row is first seen."""
    after, seen = 0, []
    deadline = time.time() + timeout
    last_status = 0.0
    while time.time() < deadline:
        rows = store.metrics(run_id, after_id=after)
        now = time.time()
        for r in rows:
            seen.append((r["scope"], now - r["t"]))
            after = max(after, r["id"])
        if now - last_status > 0.5:
            last_status = now
            run = store.get(run_id)
            done = run is None or run.status in ("completed", "failed", "stopped", "interrupted")
            if proc is not None:
                done = done or proc.poll() is not None
            if done:
                break
        time.sleep(poll_s)
    batch = [x for s, x in seen if s == "batch"]
    epoch = [x for s, x in seen if s == "epoch"]
    return {"batch_rows": len(batch), "median": median(batch), "p95": percentile(batch, 95),
            "max": max(batch) if batch else None, "epoch_median": median(epoch)}


@benchmark("latency", "latency", "Live latency: worker batch end → metric readable in the store (polled every 20 ms)")
def latency(quick: bool) -> dict[str, Any]:
    from layerlab.runs import runner
    from layerlab.runs.store import RunStore

    epochs = 4 if quick else 15
    spec = sample_spec("sample:digits", epochs=epochs)
    store = RunStore(workdir() / "runs")
    run = runner.start_run(spec, store)
    worker = _poll_run(store, run.id)
    final = store.get(run.id)
    if final is None or final.status != "completed":
        raise RuntimeError(f"the worker run ended {final.status if final else 'missing'}: {final.message if final else ''}")
    # The proposed fix, same fit in a bench child: flush every 0.1 s with one SQLite connection kept open.
    spec_path = spec.save(workdir() / "project.json")
    run2 = store.create(spec)
    proc = subprocess.Popen([sys.executable, str(fits.SCRIPT), "live-fit", str(spec_path), "--runs-dir",
                             str(store.root), "--run-id", run2.id, "--flush", "0.1", "--keepalive"],
                            cwd=str(ROOT), env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    proposed = _poll_run(store, run2.id, proc)
    _, err = proc.communicate(timeout=120)
    figures = [
        fig("latency.store_median_s", worker["median"], "s", "≤ 0.2", "batch end in the worker → row first seen"),
        fig("latency.store_p95_s", worker["p95"], "s", "≤ 0.2"),
        fig("latency.store_max_s", worker["max"], "s"),
        fig("latency.proposed_flush0.1_keepalive_median_s", proposed["median"], "s", None,
            "same fit with StoreCallback(flush_s=0.1), one SQLite connection kept open, a flush before validation"),
        fig("latency.proposed_flush0.1_keepalive_p95_s", proposed["p95"], "s", "≤ 0.2"),
    ]
    details = {"worker": {k: rnd(v) for k, v in worker.items()}, "proposed": {k: rnd(v) for k, v in proposed.items()},
               "epochs": epochs, "poll_s": 0.02}
    if proc.returncode:
        details["proposed_error"] = tail(err)
    return {"figures": figures, "details": details}


@benchmark("stop", "latency", "Stop: the request → the run's status 'stopped' with its model saved (digits, tweets, penguins)")
def stop(quick: bool) -> dict[str, Any]:
    """What the Stop button does (runner.stop_run), timed to the status a page reads; the
    test evaluation and model.keras are written before the status, so they are counted."""
    from layerlab.runs import runner
    from layerlab.runs.store import RunStore

    store = RunStore(workdir() / "runs")
    figures, details = [], {}
    for name in ("digits", "tweets", "penguins"):
        times = []
        for rep in range(1 if quick else 3):
            run = runner.start_run(sample_spec(f"sample:{name}", epochs=500), store, owner="bench")
            deadline = time.time() + 180
            while not store.metrics(run.id, scope="epoch") and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(0.5 + 0.37 * rep)  # somewhere inside a later epoch, not at its edge
            t0 = time.perf_counter()
            runner.stop_run(store, run.id, owner="bench")
            while store.get(run.id).active and time.perf_counter() - t0 < 120:
                time.sleep(0.02)
            took = time.perf_counter() - t0
            done = store.get(run.id)
            if done.status != "stopped" or not done.has_model:
                raise RuntimeError(f"{name}: the run ended {done.status} ({done.message})")
            times.append(took)
        details[name] = [rnd(t) for t in times]
        figures.append(fig(f"stop.{name}.max_s", max(times), "s", "≤ 2",
                           f"Stop → status 'stopped', model.keras and evaluation written ({len(times)} runs)"))
    return {"figures": figures, "details": details}


@benchmark("latency_page", "latency", "Drawn-in-page latency: epoch count shown on the Train page vs the worker's row")
def latency_page(quick: bool) -> dict[str, Any]:
    require_playwright()
    from playwright.sync_api import sync_playwright

    pages = {p["title"]: p for p in app_pages()}
    if "Train" not in pages or not (ROOT / pages["Train"]["path"]).exists():
        raise Skip("no Train page")
    from layerlab.runs.store import RunStore

    home = workdir() / "home"
    # A digits project with small batches so each epoch lasts a few seconds, the session's saved project.
    epochs = 3 if quick else 6
    spec = sample_spec("sample:digits", epochs=epochs, **{"train.batch_size": 4})
    seen: dict[int, float] = {}
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        server = Server(home, workdir() / "streamlit.log")
        page = session_with_project(browser, server, spec, viewport={"width": 1400, "height": 1000})
        try:
            server.wait_healthy()
            page.goto(f"{server.url}/{pages['Train']['url']}", wait_until="commit")
            wait_ready(page, None, pages["Train"]["h1"], None, 90)
            button = page.get_by_role("button", name=re.compile("Start training", re.IGNORECASE))
            try:
                button.first.wait_for(timeout=30_000)
            except Exception:  # noqa: BLE001
                raise Skip("no 'Start training' button on the Train page") from None
            button.first.click()
            deadline = time.time() + 110
            pattern = re.compile(r"Epoch (\d+)/(\d+)")
            while time.time() < deadline:
                text = page.evaluate("() => document.body.innerText")
                now = time.time()
                for m in pattern.finditer(text):
                    seen.setdefault(int(m.group(1)), now)
                if epochs in seen and ("Completed" in text or "Finished" in text):
                    break
                time.sleep(0.02)
        finally:
            server.stop()
            browser.close()
    runs = RunStore(home / "runs").list()
    if not runs:
        raise RuntimeError("no run was started from the page")
    rows = RunStore(home / "runs").metrics(runs[0].id, scope="batch")
    first_batch = {}
    for r in rows:
        first_batch.setdefault(r["epoch"], r["t"])
    lat = [seen[e] - first_batch[e] for e in sorted(seen) if e in first_batch and e >= 2]
    figures = [
        fig("latency_page.epoch_shown_median_s", median(lat), "s", "≤ 1.5",
            "first batch of epoch k ends in the worker → 'Epoch k/N' visible on the Train page"),
        fig("latency_page.epoch_shown_max_s", max(lat) if lat else None, "s", "≤ 1.5"),
    ]
    return {"figures": figures, "details": {"epochs_seen": sorted(seen), "latencies": [rnd(x) for x in lat],
                                            "batch_size": 4}}
