"""Benchmark (not a test): data larger than comfortable, from upload to a finished first epoch.

    python bench/scale.py images [--n 60000]    # a zip of 28×28 grayscale PNGs in 10 class folders
    python bench/scale.py table [--n 2000000]   # a CSV of 12 numeric/categorical columns + a class target
    python bench/scale.py images --env LAYERLAB_IMAGE_MEMORY_MB=0 --keep /tmp/digits.zip

Generates the data in a temporary folder, starts `streamlit run app.py` and drives it in
headless Chromium as a user would: the upload goes into the Data page's uploader, the page
unpacks or reads it and shows what it holds; the project is set to 1 epoch and a large batch
(written into its saved project file, then the Train page is opened again); the Train page's
Start button starts the real worker process. While the worker works, the benchmark switches to
the Data page and back (the UI must stay usable) and records the progress texts the pages show.
It samples the server's and the worker's /proc/<pid>/status every 20–100 ms until the first epoch's
row reaches the run store (and the page switch is done); then it stops the run.

Reported (see bench/README.md): wall time from the upload to the first finished epoch and its
parts; the server's peak resident memory above its idle baseline (after its start-up imports),
beside what a bare Streamlit app (one file_uploader, nothing else) holds for the same upload;
the worker's peak, absolute and above its resident memory when it logs "Preparing data"
(TensorFlow imported); the file size.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from harness.server import Server, launch_browser, wait_ready

# ---- data ---------------------------------------------------------------------------------------


def _encode_pngs(images: np.ndarray) -> list[bytes]:
    from PIL import Image

    out = []
    for img in images:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG", compress_level=1)
        out.append(buf.getvalue())
    return out


def make_image_zip(path: Path, n: int = 60_000, size: int = 28, classes: int = 10, seed: int = 0) -> Path:
    """`n` distinct grayscale PNGs (size × size) of handwritten digits in `classes` class folders.

    Each image is one of sklearn's 1,797 8×8 digits, enlarged to 20×20, placed at a random
    offset on the size × size canvas, with noise: learnable, and every file different.
    Encoded on all cores; stored uncompressed in the zip (PNG is compressed already).
    """
    from concurrent.futures import ProcessPoolExecutor

    from PIL import Image
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    digits = load_digits()
    keep = digits.target < classes
    base = np.stack([np.asarray(Image.fromarray((d * 16).clip(0, 255).astype(np.uint8)).resize((20, 20), Image.BILINEAR))
                     for d in digits.images[keep]])
    labels_all = digits.target[keep]
    pick = rng.integers(0, len(base), n)
    labels = labels_all[pick]
    images = rng.integers(0, 40, size=(n, size, size), dtype=np.uint8)
    off = rng.integers(0, size - 20 + 1, size=(n, 2))
    for i in range(n):
        y, x = off[i]
        window = images[i, y:y + 20, x:x + 20]
        np.maximum(window, base[pick[i]], out=window)
    chunks = np.array_split(np.arange(n), max(1, (os.cpu_count() or 1) * 4))
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        encoded = list(pool.map(_encode_pngs, [images[c] for c in chunks]))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for c, blobs in zip(chunks, encoded):
            for i, blob in zip(c, blobs):
                zf.writestr(f"digit_{labels[i]}/img_{i:06d}.png", blob)
    return path


def make_table_csv(path: Path, rows: int = 2_000_000, seed: int = 0) -> Path:
    """`rows` × 13 CSV: 5 decimals, 3 integers, 3 labels, an ID-free mix, and a 4-class `label`
    that depends on them (learnable)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    xs = [rng.normal(0, 1, rows) for _ in range(5)]
    for i, x in enumerate(xs):
        cols[f"x{i}"] = np.round(x * (10 ** i % 97 + 1), 2)
    for i in range(3):
        cols[f"n{i}"] = rng.integers(0, 1000, rows)
    colour_names = np.array(["red", "green", "blue", "yellow", "black", "white", "purple", "orange"])
    colours = rng.integers(0, len(colour_names), rows)
    cols["colour"] = colour_names[colours]
    cols["size"] = np.array(["S", "M", "L", "XL"])[rng.integers(0, 4, rows)]
    cols["city"] = np.array([f"city{k:02d}" for k in range(30)])[rng.integers(0, 30, rows)]
    score = xs[0] + 0.5 * xs[1] - xs[2] + (colours % 3) * 0.7 + cols["n0"] / 1000 + rng.normal(0, 0.3, rows)
    cols["label"] = np.array(["low", "mid", "high", "top"])[np.digitize(score, np.quantile(score, [0.25, 0.5, 0.75]))]
    pacsv.write_csv(pa.table(cols), str(path))
    return path


# ---- the server's side, driven through a browser ----------------------------------------------------


def _status(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM (MB) of a process; {} once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out


def _reset_peak(pid: int) -> bool:
    """Reset a process's VmHWM to its VmRSS (Linux: write 5 to clear_refs); False if refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _settle(pid: int, quiet_s: float = 1.5, timeout_s: float = 30) -> float:
    """Wait until the process's resident memory stops growing (the server's start-up imports); return it."""
    deadline, last, since = time.time() + timeout_s, -1.0, time.time()
    while time.time() < deadline:
        rss = _status(pid).get("VmRSS", 0.0)
        if abs(rss - last) > 2:
            last, since = rss, time.time()
        elif time.time() - since >= quiet_s:
            break
        time.sleep(0.1)
    return last


_BARE_APP = """
import streamlit as st

upload = st.file_uploader("A file")
if upload is not None:
    st.write(f"{upload.size:,} bytes")
"""


def streamlit_upload_cost(browser: Any, file: Path, workdir: Path) -> float:
    """MB that a bare Streamlit server (a page with one file_uploader and nothing else) holds
    once `file` is uploaded: what any Streamlit app pays for an upload, before it reads a byte."""
    app = workdir / "bare_upload_app.py"
    app.write_text(_BARE_APP, encoding="utf-8")
    server = Server(workdir / "bare-home", workdir / "bare_upload_app.log", app=str(app), cwd=workdir,
                    args=["--server.maxUploadSize", str(int(file.stat().st_size / 1e6) + 50)])
    page = browser.new_page()
    try:
        server.wait_healthy()
        page.goto(f"{server.url}/")
        page.get_by_test_id("stFileUploaderDropzoneInput").wait_for(state="attached")
        base = _settle(server.proc.pid, quiet_s=1.0)
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(file))
        page.get_by_text("bytes").first.wait_for(timeout=60_000)
        return _settle(server.proc.pid, quiet_s=1.0) - base
    finally:
        page.close()
        server.stop()


def browser_side(kind: str, file: Path, batch: int, workdir: Path, timeout_s: float = 300,
                 env: dict[str, str] | None = None) -> dict[str, Any]:
    """Upload → Data page → Train page Start → first epoch, in headless Chromium against `streamlit run app.py`."""
    from playwright.sync_api import sync_playwright

    from layerlab.runs.store import RunStore
    from layerlab.spec import load_spec

    home = workdir / "home"
    for name, value in (env or {}).items():
        os.environ[name] = value  # the server, and the worker it starts, inherit them
    marks: dict[str, float] = {}
    server_samples: list[tuple[float, float]] = []
    texts: list[str] = []

    def sample(server_pid: int) -> None:
        st_ = _status(server_pid)
        if st_:
            server_samples.append((time.time(), st_["VmRSS"]))

    seen_kinds: dict[str, int] = {}

    def note_texts(page: Any, words: tuple[str, ...]) -> None:
        for line in page.evaluate("() => document.body.innerText").splitlines():
            line = line.strip()
            if line.startswith(words) and line not in texts:
                kind = line.split("(")[0][:40]  # "Unpacking 60,000 files ", "Preparing the data: decoding images "…
                seen_kinds[kind] = seen_kinds.get(kind, 0) + 1
                if seen_kinds[kind] <= 4:
                    texts.append(line)

    with sync_playwright() as pw:
        browser = launch_browser(pw)
        held = streamlit_upload_cost(browser, file, workdir)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        server = Server(home, workdir / "streamlit.log")
        try:
            server.wait_healthy()
            spid = server.proc.pid
            page.goto(f"{server.url}/data", wait_until="commit")
            wait_ready(page, "data", "Data", None, 90)
            base = _settle(spid)  # after the server's background warm-up imports
            resettable = _reset_peak(spid)
            base = _status(spid)["VmRSS"]
            page.get_by_role("tab", name="Upload your data").click()  # as a user would: the uploader's tab
            page.get_by_test_id("stFileUploaderDropzoneInput").first.wait_for(state="attached")
            t0 = time.time()
            page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(file))
            metric = "Images" if kind == "images" else "Rows"
            shown = page.get_by_test_id("stMetric").filter(has_text=metric)
            deadline = time.time() + timeout_s
            started = None  # when the Data page's script began to work on the upload (its spinner shows)
            while time.time() < deadline:
                sample(spid)
                note_texts(page, ("Unpacking", "Unpacked", "Reading"))
                if started is None and texts:
                    started = time.time()
                if shown.count() and page.evaluate(
                        "() => document.querySelector('[data-testid=\"stApp\"]')"
                        ".getAttribute('data-test-script-state') === 'notRunning'"):
                    break
                time.sleep(0.1)
            wait_ready(page, "data", None, None, timeout_s)
            marks["data_page_s"] = time.time() - t0
            if started is None:
                raise RuntimeError("never saw the Data page's spinner for the upload")
            marks["spinner_shown_s"] = started - t0
            after_data = _status(spid)
            if page.get_by_test_id("stException").count() or not shown.count():
                raise RuntimeError("the Data page did not show the upload: "
                                   + page.evaluate("() => document.body.innerText")[-1500:])
            projects = list((home / "projects").glob("*.json"))
            if len(projects) != 1:
                raise RuntimeError(f"expected one project file, found {projects}")
            spec = load_spec(projects[0]).edit(**{"train.epochs": 1, "train.batch_size": batch})
            spec.save(projects[0])  # as if set on the Train page: one epoch, a large batch
            page.goto(f"{server.url}/train", wait_until="commit")  # the same browser: its cookie finds the project
            wait_ready(page, "train", "Train", None, 60)
            button = page.get_by_role("button", name="Start training")
            button.first.click()
            marks["start_clicked_s"] = time.time() - t0
            store = RunStore(home / "runs")
            run = None
            while run is None and time.time() < deadline:
                runs = store.list()
                run = runs[0] if runs else None
                time.sleep(0.05)
            if run is None:
                raise RuntimeError("the Start button started no run")
            log = run.path / "log.txt"
            worker = {"peak_mb": 0.0, "rss_at_prepare_mb": None}
            first_epoch_t = None
            switched = False
            last_text = 0.0
            while time.time() < deadline:
                sample(spid)
                run = store.get(run.id) or run
                if run.pid:
                    st_ = _status(run.pid)
                    if st_:
                        worker["peak_mb"] = max(worker["peak_mb"], st_.get("VmHWM", 0.0))
                        if worker["rss_at_prepare_mb"] is None and log.exists() and "Preparing data" in log.read_text("utf-8"):
                            worker["rss_at_prepare_mb"] = st_.get("VmRSS")
                            marks["worker_preparing_s"] = time.time() - t0
                if first_epoch_t is None:
                    rows = store.metrics(run.id, scope="epoch")
                    if rows:
                        first_epoch_t = rows[0]["t"]
                if time.time() - last_text > 0.25:
                    note_texts(page, ("Starting", "Preparing the data", "Epoch 1/1"))
                    last_text = time.time()
                if not switched and any(t.startswith("Preparing the data") for t in texts) or (
                        not switched and any(t.startswith("Epoch 1/1") for t in texts)):
                    # The UI stays usable while the worker works: switch to Data and back.
                    switched = True
                    for title, path in (("Data", "data"), ("Train", "train")):
                        t = time.perf_counter()
                        page.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(title, exact=True)).click()
                        marks[f"switch_to_{path}_while_training_s"] = wait_ready(page, path, title, None, 60) - t
                if first_epoch_t is not None and switched or not run.active:
                    break
                time.sleep(0.02)
            end = time.time()
            run = store.get(run.id) or run
            if first_epoch_t is None:
                tail = log.read_text("utf-8")[-2000:] if log.exists() else ""
                raise RuntimeError(f"no first epoch: the run is {run.status}: {run.message}\n{tail}")
            from layerlab.runs.runner import kill_run

            kill_run(store, run.id)  # the first epoch is what is measured: no need to wait for the test evaluation
            server_peak = _status(spid).get("VmHWM", 0.0) if resettable else max(r for _, r in server_samples)
        finally:
            server.stop()
            browser.close()
    return {
        "kind": kind, "file_mb": file.stat().st_size / 1e6,
        "upload_to_first_epoch_s": (first_epoch_t - t0) if first_epoch_t else None,
        "upload_to_measure_end_s": end - t0, "marks": marks,
        "server_base_mb": base, "server_peak_mb": server_peak, "server_peak_extra_mb": server_peak - base,
        "server_after_data_page_mb": after_data.get("VmRSS"), "peak_from_clear_refs": resettable,
        "server_sampled_max_mb": max((r for _, r in server_samples), default=None),
        "worker_peak_mb": worker["peak_mb"], "worker_rss_at_prepare_mb": worker["rss_at_prepare_mb"],
        "worker_peak_extra_mb": (worker["peak_mb"] - worker["rss_at_prepare_mb"]) if worker["rss_at_prepare_mb"] else None,
        "progress_texts": texts[:30], "run_id": run.id, "log": log.read_text("utf-8")[-3000:], "batch_size": batch,
        "upload_held_mb": held,
        "server_own_peak_extra_mb": server_peak - base - held,
        "server_timeline": _timeline(server_samples, t0, base),
    }


def _timeline(samples: list[tuple[float, float]], t0: float, base: float, step_mb: float = 25) -> list[tuple[float, int]]:
    """(seconds after the upload, MB above the baseline) wherever the server's memory moved by `step_mb`."""
    out: list[tuple[float, int]] = []
    for t, rss in samples:
        if not out or abs(rss - base - out[-1][1]) >= step_mb:
            out.append((round(t - t0, 1), int(rss - base)))
    return out


# ---- the whole measure ----------------------------------------------------------------------------


def measure(kind: str, n: int, batch: int, workdir: Path, timeout_s: float = 300, env: dict[str, str] | None = None,
            keep: Path | None = None) -> dict[str, Any]:
    """Generate the data (or reuse `keep`), then go from upload to a first epoch through the browser."""
    t = time.perf_counter()
    if keep is not None and keep.exists():
        file = keep
    elif kind == "images":
        file = make_image_zip(keep or workdir / "digits-60k.zip", n)
    else:
        file = make_table_csv(keep or workdir / "table-2m.csv", n)
    generate_s = time.perf_counter() - t
    result = browser_side(kind, file, batch, workdir, timeout_s, env)
    result["generate_s"] = generate_s
    result["items"] = n
    return result


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for kind, default_n, default_batch in (("images", 60_000, 256), ("table", 2_000_000, 1024)):
        q = sub.add_parser(kind)
        q.add_argument("--n", type=int, default=default_n)
        q.add_argument("--batch", type=int, default=default_batch)
        q.add_argument("--keep", type=Path, help="reuse (or write) the generated file here")
        q.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                       help="set for the server and worker, e.g. LAYERLAB_IMAGE_MEMORY_MB=0 (stream any image set)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="layerlab-scale-") as tmp:
        result = measure(args.cmd, args.n, args.batch, Path(tmp), keep=args.keep,
                         env=dict(e.split("=", 1) for e in args.env))
    shown = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in result.items() if k not in ("log",)}
    print(json.dumps(shown, indent=1, default=str))
    return result


if __name__ == "__main__":
    main()
