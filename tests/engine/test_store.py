import os
import subprocess
import sys
import time

from layerlab.spec import load_spec
from layerlab.runs.store import RunStore

SPEC = load_spec({"data": {"source": "sample:digits"}, "name": "Digits"})


def test_create_lists_and_updates(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(SPEC, owner="alice")
    assert run.status == "queued" and run.owner == "alice"
    assert (run.path / "project.json").exists() and load_spec(run.path / "project.json") == SPEC
    store.update(run.id, status="running", epoch=2, test_metrics={"accuracy": 0.9})
    again = store.get(run.id)
    assert again.status == "running" and again.epoch == 2 and again.test_metrics == {"accuracy": 0.9}
    assert [r.id for r in store.list(owner="alice")] == [run.id]
    assert store.list(owner="bob") == []


def test_metrics_are_read_incrementally(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(SPEC)
    store.add_metrics(run.id, [("batch", 1, i, time.time(), {"loss": 1.0 / (i + 1)}) for i in range(5)])
    rows = store.metrics(run.id)
    assert [r["step"] for r in rows] == list(range(5)) and rows[2]["loss"] == 1 / 3
    store.add_metrics(run.id, [("epoch", 1, 5, time.time(), {"loss": 0.2, "val_loss": 0.3})])
    new = store.metrics(run.id, after_id=rows[-1]["id"])
    assert len(new) == 1 and new[0]["scope"] == "epoch" and new[0]["val_loss"] == 0.3


def test_queue_claims_fifo_up_to_the_limit(tmp_path):
    store = RunStore(tmp_path)
    runs = [store.create(SPEC) for _ in range(3)]
    claimed = store.claim_queued(limit=2)
    assert [r.id for r in claimed] == [r.id for r in runs[:2]]
    assert store.queue_position(runs[2].id) == 1
    assert store.claim_queued(limit=2) == []
    store.set_status(runs[0].id, "completed")
    assert [r.id for r in store.claim_queued(limit=2)] == [runs[2].id]


def test_stop_and_delete_respect_the_owner(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(SPEC, owner="alice")
    assert store.request_stop(run.id, owner="bob") is False
    assert store.get(run.id).stop_requested == 0
    assert store.request_stop(run.id, owner="alice") is True
    assert store.get(run.id).status == "stopped"  # a queued run stops at once
    assert store.delete(run.id, owner="bob") is False
    assert store.delete(run.id, owner="alice") is True
    assert store.get(run.id) is None and not run.path.exists()


def test_beat_reports_stop_requests(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(SPEC)
    store.update(run.id, status="running")
    assert store.beat(run.id, epoch=1) is False
    store.request_stop(run.id)
    assert store.beat(run.id, epoch=1) is True


def test_reap_marks_dead_and_silent_runs(tmp_path):
    store = RunStore(tmp_path)
    dead = store.create(SPEC)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    store.update(dead.id, status="running", pid=proc.pid, heartbeat=time.time())
    silent = store.create(SPEC)
    store.update(silent.id, status="running", pid=None, heartbeat=time.time() - 3600)
    alive = store.create(SPEC)
    store.update(alive.id, status="running", pid=os.getpid(), heartbeat=time.time())
    assert set(store.reap()) == {dead.id, silent.id}
    assert store.get(dead.id).status == "failed" and "ended unexpectedly" in store.get(dead.id).message
    assert store.get(silent.id).status == "interrupted"
    assert store.get(alive.id).status == "running"


def test_a_dead_worker_that_saved_a_checkpoint_says_it_can_go_on_from_there(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(SPEC)
    (run.path / "last.weights.h5").write_bytes(b"weights")
    (run.path / "history.json").write_text('{"loss": [0.9, 0.5]}')
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    store.update(run.id, status="running", pid=proc.pid, heartbeat=time.time())
    assert store.reap() == [run.id]
    cut = store.get(run.id)
    assert cut.status == "failed" and "ended unexpectedly" in cut.message
    assert "checkpoint after epoch 2 is kept: continue it" in cut.message


def test_two_stores_on_one_file_see_each_other(tmp_path):
    a, b = RunStore(tmp_path), RunStore(tmp_path)
    run = a.create(SPEC)
    b.update(run.id, status="running")
    assert a.get(run.id).status == "running"


def test_runs_cut_off_by_a_machine_restart_are_interrupted(tmp_path, monkeypatch):
    import layerlab.runs.store as store_mod

    store = RunStore(tmp_path)
    run = store.create(SPEC)
    store.update(run.id, status="running", pid=os.getpid(), heartbeat=time.time() - 100)
    monkeypatch.setattr(store_mod, "_boot_time", lambda: time.time() - 10)  # booted after its last heartbeat
    assert store.reap() == [run.id]
    assert store.get(run.id).status == "interrupted" and "restarted" in store.get(run.id).message


def test_a_download_is_named_after_the_project_and_run_never_the_run_id(tmp_path):
    """#15 item 9: a downloaded model carries names a person knows, made safe for any file system."""
    store = RunStore(tmp_path)
    named = store.create(SPEC, owner="a", name="../first try: lr 0.001 / ÄÖ")
    default = store.create(SPEC, owner="a")
    assert named.file_stem == "Digits_first_try_lr_0.001"
    assert default.file_stem == "Digits_small_cnn_2"  # a default name already starts with the project's
    for run in (named, default):
        assert run.id not in run.file_stem and "/" not in run.file_stem
