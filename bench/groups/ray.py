"""Ray: a run on a Ray cluster against a local run of the same project (`ray_speed`; the measure is
bench/ray_speed.py, run in a loopback-only namespace: Ray probes 8.8.8.8 and listens on every interface)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness import benchmark, fig, workdir
from harness.measure import ratio

_BENCH = Path(__file__).resolve().parents[1]


@benchmark("ray_speed", "ray", "Ray: Start → first epoch and training speed of a Ray run vs a local run (digits CNN)")
def run(quick: bool) -> dict[str, Any]:
    if not shutil.which("unshare") or not shutil.which("ray"):
        raise RuntimeError("needs `unshare` and Ray (pip install -r requirements-ray.txt), as root")
    out = workdir()
    repo = _BENCH.parent
    epochs = 3 if quick else 10
    inner = (f"ip link set lo up && cd {repo} && PYTHONPATH={repo} exec {sys.executable} {_BENCH / 'ray_speed.py'} "
             f"{out} --epochs {epochs}")
    subprocess.run(["unshare", "--net", "--pid", "--fork", "--mount-proc", "sh", "-c", inner], check=True,
                   timeout=1800)
    r = json.loads((out / "result.json").read_text())
    local, remote = r["local"], r["ray"]
    figures = [
        fig("ray_speed.cluster_start_s", r["cluster_start_s"], "s", None, "`ray start --head` on 127.0.0.1 (once per app)"),
        fig("ray_speed.first_epoch_s", remote["first_epoch_s"], "s", None,
            "Start (start_run) → the first epoch row in the app's store, Ray run (a driver process, an actor, TensorFlow imported on the node)"),
        fig("ray_speed.local_first_epoch_s", local["first_epoch_s"], "s", None, "the same for a local worker process"),
        fig("ray_speed.speed_ratio", ratio(remote["samples_per_sec"], local["samples_per_sec"]), "×", "≥ 0.9",
            f"steady samples/s of the Ray run ÷ the local run's ({epochs} epochs of the digits CNN, one CPU each)"),
        fig("ray_speed.completed", remote["status"] == "completed" and local["status"] == "completed", "bool", "== True",
            "both runs completed"),
    ]
    return {"figures": figures, "details": r}
