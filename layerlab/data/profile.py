"""Understanding a table: what each column holds, what the columns are for, what is wrong.

- `profile(df)` types every column (numeric, categorical, text, datetime, boolean, id,
  constant) with missing and unique counts, examples and numeric summaries. It is
  vectorised and samples for the expensive checks (dates, text lengths), so a
  1,000,000 × 20 table profiles in a few seconds.
- `infer_roles(df)` proposes the data kind, the task and each column's role (target,
  text, date, features, ignored) and says why in `notes`.

`health_report` (layerlab/data/health.py) lists what a beginner should fix before training.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

COLUMN_TYPES = ("numeric", "categorical", "text", "datetime", "boolean", "id", "constant")
KINDS = ("table", "text", "series")

_SAMPLE = 2000
_DATE_SAMPLE = 500
_TEXT_MEAN_CHARS = 30
_BOOL_WORDS = {"true", "false", "yes", "no", "y", "n", "t", "f"}

_ID_NAME = re.compile(r"^(id|uuid|guid|index|idx|key|rowid|row[_ ]?id|row[_ ]?num(ber)?|record[_ ]?id)$"
                      r"|[_\s.-]id$|^id[_\s.-]|^unnamed: ?\d+$", re.I)
_ID_CAMEL = re.compile(r"[a-z](Id|ID)$")
_YEAR_NAME = re.compile(r"^(year|yr|years|jahr|annee|année|año|anio)$|[_\s](year|yr)$|^(year|yr)[_\s]", re.I)
_DATE_NAME = re.compile(r"date|time|^ds$|^day$|^week|^month|^period$|^year$|timestamp", re.I)
_DATEISH = r"[-/:\s]|\d\.\d{1,2}\.\d|[A-Za-z]{3}"
_TARGET_NAMES = ("target", "label", "labels", "class", "y", "species", "outcome", "diagnosis", "survived", "churn",
                 "category", "sentiment", "class_label", "result", "response", "price", "quality", "grade")
_VALUE_NAMES = ("value", "values", "y", "count", "counts", "sales", "amount", "total", "demand", "target", "price",
                "close")
_TEXT_NAMES = ("text", "review", "message", "sms", "tweet", "content", "body", "comment", "sentence", "description",
               "title")
_DATE_NAMES = ("date", "ds", "time", "datetime", "timestamp", "day", "week", "month", "year")


# --------------------------------------------------------------------------- profile


@dataclass
class ColumnProfile:
    """One column: its inferred type, how complete it is, and a few examples.

    `type` is one of COLUMN_TYPES; `why` says in plain words why that type was chosen.
    `min`, `max` and `mean` are set for numeric (and boolean 0/1) columns; `mean_length`
    (characters, sampled) for text and categorical columns.
    """

    name: str
    type: str
    dtype: str
    missing: int
    missing_pct: float
    unique: int
    examples: list[Any]
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    mean_length: float | None = None
    why: str = ""


@dataclass
class TableProfile:
    """A table at a glance: `rows`, `columns` and one ColumnProfile per column (in order)."""

    rows: int
    columns: int
    column_profiles: list[ColumnProfile]

    def __getitem__(self, name: str) -> ColumnProfile:
        for c in self.column_profiles:
            if c.name == name:
                return c
        raise KeyError(name)

    def names(self, *types: str) -> list[str]:
        """Column names of the given types (all columns when none are given), in table order."""
        return [c.name for c in self.column_profiles if not types or c.type in types]

    def to_frame(self) -> pd.DataFrame:
        """One row per column, for display."""
        return pd.DataFrame([{
            "column": c.name, "type": c.type, "missing": c.missing, "missing %": round(c.missing_pct, 1),
            "unique": c.unique, "examples": ", ".join(str(e) for e in c.examples),
            "min": c.min, "max": c.max, "mean": c.mean,
        } for c in self.column_profiles])


def profile(df: pd.DataFrame) -> TableProfile:
    """Profile every column of `df` (see ColumnProfile); fast on a million rows."""
    n = len(df)
    rng = np.random.default_rng(0)
    cols = [_profile_column(str(df.columns[i]), df.iloc[:, i], n, rng) for i in range(df.shape[1])]
    return TableProfile(rows=n, columns=df.shape[1], column_profiles=cols)


def _is_id_name(name: str) -> bool:
    return bool(_ID_NAME.search(name.strip()) or _ID_CAMEL.search(name.strip()))


def _sample_nonnull(s: pd.Series, k: int, rng: np.random.Generator) -> pd.Series:
    """Up to k non-missing values picked at random positions (cheap on long columns)."""
    n = len(s)
    if n <= 4 * k:
        values = s.dropna()
        return values if len(values) <= k else values.sample(n=k, random_state=0)
    idx = np.sort(rng.choice(n, size=4 * k, replace=False))
    values = s.iloc[idx].dropna()
    if len(values) < k:
        values = s.dropna()
        if len(values) > k:
            values = values.sample(n=k, random_state=0)
    return values.head(k)


def plain_value(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ") if (value.hour or value.minute or value.second) else value.date().isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and len(value) > 60:
        return value[:57] + "…"
    return value


def _examples(s: pd.Series, k: int = 5) -> list[Any]:
    head = s.iloc[:5000].dropna()
    if head.empty:
        head = s.dropna()
    values = pd.unique(head.head(1000))
    return [plain_value(v) for v in values[:k]]


def as_text(s: pd.Series) -> pd.Series:
    """String view of an object/str column (mixed objects are shown as their text)."""
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        return s
    return s.map(lambda v: v if isinstance(v, str) else str(v), na_action="ignore").astype("str")


def _looks_like_dates(values: pd.Series) -> bool:
    v = values.head(_DATE_SAMPLE).astype("str")
    if v.empty or v.str.len().mean() < 6 or not v.str.contains(r"\d").mean() > 0.9:
        return False
    if not v.str.contains(_DATEISH, regex=True).mean() > 0.9:
        return False
    return read_dates(v).notna().mean() >= 0.95


def read_dates(v: pd.Series) -> pd.Series:
    """Text as dates, NaT where unreadable: the inferred format first, then day-first, then mixed formats.

    When both month-first and day-first readings work (01/02/2024), the field that stays
    constant is taken as the day (a monthly series is written 01/01, 01/02, 01/03…).
    Mixed formats (slow: one value at a time) are tried only when they help on a sample.
    """
    def attempt(values: pd.Series, **kw: Any) -> pd.Series | None:
        try:
            return pd.to_datetime(values, errors="coerce", **kw)
        except (ValueError, TypeError, OverflowError):
            return None

    def count(parsed: pd.Series) -> int:
        return int(parsed.notna().sum())

    n = int(v.notna().sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = attempt(v)
        if default is not None and count(default) == n and v.dropna().head(20).str.match(r"\s*\d{4}[-/.]\d").all():
            return default  # year first (ISO): no day/month ambiguity
        dayfirst = attempt(v, dayfirst=True)
        found = [p for p in (default, dayfirst) if p is not None]
        full = [p for p in found if count(p) == n]
        if len(full) == 2:
            return dayfirst if _day_first(v) else default  # type: ignore[return-value]
        if full:
            return full[0]
        best_rate = max((count(p) / max(n, 1) for p in found), default=0.0)
        if best_rate < 0.95:
            probe = v.dropna().head(_DATE_SAMPLE)
            for kw in ({"format": "mixed"}, {"format": "mixed", "dayfirst": True}, {"format": "mixed", "utc": True}):
                on_probe = attempt(probe, **kw)
                if on_probe is not None and on_probe.notna().mean() > best_rate:
                    parsed = attempt(v, **kw)
                    if parsed is not None:
                        found.append(parsed)
                        break
    if not found:
        return pd.Series(pd.NaT, index=v.index)
    return max(found, key=count)


def _day_first(v: pd.Series) -> bool:
    """For dates such as 01/02/2024 that read both ways: is the first number the day?"""
    parts = v.dropna().head(_SAMPLE).str.extract(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}")
    parts = parts.dropna()
    if parts.empty:
        return False
    first, second = parts[0].nunique(), parts[1].nunique()
    if first == 1 and second > 1:
        return True
    if second == 1 and first > 1:
        return False
    return bool(v.head(_SAMPLE).str.contains(r"^\s*\d{1,2}\.\d{1,2}\.", regex=True).mean() > 0.5)  # 31.12.2024 style


def _profile_column(name: str, s: pd.Series, n: int, rng: np.random.Generator) -> ColumnProfile:
    missing = int(s.isna().sum())
    nonnull = n - missing
    pct = 100.0 * missing / n if n else 0.0
    base = {"name": name, "dtype": str(s.dtype), "missing": missing, "missing_pct": pct}
    if nonnull == 0:
        return ColumnProfile(type="constant", unique=0, examples=[], why="every value is missing", **base)
    try:
        unique = int(s.nunique(dropna=True))
    except TypeError:  # unhashable cells (dicts, lists) are profiled as their text
        s = as_text(s)
        unique = int(s.nunique(dropna=True))
    examples = _examples(s)
    if unique <= 1:
        return ColumnProfile(type="constant", unique=unique, examples=examples, why="it holds a single value", **base)
    if pd.api.types.is_bool_dtype(s.dtype):
        return ColumnProfile(type="boolean", unique=unique, examples=examples, why="true/false values", **base)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return ColumnProfile(type="datetime", unique=unique, examples=examples, why="dates and times", **base)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return _numeric_column(s, unique, nonnull, n, examples, base)
    return _string_column(s, unique, nonnull, n, examples, base, rng)


def _numeric_column(s: pd.Series, unique: int, nonnull: int, n: int, examples: list[Any],
                    base: dict[str, Any]) -> ColumnProfile:
    lo, hi, mean = float(s.min()), float(s.max()), float(s.mean())
    name = base["name"]

    def column(type_: str, why: str) -> ColumnProfile:
        return ColumnProfile(type=type_, unique=unique, examples=examples, why=why, min=lo, max=hi, mean=mean, **base)

    if unique == 2 and set(pd.unique(s.dropna())) <= {0, 1}:
        return column("boolean", "only the values 0 and 1")
    whole = pd.api.types.is_integer_dtype(s.dtype)
    integral = whole or bool(np.all(np.mod(s.dropna().to_numpy()[:_SAMPLE], 1) == 0))
    if integral and _YEAR_NAME.search(name) and lo >= 1000 and hi <= 2999 and unique >= 0.8 * nonnull:
        return column("datetime", "years (a time axis)")
    if whole and unique == n:
        if _is_id_name(name):
            return column("id", "its name says ID and every value differs")
        if (s.is_monotonic_increasing or s.is_monotonic_decreasing) and n > 2:
            steps = np.diff(s.to_numpy()[: 10 * _SAMPLE])
            if np.median(np.abs(steps)) == 1:
                return column("id", "it counts up 1, 2, 3… like a row number")
    if _is_id_name(name) and integral and unique >= 0.95 * nonnull and unique > 2:
        return column("id", "its name says ID and nearly every value differs")
    return column("numeric", "numbers")


def _string_column(s: pd.Series, unique: int, nonnull: int, n: int, examples: list[Any], base: dict[str, Any],
                   rng: np.random.Generator) -> ColumnProfile:
    sample = as_text(_sample_nonnull(s, _SAMPLE, rng))
    lengths = sample.str.len()
    mean_length = float(lengths.mean()) if len(lengths) else 0.0
    words = float(sample.str.count(r"\s+").mean() + 1) if len(sample) else 0.0
    ratio = unique / nonnull
    kw = {"unique": unique, "examples": examples, "mean_length": mean_length, **base}
    if unique == 2:
        values = {str(v).strip().lower() for v in pd.unique(s.dropna())}
        if values <= _BOOL_WORDS:
            return ColumnProfile(type="boolean", why="two yes/no values", **kw)
    if _looks_like_dates(sample):
        return ColumnProfile(type="datetime", why="text that reads as dates", **kw)
    if (mean_length >= _TEXT_MEAN_CHARS or words >= 5) and ratio >= 0.2 and unique >= min(20, 0.5 * nonnull):
        why = f"free text ({mean_length:.0f} characters on average, mostly different)"
        return ColumnProfile(type="text", why=why, **kw)
    if unique == n and (_is_id_name(base["name"]) or (mean_length < _TEXT_MEAN_CHARS and words < 1.5)) and n > 2:
        return ColumnProfile(type="id", why="a different short code on every row", **kw)
    if _is_id_name(base["name"]) and ratio >= 0.95 and unique > 2:
        return ColumnProfile(type="id", why="its name says ID and nearly every value differs", **kw)
    return ColumnProfile(type="categorical", why=f"{unique:,} distinct labels", **kw)


# --------------------------------------------------------------------------- roles


@dataclass
class Roles:
    """What each column is for.

    `features` are the input columns: for `text` the input is the `text` column and
    `features` is empty; for `series` they are extra numeric inputs besides the target.
    `ignore` columns are left out, each with its reason in `notes`.
    """

    kind: str
    task: str
    target: str | None = None
    text: str | None = None
    date: str | None = None
    features: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _by_name(names: list[str], wanted: tuple[str, ...]) -> str | None:
    normal = {_norm(n): n for n in reversed(names)}
    for w in wanted:
        if w in normal:
            return normal[w]
    return None


def _are(names: list[str]) -> str:
    return f"{', '.join(names)} {'is' if len(names) == 1 else 'are'}"


def _classification_target(df: pd.DataFrame, p: TableProfile, target: str) -> bool:
    """Labels (non-numeric, yes/no) or a few whole numbers (≤ 20 distinct and < 5% of rows)."""
    c = p[target]
    if c.type != "numeric":
        return c.type in ("categorical", "boolean", "text", "id", "constant")
    values = df[target].dropna().to_numpy()
    integral = pd.api.types.is_integer_dtype(df[target].dtype) or bool(np.all(np.mod(values, 1) == 0))
    return bool(integral and c.unique <= 20 and c.unique < 0.05 * p.rows)


def infer_roles(df: pd.DataFrame, kind: str | None = None, prof: TableProfile | None = None) -> Roles:
    """Propose the kind, task and column roles for `df`.

    Args:
        df: the table.
        kind: 'table', 'text' or 'series' to force the kind; None to infer it.
        prof: a profile of `df` already computed (saves time).

    Heuristics: a date column (mostly one row per date) with numeric columns is a
    series to forecast; a long free-text column with a low-cardinality column is text
    classification; otherwise a table whose target is a column named like
    target/label/class/species/… or else the last usable column.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError("Invalid value received for argument `kind`. "
                         f"Expected one of: {', '.join(KINDS)}. Received: kind={kind!r}")
    p = prof or profile(df)
    dates = [c.name for c in p.column_profiles if c.type == "datetime" and c.unique >= 0.8 * (p.rows - c.missing)]
    numeric = p.names("numeric")
    texts = sorted(p.names("text"), key=lambda n: -(p[n].mean_length or 0))
    low_card = [c.name for c in p.column_profiles
                if c.type in ("categorical", "boolean", "numeric") and 2 <= c.unique <= min(20, max(2, p.rows / 2))]
    labels = [n for n in low_card if p[n].type in ("categorical", "boolean")]
    series_dates = [d for d in dates if one_regular_series(df[d])]
    if kind is None:
        if texts and low_card:
            kind = "text"
        elif dates and labels:
            kind = "table"  # a label to classify: the dates are only one column among others
        elif series_dates and numeric:
            kind = "series"
        else:
            kind = "table"
    if kind == "series":
        return _series_roles(p, series_dates or dates, numeric)
    if kind == "text":
        return _text_roles(p, texts, low_card)
    return _table_roles(df, p, prefer=labels[-1] if dates and labels else None)


def one_regular_series(dates: pd.Series) -> bool:
    """Whether a date column's rows form one series at a regular step (gaps allowed): each date once,
    and the sorted dates on a grid (daily, weekly, monthly, …). Rows of many series, or events at
    irregular times (reviews, orders), are not a series to forecast."""
    from layerlab.data.series import infer_frequency

    values = dates if pd.api.types.is_datetime64_any_dtype(dates) else read_dates(as_text(dates))
    values = values.dropna()
    if len(values) < 3 or values.nunique() < 0.95 * len(values):
        return False
    try:
        index = pd.DatetimeIndex(values.drop_duplicates().sort_values())
        if index.tz is not None:
            index = index.tz_localize(None)
        return infer_frequency(index) is not None
    except (TypeError, ValueError, OverflowError):
        return False


def _unusable(p: TableProfile, keep: set[str]) -> tuple[list[str], list[str]]:
    """ID-like and constant columns, with a note for each."""
    ignore, notes = [], []
    for c in p.column_profiles:
        if c.name in keep:
            continue
        if c.type == "id":
            ignore.append(c.name)
            notes.append(f"`{c.name}` looks like a row ID ({c.why}); it is ignored: an ID teaches the model nothing.")
        elif c.type == "constant":
            ignore.append(c.name)
            notes.append(f"`{c.name}` is ignored: {c.why}, so it carries no information.")
    return ignore, notes


def _series_roles(p: TableProfile, dates: list[str], numeric: list[str]) -> Roles:
    date = _by_name(dates, _DATE_NAMES) or (dates[0] if dates else None)
    if date is None:
        notes = ["No date column: rows are taken in file order, one time step per row."]
    else:
        notes = [f"`{date}` is the time axis."]
    if not numeric:
        notes.append("No numeric column to forecast was found.")
        return Roles("series", "forecasting", None, None, date, [], [], notes)
    named = _by_name(numeric, _VALUE_NAMES)
    target = named or numeric[0]
    notes.append(f"Forecasting `{target}` ({'because of its name' if named else 'as the first numeric column'}).")
    features = [c for c in numeric if c != target]
    if features:
        notes.append(f"Other numeric columns ({', '.join(features)}) are extra inputs.")
    keep = {target, *features, *([date] if date else [])}
    ignore, more = _unusable(p, keep)
    notes += more
    others = [c for c in p.names() if c not in keep and c not in ignore]
    if others:
        ignore += others
        notes.append(f"Series models use numeric columns only: {_are(others)} ignored.")
    return Roles("series", "forecasting", target, None, date, features, ignore, notes)


def _text_roles(p: TableProfile, texts: list[str], low_card: list[str]) -> Roles:
    notes = []
    if not texts:  # the kind was forced: take the string column with the longest values
        strings = sorted((c for c in p.column_profiles if c.type in ("categorical", "id") and c.mean_length),
                         key=lambda c: -(c.mean_length or 0))
        texts = [c.name for c in strings]
    text = _by_name(texts, _TEXT_NAMES) or (texts[0] if texts else None)
    if text:
        notes.append(f"`{text}` is the text to read ({p[text].why}).")
    candidates = [c for c in low_card if c != text]
    target = _by_name(candidates, _TARGET_NAMES) or (min(candidates, key=lambda n: p[n].unique) if candidates else None)
    if target:
        notes.append(f"`{target}` is the label to predict ({p[target].unique} classes).")
    else:
        notes.append("No column with a few labels was found to predict; choose the target yourself.")
    ignore = [c for c in p.names() if c not in (text, target)]
    if ignore:
        notes.append(f"Text models read only the text: {_are(ignore)} ignored.")
    return Roles("text", "classification", target, text, None, [], ignore, notes)


def _table_roles(df: pd.DataFrame, p: TableProfile, prefer: str | None = None) -> Roles:
    notes = []
    # A constant last column may still be the label (then its single class is what to fix).
    usable = [c.name for c in p.column_profiles if c.type not in ("id", "datetime", "text")
              and (c.type != "constant" or c.name == p.names()[-1])]
    target = _by_name(p.names(), _TARGET_NAMES)
    if target is not None:
        notes.append(f"`{target}` is the target because of its name.")
    elif prefer is not None:
        target = prefer
        notes.append(f"`{target}` is the target: a column of labels to classify.")
    elif usable:
        target = usable[-1]
        notes.append(f"`{target}` is the target as the last column; change it if you want to predict another one.")
    else:
        notes.append("No column can serve as the target; choose one yourself.")
    task = "classification" if target is not None and _classification_target(df, p, target) else "regression"
    if target is not None:
        what = "labels" if task == "classification" else "numbers"
        notes.append(f"Task: {task} ({what}: {p[target].unique:,} distinct values).")
    keep = {target} if target else set()
    ignore, more = _unusable(p, keep)
    notes += more
    for c in p.column_profiles:
        if c.name in keep or c.name in ignore:
            continue
        if c.type == "datetime":
            ignore.append(c.name)
            notes.append(f"`{c.name}` holds dates, which table models do not use directly; it is ignored.")
        elif c.type == "text":
            ignore.append(c.name)
            notes.append(f"`{c.name}` is free text, which table models do not read; it is ignored "
                         "(use the text kind for it).")
    features = [c for c in p.names() if c not in keep and c not in ignore]
    return Roles("table", task, target, None, None, features, ignore, notes)
