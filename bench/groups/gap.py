"""Where a training gap comes from: the plain fit again, in one process, with the worker's pieces
added one at a time, interleaved (`gap_digits`, `gap_text`, `gap_table`; the fits are in bench/fits.py)."""

from __future__ import annotations

import json
from typing import Any

import fits
from harness import benchmark, fig, workdir
from harness.machine import python_child, tail
from harness.measure import median, ratio, steady_cpu_seconds
from harness.projects import sample_spec

from groups.train import MODEL_KEYS, train_source

GAP_PLAN = {  # epochs, reps, variants
    "images": (12, 2, ["plain", "sync", "store", "store_keepalive", "checkpoint", "checkpoint_memory", "store+checkpoint",
                       "store_keepalive_0.1+checkpoint_memory"]),
    "table": (15, 2, ["plain", "sync", "store", "store_keepalive", "checkpoint", "checkpoint_memory", "store+checkpoint",
                      "store_keepalive_0.1+checkpoint_memory"]),
    "text": (3, 2, ["plain", "store+checkpoint", "store_keepalive_0.1+checkpoint_memory"]),
}


def _gap(quick: bool, kind: str) -> dict[str, Any]:
    source, what = train_source(kind)
    epochs, reps, variants = GAP_PLAN[kind]
    if quick:
        epochs, reps = min(epochs, 3), 1
    spec = sample_spec(source, epochs=epochs)
    spec_path = spec.save(workdir() / "project.json")
    out = workdir() / "variants.json"
    cp = python_child([str(fits.SCRIPT), "variants", str(spec_path), "--out", str(out),
                       "--reps", str(reps), "--variants", ",".join(variants)], timeout=600)
    if cp.returncode != 0:
        raise RuntimeError(f"variants child failed:\n{tail(cp.stderr)}")
    d = json.loads(out.read_text(encoding="utf-8"))
    key = MODEL_KEYS[kind]
    summary: dict[str, dict[str, Any]] = {}
    for v, runs in d["results"].items():
        epoch_s = [e - b for r in runs for b, e in list(zip(r["epoch_begin"], r["epoch_end"]))[1:]]
        cycles = [x for r in runs for x in [b - a for a, b in zip(r["epoch_end"][1:], r["epoch_end"][2:])]]
        inside: dict[str, float] = {}
        for r in runs:
            for k, x in r["inside"].items():
                inside[k] = inside.get(k, 0.0) + x / max(1, len(r["epoch_end"])) / len(runs)
        cpu = [steady_cpu_seconds(r["cpu_end"]) for r in runs]
        summary[v] = {"epoch_s": median(epoch_s), "cycle_s": median(cycles) if cycles else median(epoch_s),
                      "cpu_s": median(cpu),
                      "inside_ms_per_epoch": {k: round(x * 1000, 1) for k, x in inside.items()}}
    base = summary["plain"]
    figures = []
    for v, s in summary.items():
        if v == "plain":
            continue
        ms = sum(x for k, x in s["inside_ms_per_epoch"].items() if not k.endswith(".flush"))  # flush is inside batch/epoch hooks
        figures.append(fig(f"gap.{key}.{v}.ratio", ratio(base["cycle_s"], s["cycle_s"]), "×", None,
                           "plain ÷ variant time per steady epoch (between epoch ends)"))
        figures.append(fig(f"gap.{key}.{v}.cpu_ratio", ratio(base["cpu_s"], s["cpu_s"]), "×", None,
                           "plain ÷ variant CPU seconds per steady epoch (this process, all threads)"))
        figures.append(fig(f"gap.{key}.{v}.callback_ms_per_epoch", ms, "ms", None,
                           f"time inside the added callbacks per epoch; plain epoch {base['cycle_s'] * 1000:.0f} ms"))
        figures.append(fig(f"gap.{key}.{v}.estimated_ratio", ratio(base["epoch_s"], base["epoch_s"] + ms / 1000), "×",
                           None, "plain epoch ÷ (plain epoch + callback time): the callbacks' cost alone, "
                                 "less sensitive to machine noise than the measured ratio"))
    return {"figures": figures, "details": {"data": what, "steps_per_epoch": d["steps"], "epochs": epochs, "reps": reps,
                                            "variants": {v: "; ".join(fits.VARIANT_PARTS.get(p, p) for p in v.split("+"))
                                                         for v in variants},
                                            "summary": summary}}


# One benchmark per data kind's default model: (kind, name, title).
for _kind, _name, _title in (
    ("images", "gap_digits", "Where a training gap comes from (digits): worker pieces added one at a time"),
    ("text", "gap_text", "Where a training gap comes from (default text model)"),
    ("table", "gap_table", "Where a training gap comes from (default table MLP)"),
):
    benchmark(_name, "gap", _title)(lambda quick, _k=_kind: _gap(quick, _k))
