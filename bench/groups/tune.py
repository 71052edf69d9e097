"""Tune (#19): a 20-trial study against one default run, on digits and on penguins.

Figures per sample: the best trial's test metric against the default template's (same project, default
settings, one ordinary run), the share of trials pruned (goal ≥ 30 %), and the study's wall time against
that one default run (goal ≤ 8×). Trials search the learning rate, batch size, units/filters and dropout
with the project's own epochs (early stopping on), two at a time (LAYERLAB_CONCURRENT_RUNS=2), through
the same queue and workers as any run. `--quick`: 6 trials. The full form takes 20–40 min on the 2-core
development CPU: run it as `--only tune --timeout 3600`.
"""

from __future__ import annotations

import os
import time
from typing import Any

from harness import benchmark, fig, workdir
from harness.projects import sample_spec

SEARCH = ("lr", "batch_size", "units", "dropout")


def _study(source: str, quick: bool) -> dict[str, Any]:
    root = workdir()
    os.environ["LAYERLAB_HOME"] = str(root / "home")
    os.environ["LAYERLAB_CONCURRENT_RUNS"] = "2"
    from layerlab.runs.runner import start_run, wait
    from layerlab.runs.store import RunStore
    from layerlab.tune import driver, space, study

    store = RunStore(root / "runs")
    spec = sample_spec(source)
    began = time.perf_counter()
    default = wait(store, start_run(spec, store, owner="bench").id, timeout=3600)
    default_s = time.perf_counter() - began
    trials = 6 if quick else 20
    names = [n for n in SEARCH if any(d.group == n for d in space.available(spec))]
    name = study.create(spec, space.expand(spec, names), trials=trials, owner="bench")
    began = time.perf_counter()
    summary = driver.drive(name, store)
    study_s = time.perf_counter() - began
    best = store.get(summary["best_run_id"]) if summary["best_run_id"] else None
    metric = "accuracy" if spec.data.task == "classification" else "mae"
    return {"source": source, "trials": trials, "search": names, "summary": summary,
            "default_seconds": round(default_s, 1), "study_seconds": round(study_s, 1),
            "default_test": default.test_metrics.get(metric), "best_test": best.test_metrics.get(metric) if best else None,
            "metric": metric, "pruned_share": summary["trials"]["pruned"] / trials}


def _figures(out: dict[str, Any]) -> list[dict[str, Any]]:
    name = out["source"].removeprefix("sample:")
    counts = out["summary"]["trials"]
    better = "≥" if out["metric"] == "accuracy" else "≤"
    return [
        fig(f"tune.{name}.best_test_{out['metric']}", out["best_test"], "", f"{better} {out['default_test']:.6g}",
            f"best of {out['trials']} trials ({out['summary']['best_params']}) vs the default run's "
            f"{out['default_test']:.4g}"),
        fig(f"tune.{name}.pruned_share", out["pruned_share"], "", "≥ 0.3",
            f"{counts['complete']} complete, {counts['pruned']} pruned, {counts['failed']} failed"),
        fig(f"tune.{name}.wall_vs_default", out["study_seconds"] / max(out["default_seconds"], 1e-6), "×", "≤ 8",
            f"study {out['study_seconds']} s vs one default run {out['default_seconds']} s"),
    ]


@benchmark("tune_digits", "tune", "Tune digits: best trial vs the default run, share pruned, wall time ÷ one run")
def tune_digits(quick: bool) -> dict[str, Any]:
    out = _study("sample:digits", quick)
    return {"figures": _figures(out), "details": out}


@benchmark("tune_penguins", "tune", "Tune penguins: best trial vs the default run, share pruned, wall time ÷ one run")
def tune_penguins(quick: bool) -> dict[str, Any]:
    out = _study("sample:penguins", quick)
    return {"figures": _figures(out), "details": out}
