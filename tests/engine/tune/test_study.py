"""Studies for real: trials are runs of the queue and worker, pruned ones end as `pruned`, a killed worker
fails only its trial, two trials run at once, a stop ends the running trials, a restart goes on."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from layerlab.project import new_project
from layerlab.runs.store import RunStore
from layerlab.tune import driver, results, study

pytestmark = pytest.mark.slow

GOOD, BAD = 1e-2, 1e-6  # a learning rate that learns penguins in one epoch, and one that does not move


def _penguins(**train: Any):
    return new_project("sample:penguins").edit(**{f"train.{k}": v for k, v in train.items()})


def _wait(check, timeout: float, poll: float = 0.05) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = check()
        if found:
            return found
        time.sleep(poll)
    raise AssertionError(f"not reached in {timeout} s")


@pytest.fixture(scope="module")
def pruned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, RunStore, dict]]:
    """Six trials one at a time: the first learns, then a hopeless one, a good one, … ; a median pruner that
    starts after one complete trial prunes every hopeless one after its first epoch."""
    store = RunStore(tmp_path_factory.mktemp("tune-pruned"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAYERLAB_CONCURRENT_RUNS", "1")
        name = study.create(_penguins(), {"lr": {"low": 1e-6, "high": 1e-1}}, trials=6, epochs=2,
                            pruner={"type": "median", "n_startup_trials": 1, "n_warmup_steps": 0},
                            enqueue=[{"lr": lr} for lr in (GOOD, BAD, GOOD, BAD, GOOD, BAD)])
        lines: list[str] = []
        summary = driver.drive(name, store, echo=lines.append)
    yield name, store, {"summary": summary, "lines": lines}


def test_a_six_trial_study_prunes_the_hopeless_trials(pruned):
    name, store, out = pruned
    summary = out["summary"]
    assert summary["trials"]["pruned"] >= 2 and summary["trials"]["complete"] >= 2, summary
    assert summary["trials"]["failed"] == 0 and summary["metric"] == "val_accuracy"
    assert summary["best_params"] == {"lr": GOOD} and summary["best_value"] > 0.8
    assert len(out["lines"]) == 6 and all(line.startswith("trial ") for line in out["lines"])
    rows = results.trials(name, store)
    for row in rows:  # every trial is an ordinary run of the store, grouped by its study
        run = store.get(row["run_id"])
        assert (run.study, run.trial) == (name, row["trial"])
        assert run.status == {"complete": "completed", "pruned": "pruned"}[row["state"]]
        assert run.has_model and run.files.has_evaluation  # Evaluate and Predict work on it
    hopeless = [r for r in rows if r["params"]["lr"] == BAD and r["trial"] > 0]
    assert all(r["state"] == "pruned" and r["epochs_run"] == 1 for r in hopeless), hopeless
    stopped = store.get(hopeless[0]["run_id"]).files.evaluation()["stopped_because"]
    assert stopped["reason"] == "pruned" and "Pruned after epoch 1" in stopped["text"]


def test_a_restarted_study_continues_with_its_earlier_trials(pruned):
    name, store, _ = pruned
    before = {r["trial"]: (r["state"], r["run_id"]) for r in results.trials(name, store)}
    study.set_budget(name, trials=7)
    summary = driver.drive(name, store)
    after = {r["trial"]: (r["state"], r["run_id"]) for r in results.trials(name, store)}
    assert len(after) == 7 and {k: after[k] for k in before} == before
    assert sum(summary["trials"][s] for s in study.STATES) == 7


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, RunStore, dict]]:
    """Three trials, two at a time, from the driver process the app launches; trial 0's worker is killed."""
    store = RunStore(tmp_path_factory.mktemp("tune-killed"))
    seen: dict[str, Any] = {"together": 0}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAYERLAB_CONCURRENT_RUNS", "2")
        name = study.create(_penguins(early_stopping_patience=3), {"lr": {"low": 1e-3, "high": 1e-2}}, trials=3,
                            epochs=25, pruner={"type": "none"})
        driver.launch_driver(name, store)
        try:
            def both_training():
                runs = [r for r in store.list(statuses=("running",)) if r.study == name and (r.epoch or 0) >= 1]
                return len(runs) == 2 and runs

            runs = _wait(both_training, 120)
            seen["together"] = len(runs)
            victim = next(r for r in runs if r.trial == 0)
            os.killpg(victim.pid, signal.SIGKILL)
            seen["victim"] = victim.id
            _wait(lambda: not study.running(name), 300, poll=0.5)
        finally:
            if study.running(name):
                study.request_stop(name, store)
    yield name, store, seen


def test_two_trials_run_at_once_when_the_setting_allows(killed):
    name, store, seen = killed
    assert seen["together"] == 2
    a, b = sorted((r for r in store.list() if r.study == name and r.trial in (0, 1)), key=lambda r: r.trial)
    assert a.started < b.ended and b.started < a.ended  # their training overlapped


def test_a_killed_worker_fails_its_trial_and_the_study_goes_on(killed):
    name, store, seen = killed
    rows = {r["trial"]: r for r in results.trials(name, store)}
    assert rows[0]["state"] == "failed" and rows[0]["run_id"] == seen["victim"]
    assert store.get(seen["victim"]).status == "failed"
    assert [rows[n]["state"] for n in (1, 2)] == ["complete", "complete"]
    assert study.driver_state(name)["state"] == "finished"


def test_stopping_a_study_stops_its_running_trials_within_2_s(tmp_path, monkeypatch):
    """Training ends within 2 s of the stop (the last step is logged by then); the run then saves its
    best weights, evaluates and reads `stopped`, as a stopped run does."""
    monkeypatch.setenv("LAYERLAB_CONCURRENT_RUNS", "2")
    store = RunStore(tmp_path)
    name = study.create(_penguins(early_stopping_patience=0), {"lr": None}, trials=4, epochs=1000,
                        pruner={"type": "none"})
    driver.launch_driver(name, store)
    try:
        training = _wait(lambda: (found := [r for r in store.list(statuses=("running",))
                                            if r.study == name and (r.epoch or 0) >= 2]) and len(found) == 2 and found, 120)
        waiting = [r for r in store.list(statuses=("queued",)) if r.study == name]  # the trial next in line
        began = time.time()
        assert study.request_stop(name, store) == 2 + len(waiting)
        _wait(lambda: not [r for r in store.list() if r.study == name and r.active], 30, poll=0.1)
        _wait(lambda: not study.running(name), 20, poll=0.2)
    finally:
        study.request_stop(name, store)
    for run in training:
        last_step = store.metrics(run.id, scope="batch")[-1]["t"]
        assert last_step - began < 2.0, f"{run.name} trained {last_step - began:.2f} s after the stop"
    summary = results.summary(name, store)
    assert summary["trials"]["failed"] == 2 and study.driver_state(name)["state"] == "stopped"
    assert {r.status for r in store.list() if r.study == name} == {"stopped"}


def test_a_time_limit_ends_the_study_and_its_running_trial_counts(tmp_path, monkeypatch):
    """At the limit no trial starts and the running one stops; it kept its best epoch, so it counts as a complete
    trial with the value it reached (the study's best, here), not as a failure."""
    monkeypatch.setenv("LAYERLAB_CONCURRENT_RUNS", "1")
    store = RunStore(tmp_path)
    limit = 25.0
    name = study.create(_penguins(early_stopping_patience=0), {"lr": None}, trials=5, epochs=1000, timeout_s=limit,
                        pruner={"type": "none"}, enqueue=[{"lr": GOOD}])
    began = time.time()
    summary = driver.drive(name, store)
    took = time.time() - began
    runs = [r for r in store.list() if r.study == name]
    assert len(runs) == 1 and runs[0].status == "stopped" and (runs[0].epoch or 0) >= 1, runs
    assert runs[0].started - began < limit  # started before the limit; none after it
    assert limit <= took < limit + 60, f"the study took {took:.0f} s for a {limit:.0f} s limit"
    assert summary["trials"]["complete"] == 1 and summary["trials"]["failed"] == 0, summary
    assert summary["best_run_id"] == runs[0].id and summary["best_value"] > 0.5
    assert study.driver_state(name)["message"] == "The time limit was reached."


def test_a_pruned_trials_run_can_be_continued_as_a_plain_run(pruned):
    from layerlab.runs.runner import continue_run, wait

    name, store, _ = pruned
    row = next(r for r in results.trials(name, store) if r["state"] == "pruned")
    done = wait(store, continue_run(store, row["run_id"], epochs=1).id, timeout=300)
    assert done.status == "completed", done.message
    assert next(r for r in results.trials(name, store) if r["trial"] == row["trial"])["state"] == "pruned"
