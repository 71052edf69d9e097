"""Defaults that learn (issue #15, item 5): a new project trains until validation stops improving,
and the run says why it stopped. Old project files keep the settings they hold."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from layerlab.project import new_project
from layerlab.runs.store import RunStore
from layerlab.spec import TrainSpec, load_spec
from layerlab.train.trainer import run_training, stopped_because


def test_a_new_project_stops_on_a_plateau_with_a_cap_and_the_best_weights():
    t = new_project("sample:penguins").train
    assert t.early_stopping_patience >= 3 and t.early_stopping_metric == "val_loss"
    assert t.restore_best_weights and t.keep_best_checkpoint
    assert t.lr_schedule == "plateau" and 0 < t.lr_decay < 1
    assert t.epochs >= 50  # a cap, not a guess of how many epochs the data needs
    assert TrainSpec() == t


def test_an_old_project_file_keeps_its_explicit_settings():
    old = new_project("sample:penguins").to_dict()
    old["train"].update(epochs=15, lr_schedule="constant", early_stopping_patience=0)
    spec = load_spec(json.loads(json.dumps(old)))
    assert (spec.train.epochs, spec.train.lr_schedule, spec.train.early_stopping_patience) == (15, "constant", 0)
    del old["train"]  # a file without training settings gets the new defaults
    assert load_spec(old).train == TrainSpec()


def _early(stopped: int, best: int) -> SimpleNamespace:
    return SimpleNamespace(stopped_epoch=stopped, best_epoch=best, monitor="val_loss")


def test_stopped_because_says_why_in_words():
    train = TrainSpec(early_stopping_patience=5)
    out = stopped_because(train, 100, 17, False, _early(16, 11), {"val_loss": [1.0] * 17})
    assert out["reason"] == "early_stopping" and out["best_epoch"] == 12 and out["epochs_run"] == 17
    assert out["text"] == ("Stopped early after epoch 17: the validation loss had improved by less than 0.0001 "
                           "in 5 epochs; the model keeps epoch 12's weights.")
    # the weights kept are the best checkpoint's (any gain counts there) when there is one
    assert stopped_because(train, 100, 17, False, _early(16, 11), {}, kept_epoch=13)["best_epoch"] == 14
    out = stopped_because(train, 10, 10, False, _early(0, 9), {"val_loss": [1.0, 0.9, 0.8]})
    assert stopped_because(train, 10, 3, False, None, {"val_loss": [1.0, 0.99999, 0.99998]})["still_improving"] is False
    assert out["reason"] == "epoch_cap" and out["still_improving"] and "more epochs" in out["text"]
    out = stopped_because(train, 10, 10, False, None, {"val_loss": [0.5, 0.9, 0.8]})
    assert out["reason"] == "epoch_cap" and not out["still_improving"] and "more epochs" not in out["text"]
    assert stopped_because(train, 10, 3, True, _early(0, 1), {})["reason"] == "request"
    assert stopped_because(train, 10, 10, False, None, {})["text"] == "Ran all 10 epochs (the cap)."
    assert stopped_because(train, 1, 1, False, None, {})["text"] == "Ran its one epoch (the cap)."  # not "all 1 epochs"


@pytest.mark.slow
def test_a_default_run_records_why_it_stopped(tmp_path):
    store = RunStore(tmp_path)
    spec = new_project("sample:penguins").edit(**{"train.learning_rate": 0.05})  # learns fast, then stalls
    run = run_training(store, store.create(spec).id)
    assert run.status == "completed", run.message
    stopped = run.files.evaluation()["stopped_because"]
    assert stopped["reason"] == "early_stopping" and stopped["epochs_run"] < spec.train.epochs
    assert stopped["text"] in run.message and stopped["text"] in run.files.log_tail()
    assert f"best epoch ({stopped['best_epoch']}," in run.files.log_tail()  # the log agrees on the epoch kept
    rates = [r["learning_rate"] for r in store.metrics(run.id, scope="epoch")]
    assert rates[-1] < rates[0]  # lowered on the plateau before it stopped
