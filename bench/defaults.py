"""Benchmark (not a test): do the default training settings learn what the model can learn? (#15, item 5)

    python bench/defaults.py            # every bundled sample and generated harder images
    python bench/defaults.py --quick    # the small samples and a small generated image set

For each data set the default project (`new_project(source)`, its training settings untouched) is
trained once, and the same project trained to convergence once: a high epoch cap, early stopping
with a long patience, the plateau schedule, best weights kept. Each training runs in a fresh
process through the CLI (`python -m layerlab train`), as a worker would. Reported per data set:
the defaults' test metric, the converged one, their ratio (accuracy: defaults / converged; MAE:
converged / defaults; goal ≥ 0.97), the epochs each ran, why the default run stopped, and the
wall time of each. Self-contained: `run(quick)` returns the figures for bench/run.py to register.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the repository's engine
    sys.path.insert(0, str(ROOT))
GOAL = 0.97
SAMPLES_QUICK = ("digits", "penguins", "diabetes", "sunspots")
SAMPLES_FULL = ("digits", "penguins", "diabetes", "tweets", "sunspots", "co2")
# The reference: the same model trained until it has clearly stopped improving.
CONVERGED = {"train.epochs": 300, "train.early_stopping_patience": 25, "train.lr_schedule": "plateau",
             "train.restore_best_weights": True}
CONVERGED_QUICK = {**CONVERGED, "train.epochs": 150, "train.early_stopping_patience": 15}


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, LAYERLAB_HOME=str(home))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _train(project: Path, runs: Path, timeout: float) -> dict[str, Any]:
    # each data set gets its own LAYERLAB_HOME beside its runs (extracted images, caches)
    """Train one project file in a fresh process; the CLI's JSON summary, the evaluation and the wall time."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "layerlab", "train", str(project), "--runs-dir", str(runs)],
                          capture_output=True, text=True, cwd=ROOT, env=_env(runs.parent / "home"), timeout=timeout,
                          check=False)
    seconds = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise RuntimeError(f"training {project.name} failed: {(done.stderr or done.stdout)[-800:]}")
    summary = json.loads(lines[-1])
    evaluation = json.loads((Path(summary["run_dir"]) / "evaluation.json").read_text(encoding="utf-8"))
    history = json.loads((Path(summary["run_dir"]) / "history.json").read_text(encoding="utf-8"))
    return {"seconds": seconds, "evaluation": evaluation, "epochs": len(history.get("loss", []))}


def _metric(evaluation: dict[str, Any]) -> tuple[str, float, bool]:
    """(name, value, higher is better) of a run's main test metric."""
    if "accuracy" in evaluation:
        return "accuracy", float(evaluation["accuracy"]), True
    return "mae", float(evaluation["mae"]), False


def compare(source: str, folder: Path, quick: bool, timeout: float = 1800) -> dict[str, Any]:
    """The defaults against convergence for one data source (`sample:NAME` or a file)."""
    from layerlab.project import new_project

    spec = new_project(source)
    default_file, converged_file = folder / "defaults.json", folder / "converged.json"
    spec.save(default_file)
    spec.edit(**(CONVERGED_QUICK if quick else CONVERGED)).save(converged_file)
    default = _train(default_file, folder / "runs", timeout)
    converged = _train(converged_file, folder / "runs", timeout)
    name, got, high = _metric(default["evaluation"])
    _, best, _ = _metric(converged["evaluation"])
    ratio = (got / best if best else 1.0) if high else (best / got if got else 1.0)
    return {
        "source": source, "metric": name, "defaults": got, "converged": best, "ratio": round(ratio, 4),
        "meets_goal": ratio >= GOAL, "defaults_epochs": default["epochs"], "converged_epochs": converged["epochs"],
        "defaults_stopped": (default["evaluation"].get("stopped_because") or {}).get("text"),
        "defaults_verdict": (default["evaluation"].get("verdict") or {}).get("level"),
        "defaults_seconds": round(default["seconds"], 1), "converged_seconds": round(converged["seconds"], 1),
    }


def _harder_images(folder: Path, quick: bool) -> Path:
    """Generated digits on a noisy 28×28 canvas at random offsets (bench/scale.py's images)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scale import make_image_zip

    return make_image_zip(folder / "harder-digits.zip", n=1500 if quick else 6000, size=28)


def run(quick: bool) -> dict[str, Any]:
    """The defaults against convergence for every sample (a subset when `quick`) and generated harder images.

    Returns {"goal": 0.97, "results": [one compare() per data set], "all_meet_goal": bool, "seconds": total}.
    """
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="layerlab-defaults-") as tmp:
        sources = [f"sample:{name}" for name in (SAMPLES_QUICK if quick else SAMPLES_FULL)]
        sources.append(str(_harder_images(Path(tmp), quick)))
        for i, source in enumerate(sources):
            folder = Path(tmp) / f"set{i}"
            folder.mkdir()
            try:
                results.append(compare(source, folder, quick))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                results.append({"source": source, "error": str(exc)[-800:]})
            print(json.dumps(results[-1]), flush=True)
    for r in results:  # a generated file's temporary path means nothing afterwards
        r["source"] = "generated harder digits" if r["source"].endswith(".zip") else r["source"]
    return {"goal": GOAL, "quick": quick, "results": results,
            "all_meet_goal": all(r.get("meets_goal") for r in results),
            "seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small samples and a small generated image set")
    parser.add_argument("--out", help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    out = run(args.quick)
    text = json.dumps(out, indent=1)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0 if out["all_meet_goal"] else 1


if __name__ == "__main__":
    sys.exit(main())
