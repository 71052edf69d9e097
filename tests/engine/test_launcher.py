"""The runner's general launcher: a module in its own process session, with the worker's environment."""

from __future__ import annotations

import json
import os
import time

from layerlab.runs.runner import launch


def test_launch_starts_a_module_in_its_own_session_with_gpu_growth(tmp_path):
    (tmp_path / "probe.py").write_text(
        "import json, os, sys\n"
        "print(json.dumps({'args': sys.argv[1:], 'growth': os.environ.get('TF_FORCE_GPU_ALLOW_GROWTH'),\n"
        "                  'leader': os.getsid(0) == os.getpid(), 'extra': os.environ.get('PROBE')}), flush=True)\n")
    log = tmp_path / "probe.out"
    pid = launch("probe", "a", "b c", log=log, env={"PYTHONPATH": str(tmp_path), "PROBE": "yes"})
    assert isinstance(pid, int) and pid > 0
    os.waitpid(pid, 0)
    deadline = time.time() + 10
    while not log.read_text().strip() and time.time() < deadline:
        time.sleep(0.05)
    got = json.loads(log.read_text().strip().splitlines()[-1])
    assert got == {"args": ["a", "b c"], "growth": "true", "leader": True, "extra": "yes"}


def test_a_worker_gives_the_server_the_cpu_first():
    """Issue #20, finding 8: workers that fill every core must not slow page switches; they run niced."""
    import subprocess
    import sys

    code = ("import os; from layerlab.runs.worker import _yield_cpu; before = os.nice(0); _yield_cpu(); "
            "print(os.nice(0) - before)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "LAYERLAB_WORKER_NICE": "7"})
    assert out.stdout.strip() == "7"
