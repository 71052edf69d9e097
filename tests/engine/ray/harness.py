"""The Ray scenarios, run as one script inside a loopback-only network (and process) namespace.

`python harness.py OUT` starts a two-node cluster on 127.0.0.1 — a head, and a second node whose working
folder and LAYERLAB_HOME differ from the app's — then drives Layerlab against it exactly as the app does
(start_run with LAYERLAB_EXECUTOR=ray: a driver process per run) and writes what it saw to OUT/result.json
for the tests to check. One cluster for all scenarios (starting one takes ~20-40 s on a busy machine), and
runs of one or two epochs; the last scenario stops it and lets the CLI start a head of its own.
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
    from layerlab.project import new_project
    from layerlab.runs.runner import start_run, wait
    from layerlab.runs.store import RunStore, _pid_alive

    store = RunStore(APP_HOME / "runs")
    short = new_project("sample:penguins").edit(**{"train.epochs": 2})
    long = short.edit(**{"train.epochs": 400, "train.early_stopping_patience": 0})

    # A local run, the reference for what a run's row and folder hold; it trains while the cluster starts.
    os.environ["LAYERLAB_EXECUTOR"] = "local"
    local_id = start_run(short, store, owner="t").id
    t0 = time.time()
    os.environ.update(start_cluster(OUT, nodes=2, cpus=1))
    address = os.environ["RAY_ADDRESS"]
    result: dict = {"cluster_start_s": time.time() - t0, "done_at_s": {}}  # where the module's time goes
    local = wait(store, local_id, timeout=300)
    while local.pid and _pid_alive(local.pid):
        time.sleep(0.1)  # its worker ends by dispatching queued runs: let it end before runs are queued for Ray
    result["done_at_s"]["local"] = round(time.time() - t0, 1)
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
    result["done_at_s"]["two"] = round(time.time() - t0, 1)
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
    result["done_at_s"]["stop"] = round(time.time() - t0, 1)
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
    result["done_at_s"]["killed"] = round(time.time() - t0, 1)
    result["killed"] = {"status": killed.status, "message": killed.message, "files": folder(killed)}

    # Continue a finished Ray run by one epoch, and fine-tune a new run from the other one (side by side).
    from layerlab.runs.runner import continue_run

    continued = continue_run(store, first.id, 1)
    tuned = start_run(short.edit(**{"train.epochs": 1, "train.init_from_run": second.id}), store, owner="t")
    continued, tuned = wait(store, continued.id, timeout=300), wait(store, tuned.id, timeout=300)
    result["done_at_s"]["continued"] = round(time.time() - t0, 1)
    result["continued"] = {"status": continued.status, "message": continued.message, "files": folder(continued),
                           "epochs": [r["epoch"] for r in store.metrics(continued.id, scope="epoch")],
                           "history": json.loads((continued.path / "history.json").read_text()),
                           "log": (continued.path / "log.txt").read_text()}
    result["tuned"] = {"status": tuned.status, "message": tuned.message, "files": folder(tuned),
                       "log": (tuned.path / "log.txt").read_text(), "source_name": second.name}

    # Start from the other run with a new head, and from a kept .keras file: side by side, so one of them trains
    # on the second node, whose LAYERLAB_HOME holds neither (the driver ships them).
    import keras

    from layerlab.models import keras_file
    from layerlab.models.start_from import start_from_run

    made = keras.Sequential([keras.Input((14,)), keras.layers.Dense(8, name="d1"), keras.layers.Dense(3, name="out")])
    made.save(OUT / "made.keras")
    stored = keras_file.store("made.keras", (OUT / "made.keras").read_bytes())
    one_epoch = new_project("sample:penguins").edit(**{"train.epochs": 1})
    started = [start_run(start_from_run(one_epoch, store.get(second.id), "all-but-1"), store, owner="t"),
               start_run(keras_file.start_from_file(one_epoch, stored, "d1", "all"), store, owner="t")]
    ended = [wait(store, r.id, timeout=300) for r in started]
    result["done_at_s"]["start_from"] = round(time.time() - t0, 1)
    result["start_from"] = [{"status": r.status, "message": r.message, "node": r.node, "files": folder(r),
                             "log": (r.path / "log.txt").read_text()} for r in ended]

    # The CLI's train honours the same setting (it trains on one node while the next scenario uses the other).
    project = OUT / "project.json"
    short.save(project)
    cli_train = subprocess.Popen([sys.executable, "-m", "layerlab", "train", str(project), "--runs-dir",
                                  str(OUT / "cli-runs"), "--epochs", "1"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)

    # The driver process here dies mid-run: the actor trains on, and the next look at the store (a page's or
    # wait's reap) starts a new driver that takes the run up where the store's copy got to.
    run = start_run(short.edit(**{"train.epochs": 6, "train.early_stopping_patience": 0}), store, owner="t")
    wait_rows(store, run.id, 1)
    driver = store.get(run.id).pid
    os.killpg(driver, signal.SIGKILL)
    while _pid_alive(driver):
        time.sleep(0.05)
    kept = len(store.metrics(run.id))
    reaped = store.reap()
    relaunched = wait(store, run.id, timeout=300)
    result["done_at_s"]["driver_killed"] = round(time.time() - t0, 1)
    result["driver_killed"] = {
        "reaped": run.id in reaped, "rows_at_kill": kept, "old_pid": driver, "new_pid": relaunched.pid,
        "status": relaunched.status, "message": relaunched.message, "files": folder(relaunched),
        "fields": filled(relaunched), "epochs": [r["epoch"] for r in store.metrics(run.id, scope="epoch")],
        "history": json.loads((relaunched.path / "history.json").read_text()) if relaunched.status == "completed" else {}}

    stdout, stderr = cli_train.communicate(timeout=300)
    cli = subprocess.CompletedProcess(cli_train.args, cli_train.returncode, stdout, stderr)
    summary = json.loads(cli.stdout.strip().splitlines()[-1]) if cli.returncode == 0 else {}
    cli_run = RunStore(OUT / "cli-runs").get(summary["run_id"]) if summary else None
    result["done_at_s"]["cli"] = round(time.time() - t0, 1)
    result["cli"] = {"rc": cli.returncode, "summary": summary, "stderr": cli.stderr[-2000:],
                     "executor": cli_run.executor if cli_run else None, "stdout": cli.stdout[-3000:]}
    # No RAY_ADDRESS: the app starts a Ray head of its own on this machine (the test cluster is stopped first).
    ray.shutdown()
    subprocess.run(["ray", "stop", "--force"], check=False, capture_output=True, timeout=120)
    own_home = OUT / "own-head-home"
    bare = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    cli = subprocess.run([sys.executable, "-m", "layerlab", "train", str(project), "--runs-dir", str(OUT / "own-runs"),
                          "--epochs", "1"], check=False, capture_output=True, text=True, timeout=300,
                         env={**bare, "LAYERLAB_HOME": str(own_home)})
    summary = json.loads(cli.stdout.strip().splitlines()[-1]) if cli.returncode == 0 else {}
    own = RunStore(OUT / "own-runs").get(summary["run_id"]) if summary else None
    result["done_at_s"]["own_head"] = round(time.time() - t0, 1)
    result["own_head"] = {"rc": cli.returncode, "summary": summary, "stderr": cli.stderr[-2000:],
                          "executor": own.executor if own else None, "node": own.node if own else None,
                          "started_one": (own_home / "ray-head.lock").exists(),
                          "status": subprocess.run(["ray", "status"], check=False, capture_output=True, env=bare,
                                                   text=True, timeout=60).returncode}
    (OUT / "result.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
