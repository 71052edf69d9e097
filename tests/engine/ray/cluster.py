"""A Ray cluster on 127.0.0.1 for the tests, started from inside a loopback-only namespace (see test_ray_runs)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from pathlib import Path


def _logged(out: Path, name: str) -> dict:
    """Output to a file: `ray start` leaves daemons holding its stdout, so a pipe would never close."""
    return {"stdout": open(out / f"ray-{name}.log", "ab"), "stderr": subprocess.STDOUT}


def start_cluster(out: Path, nodes: int = 2, cpus: int = 1) -> dict[str, str]:
    """A head and `nodes - 1` more nodes (each with its own working folder and LAYERLAB_HOME, out/node<i>),
    `cpus` CPUs each, token authentication on; returns the environment a driver needs to join it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_ADDRESS": f"127.0.0.1:{port}"}
    os.environ.update({k: v for k, v in env.items() if k != "RAY_ADDRESS"})
    common = ["--num-cpus", str(cpus), "--disable-usage-stats", "--object-store-memory", str(200 * 2**20)]
    temp = Path(subprocess.run(["mktemp", "-d", "/tmp/rl-XXXX"], check=True, capture_output=True, text=True).stdout.strip())
    subprocess.run(["ray", "start", "--head", "--port", str(port), "--include-dashboard=false", "--temp-dir", str(temp),
                    *common], check=True, **_logged(out, "head"))
    bare = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LAYERLAB_HOME")}
    for i in range(2, nodes + 1):
        folder = out / f"node{i}"
        folder.mkdir(parents=True)
        subprocess.run(["ray", "start", "--address", env["RAY_ADDRESS"], *common], check=True, cwd=folder,
                       env={**bare, "LAYERLAB_HOME": str(folder / "home")}, **_logged(out, f"node{i}"))
    return env
