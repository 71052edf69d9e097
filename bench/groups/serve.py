"""The model server (`serve`): latency of one request and of a 32-row request, and throughput of 8 concurrent
clients with and without batching, each beside the same model's in-process predict on the same inputs."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from harness import benchmark, fig, workdir
from harness.machine import ROOT, child_env
from harness.measure import alternating, median, percentile, rnd
from harness.projects import sample_spec

CLIENTS = 8


class Served:
    """`python -m layerlab serve RUN…` on a free port (stopped with SIGTERM), and a keep-alive client to it."""

    def __init__(self, runs: list[Any], log: Path, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "layerlab", "serve", *[r.id for r in runs], "--port", "0",
                                      "--runs-dir", str(runs[0].path.parent), *args],
                                     cwd=str(ROOT), env=child_env(), stdout=subprocess.PIPE, text=True,
                                     stderr=open(log, "ab"))  # noqa: SIM115 - the child keeps it
        lines = []
        for line in self.proc.stdout:  # type: ignore[union-attr]
            lines.append(line.strip())
            if line.startswith("ready "):
                break
        if not lines or not lines[-1].startswith("ready "):
            raise RuntimeError(f"the server did not start: {lines[-3:]}; see {log}")
        self.host, port = lines[-1].split("//")[1].split(":")
        self.port = int(port)

    def client(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _post(conn: http.client.HTTPConnection, path: str, body: bytes) -> float:
    """One request's seconds; raises on anything but 200."""
    t = time.perf_counter()
    conn.request("POST", path, body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise RuntimeError(f"{path}: {r.status} {data[:200]!r}")
    return time.perf_counter() - t


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used: unlike wall time, not inflated by a busy
    machine's other work."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _latencies(server: Served, path: str, body: bytes, local: Any, n: int,
               reps: int) -> tuple[list[float], list[float], float, float]:
    """n requests to the server and n in-process predictions of the same inputs, alternating in `reps` blocks;
    also the server's CPU seconds per request and this process's per in-process prediction."""
    conn = server.client()
    for _ in range(5):
        _post(conn, path, body)
        local()
    served, inproc = [], []
    cpu_served = cpu_local = 0.0
    for rep in range(reps):
        for side in alternating(("served", "local"), rep):
            cpu = _cpu_s(server.proc.pid) if side == "served" else time.process_time()
            for _ in range(n // reps):
                if side == "served":
                    served.append(_post(conn, path, body))
                else:
                    t = time.perf_counter()
                    local()
                    inproc.append(time.perf_counter() - t)
            if side == "served":
                cpu_served += _cpu_s(server.proc.pid) - cpu
            else:
                cpu_local += time.process_time() - cpu
    conn.close()
    return served, inproc, cpu_served / len(served), cpu_local / len(inproc)


def _throughput(work: Any, per_client: int) -> float:
    """Calls per second of `CLIENTS` threads each calling `work(i)` `per_client` times."""
    errors: list[BaseException] = []

    def client(i: int) -> None:
        try:
            w = work(i)
            for _ in range(per_client):
                w()
        except BaseException as exc:  # noqa: BLE001 - reported after the threads end
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise RuntimeError(f"a client failed: {errors[0]}")
    return CLIENTS * per_client / (time.perf_counter() - t)


@benchmark("serve", "serve", "Model server: request latency and 8-client throughput vs in-process predict (digits, penguins)")
def serve(quick: bool) -> dict[str, Any]:
    from layerlab.inference.predictor import load_predictor
    from layerlab.runs.store import RunStore, slug
    from layerlab.serve.examples import example_input
    from layerlab.serve.payload import model_batch
    from layerlab.train.trainer import run_training

    store = RunStore(workdir() / "runs")
    runs = {}
    for key, source in (("image", "sample:digits"), ("table", "sample:penguins")):
        run = run_training(store, store.create(sample_spec(source, epochs=1)).id)
        if run.status != "completed":
            raise RuntimeError(f"training {source} for the serve benchmark ended {run.status}: {run.message}")
        runs[key] = run
    n, rows, per_client, reps = (60, 32, 25, 3) if quick else (300, 32, 100, 5)
    figures, details = [], {}
    goals = {("image", 1): "≤ 30", ("table", 32): "≤ 50", ("image", 32): "≤ 50"}
    server = Served(list(runs.values()), workdir() / "serve.log")
    try:
        names = {key: slug(run.project_name or "") for key, run in runs.items()}  # the served model names
        for key, run in runs.items():
            pred = load_predictor(run.path)
            one = example_input(run.path)
            path = f"/v1/models/{names[key]}:predict"
            for size in (1, rows):
                items = [one] * size
                body = json.dumps({"instances": items}).encode()
                served, local, cpu_served, cpu_local = _latencies(server, path, body,
                                           lambda items=items, pred=pred: pred.outputs(model_batch(pred, items, "instances")),
                                           n if size == 1 else max(reps, n // 2), reps)
                p50, p95, l50 = median(served), percentile(served, 95), median(local)
                tag = f"serve.{key}_{size}row"
                figures += [
                    fig(f"{tag}_p50_ms", p50 * 1000, "ms", None, f"{key} model, {size} input(s) per request, "
                        f"{len(served)} sequential requests over HTTP (keep-alive)"),
                    fig(f"{tag}_p95_ms", p95 * 1000, "ms", goals.get((key, size))),
                    fig(f"{tag}_inprocess_p50_ms", l50 * 1000, "ms", None,
                        "the same inputs parsed and predicted in-process (Predictor.outputs)"),
                    fig(f"{tag}_overhead_ms", (p50 - l50) * 1000, "ms", "≤ 3" if size == 1 else None,
                        "served p50 − in-process p50: HTTP, JSON and the batching queue"),
                    fig(f"{tag}_ratio", p50 / l50, "×", None, "served ÷ in-process (p50)"),
                    fig(f"{tag}_cpu_ms", cpu_served * 1000, "ms", None, "server CPU per request (all threads)"),
                    fig(f"{tag}_inprocess_cpu_ms", cpu_local * 1000, "ms", None, "CPU per in-process prediction"),
                    fig(f"{tag}_cpu_overhead_ms", (cpu_served - cpu_local) * 1000, "ms", "≤ 3" if size == 1 else None,
                        "the difference: what serving costs in CPU, which a busy machine does not inflate"),
                ]
                details[tag] = {"served_s": [rnd(x) for x in served], "inprocess_s": [rnd(x) for x in local]}
        batched = _client_throughput(server, names, runs, per_client)
    finally:
        server.stop()
    plain = Served(list(runs.values()), workdir() / "serve-nobatch.log", "--max-batch", "1")
    try:
        unbatched = _client_throughput(plain, names, runs, per_client)
    finally:
        plain.stop()
    for key, run in runs.items():
        pred = load_predictor(run.path)
        one = [example_input(run.path)]
        local = _throughput(lambda i, pred=pred, one=one: (lambda: pred.outputs(model_batch(pred, one, "instances"))),
                            per_client)
        figures += [
            fig(f"serve.{key}_8clients_batched_req_per_s", batched[key], "requests/s", None,
                f"{CLIENTS} concurrent clients × {per_client} one-input requests, batching on (default)"),
            fig(f"serve.{key}_8clients_unbatched_req_per_s", unbatched[key], "requests/s", None,
                "the same with --max-batch 1 (no batching)"),
            fig(f"serve.{key}_batching_gain", batched[key] / unbatched[key], "×", None, "batched ÷ unbatched"),
            fig(f"serve.{key}_8threads_inprocess_per_s", local, "predictions/s", None,
                f"{CLIENTS} threads predicting one input each in-process (one model, its lock)"),
            fig(f"serve.{key}_8clients_ratio", batched[key] / local, "×", None, "served (batched) ÷ in-process"),
        ]
    return {"figures": figures, "details": details}


def _client_throughput(server: Served, names: dict[str, str], runs: dict[str, Any], per_client: int) -> dict[str, float]:
    from layerlab.serve.examples import example_request

    out = {}
    for key, run in runs.items():
        body = json.dumps(example_request(run.path)).encode()
        path = f"/v1/models/{names[key]}:predict"

        def work(i: int, path: str = path, body: bytes = body) -> Any:
            conn = server.client()
            return lambda: _post(conn, path, body)

        _throughput(work, 3)  # warm the connections' server side
        out[key] = _throughput(work, per_client)
    return out
