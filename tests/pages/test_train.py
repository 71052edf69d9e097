"""Train page: settings into the project, Start/Stop, the live view of the current run, reattaching."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from layerlab.device import NO_GPU, gpu_names_quick
from layerlab.spec import load_spec
from layerlab.train.store import RunStore
from tests.pages.trained import OWNER, digits_spec, fake_active_run, page_links, plotly_figure

PAGE = "pages/train.py"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh LAYERLAB_HOME per test: its own projects and runs."""
    path = tmp_path / "home"
    monkeypatch.setenv("LAYERLAB_HOME", str(path))
    monkeypatch.delenv("LAYERLAB_RUNS_DIR", raising=False)
    return path


@pytest.fixture
def spec():
    return digits_spec()


def _open(app, spec, **extra):
    return app(PAGE, state={"project": spec, "pid": OWNER, **extra})


def _text(at) -> str:
    kinds = ("markdown", "caption", "info", "warning", "error", "success")
    parts = [e.value for kind in kinds for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def _epoch_rows(n_epochs: int, steps: int = 40):
    rows, step, t = [], 0, time.time() - 10
    for e in range(1, n_epochs + 1):
        for _ in range(steps):
            step += 1
            t += 0.01
            rows.append(("batch", e, step, t, {"loss": 2.0 / (step ** 0.3), "accuracy": min(0.99, step / 200)}))
        rows.append(("epoch", e, step, t, {"loss": 2.0 / e, "accuracy": 0.5 + e / 10, "val_loss": 2.2 / e,
                                           "val_accuracy": 0.45 + e / 10, "learning_rate": 1e-3, "epoch_seconds": 0.4}))
    return rows


def test_without_a_project_it_links_to_data(app):
    at = app(PAGE)

    assert not at.exception
    assert at.title[0].value == "Train"
    assert "No data chosen yet" in at.info[0].value
    assert page_links(at)["Choose data"] == "data"
    assert not [b for b in at.button if b.label == "Start training"]


def test_settings_are_written_into_the_project(app, spec, home):
    at = _open(app, spec)
    assert not at.exception
    assert at.number_input(key="train_epochs").value == spec.train.epochs

    at.number_input(key="train_epochs").set_value(5).run()
    at.selectbox(key="train_optimizer").set_value("sgd").run()
    at.selectbox(key="train_batch").set_value(64).run()
    at.select_slider(key="train_lr").set_value(0.01).run()
    at.number_input(key="train_patience").set_value(3).run()
    at.number_input(key="train_seed").set_value(7).run()

    assert not at.exception and not at.error
    train = at.session_state["project"].train
    assert (train.epochs, train.optimizer, train.batch_size, train.learning_rate, train.early_stopping_patience,
            train.seed) == (5, "sgd", 64, 0.01, 3, 7)
    on_disk = load_spec(home / "projects" / f"{OWNER}.json").train
    assert on_disk == train


def test_shows_the_device_it_will_train_on(app, spec):
    at = _open(app, spec)

    device = at.caption[0].value
    expected = gpu_names_quick()[0] if gpu_names_quick() else NO_GPU
    assert f"Trains on: **{expected}" in device
    assert "No run yet" in at.info[0].value


def test_running_run_shows_progress_curves_and_reads_rows_incrementally(app, spec):
    store = RunStore()
    run = fake_active_run(store, spec, epochs=15, epoch=2, step=50, steps_per_epoch=40, samples_per_sec=320.0,
                          device="Fake GPU 9000")
    store.add_metrics(run.id, _epoch_rows(1) + [("batch", 2, s, time.time(), {"loss": 1.0, "accuracy": 0.6})
                                               for s in range(41, 51)])
    at = _open(app, spec, run_id=run.id)

    assert not at.exception
    progress = at.progress[0].proto
    assert "Epoch 2/15" in progress.text and "step 10/40" in progress.text
    assert "320 samples/s" in progress.text and "left" in progress.text
    assert progress.value == round(100 * 50 / (15 * 40))
    assert "Fake GPU 9000" in at.caption[0].value  # the run's own device, once reported
    assert "Running" in _text(at)
    assert at.button(key="train_start").disabled  # one active run per session at a time
    assert at.number_input(key="train_epochs").disabled

    fig = plotly_figure(at.get("plotly_chart")[0])
    traces = {(d.name, d.xaxis): d for d in fig.data}
    assert len(traces[("train (per batch)", "x")].x) == 50
    assert list(traces[("train", "x")].y) == [2.0] and list(traces[("validation", "x")].y) == [2.2]
    assert list(traces[("validation", "x2")].y) == [0.55]
    assert fig.layout.uirevision == run.id
    assert 5 <= fig.layout.xaxis.range[1] <= 15.5  # headroom to grow into while active, within the plan

    first_after = at.session_state["train_rows"]["after"]
    store.add_metrics(run.id, [("epoch", 2, 80, time.time(), {"loss": 0.8, "accuracy": 0.7, "val_loss": 0.9,
                                                             "val_accuracy": 0.66})])
    at.run()
    cache = at.session_state["train_rows"]
    assert cache["after"] > first_after and len(cache["rows"]) == 52
    fig = plotly_figure(at.get("plotly_chart")[0])
    assert [list(d.y) for d in fig.data if d.name == "validation" and d.xaxis == "x"] == [[2.2, 0.9]]


def test_stop_button_asks_the_run_to_stop(app, spec):
    store = RunStore()
    run = fake_active_run(store, spec, epochs=15, epoch=1, step=3, steps_per_epoch=40)
    at = _open(app, spec, run_id=run.id)

    at.button(key="train_stop").click().run()

    assert not at.exception
    assert store.get(run.id).stop_requested == 1
    assert "Stopping" in at.toast[0].value


def test_another_sessions_run_is_watched_but_not_stoppable(app, spec):
    store = RunStore()
    run = fake_active_run(store, spec, owner="cli", epochs=15, epoch=1, step=3, steps_per_epoch=40)
    at = _open(app, spec, run_id=run.id)

    assert not at.exception
    assert not [b for b in at.button if b.key == "train_stop"]
    assert "Started by `cli`" in _text(at)
    assert not at.button(key="train_start").disabled  # this session may start its own


def test_queued_run_shows_its_queue_position(app, spec):
    store = RunStore()
    fake_active_run(store, spec, status="queued")
    time.sleep(0.01)
    run = fake_active_run(store, spec, status="queued")
    at = _open(app, spec, run_id=run.id)

    assert not at.exception
    assert "position 2 in the queue" in at.info[0].value


def test_failed_run_shows_its_reason_as_an_error(app, spec):
    store = RunStore()
    run = store.create(spec, owner=OWNER)
    store.set_status(run.id, "failed", "Training failed: ValueError: the kernel size is larger than the input.")
    (run.path / "log.txt").write_text("12:00:00  Preparing data …\n12:00:01  Training failed: ValueError\n"
                                      "Traceback (most recent call last):\n  File \"trainer.py\", line 1\n"
                                      "ValueError: the kernel size\n")
    at = _open(app, spec, run_id=run.id)

    assert not at.exception
    assert "kernel size is larger than the input" in at.error[0].value
    assert "Training failed: ValueError" in at.code[0].value  # the log tail, in words
    assert "Traceback" not in at.code[0].value and "trainer.py" not in at.code[0].value
    assert "Evaluate this run" not in page_links(at)
    assert not at.button(key="train_start").disabled


def test_a_reload_reattaches_to_the_run_in_the_url(app, spec, home):
    spec.save(home / "projects" / f"{OWNER}.json")
    store = RunStore()
    run = store.create(spec, owner=OWNER)
    store.add_metrics(run.id, _epoch_rows(3))
    store.update(run.id, started=time.time() - 30, steps_per_epoch=40, epoch=3, step=120)
    store.set_status(run.id, "completed", "Finished: test accuracy 0.9000.")

    at = app(PAGE, query_params={"p": OWNER, "run": run.id})  # a new session: nothing but the URL

    assert not at.exception
    assert at.session_state["run_id"] == run.id
    assert "Finished: test accuracy 0.9000." in at.success[0].value
    fig = plotly_figure(at.get("plotly_chart")[0])
    epochs = [d for d in fig.data if d.name == "train" and d.xaxis == "x"][0]
    assert list(epochs.x) == [1, 2, 3]
    assert fig.layout.xaxis.range[1] < 4  # a finished run's axis fits its data


def test_long_curves_are_downsampled(app, spec):
    store = RunStore()
    run = store.create(spec, owner=OWNER)
    store.add_metrics(run.id, _epoch_rows(60, steps=100))
    store.update(run.id, steps_per_epoch=100, epoch=60, step=6000)
    store.set_status(run.id, "completed", "Finished.")
    at = _open(app, spec, run_id=run.id)

    assert not at.exception
    batch = [d for d in plotly_figure(at.get("plotly_chart")[0]).data if d.name == "train (per batch)"][0]
    assert len(batch.x) <= 600 and batch.x[0] == pytest.approx(0.01) and batch.x[-1] == pytest.approx(60.0)


def test_a_run_id_that_no_longer_exists_is_reported(app, spec):
    at = _open(app, spec, run_id="20200101-000000-abcdef")

    assert not at.exception
    assert "was not found" in at.warning[0].value


@pytest.mark.slow
def test_start_trains_in_a_worker_and_stop_reaches_it(app, spec):
    """Real workers: a 1-epoch run completes; a long run stops within seconds of Stop."""
    store = RunStore()
    at = _open(app, spec.edit(**{"train.epochs": 1}))
    at.button(key="train_start").click().run()

    run_id = at.session_state["run_id"]
    assert at.query_params["run"] == [run_id] or at.query_params["run"] == run_id
    run = store.get(run_id)
    assert run.owner == OWNER and run.epochs == 1
    deadline = time.time() + 180
    while store.get(run_id).active and time.time() < deadline:
        time.sleep(0.5)
    at.run()
    assert not at.exception
    assert store.get(run_id).status == "completed", store.get(run_id).message
    assert "Finished: test accuracy" in at.success[0].value
    assert {"Evaluate this run", "Predict with it"} <= set(page_links(at))
    fig = plotly_figure(at.get("plotly_chart")[0])
    assert any(d.name == "validation" and len(d.y) == 1 for d in fig.data)

    at.number_input(key="train_epochs").set_value(300).run()
    at.button(key="train_start").click().run()
    long_id = at.session_state["run_id"]
    assert long_id != run_id
    deadline = time.time() + 120
    while not (store.get(long_id).step or 0) > 5 and time.time() < deadline:
        time.sleep(0.2)
    at.run()
    at.button(key="train_stop").click().run()
    clicked = time.time()
    log = Path(store.get(long_id).run_dir) / "log.txt"
    while "Stop requested" not in log.read_text() and time.time() - clicked < 10:
        time.sleep(0.05)
    reached = time.time() - clicked
    assert reached < 2.5, f"the stop took {reached:.1f} s to reach the worker"
    while store.get(long_id).active and time.time() - clicked < 60:
        time.sleep(0.2)
    stopped = store.get(long_id)
    assert stopped.status == "stopped" and "Stopped by request" in stopped.message
    at.run()
    assert "Stopped by request" in at.warning[0].value
    assert not at.button(key="train_start").disabled
