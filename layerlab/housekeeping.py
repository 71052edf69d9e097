"""Remove what users uploaded once nothing uses it any more.

Uploads live in a folder per browser session (uploads/<session id>/). A file is in use
while a saved project or a run points at it; anything else older than `max_age_hours`
goes, and so do empty session folders. What Layerlab derived from an image source (the
unpacked zip under extracted/, decoded images under image-cache/) goes with it.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Iterable

from layerlab.settings import home


def _sources(spec_files: Iterable[Path]) -> set[str]:
    """Resolved data paths that these project files point at (samples are not files)."""
    out: set[str] = set()
    for spec_file in spec_files:
        try:
            source = str(json.loads(spec_file.read_text(encoding="utf-8"))["data"]["source"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not source.startswith("sample:"):
            out.add(str(Path(source).resolve()))
    return out


def _run_sources(root: Path) -> set[str]:
    return _sources((root / "runs").glob("*/project.json"))


def sweep_uploads(max_age_hours: float = 24.0, root: Path | None = None) -> list[Path]:
    """Delete unreferenced uploads older than `max_age_hours` (and empty session folders); return what went."""
    root = root or home()
    uploads = root / "uploads"
    if not uploads.exists():
        return []
    used = _run_sources(root) | _sources((root / "projects").glob("*.json"))
    cutoff = time.time() - max_age_hours * 3600
    removed: list[Path] = []
    for session in [p for p in uploads.iterdir() if p.is_dir()]:
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


def _derived_in_use(sources: Iterable[str]) -> set[Path]:
    from layerlab.data.images import derived_folders

    return {folder.resolve() for source in sources for folder in derived_folders(source)}


def sweep_derived(max_age_hours: float = 24.0, root: Path | None = None) -> list[Path]:
    """Delete unpacked zips and image caches that no project or run uses, untouched for `max_age_hours`.

    Also an unpacking cut off half-way (a `.part` folder). Returns what went.
    """
    root = root or home()
    used = _derived_in_use(_run_sources(root) | _sources((root / "projects").glob("*.json")))
    cutoff = time.time() - max_age_hours * 3600
    removed: list[Path] = []
    for parent in (root / "extracted", root / "image-cache"):
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
    root = root or home()
    path = Path(path).resolve()
    if not path.is_relative_to((root / "uploads").resolve()) or not path.is_file():
        return "That file is not one of your uploads."
    if str(path) in _run_sources(root):
        return "A training run still uses this file: delete those runs on the Runs page first."
    derived = _derived_in_use([str(path)])
    path.unlink()
    # Its unpacked copy goes too, unless another upload of the same zip still needs it.
    still = _derived_in_use(_run_sources(root) | _sources((root / "projects").glob("*.json")))
    for folder in derived - still:
        shutil.rmtree(folder, ignore_errors=True)
    return None
