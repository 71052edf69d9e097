"""Layerlab's performance benchmarks: one command, one table, one results file.

    python bench/run.py                      # everything (about 15 minutes on a 2-core CPU)
    python bench/run.py --only train,predict # a subset: benchmark names or groups (see --list)
    python bench/run.py --quick              # smoke run: fewer epochs and repetitions
    python bench/run.py --list

Every benchmark runs in a fresh child process (`bench/run.py --child NAME`) with its own
time limit, so one that fails or hangs is reported and the others still run. Ratios are
measured side by side in one run: the two sides alternate (A B, B A, ...) and the median
of the paired ratios is reported, which cancels most of the noise of a shared machine.
Results go to bench/results.json (merged with the figures of benchmarks not run this
time); each figure carries its value, unit, goal, date and the machine it ran on.
See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import common as C  # noqa: E402

ROOT = C.ROOT
RESULTS = BENCH_DIR / "results.json"
LIMIT_S = 120.0  # each benchmark's budget on the 2-core development machine
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


# ---- registry ---------------------------------------------------------------------------------


@dataclass
class Bench:
    name: str
    group: str
    title: str
    fn: Callable[["Ctx"], dict[str, Any]]


BENCHES: dict[str, Bench] = {}


def bench(name: str, group: str, title: str) -> Callable:
    def deco(fn: Callable) -> Callable:
        BENCHES[name] = Bench(name, group, title, fn)
        return fn
    return deco


@dataclass
class Ctx:
    quick: bool
    tmp: Path


class Skip(Exception):
    """A benchmark that cannot run here; the message says why."""


def fig(name: str, value: Any, unit: str, goal: str | None = None, note: str | None = None) -> dict[str, Any]:
    """One figure; `goal` like '≥ 0.95', '≤ 3', '< 50', '== False' is checked when the value is a number/bool."""
    return {"name": name, "value": C.rnd(value, 4) if isinstance(value, float) else value, "unit": unit,
            "goal": goal, "met": _meets(value, goal), "note": note}


def _meets(value: Any, goal: str | None) -> bool | None:
    if goal is None or value is None:
        return None
    m = re.match(r"^\s*(≥|>=|≤|<=|<|>|==)\s*(.+)$", goal)
    if not m:
        return None
    op, raw = m.groups()
    want: Any = {"True": True, "False": False}.get(raw.strip().split()[0])
    if want is None:
        try:
            want = float(raw.strip().split()[0])
        except ValueError:
            return None
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return {"≥": value >= want, ">=": value >= want, "≤": value <= want, "<=": value <= want, "<": value < want,
            ">": value > want, "==": value == want}[op]


# ---- 1. training speed: Layerlab run vs plain model.fit ---------------------------------------


def _train_source(kind: str, ctx: Ctx) -> tuple[str, str]:
    """(source, what it is) for the default model of a data kind."""
    samples = C.available_samples()
    if kind == "images":
        return "sample:digits", "sample:digits, template small_cnn"
    if kind == "text":
        name = next((n for n, k in samples.items() if k == "text"), None)
        if name is None:
            raise Skip("no bundled text sample yet (python -m layerlab samples)")
        return f"sample:{name}", f"sample:{name}, default text template"
    name = "penguins" if samples.get("penguins") == "table" else next((n for n, k in samples.items() if k == "table"), None)
    if name is not None:
        return f"sample:{name}", f"sample:{name}, default table template"
    return C.wine_csv(ctx.tmp / "wine.csv"), "sklearn wine as CSV (no bundled table sample), default table template"


# Epochs per run, repetitions (pairs); quick in brackets. Enough epochs for a few seconds of steady
# training per run: a digits epoch is ~0.15 s and a penguins epoch ~15 ms, which a shared machine's
# noise swamps when only a dozen of them are timed.
TRAIN_PLAN = {
    "images": (30, 3, (3, 1)),
    "text": (5, 2, (2, 1)),
    "table": (100, 3, (3, 1)),
}


def _layerlab_run(spec: Any, runs: Path) -> dict[str, Any]:
    from layerlab.runs import runner
    from layerlab.runs.store import RunStore

    store = RunStore(runs)
    launched = time.time()
    run = runner.start_run(spec, store)
    # Sample the worker's CPU time every 10 ms (a /proc read, no SQLite: the poll itself costs ~nothing).
    cpu: list[tuple[float, float]] = []
    deadline, checked = time.time() + 600, 0.0
    while time.time() < deadline:
        if run.pid:
            c = C.process_cpu_seconds(run.pid)
            if c is not None:
                cpu.append((time.time(), c))
        if time.time() - checked > 0.5:
            checked = time.time()
            store.reap()
            run = store.get(run.id) or run
            if not run.active:
                break
        time.sleep(0.01)
    final = store.get(run.id)
    if final is None or final.status != "completed":
        log = (final.path / "log.txt").read_text(encoding="utf-8")[-1500:] if final else ""
        raise RuntimeError(f"Layerlab run ended {final.status if final else 'missing'}: {final.message if final else ''}\n{log}")
    epochs = store.metrics(run.id, scope="epoch")
    return {"launched": launched, "epoch_seconds": [r["epoch_seconds"] for r in epochs],
            "epoch_end": [r["t"] for r in epochs], "cpu_end": [C.interpolate(cpu, r["t"]) for r in epochs]}


def _plain_run(spec_path: Path, out: Path) -> dict[str, Any]:
    launched = time.time()
    cp = C.python_child([str(BENCH_DIR / "common.py"), "plain-fit", str(spec_path), "--out", str(out),
                         "--launched", repr(launched)], timeout=600)
    if cp.returncode != 0:
        raise RuntimeError(f"plain model.fit failed:\n{C.tail(cp.stderr)}")
    d = json.loads(out.read_text(encoding="utf-8"))
    d["epoch_seconds"] = [e - b for b, e in zip(d["epoch_begin"], d["epoch_end"])]
    return d


def _train_ratio(ctx: Ctx, kind: str) -> dict[str, Any]:
    source, what = _train_source(kind, ctx)
    epochs, reps, quick = TRAIN_PLAN[kind]
    if ctx.quick:
        epochs, reps = quick
    spec = C.sample_spec(source, epochs=epochs)
    spec_path = spec.save(ctx.tmp / "project.json")
    pairs = []
    for rep in range(reps):
        order = ("layerlab", "plain") if rep % 2 == 0 else ("plain", "layerlab")
        got: dict[str, Any] = {}
        for side in order:
            got[side] = (_layerlab_run(spec, ctx.tmp / "runs") if side == "layerlab"
                         else _plain_run(spec_path, ctx.tmp / f"plain-{rep}.json"))
        pairs.append(got)
    n = pairs[0]["plain"]["n_train"]
    rows = []
    for p in pairs:
        ll, pl = p["layerlab"], p["plain"]
        row = {
            "layerlab_epoch_s": C.median(ll["epoch_seconds"][1:]), "plain_epoch_s": C.median(pl["epoch_seconds"][1:]),
            "layerlab_cycle_s": C.steady_cycle_seconds(ll["epoch_end"]),
            "plain_cycle_s": C.steady_cycle_seconds(pl["epoch_end"]),
            "layerlab_cpu_s": C.steady_cpu_seconds(ll["cpu_end"]) if None not in ll["cpu_end"] else None,
            "plain_cpu_s": C.steady_cpu_seconds(pl["cpu_end"]),
            "layerlab_first_epoch_s": ll["epoch_end"][0] - ll["launched"],
            "plain_first_epoch_s": pl["epoch_end"][0] - pl["launched"],
        }
        row["ratio"] = C.ratio(row["plain_epoch_s"], row["layerlab_epoch_s"])
        row["ratio_wall"] = C.ratio(row["plain_cycle_s"], row["layerlab_cycle_s"])
        row["ratio_cpu"] = C.ratio(row["plain_cpu_s"], row["layerlab_cpu_s"])
        rows.append(row)
    med = {k: C.median(r[k] for r in rows) for k in rows[0]}
    key = {"images": "digits_cnn", "text": "text_default", "table": "table_mlp"}[kind]
    figures = [
        fig(f"train.{key}.speed_ratio", med["ratio"], "×", "≥ 0.95",
            "Layerlab samples/s ÷ plain model.fit samples/s, steady epochs (epoch_seconds, validation included)"),
        fig(f"train.{key}.speed_ratio_wall", med["ratio_wall"], "×", "≥ 0.95",
            "same, from the time between epoch ends: also counts end-of-epoch work (checkpoint save, store writes)"),
        fig(f"train.{key}.speed_ratio_cpu", med["ratio_cpu"], "×", None,
            "same window in CPU seconds of each training process (all threads): little moved by other load on a "
            "shared machine, but blind to time spent waiting on the disk (fsync)"),
        fig(f"train.{key}.layerlab_samples_per_s", C.ratio(n, med["layerlab_epoch_s"]), "samples/s"),
        fig(f"train.{key}.plain_samples_per_s", C.ratio(n, med["plain_epoch_s"]), "samples/s"),
        fig(f"train.{key}.layerlab_first_epoch_s", med["layerlab_first_epoch_s"], "s", None,
            "launch → end of epoch 1 (process start, imports, data, tracing)"),
        fig(f"train.{key}.plain_first_epoch_s", med["plain_first_epoch_s"], "s"),
    ]
    return {"figures": figures,
            "details": {"data": what, "train_samples": n, "epochs": epochs, "pairs": [{k: C.rnd(v) for k, v in r.items()} for r in rows]}}


@bench("train_digits", "train", "Training speed ratio: digits CNN, Layerlab run vs plain model.fit")
def _b_train_digits(ctx: Ctx) -> dict[str, Any]:
    return _train_ratio(ctx, "images")


@bench("train_text", "train", "Training speed ratio: default text model")
def _b_train_text(ctx: Ctx) -> dict[str, Any]:
    return _train_ratio(ctx, "text")


@bench("train_table", "train", "Training speed ratio: default table MLP")
def _b_train_table(ctx: Ctx) -> dict[str, Any]:
    return _train_ratio(ctx, "table")


# ---- 1b. where a gap comes from: the worker's pieces added one at a time ----------------------


GAP_PLAN = {  # epochs, reps, variants
    "images": (12, 2, ["plain", "sync", "store", "store_keepalive", "checkpoint", "checkpoint_memory", "store+checkpoint",
                       "store_keepalive_0.1+checkpoint_memory"]),
    "table": (15, 2, ["plain", "sync", "store", "store_keepalive", "checkpoint", "checkpoint_memory", "store+checkpoint",
                      "store_keepalive_0.1+checkpoint_memory"]),
    "text": (3, 2, ["plain", "store+checkpoint", "store_keepalive_0.1+checkpoint_memory"]),
}


def _gap(ctx: Ctx, kind: str) -> dict[str, Any]:
    source, what = _train_source(kind, ctx)
    epochs, reps, variants = GAP_PLAN[kind]
    if ctx.quick:
        epochs, reps = min(epochs, 3), 1
    spec = C.sample_spec(source, epochs=epochs)
    spec_path = spec.save(ctx.tmp / "project.json")
    out = ctx.tmp / "variants.json"
    cp = C.python_child([str(BENCH_DIR / "common.py"), "variants", str(spec_path), "--out", str(out),
                         "--reps", str(reps), "--variants", ",".join(variants)], timeout=600)
    if cp.returncode != 0:
        raise RuntimeError(f"variants child failed:\n{C.tail(cp.stderr)}")
    d = json.loads(out.read_text(encoding="utf-8"))
    key = {"images": "digits_cnn", "text": "text_default", "table": "table_mlp"}[kind]
    summary: dict[str, dict[str, Any]] = {}
    for v, runs in d["results"].items():
        epoch_s = [e - b for r in runs for b, e in list(zip(r["epoch_begin"], r["epoch_end"]))[1:]]
        cycles = [x for r in runs for x in [b - a for a, b in zip(r["epoch_end"][1:], r["epoch_end"][2:])]]
        inside: dict[str, float] = {}
        for r in runs:
            for k, x in r["inside"].items():
                inside[k] = inside.get(k, 0.0) + x / max(1, len(r["epoch_end"])) / len(runs)
        cpu = [C.steady_cpu_seconds(r["cpu_end"]) for r in runs]
        summary[v] = {"epoch_s": C.median(epoch_s), "cycle_s": C.median(cycles) if cycles else C.median(epoch_s),
                      "cpu_s": C.median(cpu),
                      "inside_ms_per_epoch": {k: round(x * 1000, 1) for k, x in inside.items()}}
    base = summary["plain"]
    figures = []
    for v, s in summary.items():
        if v == "plain":
            continue
        ms = sum(x for k, x in s["inside_ms_per_epoch"].items() if not k.endswith(".flush"))  # flush is inside batch/epoch hooks
        figures.append(fig(f"gap.{key}.{v}.ratio", C.ratio(base["cycle_s"], s["cycle_s"]), "×", None,
                           "plain ÷ variant time per steady epoch (between epoch ends)"))
        figures.append(fig(f"gap.{key}.{v}.cpu_ratio", C.ratio(base["cpu_s"], s["cpu_s"]), "×", None,
                           "plain ÷ variant CPU seconds per steady epoch (this process, all threads)"))
        figures.append(fig(f"gap.{key}.{v}.callback_ms_per_epoch", ms, "ms", None,
                           f"time inside the added callbacks per epoch; plain epoch {base['cycle_s'] * 1000:.0f} ms"))
        figures.append(fig(f"gap.{key}.{v}.estimated_ratio", C.ratio(base["epoch_s"], base["epoch_s"] + ms / 1000), "×",
                           None, "plain epoch ÷ (plain epoch + callback time): the callbacks' cost alone, "
                                 "less sensitive to machine noise than the measured ratio"))
    return {"figures": figures, "details": {"data": what, "steps_per_epoch": d["steps"], "epochs": epochs, "reps": reps,
                                            "variants": {v: "; ".join(C.VARIANT_PARTS.get(p, p) for p in v.split("+"))
                                                         for v in variants},
                                            "summary": summary}}


@bench("gap_digits", "gap", "Where a training gap comes from (digits): worker pieces added one at a time")
def _b_gap_digits(ctx: Ctx) -> dict[str, Any]:
    return _gap(ctx, "images")


@bench("gap_text", "gap", "Where a training gap comes from (default text model)")
def _b_gap_text(ctx: Ctx) -> dict[str, Any]:
    return _gap(ctx, "text")


@bench("gap_table", "gap", "Where a training gap comes from (default table MLP)")
def _b_gap_table(ctx: Ctx) -> dict[str, Any]:
    return _gap(ctx, "table")


# ---- 2. input pipeline ------------------------------------------------------------------------


@bench("pipeline", "pipeline", "Input pipeline: tf.data steps/s alone vs training steps/s (digits, rotation+zoom)")
def _b_pipeline(ctx: Ctx) -> dict[str, Any]:
    import keras

    from layerlab.prep import tf_pipeline

    aug = [{"type": "rotation", "params": {}}, {"type": "zoom", "params": {}}]
    epochs, reps = (3, 1) if ctx.quick else (6, 3)
    spec_aug = C.sample_spec("sample:digits", **{"prepare.augment": aug, "train.epochs": epochs})
    spec_plain = spec_aug.edit(**{"prepare.augment": []})
    s = C._fit_setup(str(spec_aug.save(ctx.tmp / "aug.json")))
    steps = s["steps"]
    from layerlab.prep.prepare import prepare

    prepared = prepare(spec_plain)
    x_tr, y_tr = prepared.part("train")
    import tensorflow as tf

    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    ds = {"aug": s["train_ds"], "noaug": tf_pipeline.make_dataset(prepared.info, x_tr, y_tr, spec_plain, training=True),
          "pool1": s["train_ds"].with_options(options)}
    models = {"aug": s["new_model"](), "noaug": s["new_model"](), "pool1": s["new_model"]()}
    times: dict[str, list[float]] = {k: [] for k in ("pipe_aug", "pipe_noaug", "train_aug", "train_noaug", "train_pool1")}
    for rep in range(reps):
        jobs = list(times)
        jobs = jobs if rep % 2 == 0 else jobs[::-1]
        for job in jobs:
            what, which = job.split("_")
            if what == "pipe":
                per = []
                for _ in range(epochs):
                    t = time.perf_counter()
                    for _batch in ds[which]:
                        pass
                    per.append(time.perf_counter() - t)
            else:
                timer = C._epoch_timer(keras)
                models[which].fit(ds[which], epochs=epochs, callbacks=[timer], verbose=0, shuffle=False)
                per = [e - b for b, e in zip(timer.begin, timer.end)]
            times[job].extend(per[1:])
    sps = {k: C.ratio(steps, C.median(v)) for k, v in times.items()}
    figures = [
        fig("pipeline.augmented_steps_per_s", sps["pipe_aug"], "steps/s", None,
            f"iterating the training dataset alone (batch {spec_aug.train.batch_size}, rotation+zoom on)"),
        fig("pipeline.training_steps_per_s", sps["train_aug"], "steps/s", None, "model.fit on that dataset"),
        fig("pipeline.headroom", C.ratio(sps["pipe_aug"], sps["train_aug"]), "×", "≥ 1",
            "pipeline steps/s ÷ training steps/s: above 1 the pipeline is not what limits training"),
        fig("pipeline.plain_steps_per_s", sps["pipe_noaug"], "steps/s", None, "the same pipeline without augmentation"),
        fig("pipeline.augmentation_training_cost", C.ratio(sps["train_noaug"], sps["train_aug"]), "×", None,
            "training steps/s without augmentation ÷ with it (1.0 = augmentation is free)"),
        fig("pipeline.private_threadpool_1_speedup", C.ratio(sps["train_pool1"], sps["train_aug"]), "×", None,
            "training steps/s with the augmented pipeline on a private 1-thread pool ÷ as Layerlab builds it"),
    ]
    return {"figures": figures, "details": {"steps_per_epoch": steps, "epochs": epochs, "reps": reps,
                                            "median_epoch_s": {k: C.rnd(C.median(v)) for k, v in times.items()}}}


# ---- 3. start-up and page switches in a browser ------------------------------------------------


def _pages() -> list[dict[str, str]]:
    """[{path, title, url, h1}] from app.py's PAGES (parsed, not imported) and each page's st.title."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    pages = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PAGES" for t in node.targets):
            for item in ast.literal_eval(node.value):
                pages.append({"path": item[0], "title": item[1], "url": item[3] if len(item) > 3 else ""})
    for p in pages:
        p["h1"] = None
        try:
            src = ast.parse((ROOT / p["path"]).read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            continue
        for node in ast.walk(src):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "title"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                p["h1"] = node.args[0].value
                break
    return pages


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run app.py` in its own process group, with a temporary LAYERLAB_HOME."""

    def __init__(self, home: Path, log: Path) -> None:
        self.port = _free_port()
        self.home = home
        self.log = open(log, "ab")
        self.launched = time.time()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--browser.gatherUsageStats", "false"],
            cwd=str(ROOT), env=C.child_env(LAYERLAB_HOME=str(home)), stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout: float = 60) -> float:
        import urllib.request

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        return time.time()
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("streamlit did not answer /_stcore/health in time")

    def has_tensorflow(self) -> bool:
        """Whether the server process has loaded TensorFlow's native library (read from /proc, no app change)."""
        try:
            maps = Path(f"/proc/{self.proc.pid}/maps").read_text()
        except OSError:
            return False
        return "_pywrap_tensorflow_internal" in maps or "libtensorflow_framework" in maps

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.log.close()


_READY_JS = """([path, h1, oldH1]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (path !== null) {
    const last = location.pathname.replace(/\/+$/, '').split('/').pop();
    if (last !== path) return false;
  }
  const live = [...document.querySelectorAll('h1')].filter(
      h => h.offsetParent !== null && !h.closest('[data-stale="true"]'));
  if (h1 !== null) return live.some(h => h.textContent.trim().startsWith(h1));
  return live.some(h => h.textContent.trim() !== oldH1);
}"""


def _exception_text(page: Any) -> str | None:
    loc = page.locator('[data-testid="stException"]')
    if loc.count():
        return loc.first.inner_text()[:300]
    return None


def _wait_ready(page: Any, path: str | None, h1: str | None, old_h1: str | None, timeout_s: float,
                settle_s: float = 0.3) -> float:
    """perf_counter time at which the page was first ready and then stayed ready for `settle_s`
    (a script run that ends and is rerun at once — e.g. a deep link routed through app.py — is not ready)."""
    deadline = time.perf_counter() + timeout_s
    while True:
        left = max(0.1, deadline - time.perf_counter())
        page.wait_for_function(_READY_JS, arg=[path, h1, old_h1], timeout=left * 1000, polling=20)
        ready = time.perf_counter()
        page.wait_for_timeout(settle_s * 1000)
        if page.evaluate(_READY_JS, [path, h1, old_h1]):
            return ready
        if time.perf_counter() > deadline:
            raise TimeoutError("the page did not settle")


def _h1_text(page: Any) -> str | None:
    return page.evaluate("() => { const h = [...document.querySelectorAll('h1')].find(h => h.offsetParent !== null);"
                         " return h ? h.textContent.trim() : null; }")


def _switch(page: Any, server: Server, p: dict[str, str], timeout_s: float = 30) -> dict[str, Any]:
    link = page.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(p["title"], exact=True))
    if link.count() == 0:
        return {"page": p["title"], "error": "no sidebar link with this title"}
    old = _h1_text(page)
    t = time.perf_counter()
    link.first.click()
    try:
        out: dict[str, Any] = {"page": p["title"], "seconds": _wait_ready(page, p["url"], p["h1"], old, timeout_s) - t}
    except Exception as exc:  # noqa: BLE001 - a page being written may fail; report and go on
        out = {"page": p["title"], "error": f"not ready in {timeout_s:.0f} s ({type(exc).__name__})"}
    err = _exception_text(page)
    if err:
        out["error"] = f"page raised: {err}"
    out["tensorflow_loaded"] = server.has_tensorflow()
    return out


def _launch_browser(p: Any) -> Any:
    if not Path(CHROMIUM).exists():
        raise Skip(f"no Chromium at {CHROMIUM}")
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@bench("startup", "startup", "Start-up to an interactive first page, and page switches, in headless Chromium")
def _b_startup(ctx: Ctx) -> dict[str, Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise Skip("playwright is not installed") from None
    pages = _pages()
    if not pages:
        raise Skip("no PAGES list in app.py")
    home = next((p for p in pages if p["url"] == ""), pages[0])
    figures: list[dict[str, Any]] = []
    details: dict[str, Any] = {"pages": pages}
    with sync_playwright() as pw:
        browser = _launch_browser(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        server = Server(ctx.tmp / "home", ctx.tmp / "streamlit.log")
        try:
            healthy = server.wait_healthy()
            page.goto(server.url + "/", wait_until="commit")
            ready = time.time() - (time.perf_counter() - _wait_ready(page, None, home["h1"], None, 60))
            err = _exception_text(page)
            figures.append(fig("startup.server_ready_s", healthy - server.launched, "s", None,
                               "launch → /_stcore/health answers"))
            figures.append(fig("startup.first_page_s", ready - server.launched, "s", "≤ 3",
                               "launch of `streamlit run` → Home interactive in Chromium" + (f"; ERROR {err}" if err else "")))
            tf_at_start = server.has_tensorflow()
            figures.append(fig("startup.tensorflow_at_first_page", tf_at_start, "bool", "== False"))
            seen_tf = tf_at_start
            # Without a project: every page once (Home last), as a new visitor clicking through.
            switches = [_switch(page, server, p) for p in [p for p in pages if p is not home] + [home]]
            details["switches_no_project"] = switches
            seen_tf = _switch_figures(figures, switches, "no_project", seen_tf)
            # With a project: the Home page's sample button creates the digits project and opens Train.
            button = page.get_by_role("button", name=re.compile("Try a sample", re.I))
            if button.count():
                old = _h1_text(page)
                t = time.perf_counter()
                button.first.click()
                train = next((p for p in pages if p["title"] == "Train"), None)
                try:
                    ready_at = _wait_ready(page, train["url"] if train else None, train["h1"] if train else None, old, 30)
                    figures.append(fig("startup.sample_project_to_train_s", ready_at - t, "s", None,
                                       "Home's 'Try a sample' button → Train page interactive"))
                except Exception as exc:  # noqa: BLE001
                    details["sample_button_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
                order = [p for p in pages if p["title"] not in ("Train",)] + ([train] if train else [])
                switches = [_switch(page, server, p) for p in order]
                details["switches_with_project"] = switches
                seen_tf = _switch_figures(figures, switches, "with_project", seen_tf)
            else:
                details["sample_button_error"] = "no 'Try a sample' button on Home: the pass with a project was skipped"
            figures.append(fig("startup.tensorflow_loaded_by_end", server.has_tensorflow(), "bool", None,
                               "whether any page visited loaded TensorFlow into the server"))
        finally:
            server.stop()
            browser.close()
        details["server_log_tail"] = C.tail((ctx.tmp / "streamlit.log").read_text(errors="replace"), 20)
    return {"figures": figures, "details": details}


def _switch_figures(figures: list, switches: list[dict[str, Any]], label: str, seen_tf: bool) -> bool:
    for s in switches:
        first_tf = bool(s.get("tensorflow_loaded")) and not seen_tf
        seen_tf = seen_tf or bool(s.get("tensorflow_loaded"))
        goal = "≤ 6" if first_tf else "≤ 1"
        note = "first page that loaded TensorFlow into the server" if first_tf else None
        if "error" in s:
            figures.append(fig(f"startup.switch.{label}.{s['page']}_s", None, "s", goal,
                               f"SKIPPED: {s['error']}"))
        else:
            figures.append(fig(f"startup.switch.{label}.{s['page']}_s", s["seconds"], "s", goal, note))
    return seen_tf


# ---- 3b. which pages import TensorFlow -------------------------------------------------------


_STATIC_CHILD = r"""
import ast, importlib, json, sys, time
path = sys.argv[1]
mods = []
for node in ast.parse(open(path, encoding="utf-8").read()).body:
    if isinstance(node, ast.Import):
        mods += [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
        for a in node.names:
            mods.append(node.module + "." + a.name)
            mods.append(node.module)
t = time.perf_counter()
for m in dict.fromkeys(mods):
    try:
        importlib.import_module(m)
    except ImportError:
        pass  # `from x import name` where name is not a module
print(json.dumps({"modules": list(dict.fromkeys(mods)), "seconds": time.perf_counter() - t,
                  "tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules}))
"""

_APPTEST_CHILD = r"""
import json, sys
from streamlit.testing.v1 import AppTest
page, with_project = sys.argv[1], sys.argv[2] == "1"
at = AppTest.from_file("app.py", default_timeout=120)
at.run()
if with_project:
    from layerlab.project import new_project
    at.session_state["project"] = new_project("sample:digits")
before = "tensorflow" in sys.modules
at.switch_page(page)
at.run()
print(json.dumps({"tensorflow_after_home": before, "tensorflow": "tensorflow" in sys.modules,
                  "keras": "keras" in sys.modules, "exceptions": [str(e.value)[:200] for e in at.exception]}))
"""


@bench("tf_imports", "startup", "Which pages import TensorFlow into the server (static imports, and AppTest runs)")
def _b_tf_imports(ctx: Ctx) -> dict[str, Any]:
    pages = _pages()
    env = C.child_env(LAYERLAB_HOME=str(ctx.tmp / "home"))
    figures, details = [], {}
    for p in pages:
        entry: dict[str, Any] = {}
        cp = C.python_child(["-c", _STATIC_CHILD, str(ROOT / p["path"])], timeout=120, env=env)
        entry["static"] = json.loads(cp.stdout.strip().splitlines()[-1]) if cp.returncode == 0 else {"error": C.tail(cp.stderr, 5)}
        modes = [("no_project", "0"), ("with_project", "1")] if not ctx.quick or p["title"] == "Data" else [("no_project", "0")]
        for label, flag in modes:
            cp = C.python_child(["-c", _APPTEST_CHILD, p["path"], flag], timeout=180, env=env)
            entry[label] = (json.loads(cp.stdout.strip().splitlines()[-1]) if cp.returncode == 0 and cp.stdout.strip()
                            else {"error": C.tail(cp.stderr, 5)})
        details[p["title"]] = entry
        static_tf = entry["static"].get("tensorflow")
        run_tf = {label: entry[label].get("tensorflow") for label, _ in modes}
        goal = "== False" if p["title"] in ("Home", "Data") else None
        figures.append(fig(f"tf_imports.{p['title']}.static", static_tf, "bool", goal,
                           f"importing the page's top-level imports ({entry['static'].get('seconds', 0):.2f} s)"
                           if "error" not in entry["static"] else f"SKIPPED: {entry['static']['error'][:150]}"))
        for label, val in run_tf.items():
            errs = entry[label].get("exceptions") or entry[label].get("error")
            figures.append(fig(f"tf_imports.{p['title']}.apptest_{label}", val, "bool",
                               goal if label == "no_project" else None,
                               f"page errors: {str(errs)[:150]}" if errs else None))
    data = details.get("Data", {})
    if data:
        figures.insert(0, fig("tf_imports.data_page_imports_tensorflow",
                              bool(data["static"].get("tensorflow")) or bool(data.get("no_project", {}).get("tensorflow")),
                              "bool", "== False", "the Data page's server process (static imports or an AppTest run)"))
    return {"figures": figures, "details": details}


# ---- 4. live latency: worker batch end → row readable in the store -----------------------------


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
    return {"batch_rows": len(batch), "median": C.median(batch), "p95": C.percentile(batch, 95),
            "max": max(batch) if batch else None, "epoch_median": C.median(epoch)}


@bench("latency", "latency", "Live latency: worker batch end → metric readable in the store (polled every 20 ms)")
def _b_latency(ctx: Ctx) -> dict[str, Any]:
    from layerlab.runs import runner
    from layerlab.runs.store import RunStore

    epochs = 4 if ctx.quick else 15
    spec = C.sample_spec("sample:digits", epochs=epochs)
    store = RunStore(ctx.tmp / "runs")
    run = runner.start_run(spec, store)
    worker = _poll_run(store, run.id)
    final = store.get(run.id)
    if final is None or final.status != "completed":
        raise RuntimeError(f"the worker run ended {final.status if final else 'missing'}: {final.message if final else ''}")
    # The proposed fix, same fit in a bench child: flush every 0.1 s with one SQLite connection kept open.
    spec_path = spec.save(ctx.tmp / "project.json")
    run2 = store.create(spec)
    proc = subprocess.Popen([sys.executable, str(BENCH_DIR / "common.py"), "live-fit", str(spec_path), "--runs-dir",
                             str(store.root), "--run-id", run2.id, "--flush", "0.1", "--keepalive"],
                            cwd=str(ROOT), env=C.child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
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
    details = {"worker": {k: C.rnd(v) for k, v in worker.items()}, "proposed": {k: C.rnd(v) for k, v in proposed.items()},
               "epochs": epochs, "poll_s": 0.02}
    if proc.returncode:
        details["proposed_error"] = C.tail(err)
    return {"figures": figures, "details": details}


@bench("stop", "latency", "Stop: the request → the run's status 'stopped' with its model saved (digits, tweets, penguins)")
def _b_stop(ctx: Ctx) -> dict[str, Any]:
    """What the Stop button does (runner.stop_run), timed to the status a page reads; the
    test evaluation and model.keras are written before the status, so they are counted."""
    from layerlab.runs import runner
    from layerlab.runs.store import RunStore

    store = RunStore(ctx.tmp / "runs")
    figures, details = [], {}
    for name in ("digits", "tweets", "penguins"):
        times = []
        for rep in range(1 if ctx.quick else 3):
            run = runner.start_run(C.sample_spec(f"sample:{name}", epochs=500), store, owner="bench")
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
        details[name] = [C.rnd(t) for t in times]
        figures.append(fig(f"stop.{name}.max_s", max(times), "s", "≤ 2",
                           f"Stop → status 'stopped', model.keras and evaluation written ({len(times)} runs)"))
    return {"figures": figures, "details": details}


@bench("latency_page", "latency", "Drawn-in-page latency: epoch count shown on the Train page vs the worker's row")
def _b_latency_page(ctx: Ctx) -> dict[str, Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise Skip("playwright is not installed") from None
    pages = {p["title"]: p for p in _pages()}
    if "Train" not in pages or not (ROOT / pages["Train"]["path"]).exists():
        raise Skip("no Train page")
    from layerlab.runs.store import RunStore

    home = ctx.tmp / "home"
    # A digits project with small batches so each epoch lasts a few seconds, opened through the URL (?p=…).
    epochs = 3 if ctx.quick else 6
    spec = C.sample_spec("sample:digits", epochs=epochs, **{"train.batch_size": 4})
    pid = "b" * 16
    spec.save(home / "projects" / f"{pid}.json")
    seen: dict[int, float] = {}
    with sync_playwright() as pw:
        browser = _launch_browser(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        server = Server(home, ctx.tmp / "streamlit.log")
        try:
            server.wait_healthy()
            page.goto(f"{server.url}/{pages['Train']['url']}?p={pid}", wait_until="commit")
            _wait_ready(page, None, pages["Train"]["h1"], None, 90)
            button = page.get_by_role("button", name=re.compile("Start training", re.I))
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
        fig("latency_page.epoch_shown_median_s", C.median(lat), "s", "≤ 1.5",
            "first batch of epoch k ends in the worker → 'Epoch k/N' visible on the Train page"),
        fig("latency_page.epoch_shown_max_s", max(lat) if lat else None, "s", "≤ 1.5"),
    ]
    return {"figures": figures, "details": {"epochs_seen": sorted(seen), "latencies": [C.rnd(x) for x in lat],
                                            "batch_size": 4}}


# ---- 5. ingest (bench/ingest.py, written by the data engineer) --------------------------------


@bench("ingest", "ingest", "Ingest: 1,000,000 × 20 CSV read + profile (bench/ingest.py)")
def _b_ingest(ctx: Ctx) -> dict[str, Any]:
    path = BENCH_DIR / "ingest.py"
    if not path.exists():
        raise Skip("bench/ingest.py is not there yet")
    import importlib.util

    spec = importlib.util.spec_from_file_location("layerlab_bench_ingest", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    fn = getattr(mod, "main", None) or getattr(mod, "run", None)
    if fn is None:
        raise Skip("bench/ingest.py has no main() or run()")
    rows = 100_000 if ctx.quick else 1_000_000
    out = fn(rows)
    secs, peak, size = out.get("ingest_seconds"), out.get("ingest_peak_mb"), out.get("file_mb")
    scale = rows / 1_000_000
    return {"figures": [
        fig("ingest.seconds", secs, "s", "< 10" if not ctx.quick else None, f"read_table + profile, {rows:,} rows × 20"),
        fig("ingest.peak_extra_mb", peak, "MB"),
        fig("ingest.file_mb", size, "MB"),
        fig("ingest.peak_vs_file", C.ratio(peak, size), "×", "< 3", "peak extra memory ÷ CSV size"),
    ], "details": {"rows": rows, "returned": out, "scale": scale}}


# ---- 5b. scale: data larger than comfortable, upload → first epoch (bench/scale.py) --------------


def _scale(ctx: Ctx, kind: str) -> dict[str, Any]:
    try:
        import playwright  # noqa: F401
    except ImportError:
        raise Skip("playwright is not installed") from None
    if not Path(CHROMIUM).exists():
        raise Skip(f"no Chromium at {CHROMIUM}")
    import scale as S

    if kind == "images":
        n, batch = (6_000, 256) if ctx.quick else (60_000, 256)
        # Forced down the streaming path (decoded once to disk, read batch by batch): 60,000 28×28
        # images (47 MB decoded) would otherwise train from memory, under the 256 MB default.
        env = {"LAYERLAB_IMAGE_MEMORY_MB": "0"}
    else:
        n, batch, env = (200_000 if ctx.quick else 2_000_000), 1024, {}
    r = S.measure(kind, n, batch, ctx.tmp, env=env, tools=(Server, _launch_browser, _wait_ready))
    key, size = f"scale_{kind}", r["file_mb"]
    switches = [v for k, v in r["marks"].items() if k.startswith("switch_to_")]
    texts = r["progress_texts"]
    figures = [
        fig(f"{key}.file_mb", size, "MB", None, f"{n:,} {'PNGs (28×28, 10 classes) in a zip' if kind == 'images' else 'rows × 13 columns, CSV'}"),
        fig(f"{key}.upload_to_first_epoch_s", r["upload_to_first_epoch_s"], "s", None,
            f"file into the Data page's uploader → the worker's first epoch row (batch size {batch}, 1 epoch)"),
        fig(f"{key}.data_page_s", r["marks"]["data_page_s"], "s", None,
            "upload → the Data page shows what the data holds (unpacking or reading included)"),
        fig(f"{key}.server_peak_extra_mb", r["server_peak_extra_mb"], "MB", None,
            "server process: peak resident memory above its idle baseline (VmHWM after clear_refs)"),
        fig(f"{key}.upload_held_mb", r["upload_held_mb"], "MB", None,
            "what a bare Streamlit app (one file_uploader, nothing else) holds once this file is uploaded"),
        fig(f"{key}.worker_peak_mb", r["worker_peak_mb"], "MB", None, "training worker: peak resident memory"),
        fig(f"{key}.worker_peak_extra_mb", r["worker_peak_extra_mb"], "MB", None,
            "worker peak above its memory when it logs 'Preparing data' (TensorFlow imported)"),
        fig(f"{key}.ui_switch_max_s", max(switches) if switches else None, "s", "≤ 2",
            "while the worker prepares or trains: sidebar switch to Data, and back to Train, until idle"),
    ]
    if kind == "images":
        total = r["server_peak_mb"] + r["worker_peak_mb"]
        figures += [
            fig(f"{key}.peak_total_mb", total, "MB", "< 2000", "server peak + worker peak, absolute (both processes)"),
            fig(f"{key}.server_peak_mb", r["server_peak_mb"], "MB", None, "server process: peak, absolute"),
            fig(f"{key}.unpacking_progress_shown", any(re.match(r"Unpacking [\d,]+ files", t) for t in texts), "bool",
                "== True",
                "the Data page showed a progress bar while unpacking"),
            fig(f"{key}.decoding_progress_shown", any("decoding images" in t for t in texts), "bool", "== True",
                "the Train page showed 'Preparing the data: decoding images (…)' before the first step"),
        ]
    else:
        figures += [
            fig(f"{key}.server_peak_vs_file", C.ratio(r["server_peak_extra_mb"], size), "×", "< 3",
                "server peak above idle ÷ CSV size, Streamlit's copy of the upload included"),
            fig(f"{key}.server_own_peak_vs_file", C.ratio(r["server_own_peak_extra_mb"], size), "×", "< 3",
                "the same less what a bare Streamlit app holds for the upload: what reading and showing the table cost"),
            fig(f"{key}.worker_peak_vs_file", C.ratio(r["worker_peak_extra_mb"], size), "×", None,
                "worker peak above 'Preparing data' ÷ CSV size (TensorFlow's training runtime included)"),
        ]
    details = {k: v for k, v in r.items() if k not in ("log",)}
    details["log_tail"] = r["log"][-1500:]
    return {"figures": figures, "details": details}


@bench("scale_images", "scale", "Scale: a zip of 60,000 28×28 PNGs, upload → first epoch, in Chromium (streamed)")
def _b_scale_images(ctx: Ctx) -> dict[str, Any]:
    return _scale(ctx, "images")


@bench("scale_table", "scale", "Scale: a 2,000,000-row CSV, upload → first epoch, in Chromium")
def _b_scale_table(ctx: Ctx) -> dict[str, Any]:
    return _scale(ctx, "table")


# ---- 6. prediction ----------------------------------------------------------------------------


@bench("predict", "predict", "Prediction: single-image latency and batch throughput vs plain model.predict (digits)")
def _b_predict(ctx: Ctx) -> dict[str, Any]:
    import numpy as np

    from layerlab.inference.predictor import load_predictor
    from layerlab.samples import get_sample
    from layerlab.runs.store import RunStore
    from layerlab.train.trainer import run_training

    store = RunStore(ctx.tmp / "runs")
    run = store.create(C.sample_spec("sample:digits", epochs=1 if ctx.quick else 3))
    final = run_training(store, run.id)
    if final.status != "completed":
        raise RuntimeError(f"training for the prediction benchmark ended {final.status}: {final.message}")
    pred = load_predictor(final.path)
    images = get_sample("digits").load()[0]
    one = images[0]
    n_single, n_batch, reps = (50, 1000, 3) if ctx.quick else (200, 1000, 7)
    for i in range(20):
        pred.predict_images([images[i]])
    single = []
    for i in range(n_single):
        t = time.perf_counter()
        pred.predict_images([images[i % len(images)]])
        single.append(time.perf_counter() - t)
    plain_single = []
    arr_one = one[None].astype("float32")
    for _ in range(5):
        pred.model.predict(arr_one, verbose=0)
    for _ in range(max(20, n_single // 4)):
        t = time.perf_counter()
        pred.model.predict(arr_one, verbose=0)
        plain_single.append(time.perf_counter() - t)
    batch = [images[i % len(images)] for i in range(n_batch)]
    arr = np.stack(batch).astype("float32")
    pred.predict_images(batch)
    pred.model.predict(arr, verbose=0)
    ll, pl = [], []
    for rep in range(reps):
        for side in (("ll", "pl") if rep % 2 == 0 else ("pl", "ll")):
            t = time.perf_counter()
            if side == "ll":
                pred.predict_images(batch)
                ll.append(time.perf_counter() - t)
            else:
                pred.model.predict(arr, verbose=0)
                pl.append(time.perf_counter() - t)
    ratios = [p / q for p, q in zip(pl, ll)]
    return {"figures": [
        fig("predict.single_latency_ms", C.median(single) * 1000, "ms", "< 50",
            f"Predictor.predict_images on one image, median of {n_single} after warm-up"),
        fig("predict.single_latency_p95_ms", C.percentile(single, 95) * 1000, "ms"),
        fig("predict.plain_predict_single_ms", C.median(plain_single) * 1000, "ms", None,
            "for comparison: plain model.predict on one image"),
        fig("predict.batch_images_per_s", n_batch / C.median(ll), "images/s", None,
            f"Predictor.predict_images on {n_batch} images (results as dicts included)"),
        fig("predict.plain_batch_images_per_s", n_batch / C.median(pl), "images/s", None,
            f"plain model.predict on the same loaded model, {n_batch} images as one float32 array"),
        fig("predict.batch_throughput_ratio", C.median(ratios), "×", "≥ 0.9", "Layerlab ÷ plain model.predict"),
    ], "details": {"reps": reps, "layerlab_s": [C.rnd(x) for x in ll], "plain_s": [C.rnd(x) for x in pl]}}


# ---- 7. accuracy at defaults ------------------------------------------------------------------


def _accuracy(ctx: Ctx, name: str, template: str | None = None) -> dict[str, Any]:
    """Test metric vs the naive baseline of one sample's project at defaults (or with another template)."""
    import keras  # noqa: F401 - imported before the clock starts, as the worker has it loaded

    from layerlab.runs.store import RunStore
    from layerlab.train.trainer import run_training

    spec = C.sample_spec(f"sample:{name}", epochs=2 if ctx.quick else None)
    if template is not None:
        from layerlab.project import with_template

        spec = with_template(spec, template)
        name = f"{name}.{template}"
    store = RunStore(ctx.tmp / "runs")
    run = store.create(spec)
    t = time.perf_counter()
    final = run_training(store, run.id)
    wall = time.perf_counter() - t
    if final.status != "completed":
        raise RuntimeError(f"training ended {final.status}: {final.message}")
    m = final.test_metrics
    figures = []
    if "accuracy" in m:
        base = m.get("baseline_accuracy")
        figures.append(fig(f"accuracy.{name}.test_accuracy", m["accuracy"], "fraction",
                           f"> {base:.4f}" if base is not None else None, "goal: beat the baseline beside it"))
        figures.append(fig(f"accuracy.{name}.baseline_accuracy", base, "fraction", None,
                           "always predicting the most frequent training class"))
    else:
        base = m.get("baseline_mae")
        unit = spec.data.target or "target units"
        figures.append(fig(f"accuracy.{name}.test_mae", m.get("mae"), unit,
                           f"< {base:.4f}" if base is not None else None, "goal: beat the baseline beside it"))
        figures.append(fig(f"accuracy.{name}.baseline_mae", base, unit, None,
                           "predicting the training mean" if spec.data.kind == "table" else "repeating the last value"))
    figures.append(fig(f"accuracy.{name}.wall_s", wall, "s", None,
                       f"run_training: prepare + {spec.train.epochs} epochs + evaluate + save"))
    return {"figures": figures, "details": {"template": spec.model.template, "epochs": spec.train.epochs,
                                            "test_metrics": m}}


def _register_accuracy() -> None:
    try:
        names = list(C.available_samples())
    except Exception:  # noqa: BLE001 - the registry must load even if samples cannot
        names = ["digits"]
    for name in names:
        bench(f"accuracy_{name}", "accuracy", f"Accuracy at defaults: sample {name}")(
            lambda ctx, _n=name: _accuracy(ctx, _n))


_register_accuracy()


def _register_templates() -> None:
    """Every template that is not its kind's default, on every sample of its kind, at defaults.

    The defaults are `accuracy_<sample>`; together they show each template trains well as it comes.
    """
    try:
        from layerlab.models.templates import default_template, templates_for

        samples = C.available_samples()
    except Exception:  # noqa: BLE001 - the registry must load even if samples cannot
        return
    for name, kind in samples.items():
        for t in templates_for(kind):
            if t.name != default_template(kind):
                bench(f"template_{name}_{t.name}", "templates", f"Template {t.title} at defaults: sample {name}")(
                    lambda ctx, _n=name, _t=t.name: _accuracy(ctx, _n, _t))


_register_templates()


# ---- running, printing, saving ----------------------------------------------------------------


def select(only: str | None) -> list[str]:
    if not only:
        return list(BENCHES)
    chosen: list[str] = []
    for token in (t.strip() for t in only.split(",") if t.strip()):
        hits = [n for n, b in BENCHES.items() if token in (n, b.group)]
        if not hits:
            raise SystemExit(f"unknown benchmark or group {token!r}; see --list")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def run_child(name: str, quick: bool, out: Path) -> None:
    """Inside the child process: run one benchmark and write its result."""
    b = BENCHES[name]
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix=f"layerlab-bench-{name}-") as tmp:
        try:
            result = b.fn(Ctx(quick, Path(tmp)))
        except Skip as exc:
            result = {"skipped": str(exc)}
        except Exception as exc:  # noqa: BLE001 - reported in the table
            result = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
    result["seconds"] = time.perf_counter() - started
    result["load_avg_1m"] = [round(load_start, 2), round(os.getloadavg()[0], 2)]
    out.write_text(json.dumps(result, default=str), encoding="utf-8")


def run_parent(names: list[str], quick: bool, timeout: float) -> dict[str, dict[str, Any]]:
    results = {}
    for name in names:
        print(f"▶ {name}: {BENCHES[name].title} …", flush=True)
        with tempfile.TemporaryDirectory(prefix="layerlab-bench-out-") as tmp:
            out = Path(tmp) / "result.json"
            args = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--out", str(out)]
            if quick:
                args.append("--quick")
            started = time.perf_counter()
            proc = subprocess.Popen(args, cwd=str(ROOT), env=C.child_env(), stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, start_new_session=True)
            try:
                log, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                log, _ = proc.communicate()
                results[name] = {"error": f"timed out after {timeout:.0f} s", "seconds": time.perf_counter() - started}
                print(f"  ✗ timed out", flush=True)
                continue
            if out.exists():
                result = json.loads(out.read_text(encoding="utf-8"))
            else:
                result = {"error": f"the child exited with code {proc.returncode}", "log": C.tail(log, 30)}
        result.setdefault("seconds", time.perf_counter() - started)
        results[name] = result
        status = ("skipped: " + result["skipped"]) if "skipped" in result else (
            ("ERROR " + result["error"]) if "error" in result else "ok")
        over = "  (over the 2-minute budget)" if result["seconds"] > LIMIT_S and "error" not in result else ""
        load = result.get("load_avg_1m")
        shown = f", load average {load[0]:.1f} → {load[1]:.1f} on {os.cpu_count()} CPUs" if load else ""
        print(f"  {status} in {result['seconds']:.0f} s{shown}{over}", flush=True)
    return results


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        a = abs(v)
        return f"{v:,.0f}" if a >= 1000 else f"{v:.1f}" if a >= 100 else f"{v:.2f}" if a >= 1 else f"{v:.3f}"
    return str(v)


def print_table(results: dict[str, dict[str, Any]]) -> None:
    rows = [("figure", "value", "unit", "goal", "met")]
    notes = []
    for name, r in results.items():
        if "figures" not in r:
            rows.append((f"[{name}]", "skipped" if "skipped" in r else "ERROR", "", "", ""))
            notes.append(f"{name}: {r.get('skipped') or r.get('error')}")
            continue
        for f in r["figures"]:
            met = {True: "✓", False: "✗ MISSED", None: ""}[f["met"]]
            rows.append((f["name"], _fmt(f["value"]), f["unit"], f["goal"] or "", met))
            if f.get("note", "") and str(f["note"]).startswith("SKIPPED"):
                notes.append(f"{f['name']}: {f['note']}")
    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    for i, r in enumerate(rows):
        print("  ".join(str(c).ljust(w) if j != 1 else str(c).rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if notes:
        print("\nNotes:")
        for n in notes:
            print(f"  - {n}")


def save(results: dict[str, dict[str, Any]], machine: dict[str, Any], quick: bool, path: Path) -> None:
    """Merge into results.json: figures of the benchmarks run now replace their old ones."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or "figures" not in doc:
            raise ValueError
    except (OSError, ValueError):
        doc = {"figures": {}, "benchmarks": {}}
    date = C.now_iso()
    for name, r in results.items():
        doc["figures"] = {k: v for k, v in doc["figures"].items() if v.get("benchmark") != name}
        for f in r.get("figures", []):
            doc["figures"][f["name"]] = {"value": f["value"], "unit": f["unit"], "goal": f["goal"], "met": f["met"],
                                         "note": f.get("note"), "benchmark": name, "quick": quick, "date": date,
                                         "machine": machine}
        doc["benchmarks"][name] = {"title": BENCHES[name].title, "date": date, "quick": quick,
                                   "seconds": round(r.get("seconds", 0.0), 1),
                                   **{k: r[k] for k in ("load_avg_1m", "skipped", "error", "details", "traceback", "log")
                                      if k in r}}
    doc["updated"] = date
    doc["machine"] = machine
    path.write_text(json.dumps(doc, indent=1, default=str, ensure_ascii=False), encoding="utf-8")


def markdown(path: Path, skip: tuple[str, ...] = ("tf_imports.", "gap.")) -> str:
    """The figures of a results file as a Markdown table (for bench/README.md)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    lines = ["| figure | value | unit | goal | met | date |", "|---|---:|---|---|---|---|"]
    order = {b: i for i, b in enumerate(BENCHES)}
    for name, f in sorted(doc["figures"].items(), key=lambda kv: order.get(kv[1].get("benchmark"), len(order))):
        if name.startswith(skip):
            continue
        met = {True: "✓", False: "✗", None: ""}[f["met"]]
        lines.append(f"| `{name}` | {_fmt(f['value'])} | {f['unit']} | {f['goal'] or ''} | {met} | {f['date'][:10]} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Layerlab benchmarks (see bench/README.md).")
    p.add_argument("--only", help="comma-separated benchmark names or groups")
    p.add_argument("--quick", action="store_true", help="smoke run: fewer epochs and repetitions")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument("--out", type=Path, default=RESULTS, help="results file (default bench/results.json)")
    p.add_argument("--timeout", type=float, default=360, help="seconds before a benchmark is stopped")
    p.add_argument("--markdown", action="store_true", help="print the results file's figures as a Markdown table")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.markdown:
        print(markdown(args.out))
        return 0
    if args.child:
        run_child(args.child, args.quick, args.out)
        return 0
    if args.list:
        for n, b in BENCHES.items():
            print(f"{n:22s} [{b.group}]  {b.title}")
        return 0
    names = select(args.only)
    machine = C.machine_info()
    print(f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gb']} GiB, GPU {machine['gpu']}; "
          f"TensorFlow {machine['tensorflow']}, Keras {machine['keras']}; {C.now_iso()}"
          + (" (quick)" if args.quick else ""), flush=True)
    results = run_parent(names, args.quick, args.timeout)
    print()
    print_table(results)
    save(results, machine, args.quick, args.out)
    print(f"\nWrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
