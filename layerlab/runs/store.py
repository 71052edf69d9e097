"""The run store: one SQLite file (WAL) that workers write and pages poll.

Short transactions only, so a worker's writes never block a page for long; every
run also has a folder (project spec, models, history, evaluation, log) so it can be
reproduced without the database.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from layerlab.settings import runs_dir

if TYPE_CHECKING:
    from layerlab.runs.files import RunFiles

ACTIVE = ("queued", "starting", "running")
FINISHED = ("completed", "stopped", "failed", "interrupted", "pruned")  # pruned: a tuning trial ended early, not a failure
HEARTBEAT_STALE_S = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    owner TEXT,
    project_name TEXT,
    kind TEXT,
    template TEXT,
    task TEXT,
    data_source TEXT,
    status TEXT NOT NULL,
    message TEXT,
    device TEXT,
    run_dir TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    ended REAL,
    heartbeat REAL,
    pid INTEGER,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    epochs INTEGER,
    epoch INTEGER,
    step INTEGER,
    steps_per_epoch INTEGER,
    samples_per_sec REAL,
    best_val REAL,
    best_val_name TEXT,
    best_metric REAL,
    best_metric_name TEXT,
    test_metrics TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    step INTEGER NOT NULL,
    t REAL NOT NULL,
    vals TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, id);
"""
# Columns added after the first release: (name, SQL type), added to an older runs.db on open.
_ADDED_COLUMNS = (("best_metric", "REAL"), ("best_metric_name", "TEXT"), ("study", "TEXT"), ("trial", "INTEGER"),
                  ("executor", "TEXT"), ("node", "TEXT"), ("fine_tune_from", "INTEGER"), ("ray_cursor", "TEXT"))


@dataclass
class Run:
    """One row of `runs`; `test_metrics` is decoded from JSON."""

    id: str
    name: str
    status: str
    run_dir: str
    created: float
    owner: str | None = None
    project_name: str | None = None
    kind: str | None = None
    template: str | None = None
    task: str | None = None
    data_source: str | None = None
    message: str | None = None
    device: str | None = None
    started: float | None = None
    ended: float | None = None
    heartbeat: float | None = None
    pid: int | None = None
    stop_requested: int = 0
    epochs: int | None = None
    epoch: int | None = None
    step: int | None = None
    steps_per_epoch: int | None = None
    samples_per_sec: float | None = None
    best_val: float | None = None  # the lowest validation loss
    best_val_name: str | None = None
    # The best of the task's validation metric (val_accuracy: highest; val_mae: lowest, in the
    # target's units); None when the task logs none or its MAE has no single unit.
    best_metric: float | None = None
    best_metric_name: str | None = None
    test_metrics: dict[str, Any] = field(default_factory=dict)
    study: str | None = None  # the tuning study this run is a trial of (layerlab.tune), and its trial number
    trial: int | None = None
    executor: str | None = None  # "ray" for a run handed to a Ray cluster; None or "local": a worker process here
    node: str | None = None  # where a Ray run trains (the node's address and its GPUs), once placed
    fine_tune_from: int | None = None  # epochs done when phase 2 (fine-tuning) began; None: no phase 2 (yet)
    ray_cursor: str | None = None  # how far the app's copy of a Ray run has got (JSON): a new driver goes on from there

    @property
    def path(self) -> Path:
        return Path(self.run_dir)

    @property
    def placement(self) -> str:
        """Where the run trains, in words (the Train and Runs pages): this machine, or its Ray node."""
        if self.executor != "ray":
            return "this machine"
        if self.node:
            return f"Ray node {self.node}"
        return "queued in Ray" if self.active else "Ray (never placed)"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def duration(self) -> float | None:
        if self.started is None:
            return None
        return (self.ended or time.time()) - self.started

    @property
    def files(self) -> "RunFiles":
        """The run's folder, read through the one object that knows its file names."""
        from layerlab.runs.files import RunFiles

        return RunFiles(self.path)

    @property
    def has_model(self) -> bool:
        return self.files.has_model

    @property
    def file_stem(self) -> str:
        """A download's file name (without extension): the project's and the run's names, never the run id
        or a server path, made safe for any file system."""
        project, name = slug(self.project_name or ""), slug(self.name)
        if project and not name.startswith(project):  # a default run name already starts with the project's
            name = f"{project}_{name}" if name else project
        return name or "model"


def slug(text: str) -> str:
    """A file-name-safe version of a project or run name ("" when nothing is left)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.")[:60].strip("_.")


_RUN_FIELDS = {f.name for f in fields(Run)}


class RunStore:
    """Access to runs.db under a runs folder (default: settings.runs_dir())."""

    def __init__(self, root: str | Path | None = None, busy_timeout_s: float = 30.0, *, keep_open: bool = False,
                 read_only: bool = False) -> None:
        """`keep_open`: one connection for the handle's life (a training worker, one thread). Opening and
        closing per write is what pages need (no handle outlives a rerun), but in a worker every close of
        the last connection checkpoints the WAL with an fsync, which costs training time.

        `read_only`: reads open the file with `mode=ro` and never write (no schema, no WAL checkpoint on
        close), so a page that only looks still works on a full or read-only disk; the few writes such a
        page makes (rename, stop, delete) open their own connection. A store that does not exist yet is
        created as usual."""
        self.busy_timeout_s = busy_timeout_s
        self._kept: sqlite3.Connection | None = None
        self._keep_open = keep_open
        self.root = Path(root).expanduser() if root else runs_dir()
        self.db_path = self.root / "runs.db"
        self.read_only = read_only and self.db_path.is_file()
        if self.read_only:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with self._conn() as con:
            con.executescript(_SCHEMA)
            have = {r[1] for r in con.execute("PRAGMA table_info(runs)").fetchall()}
            for name, kind in _ADDED_COLUMNS:
                if name not in have:
                    try:
                        con.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
                    except sqlite3.OperationalError:  # another process added it first
                        pass

    def _open(self, write: bool = True) -> sqlite3.Connection:
        if not write:
            return self._open_read_only()
        con = sqlite3.connect(self.db_path, timeout=self.busy_timeout_s, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
        con.execute("PRAGMA synchronous=NORMAL")
        con.row_factory = sqlite3.Row
        return con

    def _open_read_only(self) -> sqlite3.Connection:
        """`mode=ro`; when even that cannot start (a WAL reader needs its `-shm` file, which a full disk
        cannot hold), the file as it is (`immutable=1`): no worker writes on a full disk, and a writer's last
        close checkpoints its rows into the file (a crashed writer's last rows show once there is room)."""
        uri = self.db_path.resolve().as_uri()
        try:
            return self._reader(f"{uri}?mode=ro")
        except sqlite3.OperationalError as exc:
            if any(w in str(exc).lower() for w in ("locked", "busy")):
                raise
            return self._reader(f"{uri}?immutable=1")

    def _reader(self, uri: str) -> sqlite3.Connection:
        con = sqlite3.connect(uri, uri=True, timeout=self.busy_timeout_s, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            con.execute("SELECT 1 FROM runs LIMIT 1").fetchall()  # a WAL reader fails here, not in connect()
        except sqlite3.OperationalError:
            con.close()
            raise
        con.row_factory = sqlite3.Row
        return con

    @contextmanager
    def _conn(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        if self._keep_open and not self.read_only:
            if self._kept is None:
                self._kept = self._open()
            yield self._kept
            return
        con = self._open(write=write or not self.read_only)
        try:
            yield con
        finally:
            con.close()

    def close(self) -> None:
        """Close the kept connection (a `keep_open` handle); later calls open it again."""
        if self._kept is not None:
            self._kept.close()
            self._kept = None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._conn(write=True) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # ---- runs ---------------------------------------------------------------------------------

    def create(self, spec: Any, owner: str | None = None, name: str | None = None, *, study: str | None = None,
               trial: int | None = None) -> Run:
        """A new queued run with its folder and a copy of the project spec (a tuning trial: its study and number)."""
        run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
        run_dir = self.root / run_id
        run_dir.mkdir(parents=True)
        try:
            self._insert(spec, run_id, run_dir, owner, name, {"study": study, "trial": trial} if study else {})
        except BaseException:
            shutil.rmtree(run_dir, ignore_errors=True)  # no half-made run folder without its row (a full disk)
            raise
        return self.get(run_id)  # type: ignore[return-value]

    def _insert(self, spec: Any, run_id: str, run_dir: Path, owner: str | None, name: str | None,
                extra: dict[str, Any]) -> None:
        from layerlab.runs.files import PROJECT

        spec.save(run_dir / PROJECT)
        if not name:
            with self._conn() as con:
                n = con.execute("SELECT COUNT(*) FROM runs WHERE project_name = ?", (spec.name,)).fetchone()[0]
            name = f"{spec.name} · {spec.model.template} #{n + 1}"
        row = {
            "id": run_id,
            "name": name,
            "owner": owner,
            "project_name": spec.name,
            "kind": spec.data.kind,
            "template": spec.model.template,
            "task": spec.data.task,
            "data_source": spec.data.source,
            "status": "queued",
            "run_dir": str(run_dir),
            "created": time.time(),
            "epochs": spec.train.epochs,
            **extra,
        }
        with self._tx() as con:
            con.execute(f"INSERT INTO runs ({','.join(row)}) VALUES ({','.join('?' * len(row))})", list(row.values()))

    def _row(self, r: sqlite3.Row) -> Run:
        d = {k: r[k] for k in r.keys() if k in _RUN_FIELDS}
        d["test_metrics"] = json.loads(d.get("test_metrics") or "{}")
        return Run(**d)

    def get(self, run_id: str) -> Run | None:
        with self._conn() as con:
            r = con.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return self._row(r) if r else None

    def list(self, owner: str | None = None, statuses: tuple[str, ...] | None = None) -> list[Run]:
        sql, args = "SELECT * FROM runs", []
        where = []
        if owner is not None:
            where.append("owner = ?")
            args.append(owner)
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            args.extend(statuses)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created DESC"
        with self._conn() as con:
            return [self._row(r) for r in con.execute(sql, args).fetchall()]

    def update(self, run_id: str, **values: Any) -> None:
        if not values:
            return
        if "test_metrics" in values:
            values["test_metrics"] = json.dumps(values["test_metrics"])
        bad = set(values) - _RUN_FIELDS
        if bad:
            raise ValueError(f"unknown run fields: {bad}")
        with self._tx() as con:
            con.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?", [*values.values(), run_id])

    def set_status(self, run_id: str, status: str, message: str | None = None, **values: Any) -> None:
        if status in FINISHED:
            values.setdefault("ended", time.time())
        self.update(run_id, status=status, message=message, **values)

    def rename(self, run_id: str, name: str) -> None:
        name = name.strip()[:100]
        if name:
            self.update(run_id, name=name)

    def claim_queued(self, limit: int) -> list[Run]:
        """Atomically mark queued runs `starting` while fewer than `limit` are active (FIFO)."""
        with self._tx() as con:
            busy = con.execute("SELECT COUNT(*) FROM runs WHERE status IN ('starting', 'running')").fetchone()[0]
            free = max(0, limit - busy)
            rows = con.execute("SELECT id FROM runs WHERE status = 'queued' ORDER BY created LIMIT ?", (free,)).fetchall()
            ids = [r[0] for r in rows]
            for rid in ids:
                con.execute("UPDATE runs SET status = 'starting', heartbeat = ? WHERE id = ?", (time.time(), rid))
        return [r for rid in ids if (r := self.get(rid))]

    def take_over(self, run_id: str, pid: int | None) -> bool:
        """Claim an active run whose process `pid` is gone for one new process: True for one caller only
        (several pages may notice at once). Its pid is 0 until the caller records the new one."""
        with self._tx() as con:
            cur = con.execute("UPDATE runs SET pid = 0, heartbeat = ? WHERE id = ? AND pid IS ? AND status IN "
                              "('starting', 'running')", (time.time(), run_id, pid))
        return cur.rowcount == 1

    def queue_position(self, run_id: str) -> int | None:
        """1 for the next queued run to start; None when the run is not queued."""
        with self._conn() as con:
            r = con.execute("SELECT status, created FROM runs WHERE id = ?", (run_id,)).fetchone()
            if not r or r["status"] != "queued":
                return None
            ahead = con.execute("SELECT COUNT(*) FROM runs WHERE status = 'queued' AND created < ?", (r["created"],)).fetchone()[0]
        return int(ahead) + 1

    def request_stop(self, run_id: str, owner: str | None = None) -> bool:
        """Ask a run to stop; refuses a run owned by someone else. A queued run stops at once."""
        run = self.get(run_id)
        if run is None or (owner is not None and run.owner not in (None, owner)):
            return False
        with self._tx() as con:
            con.execute("UPDATE runs SET stop_requested = 1 WHERE id = ?", (run_id,))
            con.execute("UPDATE runs SET status = 'stopped', message = 'Stopped before it started.', ended = ? "
                        "WHERE id = ? AND status = 'queued'", (time.time(), run_id))
        return True

    def beat(self, run_id: str, **progress: Any) -> bool:
        """Heartbeat plus progress in one short write; returns whether a stop was requested."""
        return self.report(run_id, [], **progress)

    def report(self, run_id: str, rows: list[tuple[str, int, int, float, dict[str, float]]], **progress: Any) -> bool:
        """A worker's flush in one transaction: new metric rows, progress and the heartbeat.

        Returns whether a stop was requested.
        """
        progress["heartbeat"] = time.time()
        bad = set(progress) - _RUN_FIELDS
        if bad:
            raise ValueError(f"unknown run fields: {bad}")
        with self._tx() as con:
            if rows:
                con.executemany(
                    "INSERT INTO metrics (run_id, scope, epoch, step, t, vals) VALUES (?, ?, ?, ?, ?, ?)",
                    [(run_id, s, e, st, t, json.dumps(v)) for s, e, st, t, v in rows],
                )
            con.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in progress)} WHERE id = ?", [*progress.values(), run_id])
            r = con.execute("SELECT stop_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(r and r[0])

    def delete(self, run_id: str, owner: str | None = None) -> bool:
        """Delete a finished run and its folder; refuses active runs and other owners' runs."""
        run = self.get(run_id)
        if run is None or run.active or (owner is not None and run.owner not in (None, owner)):
            return False
        # The folder first: on a full disk its files are the space the database needs to write at all (a
        # row left without its folder is deleted by trying again).
        if run.path.resolve().is_relative_to(self.root.resolve()):
            shutil.rmtree(run.path, ignore_errors=True)
        with self._tx() as con:
            con.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            con.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        return True

    # ---- metrics ------------------------------------------------------------------------------

    def add_metrics(self, run_id: str, rows: list[tuple[str, int, int, float, dict[str, float]]]) -> None:
        """Append (scope, epoch, step, time, {name: value}) rows in one transaction."""
        if not rows:
            return
        with self._tx() as con:
            con.executemany(
                "INSERT INTO metrics (run_id, scope, epoch, step, t, vals) VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, s, e, st, t, json.dumps(v)) for s, e, st, t, v in rows],
            )

    def trim_metrics(self, run_id: str, after_epoch: int) -> int:
        """Delete the run's rows of epochs after `after_epoch` (a session cut off before it saved
        its checkpoint); returns how many rows went."""
        with self._tx() as con:
            return con.execute("DELETE FROM metrics WHERE run_id = ? AND epoch > ?", (run_id, after_epoch)).rowcount

    def metrics(self, run_id: str, after_id: int = 0, scope: str | None = None) -> list[dict[str, Any]]:
        """Metric rows newer than `after_id`, oldest first: dicts with id, scope, epoch, step, t and values."""
        sql = "SELECT id, scope, epoch, step, t, vals FROM metrics WHERE run_id = ? AND id > ?"
        args: list[Any] = [run_id, after_id]
        if scope:
            sql += " AND scope = ?"
            args.append(scope)
        with self._conn() as con:
            rows = con.execute(sql + " ORDER BY id", args).fetchall()
        return [{"id": r["id"], "scope": r["scope"], "epoch": r["epoch"], "step": r["step"], "t": r["t"],
                 **json.loads(r["vals"])} for r in rows]

    # ---- liveness -----------------------------------------------------------------------------

    def reap(self, stale_after: float = HEARTBEAT_STALE_S) -> list[str]:
        """Mark active runs whose worker is gone: dead pid → failed; machine restarted or silent → interrupted.

        A dead worker's or a restart's message says whether a checkpoint was kept to continue from. A Ray run
        whose driver process here is gone gets a new driver instead (`ray_executor.reattach`)."""
        reaped = []
        now = time.time()
        booted = _boot_time()
        for run in self.list(statuses=ACTIVE):
            if run.status == "queued":
                continue
            alive = _pid_alive(run.pid) if run.pid else None
            last = run.heartbeat or run.created
            if run.executor == "ray" and (last < booted or alive is False or (last < now - stale_after and not alive)):
                # Only its driver here is gone: the run may still train on the cluster. A new driver takes it up.
                from layerlab.runs.ray_executor import reattach

                if reattach(self, run):
                    reaped.append(run.id)
                continue
            if (run.heartbeat or run.created) < booted:
                # The machine restarted under the run: nothing crashed, it was cut off.
                saved = run.files.saved_epochs()
                self.set_status(run.id, "interrupted", "The machine restarted while this run was training. " + (
                    f"Its checkpoint after epoch {saved} is kept: continue it from there, or train again."
                    if saved else "It had saved no checkpoint yet: train it again."))
                reaped.append(run.id)
            elif alive is False:
                saved = run.files.saved_epochs()
                self.set_status(run.id, "failed", "The training process ended unexpectedly (it may have run out of "
                                "memory or been killed). " + (f"Its checkpoint after epoch {saved} is kept: continue it "
                                                              "from there, or train again." if saved else
                                                              "It had saved no checkpoint yet: train it again."))
                reaped.append(run.id)
            elif (run.heartbeat or run.created) < now - stale_after and alive is not True:
                self.set_status(run.id, "interrupted", "The run lost contact with Layerlab (the app or machine restarted).")
                reaped.append(run.id)
        return reaped



def _boot_time() -> float:
    """When this machine booted (0 when unknown): pids from before then mean nothing."""
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of this process still answers kill(0): check its state.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    except OSError:
        return True
