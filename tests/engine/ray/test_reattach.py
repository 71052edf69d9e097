"""A Ray run whose driver process here died is taken up by one new driver, not failed (no cluster needed:
the launch is recorded). The cluster test (test_ray_runs) kills a real driver mid-run."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from layerlab.runs import runner
from layerlab.runs.store import RunStore
from layerlab.spec import load_spec


@pytest.fixture
def launched(monkeypatch) -> list:
    calls: list = []

    def launch(module: str, *args: str, log, env=None) -> int:
        calls.append((module, args))
        return os.getpid()  # alive: the next look finds a driver

    monkeypatch.setattr(runner, "launch", launch)
    return calls


def _gone_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _running(store: RunStore, executor: str | None, **values):
    spec = load_spec({"data": {"kind": "table", "source": "sample:test"}})
    run = store.create(spec)
    store.update(run.id, status="running", executor=executor, heartbeat=time.time(), **values)
    return store.get(run.id)


def test_a_dead_driver_of_a_ray_run_gets_one_new_driver_that_reattaches(tmp_path, launched):
    store = RunStore(tmp_path / "runs")
    run = _running(store, "ray", pid=_gone_pid(), ray_cursor='{"after_id": 7, "stamps": {}, "log_at": 0}')
    assert store.reap() == [run.id]
    assert launched == [("layerlab.runs.ray_executor", (run.id, "--runs-dir", str(store.root), "--reattach"))]
    again = store.get(run.id)
    assert again.status == "running" and again.pid == os.getpid() and again.ray_cursor  # not failed, cursor kept
    assert store.reap() == [] and len(launched) == 1  # its new driver lives


def test_only_one_of_two_pages_noticing_at_once_takes_the_run_over(tmp_path):
    store = RunStore(tmp_path / "runs")
    dead = _gone_pid()
    run = _running(store, "ray", pid=dead)
    assert store.take_over(run.id, dead) is True
    assert RunStore(tmp_path / "runs").take_over(run.id, dead) is False
    assert store.get(run.id).pid == 0


def test_a_ray_run_cut_off_by_a_restart_is_taken_up_but_a_local_one_still_fails(tmp_path, launched):
    store = RunStore(tmp_path / "runs")
    silent = _running(store, "ray")  # no driver recorded, silent for longer than the heartbeat allows
    store.update(silent.id, heartbeat=time.time() - 3600)
    local = _running(store, None, pid=_gone_pid())
    assert sorted(store.reap()) == sorted([silent.id, local.id])
    assert [args[0] for _, args in launched] == [silent.id]
    assert store.get(silent.id).status == "running"
    assert store.get(local.id).status == "failed"
