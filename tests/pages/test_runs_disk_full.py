"""The Runs page on a full disk (issue #20, finding 5): the app's own advice is "delete runs on the Runs
page", so that page must list them, and deleting one must free the space, while the disk refuses writes."""

from __future__ import annotations

import os

import pytest

from layerlab.project import new_project
from layerlab.runs.store import RunStore
from tests.engine.disks import SESSION, refusing_writes, small_disk, store_with_runs  # noqa: F401 - a fixture

PAGE = "pages/runs.py"


def test_runs_page_lists_and_deletes_runs_on_a_full_disk(app, disk, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAYERLAB_HOME", str(disk / "home"))
    monkeypatch.delenv("LAYERLAB_RUNS_DIR", raising=False)
    ids = store_with_runs(RunStore().root)
    with refusing_writes(disk):
        at = app(PAGE, state={"project": new_project("sample:digits"), "pid": SESSION,
                              "runs_selected": [ids[0]]})
        assert not at.exception, at.exception
        assert not at.error, [e.value for e in at.error]
        assert set(at.dataframe[0].value["Name"]) == {"run 0", "run 1", "run 2"}
        if not os.path.ismount(disk):
            return  # a read-only folder cannot be freed by deleting: listing is what it can show
        at.button(key="runs_delete").click().run()
        assert not at.exception, at.exception
        assert not at.error, [e.value for e in at.error]
        assert set(at.dataframe[0].value["Name"]) == {"run 1", "run 2"}
    assert not (RunStore().root / ids[0]).exists()
