"""Two-phase fine-tuning (#18): phase 1 leaves the frozen layers as they are, phase 2 unfreezes exactly the
frozen part's top N weight-holding layers (batch normalisation stays frozen) at the lower rate; the history,
the log, the store and the CLI show both phases; stop and continue keep to the phase a run was in."""

from __future__ import annotations

import json

import numpy as np
import pytest

from layerlab.project import new_project
from layerlab.runs.runner import continue_run
from layerlab.runs.store import RunStore
from layerlab.spec import load_spec
from layerlab.train import phases
from layerlab.train.trainer import run_training

# Digits (8×8): a small CNN whose first four layers are frozen. The batch normalisation sits between the
# two convolutions that phase 2 unfreezes (fine_tune_layers=2): it must stay frozen all the same.
BODY = [
    {"type": "Conv2D", "params": {"filters": 8, "kernel_size": 3, "padding": "same"}, "name": "c1", "trainable": False},
    {"type": "Conv2D", "params": {"filters": 8, "kernel_size": 3, "padding": "same"}, "name": "c2", "trainable": False},
    {"type": "BatchNormalization", "params": {}, "name": "bn", "trainable": False},
    {"type": "Conv2D", "params": {"filters": 8, "kernel_size": 3, "padding": "same"}, "name": "c3", "trainable": False},
    {"type": "GlobalAveragePooling2D", "params": {}},
    {"type": "Dense", "params": {"units": 16, "activation": "relu"}, "name": "d"},
]
STILL, UNFROZEN, LEARNING = ("c1", "bn"), ("c2", "c3"), ("d", "head")


def fine_tune_spec(epochs: int = 2, layers: int = 2, fine_epochs: int = 3):
    doc = new_project("sample:digits").to_dict()
    doc["model"]["layers"] = BODY
    doc["train"].update(epochs=epochs, fine_tune_layers=layers, fine_tune_epochs=fine_epochs, fine_tune_lr_factor=0.1,
                        early_stopping_patience=0, restore_best_weights=False, lr_schedule="constant")
    return load_spec(doc)


def _weights(core) -> dict[str, list[np.ndarray]]:
    """Every variable of the core's layers by layer name (BatchNormalization's moving statistics included)."""
    return {layer.name: [np.array(w) for w in layer.weights] for layer in core.layers if layer.weights}


def _changed(before, after, name: str) -> bool:
    return any(not np.array_equal(a, b) for a, b in zip(before[name], after[name]))


def _watch(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Snapshots of the core model's weights: "built" (before training or loading), "phase 2" (where phase 2
    starts) and the core itself ("core"), so a test can read its weights when the run has ended."""
    from layerlab.models import build

    seen: dict = {}
    real_build, real_start = build.build_model, phases.start_phase_2

    def build_model(*args, **kw):
        seen["core"] = core = real_build(*args, **kw)
        seen["built"] = _weights(core)
        return core

    def start_phase_2(model, core, *args, **kw):
        seen["phase 2"] = _weights(core)
        return real_start(model, core, *args, **kw)

    monkeypatch.setattr(build, "build_model", build_model)
    monkeypatch.setattr(phases, "start_phase_2", start_phase_2)
    return seen


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> dict:
    return _watch(monkeypatch)


# ---- without training ---------------------------------------------------------------------------------


def test_a_frozen_layer_is_built_frozen_and_counts_no_trainable_parameters(tiny_info):
    from layerlab.models.build import build_model, check_model

    info = tiny_info("images", shape=(8, 8, 1), classes=10)
    spec = fine_tune_spec()
    core = build_model(spec, info)
    assert [core.get_layer(n).trainable for n in ("c1", "c2", "bn", "c3", "d")] == [False] * 4 + [True]
    report = check_model(spec, info)
    trainable = sum(core.get_layer(n).count_params() for n in LEARNING)
    assert report.trainable_params == trainable == sum(int(np.prod(w.shape)) for w in core.trainable_weights)
    assert report.total_params == core.count_params() > trainable


@pytest.mark.parametrize("wrapped", [False, True], ids=["model", "layer wrapping a model"])
def test_phase_2_unfreezes_the_top_layers_inside_a_frozen_model_and_keeps_batch_norm_frozen(wrapped):
    """A block that is a whole model, or a layer around one (as a pretrained backbone with its input scaling
    is): the model's own layers count, from the top."""
    import keras

    from layerlab.train.phases import unfreeze_top

    class Wrapper(keras.layers.Layer):
        def __init__(self, network, **kw):
            super().__init__(**kw)
            self.network = network

        def call(self, x):
            return self.network(x * 2.0)

    x = keras.Input((8, 8, 1))
    y = keras.layers.Conv2D(4, 3, name="b1")(x)
    y = keras.layers.BatchNormalization(name="b_bn")(y)
    y = keras.layers.Conv2D(4, 3, name="b2")(y)
    y = keras.layers.Conv2D(4, 3, name="b3")(y)
    network = keras.Model(x, y, name="network")
    block = Wrapper(network, name="backbone") if wrapped else network
    block.trainable = False
    inp = keras.Input((8, 8, 1))
    out = keras.layers.Dense(2, name="head")(keras.layers.GlobalAveragePooling2D()(block(inp)))
    core = keras.Model(inp, out)

    assert unfreeze_top(core, 2) == ["b2", "b3"]
    assert block.trainable and [network.get_layer(n).trainable for n in ("b1", "b_bn", "b2", "b3")] == \
        [False, False, True, True]
    assert {id(w) for w in core.trainable_weights} == {id(w) for n in ("b2", "b3") for w in network.get_layer(n).weights} \
        | {id(w) for w in core.get_layer("head").weights}


def test_asking_for_more_layers_than_the_frozen_part_holds_unfreezes_them_all_but_batch_norm(tiny_info):
    from layerlab.models.build import build_model

    core = build_model(fine_tune_spec(), tiny_info("images", shape=(8, 8, 1), classes=10))
    names = phases.unfreeze_top(core, 50)
    assert names == ["c1", "c2", "c3"] and not core.get_layer("bn").trainable
    assert "all 3 weight-holding layer(s)" in phases.describe_unfrozen(names, 50)


def test_phase_2_is_planned_only_with_a_frozen_layer_and_layers_to_unfreeze():
    spec = fine_tune_spec()
    assert phases.planned(spec) and not phases.planned(spec.edit(**{"train.fine_tune_layers": 0}))
    plain = new_project("sample:digits").edit(**{"train.fine_tune_layers": 3})
    assert not phases.has_frozen(plain) and not phases.planned(plain)
    assert phases.phase_2_spec(spec).train.learning_rate == pytest.approx(spec.train.learning_rate * 0.1)
    assert phases.phase_2_start({"loss": [1, 1, 1], "phase": [1, 1, 2]}) == 2
    assert phases.phase_2_start({"loss": [1, 1]}) is None  # a history from before phases were recorded


def test_the_last_checkpoint_records_each_epochs_phase_and_fills_in_an_older_history(tmp_path):
    import keras

    from layerlab.train.callbacks import LastCheckpoint

    last = LastCheckpoint(tmp_path, history={"loss": [0.9, 0.8]})
    last.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    last.on_epoch_end(2, {"loss": 0.7})
    last.phase = 2
    last.on_epoch_end(3, {"loss": 0.6})
    last.write()
    assert json.loads((tmp_path / "history.json").read_text()) == {"loss": [0.9, 0.8, 0.7, 0.6],
                                                                   "phase": [1, 1, 1, 2]}


# ---- training ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stopped_in_phase_2(tmp_path_factory: pytest.TempPathFactory):
    """A run with 2 phase-1 epochs whose stop is asked for as phase 2 starts: (store, run, snapshots)."""
    store = RunStore(tmp_path_factory.mktemp("phase-runs"))
    run = store.create(fine_tune_spec(), owner="a")
    with pytest.MonkeyPatch.context() as mp:
        seen = _watch(mp)
        real = phases.start_phase_2

        def and_stop(*args, **kw):
            fine = real(*args, **kw)
            store.request_stop(run.id)
            return fine

        mp.setattr(phases, "start_phase_2", and_stop)
        done = run_training(store, run.id)
    seen["end"] = _weights(seen["core"])
    return store, done, seen


@pytest.mark.slow
def test_phase_1_changes_only_the_layers_that_are_not_frozen(stopped_in_phase_2):
    _, _, seen = stopped_in_phase_2
    built, phase_2 = seen["built"], seen["phase 2"]
    assert not any(_changed(built, phase_2, n) for n in STILL + UNFROZEN), "a frozen layer changed in phase 1"
    assert all(_changed(built, phase_2, n) for n in LEARNING)


@pytest.mark.slow
def test_phase_2_changes_exactly_the_top_layers_of_the_frozen_part(stopped_in_phase_2):
    _, _, seen = stopped_in_phase_2
    phase_2, end = seen["phase 2"], seen["end"]
    assert all(_changed(phase_2, end, n) for n in UNFROZEN + LEARNING)
    assert not any(_changed(phase_2, end, n) for n in STILL), "c1 or the batch norm (its moving statistics) changed"


@pytest.mark.slow
def test_the_history_log_and_store_record_both_phases_and_a_stop_ends_phase_2(stopped_in_phase_2):
    store, run, _ = stopped_in_phase_2
    assert run.status == "stopped", run.message
    history = json.loads((run.path / "history.json").read_text())
    assert history["phase"] == [1, 1, 2] and len(history["loss"]) == 3
    assert (run.fine_tune_from, run.epochs) == (2, 5)  # the progress bar's total: 2 + phase 2's 3
    log = (run.path / "log.txt").read_text()
    assert "Training for up to 2 epochs, then phase 2 (fine-tuning) for up to 3" in log
    assert ("Phase 2 (fine-tuning) starts after epoch 2: unfroze the top 2 layer(s) of the frozen part (c2, c3); "
            "batch normalisation stays frozen; learning rate 0.0001 (× 0.1), up to 3 epoch(s).") in log
    rates = [r["learning_rate"] for r in store.metrics(run.id, scope="epoch")]
    assert rates == pytest.approx([1e-3, 1e-3, 1e-4])


@pytest.mark.slow
def test_a_run_stopped_in_phase_2_continues_in_phase_2(stopped_in_phase_2, watch, monkeypatch):
    store, run, before = stopped_in_phase_2
    monkeypatch.setattr("layerlab.runs.runner.dispatch", lambda store: [])
    continue_run(store, run.id, 1, owner="a")
    done = run_training(store, run.id)
    assert done.status == "completed", done.message
    end = _weights(watch["core"])
    assert all(_changed(before["end"], end, n) for n in UNFROZEN + LEARNING)
    assert not any(_changed(before["end"], end, n) for n in STILL)
    assert json.loads((run.path / "history.json").read_text())["phase"] == [1, 1, 2, 2]
    assert (done.fine_tune_from, done.epochs) == (2, 4)
    log = (run.path / "log.txt").read_text()
    assert "Continuing phase 2 (fine-tuning, since epoch 2): unfrozen the top 2 layer(s)" in log
    assert log.count("Phase 2 (fine-tuning) starts") == 1  # continued, not started again
    assert [r["learning_rate"] for r in store.metrics(run.id, scope="epoch")][-1] == pytest.approx(1e-4)


@pytest.mark.slow
def test_a_stop_in_phase_1_starts_no_phase_2_and_continuing_finishes_phase_1_first(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    run = store.create(fine_tune_spec(epochs=3, fine_epochs=1), owner="a")
    store.request_stop(run.id)  # heard at the first flush: phase 1 ends after its first epoch
    done = run_training(store, run.id)
    assert done.status == "stopped", done.message
    assert json.loads((run.path / "history.json").read_text())["phase"] == [1]
    assert done.fine_tune_from is None and "Phase 2" not in (run.path / "log.txt").read_text()

    monkeypatch.setattr("layerlab.runs.runner.dispatch", lambda store: [])
    continue_run(store, run.id, 1, owner="a")
    again = run_training(store, run.id)
    assert again.status == "completed", again.message
    assert json.loads((run.path / "history.json").read_text())["phase"] == [1, 1, 2]
    assert (again.fine_tune_from, again.epochs) == (2, 3)
    assert "Phase 2 (fine-tuning) starts after epoch 2" in (run.path / "log.txt").read_text()


@pytest.mark.slow
def test_the_cli_prints_both_phases_and_its_json_line(tmp_path, capsys):
    from layerlab.cli import main

    project = tmp_path / "project.json"
    project.write_text(json.dumps(fine_tune_spec(epochs=1, layers=1, fine_epochs=1).to_dict()))
    assert main(["train", str(project), "--runs-dir", str(tmp_path / "runs")]) == 0
    lines = capsys.readouterr().out.splitlines()
    text = "\n".join(lines)
    assert "Phase 2 (fine-tuning) starts after epoch 1: unfroze the top 1 layer(s) of the frozen part (c3)" in text
    assert any(line.startswith("epoch 1:") for line in lines) and any(line.startswith("epoch 2:") for line in lines)
    summary = json.loads(lines[-1])
    assert summary["status"] == "completed" and "accuracy" in summary["metrics"]


@pytest.mark.slow
def test_a_pruned_trial_starts_no_phase_2(tmp_path, monkeypatch):
    import keras

    class PrunedAtOnce(keras.callbacks.Callback):
        """Stands in for the Optuna trial's callback: the study prunes the trial after its first epoch."""

        def __init__(self, study, number, scale=None, echo=None):
            super().__init__()
            self.metric, self.pruned_after = "val_loss", None

        def on_epoch_end(self, epoch, logs=None):
            self.pruned_after = epoch + 1
            self.model.stop_training = True

    monkeypatch.setattr("layerlab.train.callbacks.TrialCallback", PrunedAtOnce)
    store = RunStore(tmp_path)
    run = store.create(fine_tune_spec(epochs=3), owner="a", study="s", trial=0)
    done = run_training(store, run.id)
    assert done.status == "pruned", done.message
    assert json.loads((run.path / "history.json").read_text())["phase"] == [1]
    assert done.fine_tune_from is None and "Phase 2" not in (run.path / "log.txt").read_text()
