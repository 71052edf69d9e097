"""The training worker: `python -m layerlab.runs.worker RUN_ID --runs-dir DIR`.

One process per run, started with a new session by the runner: TensorFlow state and
memory die with it, and the web server never trains in its own process.
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
    from layerlab.train.trainer import run_training

    store = RunStore(args.runs_dir)
    try:
        run_training(store, args.run_id, progress=_report_preparation(store, args.run_id))
    finally:
        # A finished run frees a slot: start the next queued one, if any.
        try:
            dispatch(store)
        except Exception:  # noqa: BLE001 - never mask the run's own outcome
            pass
    return 0


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
