"""The training worker: `python -m layerlab.train.worker RUN_ID --runs-dir DIR`.

One process per run, started with a new session by the runner: TensorFlow state and
memory die with it, and the web server never trains in its own process.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="layerlab-worker")
    parser.add_argument("run_id")
    parser.add_argument("--runs-dir", required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from layerlab.train.runner import dispatch
    from layerlab.train.store import RunStore
    from layerlab.train.trainer import run_training

    store = RunStore(args.runs_dir)
    try:
        run_training(store, args.run_id)
    finally:
        # A finished run frees a slot: start the next queued one, if any.
        try:
            dispatch(store)
        except Exception:  # noqa: BLE001 - never mask the run's own outcome
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
