"""Continuing a run: its epochs, steps and optimizer go on where it ended, its bests are kept,
and the rows of a session cut off before its checkpoint are not drawn twice."""

from __future__ import annotations

import json

import h5py
import pytest

from layerlab.project import new_project
from layerlab.train import insights
from layerlab.runs.runner import continue_run
from layerlab.runs.store import RunStore
from layerlab.train.trainer import run_training


@pytest.fixture(scope="module")
def continued(tmp_path_factory: pytest.TempPathFactory):
    """A digits run trained for 2 epochs, then continued in-process for 1 more: (store, run, first rows)."""
    store = RunStore(tmp_path_factory.mktemp("continue-runs"))
    spec = new_project("sample:digits").edit(**{"train.epochs": 2})
    run = run_training(store, store.create(spec, owner="a").id)
    assert run.status == "completed", run.message
    first = store.metrics(run.id)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("layerlab.runs.runner.dispatch", lambda store: [])  # the worker's part runs below
        queued = continue_run(store, run.id, 1, owner="a")
    assert queued.status == "queued" and queued.epoch == 2  # its progress is kept while it waits
    done = run_training(store, run.id)
    assert done.status == "completed", done.message
    return store, done, first


@pytest.mark.slow
def test_epochs_and_steps_go_on_where_the_run_ended(continued):
    store, run, first = continued
    rows = store.metrics(run.id)
    spe = run.steps_per_epoch
    assert rows[: len(first)] == first  # the earlier rows are kept as they were
    epochs = [r for r in rows if r["scope"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2, 3]
    assert [r["step"] for r in epochs] == [spe, 2 * spe, 3 * spe]
    steps = [r["step"] for r in rows if r["scope"] == "batch"]
    assert steps == list(range(1, 3 * spe + 1))  # no restart at 0, no gap, no duplicate
    assert min(r["step"] for r in rows if r["scope"] == "batch" and r["epoch"] == 3) == 2 * spe + 1
    assert (run.epoch, run.step, run.epochs) == (3, 3 * spe, 3)
    xs, _ = insights.per_batch(rows, "loss", spe)
    assert xs == sorted(xs) and len(set(xs)) == len(xs) and xs[-1] == pytest.approx(3.0)
    history = json.loads((run.path / "history.json").read_text())
    assert len(history["loss"]) == 3 and history["val_loss"][:2] == [r["val_loss"] for r in epochs[:2]]


def _saved_optimizer_step(path) -> int:
    """The optimizer's `iterations` in a .weights.h5 file (its first optimizer variable)."""
    with h5py.File(path, "r") as f:
        return int(f["optimizer/vars/0"][()])


@pytest.mark.slow
def test_the_optimizer_state_goes_on_from_the_earlier_step(continued):
    store, run, _ = continued
    spe = run.steps_per_epoch
    log = (run.path / "log.txt").read_text()
    assert f"Restored the optimizer's state: it goes on from step {2 * spe}." in log
    assert _saved_optimizer_step(run.path / "last.weights.h5") == 3 * spe  # not 1 * spe: Adam did not restart


@pytest.mark.slow
def test_the_best_validation_accuracy_is_recorded_beside_the_best_loss(continued):
    store, run, _ = continued
    epochs = store.metrics(run.id, scope="epoch")
    assert (run.best_val_name, run.best_val) == ("val_loss", pytest.approx(min(r["val_loss"] for r in epochs)))
    assert (run.best_metric_name, run.best_metric) == ("val_accuracy",
                                                       pytest.approx(max(r["val_accuracy"] for r in epochs)))


def _callback(store, run_id, **kw):
    import keras

    from layerlab.train.callbacks import StoreCallback

    cb = StoreCallback(store, run_id, steps_per_epoch=2, batch_size=4, **{"flush_s": 0.0, **kw})  # write at once
    cb.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    return cb


def test_a_continued_runs_bests_are_kept_unless_beaten(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(new_project("sample:digits"))
    cb = _callback(store, run.id, epoch=2, step=4, metric="val_accuracy", best={"val_loss": 0.5, "val_accuracy": 0.9})
    cb.on_epoch_end(2, {"loss": 0.6, "val_loss": 0.7, "val_accuracy": 0.8})
    got = store.get(run.id)
    assert (got.best_val, got.best_metric) == (None, None)  # worse than before: nothing written
    assert [(r["epoch"], r["step"]) for r in store.metrics(run.id)] == [(3, 4)]
    cb.on_epoch_end(3, {"loss": 0.3, "val_loss": 0.6, "val_accuracy": 0.95})
    got = store.get(run.id)
    assert (got.best_val, got.best_metric, got.best_metric_name) == (None, 0.95, "val_accuracy")
    cb.on_epoch_end(4, {"loss": 0.2, "val_loss": 0.4, "val_accuracy": float("nan")})
    got = store.get(run.id)
    assert (got.best_val, got.best_val_name, got.best_metric) == (0.4, "val_loss", 0.95)


def test_the_best_mae_is_lowest_and_in_the_targets_units(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(new_project("sample:digits"))
    cb = _callback(store, run.id, metric="val_mae", metric_scale=10.0)
    for epoch, mae in enumerate([0.5, 0.3, 0.4]):
        cb.on_epoch_end(epoch, {"loss": 1.0, "val_loss": 1.0, "val_mae": mae})
    got = store.get(run.id)
    assert (got.best_metric_name, got.best_metric) == ("val_mae", pytest.approx(3.0))


def test_continuing_drops_the_rows_of_a_session_cut_off_before_its_checkpoint(tmp_path, monkeypatch):
    """A worker killed in its 3rd epoch: its checkpoint (and history.json) hold 2 epochs."""
    store = RunStore(tmp_path)
    run = store.create(new_project("sample:digits"), owner="a")
    (run.path / "last.weights.h5").write_bytes(b"x")
    (run.path / "history.json").write_text(json.dumps({"loss": [0.9, 0.5]}))
    rows = [("batch", e, s, 0.0, {"loss": 1.0}) for e, s in ((1, 1), (1, 2), (2, 3), (2, 4), (3, 5))]
    rows += [("epoch", e, 2 * e, 0.0, {"loss": loss}) for e, loss in ((1, 0.9), (2, 0.5), (3, 0.4))]
    store.add_metrics(run.id, rows)
    store.set_status(run.id, "interrupted", "The machine restarted.", epoch=3, step=5)
    monkeypatch.setattr("layerlab.runs.runner.dispatch", lambda store: [])
    continue_run(store, run.id, 2, owner="a")
    assert json.loads((run.path / "continue.json").read_text()) == {"from_epoch": 2, "epochs": 2}
    assert max(r["epoch"] for r in store.metrics(run.id)) == 2
    assert store.get(run.id).epoch == 2


def test_an_older_runs_db_gains_the_new_columns(tmp_path):
    import sqlite3

    con = sqlite3.connect(tmp_path / "runs.db")
    con.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, "
                "run_dir TEXT NOT NULL, created REAL NOT NULL, best_val REAL, best_val_name TEXT)")
    con.execute("INSERT INTO runs VALUES ('old', 'old run', 'completed', ?, 0, 0.3, 'val_loss')", (str(tmp_path),))
    con.commit()
    con.close()
    old = RunStore(tmp_path).get("old")
    assert (old.best_val, old.best_metric, old.best_metric_name) == (0.3, None, None)


@pytest.mark.slow
def test_a_killed_workers_run_keeps_a_checkpoint_that_is_finished_and_continued(tmp_path):
    """SIGKILL mid-run: the run failed, with its saved epochs named; it can be finished (0 more
    epochs: test evaluation and model.keras from the checkpoint) and continued."""
    import os
    import signal
    import time

    from layerlab.predict import load_predictor
    from layerlab.runs.runner import start_run, wait
    from layerlab.runs.store import saved_epochs

    store = RunStore(tmp_path)
    run = start_run(new_project("sample:digits").edit(**{"train.epochs": 500, "train.batch_size": 16}), store,
                    owner="a")
    deadline = time.time() + 180
    while saved_epochs(run.path) < 1 and time.time() < deadline:  # the first epoch is saved at once
        time.sleep(0.1)
    assert saved_epochs(run.path) >= 1, (run.path / "log.txt").read_text()
    os.killpg(store.get(run.id).pid, signal.SIGKILL)
    deadline = time.time() + 30
    while not store.reap() and store.get(run.id).active and time.time() < deadline:
        time.sleep(0.2)
    cut = store.get(run.id)
    saved = saved_epochs(run.path)
    assert cut.status == "failed" and "ended unexpectedly" in cut.message, (cut.status, cut.message)
    assert f"checkpoint after epoch {saved} is kept" in cut.message and "continue it" in cut.message
    assert not (run.path / "model.keras").exists() and not (run.path / "evaluation.json").exists()

    continue_run(store, run.id, 0, owner="a")  # finish it as it is
    done = wait(store, run.id, timeout=180)
    assert done.status == "completed", (done.message, (run.path / "log.txt").read_text()[-2000:])
    assert done.epoch == saved and done.test_metrics["accuracy"] > 0.5
    assert (run.path / "evaluation.json").exists() and load_predictor(run.path).info.kind == "images"
    assert max(r["epoch"] for r in store.metrics(run.id, scope="epoch")) == saved  # no epoch drawn twice

    continue_run(store, run.id, 1, owner="a")
    again = wait(store, run.id, timeout=180)
    assert again.status == "completed" and again.epoch == saved + 1, again.message
    assert saved_epochs(run.path) == saved + 1
