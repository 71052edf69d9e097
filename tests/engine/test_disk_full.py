"""A full disk (issue #20, finding 5): a failed upload write leaves no partial file, the run store
still lists runs for the pages that only read it, and deleting runs frees the space to write again.

Where the test may mount a file system (root), the disk is a real, small tmpfs filled to the last
byte; elsewhere a read-only folder refuses the writes instead. The upload case patches the write.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from layerlab import workspace
from layerlab.errors import LayerlabError
from layerlab.runs.store import RunStore
from tests.engine.disks import SESSION, refusing_writes, small_disk, store_with_runs  # noqa: F401 - a fixture


def test_failed_upload_write_removes_its_part_file(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path))
    real = Path.write_bytes

    def disk_fills_halfway(self: Path, data: bytes) -> int:
        real(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", disk_fills_halfway)
    with pytest.raises(LayerlabError) as caught:
        workspace.save_upload(SESSION, "my table.csv", b"a,b\n1,2\n" * 1000)
    assert caught.value.message == "The server's disk is full: my table.csv could not be saved."
    assert "Runs page" in caught.value.hint
    assert SESSION not in str(caught.value) and str(tmp_path) not in str(caught.value), "no server path in the message"
    assert not [p for p in (tmp_path / workspace.UPLOADS).rglob("*") if p.is_file()], "the partial file is gone"


def test_upload_on_a_real_full_disk_keeps_no_partial_file(disk, monkeypatch):
    if not os.path.ismount(disk):
        pytest.skip("needs a file system of its own (mount as root)")
    monkeypatch.setenv("LAYERLAB_HOME", str(disk / "home"))
    free = shutil.disk_usage(disk).free
    with pytest.raises(LayerlabError, match="disk is full"):
        workspace.save_upload(SESSION, "big.csv", b"x" * (free + 100_000))
    assert not [p for p in (disk / "home").rglob("*") if p.is_file()]
    assert shutil.disk_usage(disk).free >= free - 16_384, "the space is free again"


def test_runs_are_listed_read_only_when_the_disk_refuses_writes(disk):
    root = disk / "runs"
    ids = store_with_runs(root)
    with refusing_writes(disk):
        with pytest.raises(sqlite3.OperationalError):
            RunStore(root).list()  # the store as it opened before: it cannot even start
        store = RunStore(root, read_only=True)
        assert {r.id for r in store.list()} == set(ids)
        assert store.get(ids[0]).name == "run 0"
        if os.path.ismount(disk):
            # Deleting a run from that page frees its files first, then the database has room to write.
            assert store.delete(ids[0], owner=SESSION)
            assert {r.id for r in store.list()} == set(ids[1:])
            assert not (root / ids[0]).exists()
    assert {r.id for r in RunStore(root).list()} == set(ids[1:] if os.path.ismount(disk) else ids)


def test_read_only_store_writes_nothing(tmp_path):
    root = tmp_path / "runs"
    store_with_runs(root, 1)
    db = root / "runs.db"
    before = (db.stat().st_mtime_ns, db.read_bytes())
    store = RunStore(root, read_only=True)
    store.metrics(store.list()[0].id)
    del store
    assert (db.stat().st_mtime_ns, db.read_bytes()) == before, "no schema, no checkpoint: the file is untouched"


def test_read_only_store_of_a_new_server_creates_it(tmp_path):
    assert RunStore(tmp_path / "runs", read_only=True).list() == []
    assert (tmp_path / "runs" / "runs.db").is_file()
