"""Train page controls: every setting edits the project, GPU-only options follow the machine,
fine-tuning and continuing start the right runs (real finished digits runs, trained in-process)."""

from __future__ import annotations

import json

import pytest

from components import train_controls
from layerlab.spec import load_spec
from layerlab.runs.store import RunStore
from tests.pages.trained import OWNER, digits_spec, fake_active_run, plotly_figure, train_digits
from tests.pages.trained import shared_home  # noqa: F401 - this module's "home" fixture

PAGE = "pages/train.py"


@pytest.fixture(scope="module")
def source(home):
    """A real finished run of this session to fine-tune from."""
    return train_digits(RunStore(), OWNER, epochs=1, name="source run")


@pytest.fixture(scope="module")
def misfit(home):
    """A finished run whose layers differ from the project's: its weights cannot start it."""
    spec = digits_spec()
    layers = [layer.model_dump() for layer in spec.model.layers]
    layers[0]["params"]["filters"] = 8
    store = RunStore()
    run = store.create(spec.edit(**{"model.layers": layers}), owner=OWNER, name="other layers")
    (run.path / "last.weights.h5").write_bytes(b"not used")
    store.set_status(run.id, "completed", "Finished.")
    return store.get(run.id)


@pytest.fixture
def no_workers(monkeypatch: pytest.MonkeyPatch) -> list:
    """Start and continue queue runs without launching worker processes; records dispatches."""
    calls: list = []
    monkeypatch.setattr("layerlab.runs.runner.dispatch", lambda store: calls.append(store) or [])
    return calls


@pytest.fixture
def gpus(monkeypatch: pytest.MonkeyPatch):
    """gpus([...]): the GPU names this machine reports to the page."""
    def use(names: list[str]) -> None:
        monkeypatch.setattr("layerlab.device.gpu_names_quick", lambda: list(names))
    use([])
    return use


def _open(app, spec=None, **extra):
    return app(PAGE, state={"project": spec or digits_spec(), "pid": OWNER, **extra})


def _train(at):
    return at.session_state["project"].train


def _texts(at) -> str:
    kinds = ("markdown", "caption", "info", "warning", "error", "success")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def test_every_control_edits_the_projects_training_settings(app, home, gpus):
    gpus(["NVIDIA H100"])
    at = _open(app)
    assert not at.exception

    at.number_input(key="train_epochs").set_value(5).run()
    at.selectbox(key="train_batch").set_value(64).run()
    at.selectbox(key="train_optimizer").set_value("sgd").run()
    at.select_slider(key="train_lr").set_value(0.01).run()
    at.selectbox(key="train_schedule").set_value("exponential").run()
    at.select_slider(key="train_decay").set_value(0.9).run()
    at.toggle(key="train_es").set_value(True).run()
    assert _train(at).early_stopping_patience == train_controls.DEFAULT_PATIENCE
    at.number_input(key="train_patience").set_value(3).run()
    at.selectbox(key="train_es_metric").set_value("val_accuracy").run()
    at.toggle(key="train_restore").set_value(False).run()
    at.toggle(key="train_keep_best").set_value(False).run()
    at.number_input(key="train_seed").set_value(7).run()
    at.toggle(key="train_mixed").set_value(True).run()
    at.toggle(key="train_xla").set_value(True).run()

    assert not at.exception and not at.error
    t = _train(at)
    assert (t.epochs, t.batch_size, t.optimizer, t.learning_rate) == (5, 64, "sgd", 0.01)
    assert (t.lr_schedule, t.lr_decay) == ("exponential", 0.9)
    assert (t.early_stopping_patience, t.early_stopping_metric, t.restore_best_weights) == (3, "val_accuracy", False)
    assert (t.keep_best_checkpoint, t.seed, t.mixed_precision, t.xla) == (False, 7, True, True)
    assert load_spec(home / "projects" / f"{OWNER}.json").train == t  # saved, so a reload finds it
    assert "exponential decay learning rate (× 0.9) · early stopping after 3 epochs without a better " \
           "validation accuracy · seed 7 · mixed precision · XLA" in _texts(at)

    at.toggle(key="train_es").set_value(False).run()
    assert _train(at).early_stopping_patience == 0
    assert at.number_input(key="train_patience").disabled and at.selectbox(key="train_es_metric").disabled
    at.toggle(key="train_es").set_value(True).run()
    assert _train(at).early_stopping_patience == 3  # the patience is remembered


def test_the_decay_factor_is_only_offered_for_schedules_that_use_it(app, home, gpus):
    at = _open(app)
    assert not at.select_slider(key="train_decay").disabled  # plateau, the default since #15
    assert "Multiplies the learning rate by the decay factor when the validation loss" in _texts(at)
    at.selectbox(key="train_schedule").set_value("constant").run()
    assert at.select_slider(key="train_decay").disabled and _train(at).lr_schedule == "constant"
    at.selectbox(key="train_schedule").set_value("plateau").run()
    assert not at.select_slider(key="train_decay").disabled
    at.selectbox(key="train_schedule").set_value("cosine").run()
    assert at.select_slider(key="train_decay").disabled and _train(at).lr_schedule == "cosine"


def test_early_stopping_watches_the_metric_the_task_has(app, home, gpus):
    at = _open(app)
    assert at.selectbox(key="train_es_metric").options == ["validation loss", "validation accuracy"]


def test_without_a_gpu_mixed_precision_and_xla_are_disabled_with_the_reason(app, home, gpus):
    gpus([])
    at = _open(app)

    assert not at.exception
    for key in ("train_mixed", "train_xla"):
        assert at.toggle(key=key).disabled
        assert at.toggle(key=key).help == "Needs an NVIDIA GPU; this machine trains on the CPU."
    assert "Mixed precision and XLA needs an NVIDIA GPU; this machine trains on the CPU." in _texts(at)
    assert "Trains on: **CPU — no GPU found**" in at.caption[0].value


def test_with_a_gpu_mixed_precision_and_xla_are_offered(app, home, gpus):
    gpus(["NVIDIA H100"])
    at = _open(app)

    assert not at.exception
    assert not at.toggle(key="train_mixed").disabled and not at.toggle(key="train_xla").disabled
    assert "needs an NVIDIA GPU" not in _texts(at)
    assert "Trains on: **NVIDIA H100**" in at.caption[0].value


def test_controls_are_locked_while_this_sessions_run_trains(app, home, gpus):
    store = RunStore()
    run = fake_active_run(store, digits_spec(), epochs=5, epoch=1, step=3, steps_per_epoch=40)
    try:
        at = _open(app, run_id=run.id)
        assert not at.exception
        for widget in (at.number_input(key="train_epochs"), at.selectbox(key="train_schedule"),
                       at.toggle(key="train_es"), at.number_input(key="train_seed"), at.selectbox(key="train_init")):
            assert widget.disabled, widget.key
        assert not [b for b in at.button if b.key == "train_continue"]
    finally:
        store.set_status(run.id, "stopped")


@pytest.mark.slow
def test_fine_tune_offers_finished_runs_whose_weights_fit_and_starts_from_one(app, home, gpus, source, misfit,
                                                                             no_workers):
    store = RunStore()
    at = _open(app)
    picker = at.selectbox(key="train_init")
    assert picker.value == train_controls.FRESH and not picker.disabled
    assert picker.options[0] == "Fresh random weights"
    assert [o for o in picker.options[1:] if o.startswith("Fine-tune: source run · test accuracy ")]
    assert not any("other layers" in o for o in picker.options)

    picker.set_value(source.id).run()
    assert _train(at).init_from_run == source.id
    at.number_input(key="train_epochs").set_value(2).run()
    at.button(key="train_start").click().run()

    assert not at.exception
    run_id = at.session_state["run_id"]
    assert run_id != source.id and no_workers
    run = store.get(run_id)
    assert (run.owner, run.status) == (OWNER, "queued")
    started_with = load_spec(run.path / "project.json").train
    assert (started_with.init_from_run, started_with.epochs) == (source.id, 2)
    store.request_stop(run_id)


@pytest.mark.slow
def test_fine_tune_from_the_current_finished_run(app, home, gpus, source):
    at = _open(app, run_id=source.id)
    assert not at.exception
    assert "Train more" in _texts(at)

    at.button(key="train_finetune_this").click().run()

    assert not at.exception
    assert _train(at).init_from_run == source.id
    assert at.selectbox(key="train_init").value == source.id
    assert "The next run starts from these weights." in _texts(at)


def test_a_misfit_run_cannot_be_fine_tuned_from(app, home, gpus, misfit):
    at = _open(app, run_id=misfit.id)
    assert at.button(key="train_finetune_this").disabled


def test_a_gone_source_run_falls_back_to_fresh_weights(app, home, gpus):
    spec = digits_spec().edit(**{"train.init_from_run": "20200101-000000-abcdef"})
    at = _open(app, spec)

    assert not at.exception
    assert _train(at).init_from_run is None
    assert at.selectbox(key="train_init").value == train_controls.FRESH
    assert "no longer exists" in at.toast[0].value


@pytest.mark.slow
def test_continue_queues_the_same_run_for_more_epochs(app, home, gpus, no_workers):
    store = RunStore()
    run = train_digits(store, OWNER, epochs=1, name="to continue")
    at = _open(app, run_id=run.id)
    at.number_input(key="train_more").set_value(2).run()
    at.button(key="train_continue").click().run()

    assert not at.exception
    assert at.session_state["run_id"] == run.id and no_workers
    assert store.get(run.id).status == "queued"
    assert json.loads((run.path / "continue.json").read_text()) == {"from_epoch": 1, "epochs": 2}
    assert at.button(key="train_start").disabled  # this session's run is active again

    # The worker's part, in-process: the run trains on, and its curves go on from epoch 1.
    from layerlab.train.trainer import run_training

    done = run_training(store, run.id)
    assert done.status == "completed", done.message
    at.run()
    assert not at.exception
    fig = plotly_figure(at.get("plotly_chart")[0])
    assert list([d for d in fig.data if d.name == "validation" and d.xaxis == "x"][0].x) == [1, 2, 3]
    batch = [d for d in fig.data if d.name == "train (per batch)" and d.xaxis == "x"][0]
    assert batch.x[-1] == pytest.approx(3.0) and sorted(batch.x) == list(batch.x)  # no restart at epoch 0
    assert {m.label for m in at.metric} >= {"Best val. accuracy", "Best val. loss", "Duration"}


@pytest.mark.slow
def test_a_run_cut_off_before_its_evaluation_is_evaluated_as_it_is(app, home, gpus, no_workers):
    """A worker killed after its checkpoint: no model.keras nor evaluation yet, so no Evaluate or
    Predict links; one button tests the checkpoint and saves the model, without training more."""
    from tests.pages.trained import page_links

    store = RunStore()
    run = train_digits(store, OWNER, epochs=1, name="cut off")
    for name in ("model.keras", "evaluation.json"):
        (run.path / name).unlink()
    store.set_status(run.id, "failed", "The training process ended unexpectedly (it may have run out of "
                     "memory or been killed). Its checkpoint after epoch 1 is kept: continue it from there, or train again.")
    at = _open(app, run_id=run.id)

    assert not at.exception
    assert "Evaluate this run" not in page_links(at) and "Predict with it" not in page_links(at)
    assert "Its checkpoint holds 1 epoch(s)" in _texts(at)
    at.button(key="train_finish").click().run()

    assert not at.exception and no_workers
    assert json.loads((run.path / "continue.json").read_text()) == {"from_epoch": 1, "epochs": 0}
    assert store.get(run.id).status == "queued" and "Finishing" in store.get(run.id).message
    from layerlab.train.trainer import run_training

    done = run_training(store, run.id)
    assert done.status == "completed" and done.epoch == 1 and done.has_model, done.message
    assert (run.path / "evaluation.json").exists()
    at.run()
    assert not at.exception
    assert {"Evaluate this run", "Predict with it"} <= set(page_links(at))
    assert "train_finish" not in [b.key for b in at.button]


def test_another_sessions_finished_run_cannot_be_continued(app, home, gpus):
    store = RunStore()
    run = store.create(digits_spec(), owner="cli", name="from the terminal")
    (run.path / "last.weights.h5").write_bytes(b"x")
    store.set_status(run.id, "completed", "Finished.")
    at = _open(app, run_id=run.id)

    assert not at.exception
    assert not [b for b in at.button if b.key in ("train_continue", "train_finetune_this")]
    assert "Train more" not in _texts(at)


@pytest.mark.parametrize("change, words", [
    ({"model.start_from_run": "20261207-070000-abcdef"}, "As on Build: the earlier run's layers and weights"),
    ({"model.template": "mobilenet_v3_small", "model.layers": [
        {"type": "Backbone", "params": {"architecture": "MobileNetV3Small"}, "trainable": False},
        {"type": "GlobalAveragePooling2D"}]}, "As on Build: pretrained layers"),
], ids=["start from a run", "pretrained backbone"])
def test_start_from_names_what_build_set_up_instead_of_random_weights(app, home, change, words):
    """A project that starts from an earlier run or a pretrained network does not start from random weights."""
    at = _open(app, digits_spec().edit(**change))
    assert not at.exception
    assert at.selectbox(key="train_init").options[0].startswith(words)
