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
