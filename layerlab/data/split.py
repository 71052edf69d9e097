"""Seeded train/validation/test splits, stratified by class where asked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from layerlab.errors import DataError
from layerlab.spec import SplitSpec


@dataclass
class Split:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}


def split_indices(n: int, spec: SplitSpec, labels: np.ndarray | None = None,
                  class_names: Sequence[str] | None = None) -> Split:
    """Shuffle with `spec.seed` and cut; per class when `labels` is given and `spec.stratify`.

    Every class with at least 3 examples gets at least one in each part, so test
    metrics see every class the model was trained on. `class_names[label]` names a class
    in messages (labels are encoded indices; a user knows the class by its name).
    """
    if n < 3:
        raise DataError(f"Only {n} examples: training, validation and test each need at least one.", "Add more data.")
    rng = np.random.default_rng(spec.seed)
    if labels is None or not spec.stratify:
        groups = [np.arange(n)]
    else:
        labels = np.asarray(labels)
        classes, counts = np.unique(labels, return_counts=True)
        few = classes[counts < 2]
        if len(few):
            names = [str(class_names[int(c)]) if class_names is not None else str(c) for c in few]
            shown = ", ".join(f"`{name}`" for name in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            raise DataError(f"The class {shown} has fewer than 2 examples." if len(names) == 1 else
                            f"The classes {shown} have fewer than 2 examples each.",
                            "Add examples for it, or remove it from the data." if len(names) == 1 else
                            "Add examples for them, or remove them from the data.")
        groups = [np.flatnonzero(labels == c) for c in classes]
    parts: list[list[np.ndarray]] = [[], [], []]
    for idx in groups:
        idx = idx.copy()
        rng.shuffle(idx)
        m = len(idx)
        n_test = int(round(m * spec.test))
        n_val = int(round(m * spec.validation))
        if m >= 3:
            n_test, n_val = max(1, n_test), max(1, n_val)
        n_test = min(n_test, max(0, m - 1))
        n_val = min(n_val, max(0, m - 1 - n_test))
        parts[0].append(idx[n_test + n_val:])
        parts[1].append(idx[n_test:n_test + n_val])
        parts[2].append(idx[:n_test])
    train, val, test = (np.sort(np.concatenate(p)).astype("int64") for p in parts)
    if len(val) == 0 or len(test) == 0:
        raise DataError("Too few examples to make validation and test sets.", "Add more data, or raise the split ratios.")
    return Split(train, val, test)


def drop_test_duplicates(split: Split, keys: np.ndarray) -> tuple[Split, int]:
    """Remove from the test set every example whose key (a row or text hash) also occurs in training.

    A duplicate seen in training would flatter the test score. Returns the new split and
    how many were dropped (the test set keeps at least one example).
    """
    keys = np.asarray(keys)
    if keys.dtype == object:
        seen = set(keys[split.train].tolist())
        keep = np.array([k not in seen for k in keys[split.test]], dtype=bool)
    else:  # numbers or fixed-size bytes (row and image hashes): no Python object per row
        keep = ~np.isin(keys[split.test], keys[split.train])
    if keep.sum() == 0:
        return split, 0
    dropped = int((~keep).sum())
    return Split(split.train, split.validation, split.test[keep]), dropped
