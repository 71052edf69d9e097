"""Runs on a Ray cluster (LAYERLAB_EXECUTOR=ray): everything Ray-specific, Ray imported lazily.

Each run becomes one *detached, named Ray actor* (`layerlab-run-<id>`) that asks for the run's CPUs and
GPUs, so Ray's scheduler places the whole run on a node with them free. An actor rather than a task
because it outlives the process that made it (an app restart finds it again by name) and can be asked
things while it trains (new metric rows, stop); rather than a Ray Job because a job ships its files
through a working folder and reports only through logs, while the actor's calls carry rows, files and
the stop flag through Ray itself.

On its node the actor trains with the same `run_training` as a local worker, against a run store of its
own in the node's LAYERLAB_HOME: that node-local store is the reporter. The app side is a small driver
process per run (`python -m layerlab.runs.ray_executor RUN_ID --runs-dir DIR`, started with
`runner.launch` like a worker): it ships the project spec, the data (a sample's name or an upload's
bytes), what a start-from project starts from (the earlier run's model, a kept .keras file) and, to
continue, the checkpoint as call arguments, then every `POLL_S` drains the actor — new
metric rows and run fields into the app's SQLite store, changed files into the run's folder — and
passes a stop on. Nothing relies on a shared disk: only Ray carries data between the two sides.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from layerlab.runs.store import Run, RunStore

NAMESPACE = "layerlab"
POLL_S = 0.2  # metrics reach the app's store within this plus the trainer's own 0.1 s flush
FORCE_AFTER_S = 15.0  # a stop the trainer has not honoured by then ends the actor
# The run's fields that the node-local store holds and the app's store mirrors.
MIRRORED = ("status", "message", "device", "started", "ended", "epochs", "epoch", "step", "steps_per_epoch",
            "samples_per_sec", "best_val", "best_val_name", "best_metric", "best_metric_name", "test_metrics",
            "fine_tune_from")
SHIPPED_IN = ("continue.json", "last.weights.h5", "history.json", "best.keras")  # what continuing needs
# The app's own project stays; continue.json is spent by the node's trainer (a poll may find it first).
NOT_SHIPPED_BACK = ("project.json", "continue.json")
LOG = "log.txt"


def actor_name(run_id: str) -> str:
    return f"layerlab-run-{run_id}"


# ---- the app side: dispatch and the driver ------------------------------------------------------

def dispatch(store: RunStore) -> list[str]:
    """Hand every queued run to the cluster (Ray queues what does not fit: no local limit applies)."""
    from layerlab.runs.runner import WORKER_LOG, launch

    started = []
    for run in store.claim_queued(limit=1_000_000):
        pid = launch("layerlab.runs.ray_executor", run.id, "--runs-dir", str(store.root), log=run.path / WORKER_LOG)
        store.update(run.id, pid=pid, executor="ray", message="Handing the run to the Ray cluster …")
        started.append(run.id)
    return started


def connect() -> Any:
    """Join the cluster RAY_ADDRESS names (`auto`, `host:port`, `ray://host:10001`); unset: the local
    cluster this machine runs, started once (`ray start --head`) when there is none."""
    import ray

    if ray.is_initialized():
        return ray
    import layerlab

    address = os.environ.get("RAY_ADDRESS") or None
    # The job's runtime environment: Ray ships the layerlab package to every node that runs one of its
    # actors (no shared disk, no install on the nodes beyond TensorFlow/Keras and the data libraries).
    runtime_env = {"py_modules": [str(Path(layerlab.__file__).parent)],
                   "env_vars": {"TF_FORCE_GPU_ALLOW_GROWTH": "true", "TF_CPP_MIN_LOG_LEVEL": "2"}}
    kwargs = {"namespace": NAMESPACE, "logging_level": "WARNING", "log_to_driver": False, "runtime_env": runtime_env}
    if address is None:
        try:
            ray.init(address="auto", **kwargs)
            return ray
        except ConnectionError:
            _start_local_head()
            address = "auto"
    ray.init(address=address, **kwargs)
    return ray


def _start_local_head() -> None:
    """A head node on this machine for the app's runs (once: a lock keeps two drivers from racing)."""
    import fcntl
    import subprocess

    from layerlab.settings import home

    with open(home() / "ray-head.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        probe = subprocess.run(["ray", "status"], check=False, capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            subprocess.run(["ray", "start", "--head", "--disable-usage-stats", "--include-dashboard=false"],
                           capture_output=True, text=True, timeout=120, check=True)


def _resources(ray: Any) -> dict[str, float]:
    from layerlab.settings import limits, run_gpus

    gpus = run_gpus()
    if gpus is None:
        gpus = 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
    return {"num_cpus": float(limits().run_cpus), "num_gpus": gpus}


def _payload(run: Run) -> dict[str, Any]:
    """What the node needs and cannot read from the app's disk: the spec, the data and a checkpoint."""
    from layerlab.spec import load_spec
    from layerlab.workspace import source_of

    spec = load_spec(run.path / "project.json")
    source = source_of(spec.data.source)
    data = None
    if not source.is_sample:
        if not source.path.is_file():
            from layerlab.errors import LayerlabError

            raise LayerlabError(f"The data file `{source.display_name}` is gone or is a folder, so it cannot be sent "
                                "to the Ray cluster.", "Upload it again (a folder as a zip) and train again.")
        data = (source.path.name, source.path.read_bytes())
    files = {name: (run.path / name).read_bytes() for name in SHIPPED_IN if (run.path / name).exists()}
    bests = {k: getattr(run, k) for k in ("best_val", "best_val_name", "best_metric", "best_metric_name")}
    start_from = None
    if spec.train.init_from_run:  # fine-tuning: the other run's weights travel too
        other = RunStore(run.path.parent).get(spec.train.init_from_run)
        for name in ("best.keras", "last.weights.h5"):
            if other and (other.path / name).exists():
                start_from = (other.id, other.name, name, (other.path / name).read_bytes())
                break
    return {"spec": spec.to_dict(), "name": run.name, "data": data, "files": files, "bests": bests,
            "start_from": start_from, "earlier": _earlier_run(spec, run), "model_files": _model_files(spec)}


def _shipped(path: Path, shown: str) -> bytes:
    """A .keras file's bytes for the node, within the limit a .keras upload has (LAYERLAB_UPLOAD_MB,
    LAYERLAB_MODEL_PARAMS)."""
    from layerlab.errors import LayerlabError
    from layerlab.inference.outside import max_model_mb, model_file_caps

    if path.stat().st_size > model_file_caps()[0]:
        raise LayerlabError(f"{shown} is larger than the {max_model_mb()} MB a model file may be here, so it is not "
                            "sent to the Ray cluster.", "Start from a smaller model, or ask whoever runs this server "
                            "to raise LAYERLAB_UPLOAD_MB or LAYERLAB_MODEL_PARAMS.")
    return path.read_bytes()


def _earlier_run(spec: Any, run: Run) -> dict[str, Any] | None:
    """A project that starts from an earlier run (`model.start_from_run`): what the node's trainer reads of it
    (its spec, info.json, model.keras). None when there is nothing the new run may start from here; the node
    then refuses it as a local run would (the run is gone, has no model, or is another session's)."""
    from layerlab.identity import CLI_OWNER, visible
    from layerlab.runs.files import INFO, MODEL

    other = RunStore(run.path.parent).get(spec.model.start_from_run) if spec.model.start_from_run else None
    if other is None or not other.files.has_model or not (other.path / INFO).is_file() or (
            run.owner not in (None, CLI_OWNER) and not visible(other.owner, run.owner)):
        return None
    return {"spec": other.files.spec().to_dict(), "name": other.name,
            "files": {INFO: (other.path / INFO).read_bytes(),
                      MODEL: _shipped(other.path / MODEL, f"The model of run `{other.name}`")}}


def _model_files(spec: Any) -> dict[str, bytes]:
    """The kept .keras files the project's `keras_file` layers start from, by their stored names.

    Raises:
        LayerlabError: a file is no longer kept, or is larger than a model file may be.
    """
    from layerlab.models.keras_file import LAYER_TYPE
    from layerlab.workspace import model_file, model_file_display

    names = {layer.params.get("file", "") for layer in spec.model.layers if layer.type == LAYER_TYPE}
    return {name: _shipped(model_file(name), model_file_display(name)) for name in sorted(names)}


def reattach(store: RunStore, run: Run) -> bool:
    """Start a new driver for a Ray run whose driver here is gone (killed, or the app's machine restarted): it
    finds the run's actor by name and mirrors it on from where the store's copy got to (`ray_cursor`), or
    fails the run with the reason when the cluster no longer has it. False when another caller took it."""
    from layerlab.runs.runner import WORKER_LOG, launch

    if not store.take_over(run.id, run.pid):
        return False
    pid = launch("layerlab.runs.ray_executor", run.id, "--runs-dir", str(store.root), "--reattach",
                 log=run.path / WORKER_LOG)
    store.update(run.id, pid=pid)
    return True


def _actor(ray: Any, run: Run, create: bool = True) -> tuple[Any, bool]:
    """The run's actor: found by name, else created (unless `create` is False: None); (actor, created)."""
    try:
        return ray.get_actor(actor_name(run.id), namespace=NAMESPACE), False
    except ValueError:
        if not create:
            return None, False
    cls = ray.remote(RunActor)
    actor = cls.options(name=actor_name(run.id), namespace=NAMESPACE, lifetime="detached", max_restarts=0,
                        max_concurrency=4, **_resources(ray)).remote()
    return actor, True


def drive(store: RunStore, run_id: str, echo: Callable[[str], None] | None = None, reattach: bool = False) -> Run:
    """Run `run_id` on the cluster and mirror it into `store` until it ends (the driver process; the CLI).

    `reattach`: the run's earlier driver is gone; take up its actor where the store's copy got to, never
    start the run afresh."""
    run = store.get(run_id)
    if run is None:
        raise SystemExit(f"no run {run_id}")
    store.update(run_id, executor="ray", pid=os.getpid(), heartbeat=time.time())
    try:
        ray = connect()
        actor, created = _actor(ray, run, create=not reattach)
        if actor is None:
            _failed(store, run_id, "The Ray cluster no longer has this run (its worker ended while Layerlab was not "
                    "watching it, or the cluster restarted).")
        else:
            cursor = json.loads(run.ray_cursor) if reattach and run.ray_cursor else None
            _mirror(ray, store, run, actor, actor.start.remote(_payload(run)) if created else None, echo, cursor)
    except Exception as exc:  # noqa: BLE001 - any failure becomes the run's reason
        _failed(store, run_id, _reason(exc))
    return store.get(run_id)  # type: ignore[return-value]


def _mirror(ray: Any, store: RunStore, run: Run, actor: Any, starting: Any, echo: Callable[[str], None] | None,
            cursor: dict[str, Any] | None = None) -> None:
    """Drain the actor into the store and the run folder until the run ends; pass a stop on.

    `starting`: the pending `start` call of a new actor (Ray holds it until a node has room: the run is
    queued in Ray meanwhile); None when reattaching to an existing actor, which `cursor` (what the store
    holds already) was drained up to. An actor whose `start` never arrived (its driver died while Ray still
    held the call) gets it again."""
    cursor = cursor or {"after_id": 0, "stamps": {}, "log_at": 0}
    pending = starting if starting is not None else actor.poll.remote(cursor)
    stop_sent: float | None = None
    while True:
        ready, _ = ray.wait([pending], timeout=POLL_S)
        current = store.get(run.id)
        if current is not None and current.stop_requested and stop_sent is None:
            if pending is starting:  # never placed: nothing to keep
                ray.kill(actor)
                _ended(store, run.id, "stopped", "Stopped while queued in Ray, before it started.")
                return
            actor.stop.remote()
            stop_sent = time.time()
        if stop_sent and time.time() - stop_sent > FORCE_AFTER_S:
            ray.kill(actor)
            _ended(store, run.id, "stopped", "Stopped by force on the Ray cluster; the last checkpoint that "
                   "arrived is kept.")
            return
        if not ready:
            store.beat(run.id, **({"message": QUEUED} if pending is starting else {}))
            continue
        answer = ray.get(pending)
        if pending is not starting and not answer["started"]:  # reattached: its start never reached the actor
            starting = pending = actor.start.remote(_payload(run))
            continue
        if pending is starting or starting is None:  # it has started: the node has what it needs
            (run.path / "continue.json").unlink(missing_ok=True)
        if pending is not starting:
            _apply(store, run, answer, echo)
            cursor = answer["cursor"]
            if answer["done"]:
                fields = answer["fields"]
                _ended(store, run.id, fields["status"], fields["message"], ended=fields.get("ended") or time.time())
                try:
                    ray.get(actor.close.remote(), timeout=30)
                finally:
                    ray.kill(actor)
                return
            time.sleep(POLL_S)
        pending = actor.poll.remote(cursor)


QUEUED = "Queued in Ray: waiting for a node with the CPUs and GPUs it asks for."


def _apply(store: RunStore, run: Run, answer: dict[str, Any], echo: Callable[[str], None] | None) -> None:
    """Write one drained batch: files first (a page that sees `completed` finds them), then the rows."""
    for name, data in answer["files"].items():
        if name == LOG:
            with open(run.path / LOG, "ab") as f:
                f.write(data)
            if echo:
                for line in data.decode("utf-8", "replace").splitlines():
                    echo(line.split("  ", 1)[-1])
            continue
        tmp = run.path / f".{name}.arriving"
        tmp.write_bytes(data)
        os.replace(tmp, run.path / name)
    got = answer["fields"]
    fields = {k: got.get(k) for k in MIRRORED if k not in ("status", "message", "ended", "test_metrics")}
    if got.get("status") == "running":
        fields.update(status="running", message=got.get("message"))
    if got.get("test_metrics"):
        store.update(run.id, test_metrics=got["test_metrics"])
    # The cursor in the same transaction as the rows: a driver started after this one died takes up from here.
    store.report(run.id, answer["rows"], node=answer["node"], ray_cursor=json.dumps(answer["cursor"]), **fields)


def _ended(store: RunStore, run_id: str, status: str, message: str, **values: Any) -> None:
    """The run's last status, and the mirror's cursor cleared in the same write (no driver takes it up again)."""
    store.set_status(run_id, status, message, ray_cursor=None, **values)


def _failed(store: RunStore, run_id: str, why: str) -> None:
    run = store.get(run_id)
    saved = run.files.saved_epochs() if run else None
    _ended(store, run_id, "failed", why + (f" Its checkpoint after epoch {saved} is kept: continue it from there, "
                                              "or train again." if saved else " It had saved no checkpoint yet: "
                                              "train it again."))


def _reason(exc: BaseException) -> str:
    from layerlab.errors import LayerlabError

    exc = getattr(exc, "cause", None) or exc  # a RayTaskError carries the node's own exception
    if isinstance(exc, LayerlabError):
        return str(exc)
    name = type(exc).__name__
    if "ActorDied" in name or "ActorError" in name or "WorkerCrashed" in name or "ActorUnavailable" in name:
        return "The Ray worker training this run died (its node or process ended, or it ran out of memory)."
    if isinstance(exc, ConnectionError):
        return f"Layerlab could not reach the Ray cluster ({str(exc)[:200]})."
    first = (str(exc).strip().splitlines() or [name])[0]
    return f"The run failed on the Ray cluster: {name}: {first[:300]}"


# ---- the node side: the actor -----------------------------------------------------------------

class RunActor:
    """One run on its node: trains with `run_training` against a node-local store and answers polls.

    Everything it writes lives under the node's own LAYERLAB_HOME (`ray-runs/<actor id>`), removed by `close`.
    """

    def __init__(self) -> None:
        import tempfile

        from layerlab.settings import home

        base = home() / "ray-runs"
        base.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(dir=base))
        self.store = RunStore(self.root / "runs")
        self.run_id: str | None = None
        self.thread: Any = None

    def start(self, payload: dict[str, Any]) -> str:
        """Lay out the run on this node and start training in a thread; returns at once (once per actor)."""
        import threading

        from layerlab.spec import load_spec

        if self.run_id is not None:
            return self.run_id

        spec_dict = dict(payload["spec"])
        if payload["data"] is not None:
            name, data = payload["data"]
            folder = self.root / "data"
            folder.mkdir()
            (folder / name).write_bytes(data)
            spec_dict["data"] = {**spec_dict["data"], "source": str(folder / name)}
        if payload["start_from"]:
            _, other_name, file_name, data = payload["start_from"]
            other = self.store.create(load_spec(payload["spec"]), name=other_name)
            (other.path / file_name).write_bytes(data)
            spec_dict["train"] = {**spec_dict["train"], "init_from_run": other.id}
        spec_dict["model"] = self._lay_out_model(dict(spec_dict["model"]), payload)
        spec = load_spec(spec_dict)
        run = self.store.create(spec, name=payload["name"])
        self.run_id = run.id
        for name, data in payload["files"].items():
            (run.path / name).write_bytes(data)
        bests = {k: v for k, v in payload["bests"].items() if v is not None}  # a continued run keeps its bests
        if bests:
            self.store.update(run.id, **bests)
        self.thread = threading.Thread(target=self._train, daemon=True)
        self.thread.start()
        return run.id

    def _lay_out_model(self, model: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        """The spec's `model` part on this node: the earlier run it starts from as a run of the node's store, and
        the .keras files its `keras_file` layers name kept in the node's model-files (the same names: they are
        named by their content)."""
        from layerlab.spec import load_spec
        from layerlab.workspace import model_file_display, save_model_file

        earlier = payload.get("earlier")
        if earlier:
            other = self.store.create(load_spec(earlier["spec"]), name=earlier["name"])
            for name, data in earlier["files"].items():
                (other.path / name).write_bytes(data)
            self.store.set_status(other.id, "completed")
            model["start_from_run"] = other.id
        kept = {name: save_model_file(model_file_display(name), data)
                for name, data in (payload.get("model_files") or {}).items()}
        model["layers"] = [{**layer, "params": {**layer["params"], "file": kept[layer["params"]["file"]]}}
                           if layer.get("params", {}).get("file") in kept else layer for layer in model["layers"]]
        return model

    def _train(self) -> None:
        from layerlab.train.trainer import run_training

        run_training(self.store, self.run_id)

    def stop(self) -> None:
        if self.run_id:
            self.store.request_stop(self.run_id)

    def poll(self, cursor: dict[str, Any]) -> dict[str, Any]:
        """What changed since `cursor`: metric rows, the run's fields, new or changed files, log lines."""
        import ray

        run = self.store.get(self.run_id) if self.run_id else None
        done = bool(run and not run.active) and not (self.thread and self.thread.is_alive())
        rows = self.store.metrics(self.run_id, after_id=cursor["after_id"]) if run else []
        files, stamps, log_at = {}, dict(cursor["stamps"]), cursor["log_at"]
        if run:
            for path in sorted(run.path.iterdir()):
                if not path.is_file() or ".partial" in path.name or path.name in NOT_SHIPPED_BACK:
                    continue
                stat = path.stat()
                if path.name == LOG:
                    if stat.st_size > log_at:
                        with open(path, "rb") as f:
                            f.seek(log_at)
                            files[LOG] = f.read()
                        log_at += len(files[LOG])
                    continue
                stamp = [stat.st_mtime_ns, stat.st_size]
                if stamps.get(path.name) != stamp:
                    files[path.name] = path.read_bytes()
                    stamps[path.name] = stamp
        gpus = ray.get_gpu_ids()
        node = (f"{ray.util.get_node_ip_address()} (node {ray.get_runtime_context().get_node_id()[:8]})"
                + (f" · GPU {', '.join(map(str, gpus))}" if gpus else " · no GPU"))
        return {
            "rows": [(r["scope"], r["epoch"], r["step"], r["t"],
                      {k: v for k, v in r.items() if k not in ("id", "scope", "epoch", "step", "t")}) for r in rows],
            "fields": {k: getattr(run, k) for k in MIRRORED} if run else {},
            "files": files, "done": done, "node": node, "started": self.run_id is not None,
            "cursor": {"after_id": rows[-1]["id"] if rows else cursor["after_id"], "stamps": stamps, "log_at": log_at},
        }

    def where(self) -> dict[str, Any]:
        """The node, this process and its folder (for the tests that prove nothing is shared)."""
        import ray

        return {"node": ray.util.get_node_ip_address(), "node_id": ray.get_runtime_context().get_node_id(),
                "pid": os.getpid(), "home": str(self.root.parent.parent), "cwd": os.getcwd()}

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="layerlab-ray-driver")
    parser.add_argument("run_id")
    parser.add_argument("--runs-dir", required=True)
    parser.add_argument("--reattach", action="store_true", help="take up the run's actor after its driver died")
    args = parser.parse_args(argv)
    store = RunStore(args.runs_dir)
    run = drive(store, args.run_id, reattach=args.reattach)
    print(json.dumps({"run_id": run.id, "status": run.status}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
