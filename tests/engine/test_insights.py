"""insights: per-batch values from running means, smoothing, progress and ETA (continued runs
included), plain-words hints for crafted curves, and comparing the settings of runs."""

from __future__ import annotations

import math
import time
from types import SimpleNamespace

import pytest

from layerlab.train import insights


def _epochs(loss, val_loss=None, *, lr=1e-3, acc=None):
    rows = []
    for i, v in enumerate(loss):
        row = {"scope": "epoch", "epoch": i + 1, "step": 10 * (i + 1), "t": 100.0 + i, "loss": v,
               "learning_rate": lr, "epoch_seconds": 1.0}
        if val_loss is not None:
            row["val_loss"] = val_loss[i]
        if acc is not None:
            row["accuracy"] = acc[i]
        rows.append(row)
    return rows


def _batches(values_per_epoch, spe, *, first_step=0, t0=0.0, dt=0.1, start_epoch=1):
    """Batch rows holding Keras's running mean of the given per-batch values."""
    rows, step, t = [], first_step, t0
    for e, values in enumerate(values_per_epoch, start=start_epoch):
        total = 0.0
        for i, v in enumerate(values, start=1):
            step += 1
            t += dt
            total += v
            rows.append({"scope": "batch", "epoch": e, "step": step, "t": t, "loss": total / i})
    return rows


def _run(**kw):
    base = dict(status="running", epochs=10, epoch=1, step=0, steps_per_epoch=10, started=0.0)
    return SimpleNamespace(**{**base, **kw})


# ---- smoothing and per-batch values ------------------------------------------------------------


def test_smooth_is_a_debiased_ema():
    assert insights.smooth([1.0, 2.0, 3.0], 0.0) == [1.0, 2.0, 3.0]
    out = insights.smooth([4.0, 4.0, 4.0], 0.9)
    assert out == pytest.approx([4.0, 4.0, 4.0])  # debiased: a constant stays constant from the first point
    noisy = insights.smooth([0.0, 10.0] * 50, 0.9)
    assert 4.0 < noisy[-1] < 6.0 and max(noisy[10:]) - min(noisy[10:]) < 3.0


def test_smooth_passes_gaps_through_and_checks_alpha():
    assert insights.smooth([1.0, None, float("nan"), 3.0], 0.5)[1] is None
    assert math.isnan(insights.smooth([1.0, float("nan")], 0.5)[1])
    with pytest.raises(ValueError, match="Expected a float in \\[0, 1\\). Received: alpha=1"):
        insights.smooth([1.0], 1)


def test_per_batch_recovers_each_batchs_value_from_running_means():
    values = [[3.0, 1.0, 2.0, 2.0], [1.0, 0.5, 0.25, 0.25]]
    xs, ys = insights.per_batch(_batches(values, spe=4), "loss", 4)
    assert ys == pytest.approx([3.0, 1.0, 2.0, 2.0, 1.0, 0.5, 0.25, 0.25])
    assert xs == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0])


def test_per_batch_positions_survive_a_continued_run_restarting_its_step_counter():
    first = _batches([[1.0, 1.0]], spe=2)
    again = _batches([[0.5, 0.5]], spe=2, first_step=0, start_epoch=2)  # the worker counts steps from 0 again
    xs, ys = insights.per_batch(first + again, "loss", 2)
    assert xs == pytest.approx([0.5, 1.0, 1.5, 2.0]) and ys == pytest.approx([1.0, 1.0, 0.5, 0.5])


def test_per_batch_skips_a_batch_whose_predecessor_is_missing_and_clips():
    rows = _batches([[1.0, 2.0, 3.0]], spe=3)
    del rows[1]
    rows[0]["accuracy"], rows[1]["accuracy"] = 0.9, 0.99
    xs, ys = insights.per_batch(rows, "loss", 3)
    assert xs == pytest.approx([1 / 3])  # batch 3 cannot be recovered without batch 2
    acc = [{"scope": "batch", "epoch": 1, "step": 1, "t": 0, "accuracy": 0.5},
           {"scope": "batch", "epoch": 1, "step": 2, "t": 1, "accuracy": 0.9}]
    assert insights.per_batch(acc, "accuracy", 2)[1] == [0.5, 1.0]  # 2·0.9 − 0.5 = 1.3, clipped to 1


# ---- progress, speed and ETA -------------------------------------------------------------------


def test_progress_counts_from_epoch_and_step_within_it():
    assert insights.progress(_run(step=0)) is None
    assert insights.progress(_run(epoch=2, step=15)) == (15, 100)
    # A continued run: epoch 4 of 5, but the worker's step counter restarted (3rd step of this session).
    assert insights.progress(_run(epochs=5, epoch=4, step=3)) == (33, 50)
    assert insights.step_in_epoch(_run(epochs=5, epoch=4, step=13)) == 3


def test_eta_uses_batch_rate_for_this_epoch_and_epoch_time_for_the_rest():
    rows = _batches([[1.0] * 10, [1.0] * 5], spe=10, dt=0.1)  # 10 steps per second
    rows.insert(10, {"scope": "epoch", "epoch": 1, "step": 10, "t": 1.0, "loss": 1.0, "epoch_seconds": 3.0})
    run = _run(epochs=4, epoch=2, step=15, started=0.0)
    # 5 steps left in epoch 2 at 10/s, then 2 epochs of 3 s (validation included).
    assert insights.eta(run, rows) == pytest.approx(0.5 + 6.0)
    assert insights.eta(_run(status="completed", epoch=2, step=15), rows) is None


def test_eta_of_a_continued_run_ignores_the_earlier_session():
    old = _batches([[1.0] * 10], spe=10, t0=0.0, dt=0.1)
    old.append({"scope": "epoch", "epoch": 1, "step": 10, "t": 1.0, "loss": 1.0, "epoch_seconds": 1.0})
    new = _batches([[1.0] * 5], spe=10, t0=1000.0, dt=1.0, start_epoch=2)  # 1 step per second now
    run = _run(epochs=3, epoch=2, step=5, started=999.0)
    assert insights.eta(run, old + new) == pytest.approx(5 + 10)
    # Before the new session's first batch the old step/epoch are stale: no ETA, not "training now".
    assert not insights.training_now(run, old)
    assert insights.eta(run, old) is None


def test_eta_without_rows_goes_by_elapsed_time():
    run = _run(epochs=2, epoch=1, step=5, started=time.time() - 10)
    assert insights.eta(run, [], now=run.started + 10) == pytest.approx(30.0)


def test_throughput_per_epoch_over_its_wall_time():
    rows = _batches([[1.0] * 10, [1.0] * 10], spe=10)
    rows.append({"scope": "epoch", "epoch": 1, "step": 10, "t": 1.0, "epoch_seconds": 2.0})
    rows.append({"scope": "epoch", "epoch": 2, "step": 20, "t": 2.0, "epoch_seconds": 0.5})
    assert insights.throughput(rows, 32) == ([1, 2], [160.0, 640.0])
    assert insights.throughput(rows, None)[1] == [5.0, 20.0]


def test_best_takes_the_metrics_direction():
    rows = _epochs([1.0, 0.5, 0.7], [0.9, 0.4, 0.6])
    for r, a in zip(rows, (0.6, 0.8, 0.7)):
        r["val_accuracy"] = a
    assert insights.best(rows, "val_loss") == (0.4, 2)
    assert insights.best(rows, "val_accuracy") == (0.8, 2)
    assert insights.best(rows, "val_mae") is None


# ---- hints -------------------------------------------------------------------------------------


def test_no_hints_for_a_healthy_run_or_too_few_epochs():
    assert insights.hints(_epochs([2.0, 1.2, 0.8, 0.6], [2.1, 1.3, 0.9, 0.7])) == []
    assert insights.hints(_epochs([1.0, 1.0], [1.0, 1.2])) == []
    assert insights.hints([]) == []


def test_overfitting_is_named_with_what_to_do():
    rows = _epochs([1.0, 0.7, 0.5, 0.35, 0.25], [0.9, 0.6, 0.62, 0.7, 0.8])
    (hint,) = insights.hints(rows)
    assert (hint.kind, hint.level) == ("overfitting", "warning")
    assert "risen for 3 epochs in a row" in hint.text and "best epoch so far was 2" in hint.text
    assert "Dropout" in hint.text and "augmentation" in hint.text and "turn on early stopping" in hint.text
    (with_es,) = insights.hints(rows, early_stopping=True)
    assert "turn on early stopping" not in with_es.text and "let early stopping end the run" in with_es.text


def test_one_rise_of_the_validation_loss_is_not_yet_overfitting():
    assert insights.hints(_epochs([1.0, 0.7, 0.5, 0.35], [0.9, 0.6, 0.5, 0.55])) == []


def test_a_flat_loss_suggests_changing_the_learning_rate():
    (hint,) = insights.hints(_epochs([2.303, 2.302, 2.302, 2.301], [2.303] * 4, lr=1e-5))
    assert (hint.kind, hint.level) == ("flat", "warning")
    assert "not learning" in hint.text and "larger learning rate (e.g. 0.0001)" in hint.text


def test_a_loss_that_levelled_off_after_learning_is_information():
    rows = _epochs([2.0, 1.0, 0.5, 0.402, 0.401, 0.400], [2.0, 1.0, 0.5, 0.45, 0.44, 0.44])
    (hint,) = insights.hints(rows)
    assert (hint.kind, hint.level) == ("plateau", "info") and "levelled off" in hint.text
    assert insights.hints(rows, schedule="plateau") == []


def test_a_rising_or_broken_training_loss_says_lower_the_learning_rate():
    (rising,) = insights.hints(_epochs([1.0, 0.8, 1.5, 3.0], [1.0, 0.8, 1.6, 3.2], lr=0.3))
    assert rising.kind == "diverging" and "Lower it (e.g. from 0.3 to 0.03)" in rising.text
    (nan,) = insights.hints(_epochs([1.0, float("nan")], [1.0, float("nan")], lr=0.1))
    assert nan.kind == "diverged" and "nan" in nan.text and "Lower the learning rate" in nan.text
    assert str(nan) == nan.text


# ---- comparing settings ------------------------------------------------------------------------


def _doc(**train):
    from layerlab.project import new_project

    spec = new_project("sample:digits")
    return spec.edit(**{f"train.{k}": v for k, v in train.items()}).to_dict() if train else spec.to_dict()


def test_flatten_spec_names_data_model_prepare_and_train_settings():
    flat = insights.flatten_spec(_doc())
    assert flat["data.source"] == "sample:digits" and flat["data.kind"] == "images"
    assert flat["model.number of layers"] == len(_doc()["model"]["layers"])
    assert flat["model.layer types"].startswith("Conv2D, ")
    assert flat["model.layer 1"].startswith("Conv2D(filters=")
    assert flat["prepare.image.height"] == 8 and "prepare.table.scale" not in flat  # only the data's own kind
    assert flat["prepare.augment"] == "none" and flat["train.learning_rate"] == 0.001
    assert "train.init_from_run" not in flat  # None values are left out


def test_settings_diff_flags_the_rows_that_differ():
    rows = insights.settings_diff([_doc(), _doc(learning_rate=0.01, epochs=3), _doc(epochs=3)])
    by = {r["setting"]: r for r in rows}
    assert by["train.learning_rate"] == {"setting": "train.learning_rate", "values": [0.001, 0.01, 0.001],
                                         "differs": True}
    assert by["train.epochs"]["differs"] and not by["train.optimizer"]["differs"]
    assert sorted(r["setting"] for r in rows if r["differs"]) == ["train.epochs", "train.learning_rate"]


def test_settings_diff_shows_a_setting_only_one_run_has():
    rows = insights.settings_diff([_doc(), {**_doc(), "train": {**_doc()["train"], "init_from_run": "x"}}])
    (row,) = [r for r in rows if r["setting"] == "train.init_from_run"]
    assert row["values"] == [None, "x"] and row["differs"]


def test_settings_only_some_runs_have_sit_with_their_section():
    small, big = _doc(), _doc()
    big["model"]["layers"] = big["model"]["layers"] + [{"type": "Dense", "params": {"units": 8}, "name": None}]
    n = len(small["model"]["layers"])
    names = [r["setting"] for r in insights.settings_diff([small, big])]
    assert names.index(f"model.layer {n + 1}") == names.index(f"model.layer {n}") + 1
    assert names.index(f"model.layer {n + 1}") < names.index("prepare.image.height")
    table = insights.settings_diff([small, {**_doc(), "data": {"kind": "table", "source": "t.csv"}}])
    names = [r["setting"] for r in table]
    assert names.index("data.kind") < names.index("model.template") < names.index("train.epochs")


def test_weights_fit_needs_the_same_data_and_layers():
    base = _doc()
    assert insights.weights_fit(base, _doc(learning_rate=0.01, epochs=2))
    other = _doc()
    other["prepare"]["split"]["seed"] = 7
    other["prepare"]["augment"] = [{"type": "RandomFlip", "params": {}}]
    assert insights.weights_fit(base, other)
    bigger = _doc()
    bigger["model"]["layers"][0]["params"]["filters"] = 8
    assert not insights.weights_fit(base, bigger)
    resized = _doc()
    resized["prepare"]["image"]["height"] = 16
    assert not insights.weights_fit(base, resized)


# ---- learned nothing: the live hint and the verdict (issue #15, item 4) ---------------------------


def _with_val_acc(rows, acc):
    return [{**r, "val_accuracy": a} for r, a in zip(rows, acc)]


def test_an_accuracy_stuck_at_its_first_value_is_flagged_while_the_loss_still_falls():
    # A model that learns the class shares and nothing else: the loss falls by more than 10%, so the
    # "flat" rule stays silent, but the validation accuracy never leaves the majority share.
    rows = _with_val_acc(_epochs([1.10, 0.80, 0.70, 0.66, 0.655], [0.9, 0.75, 0.68, 0.66, 0.655]), [0.644] * 5)
    found = insights.hints(rows, early_stopping=True, schedule="plateau")
    assert [h.kind for h in found] == ["stuck"] and found[0].level == "warning"
    assert "64.4%" in found[0].text and "class weights" in found[0].text
    # a flat curve at the baseline from the start is caught as well
    flat = _with_val_acc(_epochs([1.0986] * 4, [1.0986] * 4), [0.333] * 4)
    assert [h.kind for h in insights.hints(flat)] == ["stuck"]


def test_a_learning_accuracy_is_not_flagged():
    rows = _with_val_acc(_epochs([1.1, 0.8, 0.6, 0.5], [1.0, 0.8, 0.6, 0.5]), [0.5, 0.62, 0.71, 0.78])
    assert insights.hints(rows) == []
    assert insights.hints(_with_val_acc(_epochs([1.1, 0.8], [1.0, 0.8]), [0.5, 0.5])) == []  # too early to judge
