"""`python -m layerlab serve`'s refusals, each one `error: …` line and exit 2 before any model loads: an unknown
run, a run still training, a port in use, an empty API key file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "layerlab", "serve", *args], check=False, cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


@pytest.fixture
def store(tmp_path):
    from layerlab.project import new_project
    from layerlab.runs.store import RunStore

    store = RunStore(tmp_path / "runs")
    store.spec = new_project("sample:penguins")
    return store


def _refused(out: subprocess.CompletedProcess, *words: str) -> None:
    assert out.returncode == 2, out.stderr
    line = out.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ") and all(w in line for w in words), out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_an_unknown_run_is_refused(store):
    _refused(_serve("no-such-run", "--runs-dir", str(store.root)), "There is no run 'no-such-run'")


def test_a_run_still_training_is_refused(store):
    run = store.create(store.spec)
    _refused(_serve(run.id, "--runs-dir", str(store.root)), "still queued", "only a finished run")


def test_a_port_in_use_is_refused_before_loading(store):
    run = store.create(store.spec)
    store.set_status(run.id, "completed")  # no model yet: the port is checked first
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        _refused(_serve(run.id, "--runs-dir", str(store.root), "--port", str(port)), f"port {port}", "in use")


def test_an_empty_api_key_file_is_refused(store, tmp_path):
    (tmp_path / "key").write_text("\n")
    run = store.create(store.spec)
    _refused(_serve(run.id, "--runs-dir", str(store.root), "--api-key-file", str(tmp_path / "key")), "is empty")


def test_bad_numbers_are_refused(store):
    _refused(_serve("x", "--workers", "0"), "--workers")
