"""Train page: settings into the project, Start/Stop, the live view of the current run, reattaching."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from layerlab.device import NO_GPU, gpu_names_quick
from layerlab.runs.store import RunStore
from tests.pages.browser import with_owner_cookie
from tests.pages.markdown import plain
from tests.pages.trained import OWNER, digits_spec, fake_active_run, page_links, plotly_figure

pytestmark = pytest.mark.usefixtures("home")  # a fresh LAYERLAB_HOME per test (tests/pages/conftest.py)

PAGE = "pages/train.py"


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


def test_settings_show_the_projects_values(app, spec):
    """Each control starts from the project (the controls' edits are tested in test_train_controls)."""
    spec = spec.edit(**{"train.epochs": 4, "train.batch_size": 64, "train.learning_rate": 0.003,
                        "train.lr_schedule": "constant", "train.early_stopping_patience": 0})
    at = _open(app, spec)

    assert not at.exception
    assert at.number_input(key="train_epochs").value == 4
    assert at.selectbox(key="train_batch").value == 64
    assert at.select_slider(key="train_lr").value == 0.003
    assert "constant learning rate · no early stopping" in _text(at)


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

    numbers = {m.label: m.value for m in at.metric}
    assert numbers["Best val. accuracy"] == "55.0%" and numbers["Best val. loss"] == "2.2"
    assert numbers["Samples per second"] == "320" and numbers["Learning rate"] == "0.001"
    assert numbers["Time left"].endswith((" s", "min"))

    fig = plotly_figure(at.get("plotly_chart")[0])
    traces = {(d.name, d.xaxis): d for d in fig.data}
    assert len(traces[("train (per batch)", "x")].x) == 50
    assert traces[("train (per batch, raw)", "x")].visible == "legendonly"
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


def test_a_redraw_without_new_rows_reuses_the_figures(app, spec):
    """Eight live views redraw every second: figures are rebuilt only when their rows or settings change."""
    store = RunStore()
    run = fake_active_run(store, spec, epochs=15, epoch=2, step=50, steps_per_epoch=40)
    store.add_metrics(run.id, _epoch_rows(1))
    at = _open(app, spec, run_id=run.id)
    built = at.session_state["training-chart-figures"][1]
    at.run()
    assert at.session_state["training-chart-figures"][1] is built
    store.add_metrics(run.id, [("batch", 2, 41, time.time(), {"loss": 1.0, "accuracy": 0.6})])
    at.run()
    assert at.session_state["training-chart-figures"][1] is not built


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
    assert "Started by the command line" in _text(at)
    assert not at.button(key="train_start").disabled  # this session may start its own


def test_queued_run_shows_its_queue_position(app, spec):
    store = RunStore()
    fake_active_run(store, spec, status="queued")
    time.sleep(0.01)
    run = fake_active_run(store, spec, status="queued")
    at = _open(app, spec, run_id=run.id)

    assert not at.exception
    assert "position 2 in the queue" in at.info[0].value


def test_a_queued_run_is_redrawn_every_few_seconds_and_every_second_once_it_trains(app, spec, monkeypatch):
    """Eight people start at once and six wait: their views redraw less often until their runs start."""
    import streamlit as st

    from components import train_live

    timers: list[float | None] = []
    fragment = st.fragment

    def watched(func=None, *, run_every=None):
        timers.append(run_every)
        return fragment(func, run_every=run_every) if func is not None else fragment(run_every=run_every)

    monkeypatch.setattr(train_live.st, "fragment", watched)
    store = RunStore()
    run = fake_active_run(store, spec, status="queued")
    at = _open(app, spec, run_id=run.id)
    assert not at.exception and timers[-1] == train_live.QUEUED_EVERY_S
    store.set_status(run.id, "running")
    at.run()
    assert not at.exception and timers[-1] == 1.0
    store.set_status(run.id, "stopped")


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


def test_a_reload_reattaches_to_the_run_in_the_url(app, spec, home, monkeypatch):
    me = with_owner_cookie(monkeypatch)  # the browser keeps its owner cookie over the reload
    spec.save(home / "projects" / f"{me}.json")
    store = RunStore()
    run = store.create(spec, owner=me)
    store.add_metrics(run.id, _epoch_rows(3))
    store.update(run.id, started=time.time() - 30, steps_per_epoch=40, epoch=3, step=120)
    store.set_status(run.id, "completed", "Finished: test accuracy 0.9000.")

    at = app(PAGE, query_params={"run": run.id})  # a new session: nothing but the URL and the cookie

    assert not at.exception
    assert at.session_state["run_id"] == run.id
    assert "Finished: test accuracy 0.9000." in plain(at.success[0].value)
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


def _finished(store, spec, rows, **fields):
    """A completed run of this session with these metric rows (as `_epoch_rows` makes them)."""
    run = store.create(spec, owner=OWNER)
    store.add_metrics(run.id, rows)
    last = max((r for r in rows if r[0] == "epoch"), key=lambda r: r[1])
    store.update(run.id, started=time.time() - 20, steps_per_epoch=40, epoch=last[1], step=last[2], **fields)
    store.set_status(run.id, "completed", "Finished.")
    return run


def _finished_with(store, spec, epoch_rows):
    return _finished(store, spec, [("epoch", i + 1, 40 * (i + 1), time.time(), r) for i, r in enumerate(epoch_rows)])


def test_hints_name_overfitting_in_plain_words(app, spec):
    losses = [(1.0, 0.9), (0.7, 0.6), (0.5, 0.62), (0.35, 0.7), (0.25, 0.8)]
    run = _finished_with(RunStore(), spec, [{"loss": a, "val_loss": b, "learning_rate": 1e-3} for a, b in losses])
    at = _open(app, spec, run_id=run.id)

    assert not at.exception
    (warning,) = [w.value for w in at.warning]
    assert warning.startswith("Overfitting: the validation loss has risen for 3 epochs in a row")
    assert "Dropout" in warning and "augmentation" in warning and "early stopping" in warning


def test_hints_say_when_the_loss_is_flat(app, spec):
    run = _finished_with(RunStore(), spec, [{"loss": 2.302, "val_loss": 2.303, "learning_rate": 1e-5}] * 4)
    at = _open(app, spec, run_id=run.id)

    assert not at.exception
    assert any("not learning" in w.value and "larger learning rate" in w.value for w in at.warning)


def test_a_healthy_run_gets_no_hints(app, spec):
    run = _finished(RunStore(), spec, _epoch_rows(4))
    at = _open(app, spec, run_id=run.id)

    assert not at.exception and not at.warning and not at.info


def test_every_metric_gets_a_panel_and_the_learning_rate_and_speed_are_drawn(app, spec):
    rows = []
    for e in range(1, 4):
        rows += [("batch", e, 40 * (e - 1) + s, time.time() - 30 + e * 5 + s * 0.01,
                  {"loss": 1.0 / e, "accuracy": 0.5, "top3": 0.8}) for s in range(1, 41)]
        rows.append(("epoch", e, 40 * e, time.time() - 30 + e * 5, {
            "loss": 1.0 / e, "accuracy": 0.5, "top3": 0.8, "val_loss": 1.1 / e, "val_accuracy": 0.45,
            "val_top3": 0.7, "learning_rate": 1e-3 * 0.5 ** (e - 1), "epoch_seconds": 2.0}))
    run = _finished(RunStore(), spec, rows)
    at = _open(app, spec, run_id=run.id)

    assert not at.exception
    curves, speed = (plotly_figure(c) for c in at.get("plotly_chart")[:2])
    assert [a.text for a in curves.layout.annotations] == ["Loss", "Accuracy", "Top3"]
    assert [d.name for d in curves.data if d.xaxis == "x3"] == ["train (per batch, raw)", "train (per batch)", "train",
                                                                 "validation"]
    lr = [d for d in speed.data if d.name == "learning rate"][0]
    assert list(lr.y) == pytest.approx([1e-3, 5e-4, 2.5e-4]) and speed.layout.yaxis.type == "log"
    bars = [d for d in speed.data if d.type == "bar"][0]
    assert list(bars.x) == [1, 2, 3] and list(bars.y) == pytest.approx([40 * 32 / 2.0] * 3)  # batch size 32
    assert {m.label: m.value for m in at.metric}["Learning rate"] == "0.00025"


def test_mae_is_shown_in_the_targets_units(app, spec):
    """Keras logs MAE on the standardized target; the page multiplies it by the target's spread."""
    store = RunStore()
    run = store.create(spec, owner=OWNER)
    store.update(run.id, task="regression", steps_per_epoch=40, epoch=2, step=80, started=time.time() - 9)
    (run.path / "info.json").write_text('{"extra": {"target_spread": 10.0, "target_center": 100.0}}')
    store.add_metrics(run.id, [("epoch", e, 40 * e, time.time(), {"loss": 1 / e, "mae": 0.5 / e, "val_loss": 1.1 / e,
                                                                 "val_mae": 0.6 / e}) for e in (1, 2)])
    store.set_status(run.id, "completed", "Finished.")
    at = _open(app, spec, run_id=run.id)

    assert not at.exception
    fig = plotly_figure(at.get("plotly_chart")[0])
    assert [a.text for a in fig.layout.annotations] == ["Loss", "Mean absolute error (target units)"]
    val = [d for d in fig.data if d.name == "validation" and d.xaxis == "x2"][0]
    assert list(val.y) == pytest.approx([6.0, 3.0])
    assert {m.label: m.value for m in at.metric}["Best val. MAE"] == "3"


def test_smoothing_changes_the_per_batch_line(app, spec):
    run = _finished(RunStore(), spec, _epoch_rows(2))
    at = _open(app, spec, run_id=run.id)

    def line(name):
        return list([d for d in plotly_figure(at.get("plotly_chart")[0]).data if d.name == name][0].y)

    smoothed, raw = line("train (per batch)"), line("train (per batch, raw)")
    assert smoothed != raw
    at.slider(key="train_smoothing").set_value(0.0).run()
    assert line("train (per batch)") == pytest.approx(raw)


def test_a_continued_run_restarts_its_progress_where_it_left_off(app, spec):
    """The worker of a continued run counts steps from 0 again: progress and curves go by epoch."""
    store = RunStore()
    run = store.create(spec, owner=OWNER)
    store.add_metrics(run.id, _epoch_rows(2))  # the first session: 2 epochs of 40 steps, 10 s ago
    store.update(run.id, status="running", started=time.time(), heartbeat=time.time(), pid=__import__("os").getpid(),
                 epochs=4, epoch=2, step=80, steps_per_epoch=40)
    at = _open(app, spec, run_id=run.id)

    assert not at.exception
    assert at.progress[0].proto.text.startswith("Starting")  # the old step/epoch are stale until a new batch
    store.add_metrics(run.id, [("batch", 3, s, time.time() + 0.01 * s, {"loss": 0.4, "accuracy": 0.9})
                               for s in range(1, 11)])
    store.update(run.id, epoch=3, step=10)
    at.run()

    progress = at.progress[0].proto
    assert "Epoch 3/4" in progress.text and "step 10/40" in progress.text
    assert progress.value == round(100 * (80 + 10) / 160)
    batch = [d for d in plotly_figure(at.get("plotly_chart")[0]).data if d.name == "train (per batch)"][0]
    assert batch.x[-1] == pytest.approx(2.25) and batch.x[39] == pytest.approx(1.0)
    store.set_status(run.id, "stopped")


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
    from layerlab.inference.remote import model_host

    assert model_host().pid, "the model host starts with the run, so Predict is ready when it ends"
    deadline = time.time() + 180
    while store.get(run_id).active and time.time() < deadline:
        time.sleep(0.5)
    at.run()
    assert not at.exception
    assert store.get(run_id).status == "completed", store.get(run_id).message
    assert "Finished: test accuracy" in plain(at.success[0].value)
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
    assert "Stopped by request" in plain(at.warning[0].value)
    assert not at.button(key="train_start").disabled
