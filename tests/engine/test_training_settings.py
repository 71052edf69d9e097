"""Training settings do what they say: early stopping stops, a seed repeats a run, the plateau
schedule lowers the rate, running out of device memory is explained, the store runs in WAL mode."""

from __future__ import annotations

import sqlite3

import pytest

from layerlab.project import new_project
from layerlab.runs.store import RunStore
from layerlab.train.trainer import MIN_DELTA, run_training


def penguins(epochs: int, **train):
    spec = new_project("sample:penguins")
    return spec.edit(**{"train.epochs": epochs, **{f"train.{k}": v for k, v in train.items()}})


def _epochs(store: RunStore, run_id: str) -> list[dict]:
    return store.metrics(run_id, scope="epoch")


@pytest.mark.slow
def test_early_stopping_ends_the_run_once_validation_stops_improving(tmp_path):
    store = RunStore(tmp_path)
    # A high rate: the validation loss bottoms out within a few dozen epochs of 300.
    run = run_training(store, store.create(penguins(300, learning_rate=0.05, early_stopping_patience=3)).id)
    rows = _epochs(store, run.id)
    assert run.status == "completed", run.message
    assert 3 < len(rows) < 300
    best, low = 0, rows[0]["val_loss"]
    for i, r in enumerate(rows):  # the last epoch that improved by at least MIN_DELTA counts as the best
        if r["val_loss"] < low - MIN_DELTA:
            best, low = i, r["val_loss"]
    assert len(rows) - 1 - best == 3  # it waited `patience` epochs after the best one, no more
    assert run.test_metrics["accuracy"] > run.test_metrics["baseline_accuracy"]


@pytest.mark.slow
def test_the_same_seed_trains_the_same_run_and_another_seed_does_not(tmp_path):
    store = RunStore(tmp_path)
    losses = []
    for seed in (7, 7, 8):
        run = run_training(store, store.create(penguins(3, seed=seed)).id)
        assert run.status == "completed", run.message
        losses.append([r["loss"] for r in _epochs(store, run.id)])
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    assert losses[0] != pytest.approx(losses[2], rel=1e-6)


@pytest.mark.slow
def test_the_plateau_schedule_lowers_the_rate_when_validation_stalls(tmp_path):
    store = RunStore(tmp_path)
    # So small a rate that the validation loss moves less than Keras' min_delta: a plateau at once.
    spec = penguins(6, learning_rate=1e-7, lr_schedule="plateau", lr_decay=0.5)
    run = run_training(store, store.create(spec).id)
    rates = [r["learning_rate"] for r in _epochs(store, run.id)]
    assert run.status == "completed", run.message
    assert rates[0] == pytest.approx(1e-7)
    assert rates[-1] <= rates[0] * 0.5 * 1.001  # cut by lr_decay at least once
    assert sorted(rates, reverse=True) == rates  # it only ever goes down


@pytest.mark.slow
def test_running_out_of_device_memory_fails_the_run_with_what_to_do(tmp_path, monkeypatch):
    import keras
    import tensorflow as tf

    def oom(self, *args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[4096,4096]")

    monkeypatch.setattr(keras.Model, "fit", oom)
    store = RunStore(tmp_path)
    run = run_training(store, store.create(penguins(1)).id)
    assert run.status == "failed"
    assert "ran out of memory" in run.message and "smaller batch size" in run.message
    assert "Traceback" not in run.message
    assert "ResourceExhaustedError" in (run.path / "log.txt").read_text()  # the detail stays in the log


def test_the_store_is_in_wal_mode_so_pages_read_while_a_worker_writes(tmp_path):
    store = RunStore(tmp_path)
    store.create(penguins(1))
    con = sqlite3.connect(store.db_path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    finally:
        con.close()
