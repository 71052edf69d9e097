"""Predictions laid out for people: a table per batch, the rows of a file with their predictions, and the
time points a forecast is for. The Predict page's downloads and a server's friendly answers read alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from layerlab.inference.inputs import is_number


def results_table(inputs: Sequence[Any], results: list[dict[str, Any]], info: Any, input_label: str) -> Any:
    """One row per input: the input, the prediction and (classes) each class's probability."""
    import pandas as pd

    rows = []
    for x, r in zip(inputs, results):
        row: dict[str, Any] = {input_label: x}
        if "label" in r:
            row["predicted"] = r["label"]
            row["confidence"] = r["confidence"]
            row.update({f"p({c})": r["probabilities"][c] for c in info.class_names})
        else:
            row["predicted"] = r["value"]
        rows.append(row)
    return pd.DataFrame(rows)


def append_predictions(df: Any, results: list[dict[str, Any]], info: Any) -> Any:
    """The uploaded rows with the predictions appended (new column names never clash with old ones)."""
    out = df.copy()

    def free(name: str) -> str:
        while name in out.columns:
            name = f"{name}_"
        return name

    target = info.extra.get("target", "target")
    if info.task == "classification":
        out[free(f"predicted_{target}")] = [r["label"] for r in results]
        out[free("confidence")] = [r["confidence"] for r in results]
        for c in info.class_names:
            out[free(f"p({c})")] = [r["probabilities"][c] for r in results]
    else:
        out[free(f"predicted_{target}")] = [r["value"] for r in results]
    return out


def future_steps(last: Any, freq: str | None, horizon: int, previous: Any = None) -> list[Any]:
    """The `horizon` time points after `last`: dates at `freq` (or at the last step's spacing), else step numbers."""
    import pandas as pd

    try:
        when = pd.Timestamp(last)
    except (ValueError, TypeError):
        when = None
    if when is not None and not pd.isna(when) and not is_number(last):
        if freq:
            try:
                return list(pd.date_range(start=when, periods=horizon + 1, freq=freq)[1:])
            except (ValueError, TypeError):
                pass
        if previous is not None:
            try:
                step = when - pd.Timestamp(previous)
                if step > pd.Timedelta(0):
                    return [when + step * (k + 1) for k in range(horizon)]
            except (ValueError, TypeError):
                pass
    if is_number(last):
        return [int(float(last)) + k + 1 for k in range(horizon)]
    return [f"+{k + 1}" for k in range(horizon)]


def time_labels(values: list[Any]) -> list[Any]:
    """Future time points for a table: years alone for yearly steps, dates without 00:00:00, else as they are."""
    import pandas as pd

    stamps = [v for v in values if isinstance(v, pd.Timestamp)]
    if not stamps or len(stamps) != len(values):
        return list(values)
    if all(v == v.normalize() for v in stamps):
        if all((v.month, v.day) == (1, 1) for v in stamps):
            return [str(v.year) for v in stamps]
        return [v.date().isoformat() for v in stamps]
    return [v.isoformat(sep=" ") for v in stamps]


def last_dates(extra: dict[str, Any], count: int) -> list[Any]:
    """The time points of the training data's last window (dates when the series has a date column)."""
    import pandas as pd

    dates: list[Any] = list(extra.get("last_dates") or range(1, count + 1))
    if extra.get("date"):
        dates = [pd.Timestamp(d) if not is_number(d) else d for d in dates]
    return dates
