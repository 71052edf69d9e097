"""Start, queue and stop runs: what the pages and the CLI call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from layerlab.runs.store import Run, RunStore
from layerlab.settings import executor, limits
from layerlab.spec import ProjectSpec

_ROOT = str(Path(__file__).resolve().parents[2])  # the checkout: the launched process imports layerlab from it
WORKER_LOG = "worker.out"  # a worker's stdout and stderr, beside its log.txt


def start_run(spec: ProjectSpec, store: RunStore | None = None, owner: str | None = None,
              name: str | None = None, *, study: str | None = None, trial: int | None = None) -> Run:
    """Queue a run and start workers for as many queued runs as the concurrency limit allows
    (a tuning trial names its study and trial number)."""
    from layerlab.models.backbones import require_weights

    require_weights(spec, owner)  # a pretrained backbone without its weights would only fail in the worker
    store = store or RunStore()
    run = store.create(spec, owner=owner, name=name, study=study, trial=trial)
    dispatch(store)
    return store.get(run.id) or run


def launch(module: str, *args: str, log: str | Path, env: dict[str, str] | None = None) -> int:
    """Start `python -m <module> <args>` as its own process session and return its pid.

    Its own session (start_new_session) so that `os.killpg(pid, …)` ends it with its children and a
    Streamlit rerun or a closed browser never does; TensorFlow takes GPU memory as it needs it instead of
    all of it (several processes share a GPU). Output goes to `log` (appended). Used for run workers and
    reusable for any long-lived process of the engine (a model server).
    """
    return popen(module, *args, log=log, env=env).pid


def popen(module: str, *args: str, log: str | Path, env: dict[str, str] | None = None,
          pass_fds: tuple[int, ...] = ()) -> subprocess.Popen:
    """`launch`, keeping the Popen (a parent that outlives the child reaps it, so no zombie is left) and
    handing the child `pass_fds` (the model host's end of its socket pair)."""
    full = dict(os.environ)
    full.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    full.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    full["PYTHONPATH"] = _ROOT + (os.pathsep + full["PYTHONPATH"] if full.get("PYTHONPATH") else "")
    full.update(env or {})
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", module, *args], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=full, cwd=_ROOT, start_new_session=True,
                                pass_fds=pass_fds)


def dispatch(store: RunStore) -> list[str]:
    """Launch a worker process for each queued run that fits under the limit; with LAYERLAB_EXECUTOR=ray,
    hand every queued run to the Ray cluster instead (its scheduler places them; no local limit)."""
    if executor() == "ray":
        from layerlab.runs import ray_executor

        return ray_executor.dispatch(store)
    started = []
    for run in store.claim_queued(limits().concurrent_runs):
        pid = launch("layerlab.runs.worker", run.id, "--runs-dir", str(store.root), log=run.path / WORKER_LOG)
        store.update(run.id, pid=pid)
        started.append(run.id)
    return started


def continue_run(store: RunStore, run_id: str, epochs: int, owner: str | None = None) -> Run:
    """Train a finished or stopped run for `epochs` more, from its last weights, in the same run.

    Its recorded epochs and steps are kept, and the new ones follow them. It goes on from the
    epoch of its last checkpoint (last.weights.h5 with history.json, saved during training and at
    its end): rows of a session cut off after that save (a killed worker, a machine restart) are
    dropped, so no epoch is drawn twice. `epochs` 0 only finishes it: test evaluation and model.keras
    from the checkpoint, for a run cut off before it wrote them.
    """
    import json

    from layerlab.errors import LayerlabError

    run = store.get(run_id)
    if run is None or (owner is not None and run.owner not in (None, owner)):
        raise LayerlabError("That run cannot be continued from this session.")
    if run.active:
        raise LayerlabError("The run is still training.", "Wait for it to finish, or stop it first.")
    if not run.files.has_checkpoint:
        raise LayerlabError("This run has no saved weights to continue from.", "Start a new run instead.")
    done = run.files.saved_epochs() or max([r["epoch"] for r in store.metrics(run_id, scope="epoch")] or [0])
    store.trim_metrics(run_id, done)
    (run.path / "continue.json").write_text(json.dumps({"from_epoch": done, "epochs": int(epochs)}), encoding="utf-8")
    store.update(run_id, status="queued", message=f"Continuing for {epochs} more epoch(s)." if epochs else "Finishing: evaluating its checkpoint.", stop_requested=0,
                 ended=None, epoch=done)
    dispatch(store)
    return store.get(run_id)  # type: ignore[return-value]


def stop_run(store: RunStore, run_id: str, owner: str | None = None) -> bool:
    """Ask the run to stop (it keeps its best weights); False if it is not the owner's."""
    return store.request_stop(run_id, owner=owner)


def kill_run(store: RunStore, run_id: str) -> None:
    """Hard fallback when a worker ignores a stop: end its whole process group."""
    run = store.get(run_id)
    if run and run.pid and run.active:
        try:
            os.killpg(run.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        store.set_status(run_id, "stopped", "Stopped by force; the last saved checkpoint is kept.")


def wait(store: RunStore, run_id: str, timeout: float = 600, poll: float = 0.2) -> Run:
    """Block until the run is no longer active (for the CLI and tests)."""
    deadline = time.time() + timeout
    while True:
        run = store.get(run_id)
        if run is None or not run.active or time.time() > deadline:
            return run  # type: ignore[return-value]
        store.reap()
        time.sleep(poll)
