"""The training worker: `python -m layerlab.runs.worker RUN_ID --runs-dir DIR`.

A process started with a new session by the runner, so the web server never trains in its own process.
When its run ends it takes the next queued run itself (the store's claim keeps the concurrency limit), up to
`LAYERLAB_WORKER_RUNS` runs: each saves the process start and TensorFlow's import (~5 s, more than a small
tuning trial's training). Keras' session is cleared between runs, and each run sets its own seed and precision.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable


def _yield_cpu() -> None:
    """Lower this worker's priority before TensorFlow starts its threads (they inherit it), so that pages
    stay responsive while runs fill every core (issue #20, finding 8)."""
    from layerlab.settings import limits

    try:
        os.nice(max(0, min(19, limits().worker_nice)))
    except OSError:  # not allowed here: train at the normal priority
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="layerlab-worker")
    parser.add_argument("run_id")
    parser.add_argument("--runs-dir", required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _yield_cpu()

    from layerlab.runs.runner import dispatch
    from layerlab.runs.store import RunStore
    from layerlab.settings import limits
    from layerlab.train.trainer import run_training

    store = RunStore(args.runs_dir)
    run_id: str | None = args.run_id
    done = 0
    try:
        while run_id is not None:
            run_training(store, run_id, progress=_report_preparation(store, run_id))
            done += 1
            run_id = _take_next(store) if done < limits().worker_runs else None
    finally:
        # A finished run frees a slot: start the next queued one, if any.
        try:
            dispatch(store)
        except Exception:  # noqa: BLE001 - never mask the run's own outcome
            pass
    return 0


def _take_next(store) -> str | None:
    """Claim the next queued run for this process (None when the queue is empty or the limit is reached), with
    this process as its pid and its output in that run's worker log."""
    import gc

    from layerlab.runs.runner import WORKER_LOG
    from layerlab.settings import limits

    claimed = store.claim_queued(limits().concurrent_runs)
    if not claimed:
        return None
    run, others = claimed[0], claimed[1:]
    store.update(run.id, pid=os.getpid())
    if others:  # more slots were free than this process fills: the runner starts workers for the rest
        from layerlab.runs.runner import launch

        for other in others:
            store.update(other.id, pid=launch("layerlab.runs.worker", other.id, "--runs-dir", str(store.root),
                                              log=other.path / WORKER_LOG))
    try:
        log = os.open(run.path / WORKER_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
    except OSError:
        pass
    import keras

    keras.backend.clear_session(free_memory=True)
    gc.collect()
    return run.id


PREPARING = "Preparing the data: "  # the run's message while it does (see components/run_status.py)


def _report_preparation(store, run_id: str, every_s: float = 0.5) -> Callable[[float, str], None]:
    """A progress reporter that shows how data preparation goes (unpacking, decoding a large image set)
    as the run's message, which the Train page shows until training starts; each report is also a heartbeat."""
    import time

    last = [0.0]

    def report(fraction: float, text: str) -> None:
        now = time.time()
        if now - last[0] < every_s and fraction < 1.0:
            return
        last[0] = now
        try:
            store.beat(run_id, message=f"{PREPARING}{text[:1].lower()}{text[1:]}, {fraction:.0%}")
        except Exception:  # noqa: BLE001 - a busy store must not stop the preparation
            pass

    return report


if __name__ == "__main__":
    sys.exit(main())
