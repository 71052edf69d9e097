"""Faults the pages must survive (issue #7): a worker killed mid-epoch, the server restarted mid-run
(the worker lives on; or the machine restarted under it), a full or read-only runs folder, the run
database locked by another process, a corrupt run folder. In each: a clear status, the rest of the
app working, finished runs intact. The engine's side is in tests/engine/test_training.py and
test_store.py; these use run rows without real training, so they take seconds.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from components import state
from layerlab.runs.store import RunStore
from tests.pages.browser import with_owner_cookie
from tests.pages.markdown import plain
from tests.pages.test_train import _epoch_rows
from tests.pages.trained import OWNER, digits_spec

pytestmark = pytest.mark.usefixtures("home", "keras_loaded")  # a fresh LAYERLAB_HOME per test (tests/pages/conftest.py)

TRAIN, RUNS = "pages/train.py", "pages/runs.py"


@pytest.fixture
def finished() -> object:
    """A completed run (rows and a final message, no model): what must stay intact."""
    store = RunStore()
    run = store.create(digits_spec(), owner=OWNER, name="the good one")
    store.add_metrics(run.id, _epoch_rows(2))
    store.update(run.id, started=time.time() - 30, steps_per_epoch=40, epoch=2, step=80,
                 test_metrics={"accuracy": 0.91})
    store.set_status(run.id, "completed", "Finished: test accuracy 0.9100.")
    return store.get(run.id)


@pytest.fixture
def worker() -> Iterator[subprocess.Popen]:
    """A live process standing in for a training worker (its own session, as the runner starts them)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def _texts(at) -> str:
    kinds = ("markdown", "caption", "info", "warning", "error", "success")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def _errors(at) -> str:
    return plain("\n".join(e.value for e in at.error))


def _running(store: RunStore, pid: int | None, heartbeat: float, epochs_done: int = 1, owner: str = OWNER):
    run = store.create(digits_spec(epochs=5), owner=owner, name="the busy one")
    store.add_metrics(run.id, _epoch_rows(epochs_done))
    store.update(run.id, status="running", started=time.time() - 60, heartbeat=heartbeat, pid=pid,
                 steps_per_epoch=40, epoch=epochs_done + 1, step=40 * epochs_done + 7)
    return store.get(run.id)


def _finished_intact(app, finished) -> None:
    """The Runs page lists the finished run as it was, and the app still works around it."""
    at = app(RUNS, state={"project": digits_spec(), "pid": OWNER})
    assert not at.exception
    frame = at.dataframe[0].value
    row = frame[frame["Name"] == "the good one"].iloc[0]
    assert row["Status"].lower().endswith("completed")
    store = RunStore()
    assert store.get(finished.id).status == "completed" and store.get(finished.id).test_metrics == {"accuracy": 0.91}
    assert len(store.metrics(finished.id)) == len(_epoch_rows(2))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_worker_killed_mid_epoch_is_shown_as_failed_and_the_app_goes_on(app, finished):
    store = RunStore()
    run = _running(store, _dead_pid(), time.time())
    at = app(TRAIN, state={"project": digits_spec(), "pid": OWNER, "run_id": run.id})

    assert not at.exception
    assert "ended unexpectedly" in _errors(at) and "out of memory or been killed" in _errors(at)
    assert store.get(run.id).status == "failed"
    assert not at.button(key="train_start").disabled, "a new run can be started"
    assert "train_stop" not in [b.key for b in at.button]
    _finished_intact(app, finished)


def test_a_restarted_server_reattaches_to_a_worker_that_lives_on(app, home, finished, worker, monkeypatch):
    me = with_owner_cookie(monkeypatch)  # the browser's owner cookie outlives the server
    digits_spec().save(home / "projects" / f"{me}.json")  # the session's project, kept on disk
    store = RunStore()
    run = _running(store, worker.pid, time.time(), owner=me)
    at = app(TRAIN, query_params={"run": run.id})  # the new server's first session: the URL and the cookie

    assert not at.exception and not at.error, _errors(at)
    assert store.get(run.id).status == "running"
    assert "Epoch 2/5" in _texts(at) or any("Epoch 2/5" in p.proto.text for p in at.get("progress"))
    at.button(key="train_stop").click().run()
    assert not at.exception
    assert store.get(run.id).stop_requested, "the reattached session can stop its run"
    _finished_intact(app, finished)


def test_a_run_cut_off_by_a_machine_restart_is_interrupted_not_failed(app, finished, monkeypatch):
    import layerlab.runs.store as store_mod

    store = RunStore()
    run = _running(store, 999_999, time.time() - 120)
    monkeypatch.setattr(store_mod, "_boot_time", lambda: time.time() - 30)  # booted after its last heartbeat
    at = app(TRAIN, state={"project": digits_spec(), "pid": OWNER, "run_id": run.id})

    assert not at.exception
    assert store.get(run.id).status == "interrupted"
    assert "machine restarted" in "\n".join(w.value for w in at.warning)
    assert not at.error
    _finished_intact(app, finished)


@pytest.mark.parametrize(("err", "words"), [(errno.ENOSPC, "disk is full"), (errno.EROFS, "cannot write to")])
def test_a_full_or_read_only_runs_folder_is_explained_when_starting(app, finished, err, words):
    real_save = type(digits_spec()).save

    def failing_save(self, path, *args, **kwargs):
        if Path(path).parent.parent == RunStore().root:  # a run's project.json: the runs folder
            raise OSError(err, os.strerror(err), str(path))
        return real_save(self, path, *args, **kwargs)

    at = app(TRAIN, state={"project": digits_spec(), "pid": OWNER})
    before = {p.name for p in RunStore().root.iterdir()}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(digits_spec()), "save", failing_save)
        at.button(key="train_start").click().run()

    assert not at.exception
    errors = _errors(at)
    assert words in errors and "Runs that already finished are kept" in errors
    assert "bug in Layerlab" not in errors
    assert {p.name for p in RunStore().root.iterdir()} == before, "no half-made run folder is left"
    assert [r.id for r in RunStore().list()] == [finished.id]
    _finished_intact(app, finished)


@pytest.mark.slow
def test_a_database_locked_by_another_process(app, finished):
    store = RunStore()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time\n"
        f"con = sqlite3.connect({str(store.db_path)!r}, isolation_level=None)\n"
        "con.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.readline(); con.execute('COMMIT')\n")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        # Reading goes on while another process writes: the Runs page lists the runs at once.
        start = time.perf_counter()
        _finished_intact(app, finished)
        assert time.perf_counter() - start < 10
        # Writing waits for the lock a few seconds (state.PAGE_BUSY_S, not RunStore's 30 s), then says so.
        at = app(TRAIN, state={"project": digits_spec(), "pid": OWNER})
        start = time.perf_counter()
        at.button(key="train_start").click().run()
        assert time.perf_counter() - start < state.PAGE_BUSY_S + 10
        assert not at.exception
        assert "The run database is busy" in _errors(at) and "Try again in a moment" in _errors(at)
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=10)
    assert [r.id for r in RunStore().list()] == [finished.id], "nothing half-made"
    assert [p.name for p in RunStore().root.iterdir() if p.is_dir()] == [finished.id]
    _finished_intact(app, finished)


@pytest.mark.slow
def test_corrupt_run_folders_are_reported_and_the_rest_works(app, finished):
    store = RunStore()
    garbled = store.create(digits_spec(), owner=OWNER, name="garbled")
    store.set_status(garbled.id, "completed", "Finished.")
    (garbled.path / "project.json").write_text("{ not json")
    (garbled.path / "history.json").write_bytes(os.urandom(64))
    (garbled.path / "evaluation.json").write_text("[1, 2")
    gone = store.create(digits_spec(), owner=OWNER, name="gone")
    store.set_status(gone.id, "completed", "Finished.")
    shutil.rmtree(gone.path)

    at = app(RUNS, state={"project": digits_spec(), "pid": OWNER})
    assert not at.exception
    assert {"garbled", "gone", "the good one"} <= set(at.dataframe[0].value["Name"])
    for run in (garbled, gone):
        for page in (TRAIN, "pages/evaluate.py", "pages/predict.py"):
            at = app(page, state={"project": digits_spec(), "pid": OWNER, "run_id": run.id})
            assert not at.exception, (page, run.name, at.exception)
            assert "bug in Layerlab" not in _errors(at), (page, run.name, _errors(at))
    _finished_intact(app, finished)
