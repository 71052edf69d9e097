"""Tune page (issue #19): no project → the way to one; the search controls come from the engine's
registry; a range that cannot be built is named; a finished study's trials table, and Use the best."""

from __future__ import annotations

import time

import pytest

from layerlab.project import new_project
from layerlab.runs.store import RunStore
from layerlab.tune import study
from tests.pages.markdown import plain
from tests.pages.trained import OWNER, page_links

pytestmark = pytest.mark.usefixtures("home")  # a fresh LAYERLAB_HOME per test (tests/pages/conftest.py)

PAGE = "pages/tune.py"


def _texts(at) -> str:
    kinds = ("markdown", "caption", "info", "warning", "error", "success")
    return plain("\n".join(e.value for kind in kinds for e in getattr(at, kind)))


def _finished_study(spec, values: list[tuple[float, str, float | None]]) -> tuple[str, list[str]]:
    """A study whose trials (lr, run status, best validation accuracy) ended as given, each with its run:
    the page reads studies and runs, not how they were trained."""
    optuna = study._optuna()
    store = RunStore()
    name = study.create(spec, {"lr": None}, trials=len(values), epochs=2, owner=OWNER,
                        enqueue=[{"lr": lr} for lr, _, _ in values])
    loaded = study.load(name)
    run_ids = []
    for lr, status, best in values:
        trial = loaded.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)})
        run = store.create(spec.edit(**{"train.learning_rate": lr}), owner=OWNER, study=name, trial=trial.number)
        trial.set_user_attr("run_id", run.id)
        store.update(run.id, started=time.time(), epoch=2 if status == "completed" else 1)
        store.set_status(run.id, status, "", best_metric=best, best_metric_name="val_accuracy")
        if status == "completed":
            loaded.tell(trial, best)
        else:
            trial.report(best, 0)
            loaded.tell(trial, state=optuna.trial.TrialState.PRUNED)
        run_ids.append(run.id)
    study.write_driver(name, state="finished", pid=None)
    return name, run_ids


def test_without_a_project_the_page_points_to_data(app):
    at = app(PAGE)
    assert not at.exception
    assert "No data chosen yet" in _texts(at) and page_links(at)["Choose data"] == "data"


def test_the_search_controls_are_generated_from_the_registry(app):
    at = app(PAGE, state={"project": new_project("sample:digits"), "pid": OWNER})
    assert not at.exception
    ticks = {c.key: c.value for c in at.checkbox}
    assert ticks["tune_on_lr"] is True and ticks["tune_on_batch_size"] is False
    assert {"tune_on_units.0", "tune_on_units.2", "tune_on_units.5", "tune_on_dropout.6", "tune_on_image_size",
            "tune_on_weight_decay"} <= set(ticks)
    assert "tune_on_window" not in ticks  # images have no window
    assert at.number_input(key="tune_units.0_low").value == 16 and at.number_input(key="tune_units.0_high").value == 64
    assert at.number_input(key="tune_units.0_low").disabled  # not ticked: its range is off
    assert not at.number_input(key="tune_lr_low").disabled
    assert "No study yet" in _texts(at)


def test_a_range_that_cannot_be_built_is_named_and_nothing_starts(app):
    at = app(PAGE, state={"project": new_project("sample:digits"), "pid": OWNER})
    at.number_input(key="tune_lr_low").set_value(0.5).run()
    at.button(key="tune_start").click().run()
    assert not at.exception
    assert "search.lr: the range is empty: low 0.5 is above high 0.01" in plain(at.error[0].value)
    assert study.names() == []


def test_a_finished_studys_table_and_use_the_best(app):
    spec = new_project("sample:digits")
    name, runs = _finished_study(spec, [(1e-3, "completed", 0.9), (3e-3, "completed", 0.95), (1e-4, "pruned", 0.2)])
    at = app(PAGE, state={"project": spec, "pid": OWNER}, query_params={"study": name})
    assert not at.exception
    frame = at.dataframe[0].value  # the trials table (AppTest does not expose a dataframe's key)
    assert list(frame["Trial"]) == [0, 1, 2] and list(frame["Status"]) == ["Completed", "Completed", "Pruned"]
    assert list(frame["Learning rate"]) == [1e-3, 3e-3, 1e-4] and list(frame["Epochs"]) == [2, 2, 1]
    shown = _texts(at)
    assert "3 of 3 trials done (2 complete, 1 pruned, 0 failed, 0 running)" in shown
    assert "Best so far: trial 1 (lr = 0.003)" in shown
    assert len(at.get("plotly_chart")) == 3  # history, parallel coordinates, importances (two complete trials)
    assert at.button(key="tune_continue") and not [b for b in at.button if b.key == "tune_stop"]

    at.button(key="tune_use_best").click().run()
    assert not at.exception
    assert at.session_state["project"].train.learning_rate == 3e-3
    assert at.session_state["project"].train.epochs == spec.train.epochs  # the rest stays the project's
    assert at.session_state["run_id"] == runs[1]
    assert "The best trial's settings are now the project's" in _texts(at)


def test_the_runs_page_names_each_trials_study(app):
    spec = new_project("sample:digits")
    name, _ = _finished_study(spec, [(1e-3, "completed", 0.9), (1e-4, "pruned", 0.2)])
    at = app("pages/runs.py", state={"project": spec, "pid": OWNER})
    assert not at.exception
    frame = at.dataframe[0].value
    assert sorted(frame["Study"]) == [f"{name} · trial 0", f"{name} · trial 1"]
    assert sorted(frame["Status"]) == ["Completed", "Pruned"]


def test_a_study_of_this_session_reopens_from_the_picker(app):
    spec = new_project("sample:digits")
    name, _ = _finished_study(spec, [(1e-3, "completed", 0.9)])
    at = app(PAGE, state={"project": spec, "pid": OWNER})
    assert "No study yet" in _texts(at)
    at.selectbox(key="tune_open").select(name).run()
    assert not at.exception
    assert at.query_params["study"] == name  # in the URL: a reload finds it
    assert "1 of 1 trials done (1 complete" in _texts(at)
