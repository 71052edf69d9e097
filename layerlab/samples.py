"""Bundled real data sets: each ships inside an installed package, nothing is downloaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from layerlab.errors import DataError


@dataclass(frozen=True)
class Sample:
    name: str
    kind: str
    title: str
    description: str
    source: str
    load: Callable[[], Any]


SAMPLES: dict[str, Sample] = {}


def _register(sample: Sample) -> None:
    SAMPLES[sample.name] = sample


def _digits() -> Any:
    """1,797 8×8 grayscale digits as uint8 images (0–255) with labels 0–9."""
    import numpy as np
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype("uint8")[..., None]
    return images, bunch.target.astype("int64"), [str(c) for c in bunch.target_names]


_register(Sample(
    name="digits",
    kind="images",
    title="Handwritten digits",
    description="1,797 handwritten digits 0–9, 8×8 pixels in grayscale; classify which digit each image shows.",
    source="scikit-learn's copy of the UCI Optical Recognition of Handwritten Digits data set (Alpaydin & Kaynak, 1998).",
    load=_digits,
))


def get_sample(name: str) -> Sample:
    if name not in SAMPLES:
        raise DataError(f"There is no bundled sample called `{name}`.",
                        f"Pick one of: {', '.join(SAMPLES)} (see `python -m layerlab samples`).")
    return SAMPLES[name]


def sample_name(source: str) -> str | None:
    """`sample:digits` → `digits`; a path → None."""
    return source[len("sample:"):] if source.startswith("sample:") else None
