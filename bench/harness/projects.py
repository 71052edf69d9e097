"""The projects benchmarks train: each bundled sample's project as the app creates it."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def sample_spec(source: str, *, epochs: int | None = None, **edits: Any) -> Any:
    """The project the app would create for `source` (defaults inferred), with dotted-path edits."""
    from layerlab.project import new_project

    spec = new_project(source)
    changes = dict(edits)
    if epochs is not None:
        changes["train.epochs"] = epochs
    return spec.edit(**changes) if changes else spec


def wine_csv(dest: Path) -> str:
    """sklearn's wine data written as a CSV (the table fallback when no table sample is bundled)."""
    import pandas as pd  # noqa: F401 - load_wine(as_frame=True) needs it
    from sklearn.datasets import load_wine

    bunch = load_wine(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "cultivar"})
    frame["cultivar"] = frame["cultivar"].map(lambda i: f"class_{i}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(dest, index=False)
    return str(dest)


def available_samples() -> dict[str, str]:
    """{name: kind} of the bundled samples, read without importing TensorFlow."""
    from layerlab.samples import SAMPLES

    return {name: s.kind for name, s in SAMPLES.items()}
