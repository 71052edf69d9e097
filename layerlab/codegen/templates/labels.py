"""Template: the target column, class order and test de-duplication, exactly as Layerlab's preparation.

These copy helpers of `layerlab.prep.prepare` (`labels` uses the private `_natural`); tests/engine/test_codegen_templates.py
runs both on the same inputs and asserts the same results (and messages).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from layerlab.codegen.templates.project import DataError
from layerlab.data.split import Split, drop_test_duplicates

# ---- the script starts here ----


def labels(values: Any, column: str) -> tuple[np.ndarray, list[str]]:
    """Class indices and names (sorted) for a label column; refuses unusable targets."""
    import pandas as pd

    s = pd.Series(values)
    if s.isna().all():
        raise DataError(f"The target column `{column}` is empty.", "Pick another target column.")
    # Each distinct value once (not each of 2,000,000 rows as a Python object): its text names the class.
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    texts = [str(v) for v in np.asarray(uniques, dtype=object)]
    names = sorted({t for t, v in zip(texts, np.asarray(uniques, dtype=object)) if not pd.isna(v)}, key=_natural)
    if len(names) < 2:
        raise DataError(f"The target column `{column}` has only one class (`{names[0]}`); a classifier needs two "
                        "or more.", "Pick another target, or add examples of other classes.")
    index = {n: i for i, n in enumerate(names)}
    y = np.array([index[t] for t in texts], dtype="int64")[codes]
    return y, names


def _natural(text: str) -> tuple:
    """Numbers in numeric order first, then text in text order (`2` before `10`)."""
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


def check_column(df: Any, column: str | None, role: str) -> str:
    """The column that plays `role`, refused when it is unset or not in the data."""
    if not column:
        raise DataError(f"No {role} column is set.", f"Choose the {role} column on the Data page (or pass --{role} "
                        "on the CLI).")
    if column not in df.columns:
        raise DataError(f"The {role} column `{column}` is not in the data.",
                        f"Pick one of: {', '.join(map(str, list(df.columns)[:20]))}.")
    return column


def _dedupe(split: Split, keys: np.ndarray, notes: list[str], what: str) -> Split:
    """Leave out of the test part what also appears in the training part, and say so."""
    split, dropped = drop_test_duplicates(split, keys)
    if dropped:
        notes.append(f"{dropped} test {what} also appear in the training data and were left out of the test set, "
                     "so the test score is not flattered by examples the model has already seen.")
    return split


def drop_missing_target(df: Any, column: str, notes: list[str]) -> Any:
    """Rows without a target value are left out (and counted in the notes)."""
    missing = df[column].isna()
    if missing.all():
        raise DataError(f"The target column `{column}` is empty.", "Pick another target column.")
    if missing.any():
        notes.append(f"{int(missing.sum())} row(s) without a `{column}` value were left out.")
        df = df[~missing].reset_index(drop=True)
    return df
