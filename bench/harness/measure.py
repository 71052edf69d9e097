"""Statistics and side-by-side timing: what turns raw timings into figures.

Every comparison is measured side by side in one run: the two sides alternate (A B, B A, …,
`alternating`) and the figure is the median of the paired ratios, which cancels most of the
noise of a shared machine.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any, TypeVar

T = TypeVar("T")


def alternating(sides: Sequence[T], rep: int) -> list[T]:
    """The order of the sides in repetition `rep`: as given on even ones, reversed on odd ones."""
    return list(sides) if rep % 2 == 0 else list(reversed(sides))


def median(values: Iterable[float]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(vals) if vals else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """Linear-interpolated percentile, q in [0, 100]."""
    vals = sorted(v for v in values if v is not None and math.isfinite(v))
    if not vals:
        return None
    k = (len(vals) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return vals[lo] + (vals[hi] - vals[lo]) * (k - lo)


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def rnd(x: Any, digits: int = 4) -> Any:
    """A float rounded for the results file; anything else as it is."""
    return round(x, digits) if isinstance(x, float) and math.isfinite(x) else x


def steady_cpu_seconds(cpu_end: list[float]) -> float | None:
    """CPU seconds per epoch from the end of epoch 2 to the end of the last (same window as the wall cycle)."""
    if len(cpu_end) < 3:
        return None
    return (cpu_end[-1] - cpu_end[1]) / (len(cpu_end) - 2)


def steady_cycle_seconds(end: list[float]) -> float | None:
    """Median time between consecutive epoch ends from the 3rd on: includes end-of-epoch work
    (checkpoint saving, store writes) that epoch_seconds does not see."""
    return median([b - a for a, b in pairwise(end[1:])])


def interpolate(samples: list[tuple[float, float]], t: float) -> float | None:
    """Linear interpolation of (time, value) samples sorted by time."""
    if not samples or t < samples[0][0] or t > samples[-1][0]:
        return None
    i = bisect.bisect_left([x for x, _ in samples], t)
    if samples[i][0] == t or i == 0:
        return samples[i][1]
    (t0, v0), (t1, v1) = samples[i - 1], samples[i]
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
