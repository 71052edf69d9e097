"""Benchmark (not a test): a run on a Ray cluster against a local run of the same project.

    python bench/ray_speed.py OUT [--epochs 3] [--sample digits]

Run inside a loopback-only network and process namespace (bench/groups/ray.py does:
`unshare --net --pid --fork --mount-proc`): it starts a one-node Ray cluster on 127.0.0.1 with one CPU a
run, trains the project locally (a worker process) and then on the cluster (a driver process and an actor),
one after the other, and writes OUT/result.json: for each, the time from start_run to the first epoch row in
the app's store and the steady training speed (samples/s, the run's own figure), and the cluster's start time.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path


def _cluster(out: Path) -> tuple[str, float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.time()
    with open(out / "ray-head.log", "ab") as log:  # not a pipe: `ray start` leaves daemons holding it
        subprocess.run(["ray", "start", "--head", "--port", str(port), "--num-cpus", "1", "--include-dashboard=false",
                        "--disable-usage-stats", "--object-store-memory", str(200 * 2**20)], check=True, stdout=log,
                       stderr=subprocess.STDOUT)
    return f"127.0.0.1:{port}", time.time() - t0


def _timed_run(spec, store, executor: str) -> dict:
    from layerlab.runs.runner import start_run, wait

    os.environ["LAYERLAB_EXECUTOR"] = executor
    t0 = time.time()
    run = start_run(spec, store)
    first = None
    while first is None and time.time() - t0 < 600:
        if store.metrics(run.id, scope="epoch"):
            first = time.time() - t0
        time.sleep(0.05)
    done = wait(store, run.id, timeout=900)
    return {"status": done.status, "message": done.message, "first_epoch_s": first, "samples_per_sec": done.samples_per_sec,
            "total_s": (done.ended or time.time()) - t0, "node": done.node}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--sample", default="digits")
    args = parser.parse_args()
    out = Path(args.out)
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32), LAYERLAB_HOME=str(out / "home"))
    address, cluster_s = _cluster(out)
    os.environ["RAY_ADDRESS"] = address

    from layerlab.project import new_project
    from layerlab.runs.store import RunStore, _pid_alive

    store = RunStore(out / "home" / "runs")
    spec = new_project(f"sample:{args.sample}").edit(**{"train.epochs": args.epochs,
                                                        "train.early_stopping_patience": 0})
    local = _timed_run(spec, store, "local")
    while any(r.pid and _pid_alive(r.pid) for r in store.list()):
        time.sleep(0.1)  # the local worker ends by dispatching: let it go before the Ray run is queued
    remote = _timed_run(spec, store, "ray")
    (out / "result.json").write_text(json.dumps({"cluster_start_s": cluster_s, "local": local, "ray": remote,
                                                 "sample": args.sample, "epochs": args.epochs}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
