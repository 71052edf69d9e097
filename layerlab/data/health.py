"""The health report: what a beginner should fix or know before training, each finding with a
plain-words action (errors first). Built on the table's profile and its proposed roles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from layerlab.data.profile import Roles, TableProfile, as_text, plain_value, profile

_CHECK_ROWS = 200_000  # leak checks run on at most this many rows


@dataclass
class Finding:
    """One thing to know before training: `level` is 'error' (must fix), 'warning' or 'info'."""

    level: str
    title: str
    detail: str
    action: str


_LEVEL_ORDER = {"error": 0, "warning": 1, "info": 2}


def health_report(df: pd.DataFrame, roles: Roles, prof: TableProfile | None = None) -> list[Finding]:
    """Problems a beginner can act on: errors first, then warnings, then information.

    Checks: the target (missing, one class, a class with one example, imbalance), exact
    duplicate rows (and repeated texts), constant and ID-like columns, mostly-missing
    columns, an empty text column, and single columns that give the target away (leaks).
    """
    named = [r for r in (roles.target, roles.text, roles.date, *roles.features) if r]
    absent = [c for c in named if c not in df.columns]
    if absent:
        listed = ", ".join(f"`{c}`" for c in absent)
        return [Finding("error", "Column not found", f"{listed} {'is' if len(absent) == 1 else 'are'} not in the data.",
                        "Choose columns that exist in the table.")]
    p = prof or profile(df)
    out: list[Finding] = []
    if roles.kind in ("table", "text") and not roles.target:
        out.append(Finding("error", "No target", "No column is chosen as the target to predict.",
                           "Choose the target column."))
    if roles.kind == "text":
        out += _text_checks(df, roles)
    if roles.target:
        out += _target_checks(df, roles, p)
    out += _duplicate_checks(df, roles)
    out += _column_checks(roles, p)
    if roles.target and roles.kind in ("table", "text") and roles.task in ("classification", "regression"):
        out += _leak_checks(df, roles)
    out.sort(key=lambda f: _LEVEL_ORDER[f.level])
    return out


def _column_checks(roles: Roles, p: TableProfile) -> list[Finding]:
    out: list[Finding] = []
    for c in p.column_profiles:
        if c.name in (roles.target, roles.text):
            continue
        if c.type == "constant" and c.missing < p.rows:
            out.append(Finding("info", f"Constant column `{c.name}`",
                               f"`{c.name}` has the same value ({c.examples[0]!r}) on every row.",
                               "It carries no information; leave it out (it is ignored)."))
        elif c.type == "id":
            out.append(Finding("info", f"ID column `{c.name}`", f"`{c.name}` looks like a row ID: {c.why}.",
                               "Leave it out of the inputs: a model cannot learn from IDs (it is ignored)."))
        if c.missing_pct > 50 and c.name not in roles.ignore:
            out.append(Finding("warning", f"Mostly missing: `{c.name}`",
                               f"{c.missing_pct:.0f}% of the values in `{c.name}` are missing "
                               f"({c.missing:,} of {p.rows:,}).",
                               "Leave the column out, or check why it is empty; "
                               "the model will fill the gaps with a default."))
    return out


def _text_checks(df: pd.DataFrame, roles: Roles) -> list[Finding]:
    if not roles.text:
        return [Finding("error", "No text column", "No column is chosen as the text to read.",
                        "Choose the column that holds the texts.")]
    text = as_text(df[roles.text])
    empty = int((text.isna() | (text.str.strip() == "")).sum())
    if empty > 0.5 * len(df):
        return [Finding("error", f"Text column `{roles.text}` is mostly empty",
                        f"{empty:,} of {len(df):,} rows have no text in `{roles.text}`.",
                        "Choose the column that holds the texts, or remove the empty rows.")]
    if empty:
        return [Finding("warning", "Rows without text",
                        f"{empty:,} rows have no text in `{roles.text}`; they will be left out.",
                        "Nothing to do, unless those rows matter.")]
    return []


def _target_checks(df: pd.DataFrame, roles: Roles, p: TableProfile) -> list[Finding]:
    out: list[Finding] = []
    target = roles.target
    y = df[target]
    n_missing = int(y.isna().sum())
    if n_missing == len(y):
        return [Finding("error", "Target is empty", f"Every value of the target `{target}` is missing.",
                        "Choose the column that holds what you want to predict.")]
    if n_missing:
        out.append(Finding("warning", "Rows without a target",
                           f"{n_missing:,} rows have no value in `{target}`; they will be left out.",
                           "Nothing to do, unless you can fill them in."))
    if roles.task == "classification":
        out += _class_checks(y, target)
    elif roles.task == "regression" and not pd.api.types.is_numeric_dtype(y.dtype):
        out.append(Finding("error", "Target is not numeric",
                           f"Regression predicts numbers, but `{target}` holds {p[target].type} values.",
                           "Switch the task to classification, or choose a numeric target."))
    return out


def _class_checks(y: pd.Series, target: str) -> list[Finding]:
    out: list[Finding] = []
    counts = y.value_counts(dropna=True)
    if len(counts) < 2:
        return [Finding("error", "Only one class",
                        f"The target `{target}` has a single value ({plain_value(counts.index[0])!r}): "
                        "there is nothing to tell apart.",
                        "Choose another target, or add examples of the other classes.")]
    rare = counts[counts < 2]
    if len(rare):
        shown = ", ".join(repr(plain_value(v)) for v in rare.index[:5]) + (" …" if len(rare) > 5 else "")
        many = len(rare) > 1
        out.append(Finding("error", "Class with a single example",
                           f"{len(rare)} class{'es' if many else ''} of `{target}` {'have' if many else 'has'} "
                           f"only one example ({shown}): it cannot be both learned and tested.",
                           "Add examples of it, merge it into a similar class, or remove those rows."))
    if len(counts) > 50:
        out.append(Finding("warning", "Many classes", f"`{target}` has {len(counts):,} different values.",
                           "If it is a quantity, switch the task to regression; "
                           "otherwise check that this is the right target."))
    big, small = counts.index[0], counts.index[-1]
    ratio = counts.iloc[0] / counts.iloc[-1]
    if ratio > 3:
        out.append(Finding("warning", "Imbalanced classes",
                           f"The largest class ({plain_value(big)!r}, {counts.iloc[0]:,} rows) is {ratio:.1f}× "
                           f"the smallest ({plain_value(small)!r}, {counts.iloc[-1]:,} rows); "
                           "a model may ignore the small class.",
                           "Turn on class weights, and judge the model by per-class recall or F1, "
                           "not accuracy alone."))
    return out


def _duplicate_checks(df: pd.DataFrame, roles: Roles) -> list[Finding]:
    out: list[Finding] = []
    n = len(df)
    # 64-bit row hashes: as exact as duplicated() in practice, and far faster on wide frames.
    try:
        hashes = pd.util.hash_pandas_object(df, index=False)
    except TypeError:  # unhashable cells (dicts, lists): compare their text
        hashes = pd.util.hash_pandas_object(df.astype("str"), index=False)
    dups = int(hashes.duplicated().sum())
    if dups:
        out.append(Finding("warning" if dups > 0.01 * n else "info", "Duplicate rows",
                           f"{dups:,} rows ({100 * dups / n:.1f}%) are exact copies of another row.",
                           "Remove duplicates so the same row cannot land in both training and test data "
                           "(which inflates the score)."))
    if roles.kind == "text" and roles.text:
        dup_text = int(as_text(df[roles.text]).dropna().duplicated().sum())
        if dup_text:
            detail = f"{dup_text:,} texts appear more than once in `{roles.text}`."
            if roles.target:
                both = df[[roles.text, roles.target]].dropna()
                labels = both.groupby(roles.text, observed=True)[roles.target].nunique()
                conflicting = int(labels.gt(1).sum())
                if conflicting:
                    detail += f" {conflicting:,} of them carry different labels."
            out.append(Finding("warning" if dup_text > 0.01 * n else "info", "Duplicate texts", detail,
                               "Remove repeated texts (keep one of each) so a test text was not seen in training."))
    return out


def _leak_checks(df: pd.DataFrame, roles: Roles) -> list[Finding]:
    """A single column that predicts the target (nearly) perfectly usually leaks the answer."""
    out: list[Finding] = []
    data = df if len(df) <= _CHECK_ROWS else df.sample(n=_CHECK_ROWS, random_state=0)
    target = roles.target
    if roles.kind == "table":
        candidates = [c for c in roles.features if c in data.columns]
    else:
        candidates = [c for c in data.columns if c not in (target, roles.text) and c not in roles.ignore]
    action = "Leave `{col}` out of the inputs unless it will really be known when predicting."
    for col in candidates:
        pair = data[[col, target]].dropna()
        rows = len(pair)
        if rows < 10:
            continue
        x, y = pair[col], pair[target]
        if roles.task == "classification":
            try:
                distinct = x.nunique()
            except TypeError:
                continue
            if distinct >= rows / 2 or distinct < 2:
                continue
            sizes = pair.groupby([col, target], observed=True).size()
            purity = sizes.groupby(level=0, observed=True).max().sum() / rows
            if purity >= 0.99:
                out.append(Finding("warning", f"`{col}` gives the answer away",
                                   f"Each value of `{col}` goes with one class of `{target}` "
                                   f"({100 * purity:.1f}% of rows): it is probably recorded after the fact "
                                   "or derived from the target.", action.format(col=col)))
        elif pd.api.types.is_numeric_dtype(x.dtype) and pd.api.types.is_numeric_dtype(y.dtype):
            with np.errstate(all="ignore"):
                corr = x.astype("float64").corr(y.astype("float64"))
            if corr == corr and abs(corr) > 0.99:
                out.append(Finding("warning", f"`{col}` gives the answer away",
                                   f"`{col}` and `{target}` move together almost exactly (correlation {corr:.3f}).",
                                   action.format(col=col)))
    return out
