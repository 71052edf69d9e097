"""The worker's cheap writes: the best checkpoint kept in memory, and one store transaction per flush."""

from __future__ import annotations

import numpy as np
import pytest

from layerlab.runs.store import RunStore


def _model():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_best_checkpoint_keeps_the_best_weights_and_writes_at_most_every_few_seconds(tmp_path):
    import keras

    from layerlab.train.callbacks import BestCheckpoint

    model = _model()
    path = tmp_path / "best.keras"
    ckpt = BestCheckpoint(path, every_s=3600)
    ckpt.set_model(model)

    ckpt.on_epoch_end(0, {"val_loss": 1.0})
    assert path.exists(), "the first improvement is written at once"
    first = [w.copy() for w in model.get_weights()]
    stamp = path.stat().st_mtime_ns

    model.set_weights([w + 1 for w in first])
    ckpt.on_epoch_end(1, {"val_loss": 0.5})  # better: kept in memory, not yet written
    assert path.stat().st_mtime_ns == stamp
    model.set_weights([w + 2 for w in first])
    ckpt.on_epoch_end(2, {"val_loss": 0.9})  # worse: ignored
    ckpt.on_epoch_end(3, {"val_loss": float("nan")})
    assert ckpt.best_epoch == 1 and ckpt.best_value == 0.5

    ckpt.on_train_end()
    saved = keras.saving.load_model(path, compile=False).get_weights()
    for got, want in zip(saved, first):
        np.testing.assert_allclose(got, want + 1)
    for now, want in zip(model.get_weights(), first):
        np.testing.assert_allclose(now, want + 2)  # the model keeps training from its current weights
    assert not list(tmp_path.glob("*.partial.keras"))


def test_a_continued_run_only_replaces_a_better_best(tmp_path):
    from layerlab.train.callbacks import BestCheckpoint

    model = _model()
    ckpt = BestCheckpoint(tmp_path / "best.keras", threshold=0.2)
    ckpt.set_model(model)
    ckpt.on_epoch_end(5, {"val_loss": 0.3})
    ckpt.on_train_end()
    assert ckpt.weights is None and not (tmp_path / "best.keras").exists()


def test_report_writes_rows_progress_and_bests_in_one_transaction(tmp_path, tiny_info, tiny_spec):
    store = RunStore(tmp_path / "runs", keep_open=True)
    run = store.create(tiny_spec(tiny_info("table")))
    rows = [("batch", 1, 1, 1.0, {"loss": 0.7}), ("batch", 1, 2, 2.0, {"loss": 0.6})]
    assert store.report(run.id, rows, epoch=1, step=2, best_val=0.6, best_val_name="val_loss") is False
    other = RunStore(tmp_path / "runs")  # a page's handle sees it at once
    got = other.get(run.id)
    assert got.step == 2 and got.best_val == 0.6 and got.heartbeat is not None
    assert [r["loss"] for r in other.metrics(run.id)] == [0.7, 0.6]
    other.request_stop(run.id)
    assert store.report(run.id, [], step=3) is True
    store.close()
    assert store.get(run.id).step == 3, "a closed handle opens again"


def test_tiny_epochs_share_a_flush_and_long_ones_write_at_their_end(tmp_path, tiny_info, tiny_spec):
    import time

    import keras

    from layerlab.train.callbacks import StoreCallback

    store = RunStore(tmp_path / "runs")
    run = store.create(tiny_spec(tiny_info("table")))
    cb = StoreCallback(store, run.id, steps_per_epoch=1, batch_size=4, flush_s=5.0)
    cb.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    cb.on_train_begin()
    cb._last_flush = time.time()  # a flush just happened
    for epoch in range(3):  # epochs of a few ms: no transaction each
        cb.on_epoch_begin(epoch)
        cb.on_train_batch_end(0, {"loss": 1.0})
        cb.on_test_begin()
        cb.on_epoch_end(epoch, {"loss": 1.0, "val_loss": 1.0})
    assert store.metrics(run.id) == []
    cb.on_epoch_begin(3)
    cb._epoch_t0 -= 6.0  # an epoch as long as the flush interval: written at its end
    cb.on_epoch_end(3, {"loss": 0.5, "val_loss": 0.5})
    assert [r["epoch"] for r in store.metrics(run.id, scope="epoch")] == [1, 2, 3, 4]


def test_samples_per_second_leaves_out_the_first_epochs_start_up(tmp_path, tiny_info, tiny_spec, monkeypatch):
    """The first epoch also traces the model: counting it made a 20k samples/s model show 1,650."""
    import keras

    from layerlab.train import callbacks
    from layerlab.train.callbacks import StoreCallback

    clock = [1000.0]
    monkeypatch.setattr(callbacks.time, "time", lambda: clock[0])
    store = RunStore(tmp_path / "runs")
    run = store.create(tiny_spec(tiny_info("table")))
    cb = StoreCallback(store, run.id, steps_per_epoch=10, batch_size=100, flush_s=0.0)
    cb.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    cb.on_train_begin()
    for epoch, seconds in enumerate([10.0, 1.0, 1.0]):  # 1,000 samples an epoch; tracing makes the first slow
        cb.on_epoch_begin(epoch)
        for step in range(10):
            clock[0] += seconds / 10
            cb.on_train_batch_end(step, {"loss": 1.0})
        cb.on_epoch_end(epoch, {"loss": 1.0, "val_loss": 1.0})
        if epoch == 0:
            assert store.get(run.id).samples_per_sec == pytest.approx(100.0)  # all there is so far
    assert store.get(run.id).samples_per_sec == pytest.approx(1000.0)
    clock[0] += 5.0  # saving the model after the last step is not training time
    cb.on_train_end()
    assert store.get(run.id).samples_per_sec == pytest.approx(1000.0)
