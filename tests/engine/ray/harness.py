"""The Ray scenarios, run as one script inside a loopback-only network (and process) namespace.

`python harness.py OUT` starts a two-node cluster on 127.0.0.1 — a head, and a second node whose working
folder and LAYERLAB_HOME differ from the app's — then drives Layerlab against it exactly as the app does
(start_run with LAYERLAB_EXECUTOR=ray: a driver process per run) and writes what it saw to OUT/result.json
for the tests to check. One cluster for all scenarios: starting one takes ~20-40 s on a busy machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.engine.ray.cluster import start_cluster

OUT = Path(sys.argv[1])
APP_HOME, NODE2 = OUT / "app-home", OUT / "node2"


def listeners() -> list[str]:
    lines = subprocess.run(["ss", "-ltnH"], check=False, capture_output=True, text=True).stdout.splitlines()
    return sorted({ln.split()[3].rsplit(":", 1)[0] for ln in lines if ln.strip()})


def folder(run) -> list[str]:
    return sorted(p.name for p in run.path.iterdir() if p.is_file())


def filled(run) -> list[str]:
    """The run fields that hold a value (the same set for a local and a Ray run, except where it ran)."""
    return sorted(k for k, v in vars(run).items() if v not in (None, {}, ""))


def wait_rows(store, run_id: str, at_least: int, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(store.metrics(run_id, scope="epoch")) >= at_least:
            return
        time.sleep(0.1)
    raise TimeoutError(f"run {run_id}: fewer than {at_least} epochs after {timeout} s: {store.get(run_id)}")


def main() -> None:
    os.environ["LAYERLAB_HOME"] = str(APP_HOME)
    t0 = time.time()
    os.environ.update(start_cluster(OUT, nodes=2, cpus=1))
    address = os.environ["RAY_ADDRESS"]
    result: dict = {"cluster_start_s": time.time() - t0}

    from layerlab.project import new_project
    from layerlab.runs.runner import start_run, wait
    from layerlab.runs.store import RunStore, _pid_alive

    store = RunStore(APP_HOME / "runs")
    short = new_project("sample:penguins").edit(**{"train.epochs": 2})
    long = short.edit(**{"train.epochs": 400, "train.early_stopping_patience": 0})

    # A local run, the reference for what a run's row and folder hold.
    os.environ["LAYERLAB_EXECUTOR"] = "local"
    local = wait(store, start_run(short, store, owner="t").id, timeout=300)
    while local.pid and _pid_alive(local.pid):
        time.sleep(0.1)  # its worker ends by dispatching queued runs: let it end before runs are queued for Ray
    result["local"] = {"status": local.status, "message": local.message, "fields": filled(local), "files": folder(local),
                       "epochs": len(store.metrics(local.id, scope="epoch"))}

    # Two runs queued at once on the cluster: one CPU a node, so they train side by side, one on each node.
    os.environ["LAYERLAB_EXECUTOR"] = "ray"
    t_start = time.time()
    first, second = start_run(short, store, owner="t"), start_run(short, store, owner="t")
    result["listeners"] = listeners()
    first_epoch = None
    while first_epoch is None and time.time() - t_start < 300:
        if store.metrics(first.id, scope="epoch") or store.metrics(second.id, scope="epoch"):
            first_epoch = time.time() - t_start
        time.sleep(0.05)
    done = [wait(store, r.id, timeout=300) for r in (first, second)]
    result["first_epoch_s"] = first_epoch
    result["two"] = [{"status": r.status, "message": r.message, "fields": filled(r), "files": folder(r),
                      "executor": r.executor, "node": r.node, "epochs": len(store.metrics(r.id, scope="epoch")),
                      "history": json.loads((r.path / "history.json").read_text())} for r in done]
    result["node2_home"] = sorted(p.name for p in (NODE2 / "home").iterdir()) if (NODE2 / "home").exists() else []

    # The live curve and a stop: rows arrive while it runs; the stop ends it within 2 s.
    run = start_run(long, store, owner="t")
    seen = []
    deadline = time.time() + 300
    while time.time() < deadline:
        current = store.get(run.id)
        seen.append((time.time(), len(store.metrics(run.id)), current.status))
        if current.status == "running" and len({n for _, n, s in seen if s == "running" and n}) >= 4:
            break
        time.sleep(0.2)
    asked = time.time()
    store.request_stop(run.id)
    stopped = wait(store, run.id, timeout=60, poll=0.05)
    result["live"] = {"counts_while_running": sorted({n for _, n, s in seen if s == "running"}),
                      "node": stopped.node}
    last_row = max(r["t"] for r in store.metrics(run.id))  # the node's clock: the same machine here
    result["stop"] = {"training_s": last_row - asked, "ended_s": stopped.ended - asked, "status": stopped.status,
                      "message": stopped.message, "files": folder(stopped)}

    # Killing the process that trains: the run fails with a reason and keeps its checkpoint.
    import ray

    from layerlab.runs.ray_executor import NAMESPACE, actor_name

    run = start_run(long, store, owner="t")
    wait_rows(store, run.id, 3)
    ray.init(address=address, namespace=NAMESPACE, logging_level="WARNING")
    where = ray.get(ray.get_actor(actor_name(run.id), namespace=NAMESPACE).where.remote())
    result["where"] = where
    os.kill(where["pid"], signal.SIGKILL)
    killed = wait(store, run.id, timeout=120)
    result["killed"] = {"status": killed.status, "message": killed.message, "files": folder(killed)}

    # The CLI's train honours the same setting.
    project = OUT / "project.json"
    short.save(project)
    cli = subprocess.run([sys.executable, "-m", "layerlab", "train", str(project), "--runs-dir", str(OUT / "cli-runs"),
                          "--epochs", "1"], check=False, capture_output=True, text=True, timeout=300)
    summary = json.loads(cli.stdout.strip().splitlines()[-1]) if cli.returncode == 0 else {}
    cli_run = RunStore(OUT / "cli-runs").get(summary["run_id"]) if summary else None
    result["cli"] = {"rc": cli.returncode, "summary": summary, "stderr": cli.stderr[-2000:],
                     "executor": cli_run.executor if cli_run else None, "stdout": cli.stdout[-3000:]}
    (OUT / "result.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
