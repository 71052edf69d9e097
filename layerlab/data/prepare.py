"""From a spec to arrays ready for the pipeline: load, validate, split — per data kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from layerlab.data.info import DataInfo
from layerlab.data.split import Split, split_indices
from layerlab.errors import DataError
from layerlab.spec import ProjectSpec


@dataclass
class Prepared:
    """All examples with their split; `x` is an array (or dict of arrays), `y` the targets."""

    info: DataInfo
    x: Any
    y: np.ndarray
    split: Split
    names: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def part(self, which: str) -> tuple[Any, np.ndarray]:
        idx = getattr(self.split, which)
        if isinstance(self.x, dict):
            return {k: v[idx] for k, v in self.x.items()}, self.y[idx]
        return self.x[idx], self.y[idx]


def _prepare_images(spec: ProjectSpec, progress: Callable[[float], None] | None) -> Prepared:
    from layerlab.data.images import load_images, open_images

    src = open_images(spec.data.source)
    data = load_images(src, spec.prepare.image, progress)
    prep = spec.prepare.image
    channels = 1 if prep.color == "grayscale" else 3
    info = DataInfo(kind="images", task="classification", input_shape=(prep.height, prep.width, channels),
                    class_names=data.class_names)
    split = split_indices(len(data.labels), spec.prepare.split, data.labels if spec.prepare.split.stratify else None)
    notes = []
    if data.skipped:
        notes.append(f"{len(data.skipped)} file(s) skipped: " + "; ".join(f"{n} ({r})" for n, r in data.skipped[:5])
                     + (" …" if len(data.skipped) > 5 else ""))
    return Prepared(info, data.images, data.labels, split, data.names, notes)


PREPARERS: dict[str, Callable[[ProjectSpec, Any], Prepared]] = {"images": _prepare_images}


def prepare(spec: ProjectSpec, progress: Callable[[float], None] | None = None) -> Prepared:
    """Load and split the project's data. Raises DataError with a plain message."""
    try:
        fn = PREPARERS[spec.data.kind]
    except KeyError:
        raise DataError(f"{spec.data.kind} data is not supported yet.", "Use image data for now.") from None
    return fn(spec, progress)
