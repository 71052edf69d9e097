"""A worker whose run ends takes the next queued run in the same process (no new process, no second TensorFlow
import), up to LAYERLAB_WORKER_RUNS runs; each run still gets its own pid record, log and results."""

from __future__ import annotations

import pytest

from layerlab.project import new_project
from layerlab.runs.runner import WORKER_LOG, start_run, wait
from layerlab.runs.store import RunStore

pytestmark = pytest.mark.slow  # trains


def _two_queued(store: RunStore) -> list[str]:
    spec = new_project("sample:penguins").edit(**{"train.epochs": 1})
    return [start_run(spec, store).id for _ in range(2)]  # one slot: the second waits in the queue


@pytest.mark.parametrize("per_worker, same", [("20", True), ("1", False)], ids=["reused", "one-per-run"])
def test_the_next_queued_run_trains_in_the_same_worker(tmp_path, monkeypatch, per_worker, same):
    monkeypatch.setenv("LAYERLAB_CONCURRENT_RUNS", "1")
    monkeypatch.setenv("LAYERLAB_WORKER_RUNS", per_worker)
    store = RunStore(tmp_path)
    first, second = _two_queued(store)
    runs = [wait(store, run_id, timeout=300) for run_id in (first, second)]
    assert [r.status for r in runs] == ["completed", "completed"], [r.message for r in runs]
    assert (runs[0].pid == runs[1].pid) is same
    assert runs[1].started >= runs[0].ended - 0.5  # the queue's limit held: one at a time
    for run in runs:
        assert run.has_model and "Test:" in run.files.log_tail()
        assert (run.path / WORKER_LOG).exists()
