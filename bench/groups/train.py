"""Training speed: a Layerlab run (the real worker process) against a plain `model.fit` of the same
model, data and pipeline, side by side (`train_digits`, `train_text`, `train_table`)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import fits
from harness import Skip, benchmark, fig, workdir
from harness.machine import process_cpu_seconds, python_child, tail
from harness.measure import alternating, interpolate, median, ratio, rnd, steady_cpu_seconds, steady_cycle_seconds
from harness.projects import available_samples, sample_spec, wine_csv

# The name each data kind's default model has in figure names (`train.digits_cnn.speed_ratio`, `gap.…`).
MODEL_KEYS = {"images": "digits_cnn", "text": "text_default", "table": "table_mlp"}


def train_source(kind: str) -> tuple[str, str]:
    """(source, what it is) for the default model of a data kind."""
    samples = available_samples()
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
    return wine_csv(workdir() / "wine.csv"), "sklearn wine as CSV (no bundled table sample), default table template"


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
            c = process_cpu_seconds(run.pid)
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
            "epoch_end": [r["t"] for r in epochs], "cpu_end": [interpolate(cpu, r["t"]) for r in epochs]}


def _plain_run(spec_path: Path, out: Path) -> dict[str, Any]:
    launched = time.time()
    cp = python_child([str(fits.SCRIPT), "plain-fit", str(spec_path), "--out", str(out),
                       "--launched", repr(launched)], timeout=600)
    if cp.returncode != 0:
        raise RuntimeError(f"plain model.fit failed:\n{tail(cp.stderr)}")
    d = json.loads(out.read_text(encoding="utf-8"))
    d["epoch_seconds"] = [e - b for b, e in zip(d["epoch_begin"], d["epoch_end"])]
    return d


def _train_ratio(quick: bool, kind: str) -> dict[str, Any]:
    source, what = train_source(kind)
    epochs, reps, small = TRAIN_PLAN[kind]
    if quick:
        epochs, reps = small
    spec = sample_spec(source, epochs=epochs)
    spec_path = spec.save(workdir() / "project.json")
    pairs = []
    for rep in range(reps):
        got: dict[str, Any] = {}
        for side in alternating(("layerlab", "plain"), rep):
            got[side] = (_layerlab_run(spec, workdir() / "runs") if side == "layerlab"
                         else _plain_run(spec_path, workdir() / f"plain-{rep}.json"))
        pairs.append(got)
    n = pairs[0]["plain"]["n_train"]
    rows = []
    for p in pairs:
        ll, pl = p["layerlab"], p["plain"]
        row = {
            "layerlab_epoch_s": median(ll["epoch_seconds"][1:]), "plain_epoch_s": median(pl["epoch_seconds"][1:]),
            "layerlab_cycle_s": steady_cycle_seconds(ll["epoch_end"]),
            "plain_cycle_s": steady_cycle_seconds(pl["epoch_end"]),
            "layerlab_cpu_s": steady_cpu_seconds(ll["cpu_end"]) if None not in ll["cpu_end"] else None,
            "plain_cpu_s": steady_cpu_seconds(pl["cpu_end"]),
            "layerlab_first_epoch_s": ll["epoch_end"][0] - ll["launched"],
            "plain_first_epoch_s": pl["epoch_end"][0] - pl["launched"],
        }
        row["ratio"] = ratio(row["plain_epoch_s"], row["layerlab_epoch_s"])
        row["ratio_wall"] = ratio(row["plain_cycle_s"], row["layerlab_cycle_s"])
        row["ratio_cpu"] = ratio(row["plain_cpu_s"], row["layerlab_cpu_s"])
        rows.append(row)
    med = {k: median(r[k] for r in rows) for k in rows[0]}
    key = MODEL_KEYS[kind]
    figures = [
        fig(f"train.{key}.speed_ratio", med["ratio"], "×", "≥ 0.95",
            "Layerlab samples/s ÷ plain model.fit samples/s, steady epochs (epoch_seconds, validation included)"),
        fig(f"train.{key}.speed_ratio_wall", med["ratio_wall"], "×", "≥ 0.95",
            "same, from the time between epoch ends: also counts end-of-epoch work (checkpoint save, store writes)"),
        fig(f"train.{key}.speed_ratio_cpu", med["ratio_cpu"], "×", None,
            "same window in CPU seconds of each training process (all threads): little moved by other load on a "
            "shared machine, but blind to time spent waiting on the disk (fsync)"),
        fig(f"train.{key}.layerlab_samples_per_s", ratio(n, med["layerlab_epoch_s"]), "samples/s"),
        fig(f"train.{key}.plain_samples_per_s", ratio(n, med["plain_epoch_s"]), "samples/s"),
        fig(f"train.{key}.layerlab_first_epoch_s", med["layerlab_first_epoch_s"], "s", None,
            "launch → end of epoch 1 (process start, imports, data, tracing)"),
        fig(f"train.{key}.plain_first_epoch_s", med["plain_first_epoch_s"], "s"),
    ]
    return {"figures": figures,
            "details": {"data": what, "train_samples": n, "epochs": epochs, "pairs": [{k: rnd(v) for k, v in r.items()} for r in rows]}}


# One benchmark per data kind's default model: (kind, name, title).
for _kind, _name, _title in (
    ("images", "train_digits", "Training speed ratio: digits CNN, Layerlab run vs plain model.fit"),
    ("text", "train_text", "Training speed ratio: default text model"),
    ("table", "train_table", "Training speed ratio: default table MLP"),
):
    benchmark(_name, "train", _title)(lambda quick, _k=_kind: _train_ratio(quick, _k))
