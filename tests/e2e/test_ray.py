"""The Train page with LAYERLAB_EXECUTOR=ray: start a run, watch its curve grow, see its Ray node, stop it.

Ray and the app must stay on loopback (Ray probes 8.8.8.8 and listens on every interface), and a browser
outside a loopback-only namespace cannot reach a server inside it: `ray_flow.py` runs the cluster, the
app and Chromium together in one namespace and this test checks what it saw.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def test_a_ray_run_is_watched_and_stopped_in_the_browser(tmp_path: Path) -> None:
    if not shutil.which("unshare") or not shutil.which("ray"):
        pytest.fail("this test needs `unshare` (util-linux), `ip` and Ray (pip install -r requirements-ray.txt)")
    inner = f"ip link set lo up && cd {REPO} && PYTHONPATH={REPO} exec {sys.executable} -m tests.e2e.ray_flow {tmp_path}"
    done = subprocess.run(["unshare", "--net", "--pid", "--fork", "--mount-proc", "sh", "-c", inner], check=False,
                          capture_output=True, text=True, timeout=900)
    log = tmp_path / "streamlit.log"
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:] + (log.read_text()[-3000:] if log.exists() else "")
    seen = json.loads((tmp_path / "result.json").read_text())
    assert "Ray node 127.0.0.1 (node " in seen["placement"]  # the caption beside the run: device · where
    assert seen["points_before"] >= 1 and seen["epoch"] > 1  # and the flow saw the curve gain points after that
