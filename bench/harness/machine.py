"""The machine the figures are measured on, and the child processes benchmarks start on it."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parents[1]
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def child_env(**extra: str) -> dict[str, str]:
    """The environment a Layerlab worker gets (runner.dispatch), for every benchmark child."""
    env = dict(os.environ)
    env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def python_child(args: list[str], *, timeout: float, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python ARGS` from the repository root and capture its output."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, check=False,
                          env=env or child_env(), cwd=str(cwd or ROOT))


def tail(text: str, lines: int = 15) -> str:
    return "\n".join((text or "").strip().splitlines()[-lines:])


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), from /proc; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _gpu_names() -> list[str]:
    """GPU names from nvidia-smi (no TensorFlow import); [] when there is none."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [ln.strip() for ln in out.stdout.splitlines() if ln.strip()] if out.returncode == 0 else []


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    gpus = _gpu_names()
    tf_dist = next((d for d in ("tensorflow", "tensorflow-cpu", "tf-nightly") if _version(d)), "tensorflow")
    return {
        "cpu": cpu,
        "cores": cores,
        "ram_gb": ram_gb,
        "gpu": ", ".join(gpus) if gpus else "none",
        "tensorflow": _version(tf_dist),
        "keras": _version("keras"),
        "keras_backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "streamlit": _version("streamlit"),
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
    }


def now_iso() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")
