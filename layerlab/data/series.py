"""Time series: parse the date column, put rows in time order, find the frequency and the gaps.

`prepare_series` turns a table into a clean series (sorted, one row per time step,
numeric values) and reports what it found: the frequency ('D', 'W-SAT', 'MS',
'YS-JAN', …), the missing time steps, and dates that appeared twice. `fill_gaps`
then adds the missing steps at that frequency and fills them. Without a date column
(`date=None`) the row order is the time axis.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from layerlab.data.profile import as_text, read_dates
from layerlab.errors import DataError

FILL_METHODS = ("interpolate", "ffill", "drop")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_BAD_SHARE = 0.05  # more unreadable dates (or values) than this refuses the column
_FREQ_WORDS = {"D": "daily", "B": "business days", "h": "hourly", "min": "every minute", "s": "every second",
               "MS": "monthly (month start)", "ME": "monthly (month end)"}


@dataclass
class SeriesFrame:
    """A series ready for windowing.

    `frame` holds the date column (when there is one) and the value columns, sorted by
    date, one row per date. `freq` is a pandas frequency string, or None when the steps
    are irregular or there is no date. `gaps` lists runs of missing steps as
    (first missing step, last missing step, number of steps). `duplicates` counts rows
    whose date had already appeared (their values were averaged).
    """

    frame: pd.DataFrame
    date: str | None
    values: list[str]
    freq: str | None = None
    gaps: list[tuple[pd.Timestamp, pd.Timestamp, int]] = field(default_factory=list)
    duplicates: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def missing_steps(self) -> int:
        return sum(g[2] for g in self.gaps)


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _shown(values: pd.Series, k: int = 5) -> str:
    out = [repr(v) if isinstance(v, str) else str(v) for v in pd.unique(values)[:k]]
    return ", ".join(out) + (", …" if values.nunique() > k else "")


def parse_dates(s: pd.Series, name: str | None = None) -> pd.Series:
    """Read a column as dates: datetimes, text dates (several formats tried), whole-number
    years (1000–2999) or YYYYMMDD numbers. Unreadable values become NaT.

    Raises DataError naming the column and a few bad values when more than 5% fail.
    """
    name = name or str(s.name)
    nonnull = s.dropna()
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s
    if pd.api.types.is_bool_dtype(s.dtype):
        raise DataError(f"The column `{name}` holds true/false values, not dates.", _date_hint())
    if pd.api.types.is_numeric_dtype(s.dtype):
        v = nonnull.to_numpy(dtype="float64")
        integral = bool(np.all(np.mod(v, 1) == 0)) if len(v) else False
        if integral and len(v) and v.min() >= 1000 and v.max() <= 2999:
            return pd.to_datetime(pd.DataFrame({"year": s, "month": 1, "day": 1}), errors="coerce")
        if integral and len(v) and v.min() >= 1000_01_01 and v.max() <= 2999_12_31:
            text = s.astype("Int64").astype("str")
            parsed = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
            return _check_parsed(s, parsed, name)
        raise DataError(f"The column `{name}` holds plain numbers ({_shown(nonnull)}), not dates.", _date_hint())
    parsed = read_dates(as_text(s))
    return _check_parsed(s, parsed, name)


def _date_hint() -> str:
    return ("Choose the column that holds the dates (e.g. 2024-03-31 or 31/03/2024), "
            "or choose no date column to use the row order as time.")


def _check_parsed(s: pd.Series, parsed: pd.Series, name: str) -> pd.Series:
    bad = s.notna() & parsed.isna()
    n_bad, n = int(bad.sum()), int(s.notna().sum())
    if n == 0 or n_bad > _BAD_SHARE * n or n - n_bad < 2:
        raise DataError(f"The column `{name}` does not read as dates: {n_bad:,} of {n:,} values are not dates, "
                        f"for example {_shown(s[bad])}.", _date_hint())
    return parsed


def _numeric_values(df: pd.DataFrame, values: list[str], notes: list[str]) -> pd.DataFrame:
    out = {}
    for col in values:
        s = df[col]
        if pd.api.types.is_bool_dtype(s.dtype):
            out[col] = s.astype("float64")
            continue
        if pd.api.types.is_numeric_dtype(s.dtype):
            out[col] = s.astype("float64")
            continue
        num = pd.to_numeric(s, errors="coerce")
        bad = s.notna() & num.isna()
        n_bad, n = int(bad.sum()), int(s.notna().sum())
        if n == 0 or n_bad > _BAD_SHARE * n:
            raise DataError(f"The column `{col}` does not hold numbers: {n_bad:,} of {n:,} values are not numbers, "
                            f"for example {_shown(s[bad])}.",
                            "A series forecasts numeric columns: choose numeric columns as values.")
        if n_bad:
            notes.append(f"{_count(n_bad, 'value')} of `{col}` {'is' if n_bad == 1 else 'are'} not "
                         f"{'a number' if n_bad == 1 else 'numbers'} ({_shown(s[bad], 3)}) and treated as missing.")
        out[col] = num.astype("float64")
    return pd.DataFrame(out, index=df.index)


def prepare_series(df: pd.DataFrame, date: str | None, values: list[str] | str) -> SeriesFrame:
    """Sort by the parsed date, merge repeated dates, infer the frequency and find the gaps.

    Args:
        df: the table.
        date: the date column, or None to use the row order as the time axis.
        values: the numeric column(s) of the series.

    Raises:
        DataError: a column is missing, the date column does not parse (naming a few bad
            values), or a value column is not numeric.
    """
    values = [values] if isinstance(values, str) else list(values)
    if not values:
        raise DataError("No value column is chosen for the series.", "Choose at least one numeric column to forecast.")
    for col in [*( [date] if date is not None else []), *values]:
        if col not in df.columns:
            raise DataError(f"The column `{col}` is not in the data.", "Choose columns that exist in the table.")
    if date is not None and date in values:
        raise DataError(f"`{date}` cannot be both the date and a value.", "Choose a different date or value column.")
    notes: list[str] = []
    nums = _numeric_values(df, values, notes)
    if date is None:
        frame = nums.reset_index(drop=True)
        notes.append("No date column: rows are taken in file order, one time step per row.")
        return SeriesFrame(frame, None, values, None, [], 0, notes)

    when = parse_dates(df[date], date)
    keep = when.notna()
    dropped = int((~keep).sum())
    if dropped:
        unread = df[date][~keep & df[date].notna()]
        what = f" (including {_shown(unread, 3)})" if len(unread) else ""
        notes.append(f"{_count(dropped, 'row')} without a readable date{what} {'is' if dropped == 1 else 'are'} "
                     "left out.")
    frame = pd.concat([when[keep].rename(date), nums[keep]], axis=1)
    if not frame[date].is_monotonic_increasing:
        notes.append("Rows were put in date order (the file was not sorted by date).")
    frame = frame.sort_values(date, kind="mergesort").reset_index(drop=True)
    duplicates = int(frame[date].duplicated().sum())
    if duplicates:
        frame = frame.groupby(date, sort=True, as_index=False)[values].mean()
        notes.append(f"{_count(duplicates, 'row')} {'repeats' if duplicates == 1 else 'repeat'} a date that appears "
                     "earlier; the values of each date were averaged.")
    index = pd.DatetimeIndex(frame[date])
    freq = infer_frequency(index)
    gaps: list[tuple[pd.Timestamp, pd.Timestamp, int]] = []
    if freq is None:
        notes.append("The dates are not evenly spaced, so no frequency was found: each row is one step.")
    else:
        gaps = find_gaps(index, freq)
        notes.append(f"One row per {_freq_words(freq)}.")
        if gaps:
            steps = sum(g[2] for g in gaps)
            plural = ("s" if steps != 1 else "", "s" if len(gaps) != 1 else "")
            notes.append(f"{steps:,} missing time step{plural[0]} in {len(gaps):,} gap{plural[1]} "
                         f"(the first at {gaps[0][0].date()}); fill them before training.")
    empty = int(frame[values].isna().any(axis=1).sum())
    if empty:
        notes.append(f"{_count(empty, 'row')} {'has' if empty == 1 else 'have'} missing values.")
    return SeriesFrame(frame, date, values, freq, gaps, duplicates, notes)


def _freq_words(freq: str) -> str:
    if freq in _FREQ_WORDS:
        return _FREQ_WORDS[freq].replace("daily", "day").replace("hourly", "hour").replace("every ", "")
    if freq.startswith("W-"):
        return f"week ({freq[2:].title()})"
    if freq.startswith(("YS-", "YE-")):
        return "year"
    if freq.startswith(("QS-", "QE-")):
        return "quarter"
    return f"step of {freq}"


def infer_frequency(index: pd.DatetimeIndex) -> str | None:
    """The pandas frequency of sorted unique dates, even with gaps; None when irregular."""
    if len(index) < 3:
        return None
    freq = _pandas_frequency(index)
    if freq:
        return freq
    step = pd.Series(index[1:] - index[:-1]).mode().iloc[0]
    if step <= pd.Timedelta(0):
        return None
    days = step / pd.Timedelta(days=1)
    first = index[0]
    midnight = bool((index.normalize() == index).all())
    candidates: list[str] = []
    if midnight and 28 <= days <= 31:
        candidates = ["MS", "ME"]
    elif midnight and 89 <= days <= 92:
        candidates = [f"QS-{_MONTHS[first.month - 1]}", f"QE-{_MONTHS[first.month - 1]}"]
    elif midnight and 365 <= days <= 366:
        candidates = [f"YS-{_MONTHS[first.month - 1]}", f"YE-{_MONTHS[first.month - 1]}"]
    elif midnight and days == 7:
        candidates = [f"W-{_DAYS[first.day_of_week]}"]
    elif step > pd.Timedelta(0):
        if days == 1 and (index.day_of_week < 5).all():
            candidates.append("B")
        candidates.append(_fixed_frequency(step))
    # Regular with gaps: every date on the grid, and at least half of the grid's steps present.
    if (index[-1] - first) / step > 2 * len(index) + 2:
        return None
    for cand in candidates:
        try:
            grid = pd.date_range(first, index[-1], freq=cand)
        except (ValueError, OverflowError):
            continue
        if len(grid) <= 2 * len(index) and index.isin(grid).all():
            return cand
    return None


def _pandas_frequency(index: pd.DatetimeIndex) -> str | None:
    """pandas' own inference (no gaps allowed), as a frequency string."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            freq = pd.infer_freq(index)
        except (TypeError, ValueError):
            return None
    if freq is None:
        return None
    return freq if isinstance(freq, str) else freq.freqstr


def _fixed_frequency(step: pd.Timedelta) -> str:
    """'D', '3D', 'h', '15min', 's' for a fixed step."""
    seconds = step.total_seconds()
    for unit, size in (("D", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            k = int(seconds // size)
            return unit if k == 1 else f"{k}{unit}"
    return pd.tseries.frequencies.to_offset(step).freqstr


def find_gaps(index: pd.DatetimeIndex, freq: str) -> list[tuple[pd.Timestamp, pd.Timestamp, int]]:
    """Runs of missing steps between the first and last date: (first missing, last missing, count)."""
    grid = pd.date_range(index[0], index[-1], freq=freq)
    missing = grid.difference(index)
    if missing.empty:
        return []
    pos = grid.get_indexer(missing)
    breaks = np.flatnonzero(np.diff(pos) != 1)
    starts = np.r_[0, breaks + 1]
    ends = np.r_[breaks, len(pos) - 1]
    return [(missing[s], missing[e], int(e - s + 1)) for s, e in zip(starts, ends, strict=True)]


def fill_gaps(series: SeriesFrame, method: str = "interpolate") -> SeriesFrame:
    """Add the missing time steps (at the inferred frequency) and fill every missing value.

    Args:
        series: from `prepare_series`.
        method: 'interpolate' (a straight line between neighbours), 'ffill' (repeat the
            last known value) or 'drop' (drop rows with missing values; no steps added).

    Returns:
        A new SeriesFrame with no missing values (and no gaps unless `method='drop'`).
    """
    if method not in FILL_METHODS:
        raise ValueError(f"Invalid value received for argument `method`. Expected one of: {', '.join(FILL_METHODS)}. "
                         f"Received: method={method!r}")
    frame = series.frame.copy()
    values = list(series.values)
    notes = list(series.notes)
    if method == "drop":
        before = len(frame)
        frame = frame.dropna(subset=values).reset_index(drop=True)
        if before - len(frame):
            gone = before - len(frame)
            notes.append(f"{_count(gone, 'row')} with missing values {'was' if gone == 1 else 'were'} dropped.")
        if series.gaps:
            notes.append("Missing time steps stay missing: each remaining row is one step.")
        return dataclasses.replace(series, frame=frame, notes=notes)
    added = 0
    if series.date is not None and series.freq is not None and len(frame):
        grid = pd.date_range(frame[series.date].iloc[0], frame[series.date].iloc[-1], freq=series.freq)
        added = len(grid) - len(frame)
        frame = frame.set_index(series.date).reindex(grid).rename_axis(series.date).reset_index()
    elif series.date is not None and series.gaps:
        notes.append("The frequency is unknown, so missing time steps cannot be added; "
                     "only missing values were filled.")
    n_missing = int(frame[values].isna().sum().sum())
    if method == "interpolate":
        frame[values] = frame[values].interpolate(method="linear", limit_direction="both")
    else:
        frame[values] = frame[values].ffill().bfill()
    how = "interpolated" if method == "interpolate" else "filled with the previous value"
    if added:
        notes.append(f"{_count(added, 'missing time step')} {'was' if added == 1 else 'were'} added and {how}.")
    elif n_missing:
        notes.append(f"{_count(n_missing, 'missing value')} {'was' if n_missing == 1 else 'were'} {how}.")
    return dataclasses.replace(series, frame=frame, gaps=[], notes=notes)
