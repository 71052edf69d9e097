"""Template: reading a folder (or .zip) of class folders with Pillow (Layerlab's reader also caches and checks more).

`_class_folders` copies the private `layerlab.data.images._class_root`; tests/engine/test_codegen_templates.py
asserts the same folder for the same layouts.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from layerlab.codegen.templates.project import SPEC, DataError
from layerlab.data.images import decode_image

# ---- the script starts here ----
IMAGE_EXTENSIONS: list[str] = []
_IGNORED: list[str] = []


def _class_folders(root: Path) -> Path:
    """Descend through single wrapper folders (`dataset/cats/...` -> `dataset`)."""
    while True:
        entries = [p for p in root.iterdir() if p.name not in _IGNORED and not p.name.startswith(".")]
        dirs = [p for p in entries if p.is_dir()]
        files = [p for p in entries if p.is_file()]
        if len(dirs) == 1 and not files and any(p.is_dir() for p in dirs[0].iterdir()):
            root = dirs[0]
            continue
        return root


def _unzip(path: Path) -> Path:
    """Extract a zip of class folders into a temporary folder (refusing paths that leave it)."""
    import zipfile

    dest = Path(tempfile.mkdtemp(prefix="layerlab-images-"))
    with zipfile.ZipFile(path) as zf:
        for member in zf.infolist():
            target = (dest / member.filename).resolve()
            if not str(target).startswith(str(dest.resolve())):
                continue
            zf.extract(member, dest)
    return dest


def load_image_folder(source: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images of a folder (or .zip) holding one folder per class, decoded at the project's size."""
    path = Path(source).expanduser()
    root = _class_folders(_unzip(path) if path.is_file() else path)
    classes: dict[str, list[Path]] = {}
    for f in sorted(root.rglob("*")):
        rel = f.relative_to(root)
        if any(part in _IGNORED or part.startswith(".") for part in rel.parts) or not f.is_file():
            continue
        if len(rel.parts) >= 2 and f.suffix.lower() in IMAGE_EXTENSIONS:
            classes.setdefault(rel.parts[0], []).append(f)
    names = sorted(classes)
    images, labels = [], []
    for k, name in enumerate(names):
        for f in classes[name]:
            try:
                images.append(decode_image(f, SPEC.prepare.image))
                labels.append(k)
            except DataError as exc:
                print(f"skipped {f.name}: {exc}")
    return np.stack(images), np.asarray(labels, dtype="int64"), names


def load_data(source: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The project's images (a folder or .zip of class folders)."""
    return load_image_folder(source)
