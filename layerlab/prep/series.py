"""Windows for forecasting: scaled on the training span, split by time, never shuffled across it.

Each example is `window` past steps of all value columns; its target is the next
`horizon` steps of the target columns. A window is assigned to the part in which its
targets lie, and its targets never cross into a later part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab.errors import DataError
from layerlab.spec import SeriesPrep, SplitSpec


@dataclass
class Windows:
    x: np.ndarray            # (N, window, n_features), scaled (minus the last step when predicting change)
    y: np.ndarray            # (N, horizon, n_targets), scaled
    start: np.ndarray        # row index of each window's first target step
    parts: dict[str, np.ndarray]  # train/validation/test → window indices
    center: np.ndarray       # per feature
    spread: np.ndarray       # per feature
    target_idx: list[int]    # positions of the targets among the features
    bounds: tuple[int, int]  # first validation row, first test row
    last: np.ndarray         # (N, n_features): each window's last step, scaled


def scale_stats(values: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    if how == "standardize":
        center, spread = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
    elif how == "minmax":
        center, spread = np.nanmin(values, axis=0), np.nanmax(values, axis=0) - np.nanmin(values, axis=0)
    else:
        center, spread = np.zeros(values.shape[1]), np.ones(values.shape[1])
    spread = np.where(spread > 0, spread, 1.0)
    return center.astype("float32"), spread.astype("float32")


def window_parts(n: int, prep: SeriesPrep, split: SplitSpec) -> tuple[np.ndarray, dict[str, np.ndarray],
                                                                       tuple[int, int]]:
    """Where windows start, which part each belongs to and the parts' first rows, for `n` steps,
    without cutting any window (so the Prepare page counts windows of a huge series cheaply)."""
    w, h = prep.window, prep.horizon
    n_test = max(1, int(round(n * split.test)))
    n_val = max(1, int(round(n * split.validation)))
    b_val, b_test = n - n_val - n_test, n - n_test
    if b_val < w + h or n_test < h or n_val < h:
        raise DataError(
            f"The series has {n} steps: too short for a window of {w} and a horizon of {h} with this split.",
            f"Use a shorter window (at most about {max(2, b_val - h)}), a shorter horizon, or more data.")
    starts = np.arange(w, n - h + 1, prep.stride)
    end = starts + h
    parts = {
        "train": np.flatnonzero(end <= b_val),
        "validation": np.flatnonzero((starts >= b_val) & (end <= b_test)),
        "test": np.flatnonzero(starts >= b_test),
    }
    for name, idx in parts.items():
        if len(idx) == 0:
            raise DataError(f"No {name} windows fit in the series with a window of {w}, horizon {h} and stride {prep.stride}.",
                            "Use a shorter window or horizon, a stride of 1, or change the split.")
    return starts, parts, (b_val, b_test)


def make_windows(values: np.ndarray, target_idx: list[int], prep: SeriesPrep, split: SplitSpec) -> Windows:
    """Cut the (rows, features) array into scaled windows and assign them to parts by time."""
    w, h = prep.window, prep.horizon
    starts, parts, (b_val, b_test) = window_parts(len(values), prep, split)
    center, spread = scale_stats(values[:b_val], prep.scale)
    scaled = ((values - center) / spread).astype("float32")
    xi = starts[:, None] + np.arange(-w, 0)[None, :]
    yi = starts[:, None] + np.arange(h)[None, :]
    x = scaled[xi]
    y = scaled[yi][:, :, target_idx]
    last = x[:, -1, :].copy()
    if prep.predict == "change":
        # Relative to the window's last value, a trend the training span never reached is no surprise.
        x = x - last[:, None, :]
        y = y - last[:, None, target_idx]
    return Windows(x, y, starts, parts, center, spread, list(target_idx), (b_val, b_test), last)
