"""Remove what users uploaded once nothing uses it any more.

Uploads live in a folder per browser session (uploads/<session id>/), its saved project in
projects/<session id>.json. A session not seen for `max_age_hours` (LAYERLAB_SWEEP_HOURS,
default 24; `touch_session` marks it seen) is abandoned: its saved project goes, unless one
of its runs is queued or running. A file is in use while a saved project or a run (of any
status) points at it; anything else older than `max_age_hours` goes, and so do empty session
folders. What Layerlab derived from an image source (the unpacked zip under extracted/,
decoded images under image-cache/) goes with it. A kept .keras file to start a model from
(model-files/) is an upload too: it goes once no saved project or run names it in a
`keras_file` layer and it is older than `max_age_hours`. A model server started from the app
(servers/<id>.json) is stopped once its session is abandoned, and forgotten once it has ended.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Iterable

from layerlab.runs.files import PROJECT
from layerlab.settings import limits, runs_dir
from layerlab.workspace import layout, source_of


def _sources(spec_files: Iterable[Path]) -> set[str]:
    """Resolved data paths that these project files point at (samples are not files)."""
    out: set[str] = set()
    for spec_file in spec_files:
        try:
            source = source_of(str(json.loads(spec_file.read_text(encoding="utf-8"))["data"]["source"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if source.path is not None:
            out.add(str(source.path.resolve()))
    return out


def _runs_root(root: Path | None) -> Path:
    """Where the runs are: under `root` when one is given (tests), else LAYERLAB_RUNS_DIR or $LAYERLAB_HOME/runs."""
    return root / "runs" if root is not None else runs_dir()


def _run_sources(root: Path | None) -> set[str]:
    return _sources(_runs_root(root).glob(f"*/{PROJECT}"))


def _sources_in_use(root: Path | None) -> set[str]:
    """The data paths that any run or saved project points at."""
    return _run_sources(root) | _sources(layout(root).projects.glob("*.json"))


def _max_age(max_age_hours: float | None) -> float:
    return float(limits().sweep_hours if max_age_hours is None else max_age_hours)


def _seen_marks(root: Path | None, session: str) -> list[Path]:
    """What carries a session's last-seen time: its saved project, its uploads folder, its servers' records."""
    where = layout(root)
    servers = sorted(where.servers.glob("*.json")) if where.servers.is_dir() else []
    return [where.project_file(session), where.session_uploads(session),
            *(p for p in servers if _server_owner(p) == session)]


def _server_owner(record: Path) -> str | None:
    try:
        return json.loads(record.read_text(encoding="utf-8")).get("owner")
    except (OSError, ValueError, AttributeError):
        return None


def touch_session(session: str, root: Path | None = None) -> None:
    """Mark a session as seen now (its saved project, its uploads folder and its servers), so the sweep keeps them."""
    for path in _seen_marks(root, session):
        try:
            os.utime(path)
        except OSError:  # not there (yet): nothing to keep
            pass


def _last_seen(root: Path | None, session: str) -> float:
    """When a session was last seen: the newest time of its saved project, uploads folder and server records."""
    times = []
    for path in _seen_marks(root, session):
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            pass
    return max(times, default=0.0)


def _sessions_with_active_runs(root: Path | None) -> set[str] | None:
    """Owners of queued or running runs; None when the run database cannot be read (then keep everything)."""
    runs = _runs_root(root)
    if not (runs / "runs.db").exists():
        return set()
    try:
        from layerlab.runs.store import ACTIVE, RunStore

        return {r.owner for r in RunStore(runs, busy_timeout_s=5.0).list(statuses=ACTIVE) if r.owner}
    except Exception:  # noqa: BLE001 - a locked or damaged database: delete nothing rather than guess
        return None


def sweep_projects(max_age_hours: float | None = None, root: Path | None = None) -> list[Path]:
    """Delete the saved projects of sessions not seen for `max_age_hours`, unless one of the session's
    runs is queued or running; return what went. Their uploads then fall to `sweep_uploads`."""
    projects = layout(root).projects
    if not projects.is_dir():
        return []
    active = _sessions_with_active_runs(root)
    if active is None:
        return []
    cutoff = time.time() - _max_age(max_age_hours) * 3600
    removed: list[Path] = []
    for spec_file in projects.glob("*.json"):
        session = spec_file.stem
        if session in active or _last_seen(root, session) > cutoff:
            continue
        spec_file.unlink(missing_ok=True)
        removed.append(spec_file)
    return removed


def sweep_uploads(max_age_hours: float | None = None, root: Path | None = None) -> list[Path]:
    """Delete abandoned sessions' projects (`sweep_projects`), then unreferenced uploads older than
    `max_age_hours` (default LAYERLAB_SWEEP_HOURS) and empty session folders; return what went."""
    removed_projects = sweep_projects(max_age_hours, root) + sweep_model_files(max_age_hours, root)
    uploads = layout(root).uploads
    if not uploads.exists():
        return removed_projects
    active = _sessions_with_active_runs(root)
    used = _sources_in_use(root)
    cutoff = time.time() - _max_age(max_age_hours) * 3600
    removed: list[Path] = removed_projects
    for session in [p for p in uploads.iterdir() if p.is_dir()]:
        if active is None or session.name in active:
            continue  # a queued or running run of this session may still read any of its files
        for f in list(session.iterdir()):
            if str(f.resolve()) in used or f.stat().st_mtime > cutoff:
                continue
            if f.is_dir():
                shutil.rmtree(f, ignore_errors=True)
            else:
                f.unlink(missing_ok=True)
            removed.append(f)
        if not any(session.iterdir()):
            session.rmdir()
            removed.append(session)
    return removed


def _model_files(spec_files: Iterable[Path]) -> set[str]:
    """The kept .keras files (their stored names) that these project files' `keras_file` layers name."""
    from layerlab.models.keras_file import LAYER_TYPE

    out: set[str] = set()
    for spec_file in spec_files:
        try:
            layers = json.loads(spec_file.read_text(encoding="utf-8"))["model"]["layers"]
            out.update(str(layer["params"]["file"]) for layer in layers if layer.get("type") == LAYER_TYPE)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return out


def sweep_model_files(max_age_hours: float | None = None, root: Path | None = None) -> list[Path]:
    """Delete kept .keras files (model-files/) that no saved project or run names, older than `max_age_hours`
    (default LAYERLAB_SWEEP_HOURS); a file half-written when the server stopped goes the same way. Returns what
    went. `sweep_uploads` calls it."""
    folder = layout(root).model_files
    if not folder.is_dir():
        return []
    used = _model_files([*_runs_root(root).glob(f"*/{PROJECT}"), *layout(root).projects.glob("*.json")])
    cutoff = time.time() - _max_age(max_age_hours) * 3600
    removed: list[Path] = []
    for path in folder.iterdir():
        try:
            if path.name in used or not path.is_file() or path.stat().st_mtime > cutoff:
                continue
        except OSError:
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _derived_in_use(sources: Iterable[str]) -> set[Path]:
    from layerlab.data.images import derived_folders

    return {folder.resolve() for source in sources for folder in derived_folders(source)}


def sweep_derived(max_age_hours: float | None = None, root: Path | None = None) -> list[Path]:
    """Delete unpacked zips and image caches that no project or run uses, untouched for `max_age_hours`
    (default LAYERLAB_SWEEP_HOURS).

    Also an unpacking cut off half-way (a `.part` folder). Returns what went.
    """
    used = _derived_in_use(_sources_in_use(root))
    cutoff = time.time() - _max_age(max_age_hours) * 3600
    removed: list[Path] = []
    for parent in layout(root).derived:
        if not parent.is_dir():
            continue
        for folder in parent.iterdir():
            try:
                if folder.resolve() in used or folder.stat().st_mtime > cutoff:
                    continue
            except OSError:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def delete_upload(path: str | Path, root: Path | None = None) -> str | None:
    """Delete one uploaded file now, as its user asked; returns why not, or None when it is gone."""
    path = Path(path).resolve()
    if not path.is_relative_to(layout(root).uploads.resolve()) or not path.is_file():
        return "That file is not one of your uploads."
    if str(path) in _run_sources(root):
        return "A training run still uses this file: delete those runs on the Runs page first."
    derived = _derived_in_use([str(path)])
    path.unlink()
    # Its unpacked copy goes too, unless another upload of the same zip still needs it.
    still = _derived_in_use(_sources_in_use(root))
    for folder in derived - still:
        shutil.rmtree(folder, ignore_errors=True)
    return None


def sweep_servers(max_age_hours: float | None = None, root: Path | None = None) -> list[str]:
    """Stop the model servers of sessions not seen for `max_age_hours` (default LAYERLAB_SWEEP_HOURS) and
    forget servers that have ended; returns their ids."""
    from layerlab.serve.manage import all_servers, stop_abandoned

    folder = layout(root).servers
    cutoff = time.time() - _max_age(max_age_hours) * 3600
    gone = {s.owner for s in all_servers(folder) if _last_seen(root, s.owner) <= cutoff}
    return stop_abandoned(gone, folder)
