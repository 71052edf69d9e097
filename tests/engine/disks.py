"""A disk that refuses writes, for the full-disk tests of the engine and the pages (issue #20, finding 5).

Where the process may mount a file system (root), `disk` is a real 2 MB tmpfs that `refusing_writes`
fills to the last byte; elsewhere it is a plain folder that `refusing_writes` makes read-only.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from layerlab.runs.files import MODEL
from layerlab.runs.store import RunStore

SESSION = "0123456789abcdef"


@pytest.fixture(name="disk")
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A small file system of its own (2 MB tmpfs) when this process may mount one, else a plain folder."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
                                                   check=False, capture_output=True).returncode == 0
    try:
        yield where
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], check=False)


@contextmanager
def refusing_writes(disk: Path) -> Iterator[None]:
    """Fill `disk` to the last byte (a tmpfs) or make its folders read-only (elsewhere)."""
    if os.path.ismount(disk):
        filler = disk / "filler"
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        try:
            yield
        finally:
            filler.unlink(missing_ok=True)
        return
    paths = [disk, *disk.rglob("*")]
    for p in paths:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        yield
    finally:
        for p in paths:
            p.chmod(0o755 if p.is_dir() else 0o644)


def store_with_runs(root: Path, n: int = 3) -> list[str]:
    """`n` finished runs, each with a 200 kB model file standing in for a trained one."""
    from layerlab.project import new_project

    store = RunStore(root)
    ids = []
    for i in range(n):
        run = store.create(new_project("sample:digits"), owner=SESSION, name=f"run {i}")
        (run.path / MODEL).write_bytes(os.urandom(200_000))
        store.set_status(run.id, "completed", "Finished.")
        ids.append(run.id)
    return ids


