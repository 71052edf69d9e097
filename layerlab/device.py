"""Which device trains: the GPU's name, or a plain statement that there is none."""

from __future__ import annotations

import os
import shutil
import subprocess

NO_GPU = "CPU — no GPU found"


def gpu_names_quick() -> list[str]:
    """GPU names with their memory ("NVIDIA H100 80GB HBM3, 80 GB") without importing TensorFlow (for
    pages): asks nvidia-smi if it exists."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"], check=False,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return []
    return [_named(ln) for ln in out.stdout.splitlines() if ln.strip()] if out.returncode == 0 else []


def _named(line: str) -> str:
    name, _, mib = line.rpartition(",")
    try:
        return f"{name.strip()}, {float(mib) / 1024:.0f} GB"
    except ValueError:
        return line.strip()


def missing_gpu(names: list[str], train: object | None = None) -> str | None:
    """Why a run here would ask for a GPU this machine lacks, or None (a Ray cluster has its own GPUs)."""
    from layerlab.settings import executor, run_gpus

    if names or executor() != "local":
        return None
    asked = run_gpus() or 0
    if asked > 0:
        return (f"LAYERLAB_RUN_GPUS asks for {asked:g} GPU(s) a run, but this machine has none: runs train on "
                "the CPU.")
    if train is not None and getattr(train, "fast_gpu", False):
        return "The fast-GPU profile is on, but this machine has no GPU: the run trains correctly, usually slower."
    return None


def describe_training_device() -> str:
    """The device Keras will train on, from inside the worker (imports the backend)."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    names: list[str] = []
    try:
        if backend == "jax":
            import jax

            names = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
        elif backend == "torch":
            import torch

            names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        else:
            import tensorflow as tf

            for gpu in tf.config.list_physical_devices("GPU"):
                details = tf.config.experimental.get_device_details(gpu)
                names.append(details.get("device_name", gpu.name))
    except Exception:  # noqa: BLE001 - a device query must never stop a run
        names = []
    if not names:
        return NO_GPU
    return names[0] if len(names) == 1 else f"{len(names)} × {names[0]}"
