"""Limits and paths, each overridable by an environment variable (documented in README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return default


@dataclass(frozen=True)
class Limits:
    """Sane defaults for a shared demo server; raise them with LAYERLAB_<NAME>."""

    upload_mb: int = 200
    extracted_mb: int = 2048
    zip_members: int = 100_000
    zip_ratio: int = 200
    image_pixels: int = 40_000_000
    image_memory_mb: int = 256  # decoded images up to this size train from memory; larger sets stream from disk
    images: int = 200_000
    rows: int = 5_000_000
    columns: int = 2_000
    cells: int = 100_000_000
    vocabulary: int = 100_000
    model_params: int = 50_000_000
    concurrent_runs: int = 2
    predict_rows: int = 100_000  # rows (or texts) in one batch upload on the Predict page
    sweep_hours: int = 24  # sessions not seen this long lose their saved project and unused uploads
    serve_max_batch: int = 32  # the model server gathers concurrent requests into predict calls of up to this many inputs
    serve_batch_timeout_ms: int = 2  # ...waiting at most this long for more after the first
    serve_timeout_s: int = 30  # a model server request taking longer gets 504
    servers: int = 2  # model servers one session may run at once (the Serve page)
    serve_start_s: int = 120  # how long a model server started from the app may take to become ready
    # Training workers run at this niceness (0-19): on a machine whose cores they fill, the server's page
    # switches go first and training takes what is left (nothing is lost when the machine is otherwise idle).
    worker_nice: int = 10
    # A worker that finishes a run takes the next queued one itself, up to this many runs per process: a tuning
    # study's trials and a queue of runs skip the ~5 s of process start and TensorFlow import each (1: never).
    worker_runs: int = 20
    share_days: int = 7  # how long a view link made with the Share button works (its owner may revoke it sooner)
    run_cpus: int = 1  # CPUs one run asks a Ray cluster for (LAYERLAB_EXECUTOR=ray)
    # 0: never download pretrained backbone weights (an air-gapped server); they must be in Keras' cache or uploaded.
    weights_download: int = 1


def limits() -> Limits:
    """Read the limits now (not at import) so tests and servers can set them per process."""
    return Limits(**{f.name: _env_int(f"LAYERLAB_{f.name.upper()}", f.default) for f in fields(Limits)})


def home() -> Path:
    """Where Layerlab keeps uploads, projects and runs (LAYERLAB_HOME, default ~/.layerlab)."""
    path = Path(os.environ.get("LAYERLAB_HOME") or Path.home() / ".layerlab").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    path = Path(os.environ.get("LAYERLAB_RUNS_DIR") or home() / "runs").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


EXECUTORS = ("local", "ray")


def executor() -> str:
    """Where queued runs train: `local` worker processes (the default) or a `ray` cluster (LAYERLAB_EXECUTOR)."""
    from layerlab.errors import LayerlabError

    name = (os.environ.get("LAYERLAB_EXECUTOR") or "local").strip().lower()
    if name not in EXECUTORS:
        raise LayerlabError(f"Invalid value received for LAYERLAB_EXECUTOR. Expected one of: {', '.join(EXECUTORS)}. "
                            f"Received: {name!r}.", "Unset it to train in local worker processes.")
    return name


def run_gpus() -> float | None:
    """GPUs one Ray run asks for (LAYERLAB_RUN_GPUS); None: 1 where the cluster has GPUs, else 0."""
    raw = (os.environ.get("LAYERLAB_RUN_GPUS") or "").strip()
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:
        return None
