"""profile, infer_roles and health_report on small crafted frames."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from layerlab.data.health import health_report
from layerlab.data.profile import Roles, infer_roles, profile

RNG = np.random.default_rng(0)
WORDS = "the a model learns from data quickly slowly good bad movie film great awful plot actor scene".split()


def sentences(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(8, 16))) + f" #{i}" for i in range(n)]


def mixed(n: int = 200) -> pd.DataFrame:
    return pd.DataFrame({
        "id": np.arange(1, n + 1),
        "row": np.arange(n),  # counts up 0, 1, 2…: a row number even without an ID name
        "height": RNG.normal(170, 10, n).round(1),
        "colour": pd.array(RNG.choice(["red", "green", "blue"], n), dtype="str"),
        "review": sentences(n),
        "when": pd.array([f"2024-01-{1 + i % 28:02d} 10:00" for i in range(n)], dtype="str"),
        "member": pd.array(RNG.choice(["yes", "no"], n), dtype="str"),
        "flag": RNG.integers(0, 2, n),
        "site": "north",
        "empty": np.nan,
        "code": pd.array([f"A{i:05d}" for i in range(n)], dtype="str"),
    })


# --------------------------------------------------------------------------- profile


def test_profile_types_every_kind_of_column():
    df = mixed()
    df.loc[:49, "height"] = np.nan
    p = profile(df)
    assert (p.rows, p.columns) == (200, 11)
    types = {c.name: c.type for c in p.column_profiles}
    assert types == {"id": "id", "row": "id", "height": "numeric", "colour": "categorical", "review": "text",
                     "when": "datetime", "member": "boolean", "flag": "boolean", "site": "constant",
                     "empty": "constant", "code": "id"}
    h = p["height"]
    assert (h.missing, h.missing_pct) == (50, 25.0)
    assert h.min == df["height"].min() and h.max == df["height"].max() and h.mean == pytest.approx(df["height"].mean())
    assert p["colour"].unique == 3 and set(p["colour"].examples) == {"red", "green", "blue"}
    assert p["review"].mean_length > 30 and p["review"].why.startswith("free text")
    assert p["empty"].missing_pct == 100.0 and p["empty"].why == "every value is missing"
    assert p.names("id") == ["id", "row", "code"]
    shown = p.to_frame()
    assert list(shown["column"]) == list(df.columns) and shown.loc[2, "missing %"] == 25.0


def test_profile_mixed_object_column_and_day_first_dates():
    df = pd.DataFrame({"v": [1, "a", 2.5, None] * 10,
                       "d": ["31/01/2024", "15/02/2024", "29/02/2024", "01/03/2024"] * 10})
    p = profile(df)
    assert p["v"].type == "categorical" and p["v"].missing == 10
    assert p["d"].type == "datetime"


def test_unhashable_cells_do_not_break_profile_or_health():
    df = pd.DataFrame({"meta": [{"k": i % 3} for i in range(40)], "y": ["a", "b"] * 20})
    p = profile(df)
    assert p["meta"].type == "categorical" and p["meta"].unique == 3
    health_report(df, Roles("table", "classification", "y", features=["meta"]), p)


def test_profile_is_fast_on_a_large_frame():
    n = 300_000
    cols = {f"x{i}": RNG.normal(size=n) for i in range(10)}
    cols |= {f"c{i}": pd.array(RNG.choice(["a", "b", "c", "d"], n), dtype="str") for i in range(8)}
    cols |= {"when": pd.date_range("2000-01-01", periods=n, freq="h"), "n": RNG.integers(0, 100, n)}
    df = pd.DataFrame(cols)
    start = time.perf_counter()
    p = profile(df)
    assert time.perf_counter() - start < 10  # ~0.5 s here; generous for a loaded CI machine
    assert p.columns == 20 and p["when"].type == "datetime" and p["c0"].type == "categorical"


# --------------------------------------------------------------------------- roles


def test_table_target_by_name_and_ignored_columns():
    df = mixed()
    df["species"] = RNG.choice(["a", "b", "c"], len(df))
    assert infer_roles(df.drop(columns=["when"])).kind == "text"  # a long free-text column + labels
    r = infer_roles(df.drop(columns=["when"]), kind="table")
    assert (r.kind, r.task, r.target) == ("table", "classification", "species")
    assert set(r.ignore) == {"id", "row", "code", "site", "empty", "review"}
    assert set(r.features) == {"height", "colour", "member", "flag"}
    assert any("`id` looks like a row ID" in n for n in r.notes)
    assert any("`site` is ignored" in n for n in r.notes)


def test_table_target_falls_back_to_the_last_column_and_picks_the_task():
    n = 400
    base = pd.DataFrame({"a": RNG.normal(size=n), "b": RNG.normal(size=n)})
    few_ints = base.assign(grade=RNG.integers(1, 6, n))  # 5 values, 1.25% of rows
    many = base.assign(score=RNG.integers(0, 300, n))
    floats = base.assign(amount=RNG.normal(size=n))
    text_target = base.assign(result=RNG.choice(["win", "loss"], n))
    assert (infer_roles(few_ints).target, infer_roles(few_ints).task) == ("grade", "classification")
    assert (infer_roles(many).target, infer_roles(many).task) == ("score", "regression")
    assert infer_roles(floats).task == "regression"
    assert infer_roles(text_target).task == "classification"
    assert any("last column" in note for note in infer_roles(floats).notes)


def test_text_kind():
    n = 120
    df = pd.DataFrame({"message": sentences(n), "label": RNG.choice(["spam", "ham"], n), "score": RNG.normal(size=n)})
    r = infer_roles(df)
    assert (r.kind, r.task, r.text, r.target) == ("text", "classification", "message", "label")
    assert r.ignore == ["score"] and r.features == []


def test_series_kind():
    n = 100
    df = pd.DataFrame({"store": "A", "day": pd.date_range("2024-01-01", periods=n), "temp": RNG.normal(size=n),
                       "sales": RNG.integers(0, 50, n)})
    r = infer_roles(df)
    assert (r.kind, r.task, r.date, r.target) == ("series", "forecasting", "day", "sales")
    assert r.features == ["temp"] and r.ignore == ["store"]


def test_forced_kinds_and_invalid_kind():
    df = pd.DataFrame({"x": RNG.normal(size=50), "y": RNG.normal(size=50)})
    r = infer_roles(df, kind="series")
    assert r.kind == "series" and r.date is None and "file order" in r.notes[0]
    with pytest.raises(ValueError, match="Expected one of: table, text, series"):
        infer_roles(df, kind="images")


# --------------------------------------------------------------------------- health


def titles(findings) -> list[str]:
    return [f.title for f in findings]


def by_title(findings, start: str):
    return next(f for f in findings if f.title.startswith(start))


def test_health_imbalance_duplicates_constant_and_id():
    n = 200
    df = pd.DataFrame({"id": np.arange(n), "x": RNG.normal(size=n), "plant": "P1",
                       "label": ["ok"] * 180 + ["fault"] * 20})
    df = pd.concat([df, df.iloc[[5, 6, 7]].assign(id=[900, 901, 902])], ignore_index=True)
    df = pd.concat([df, df.iloc[[10]]], ignore_index=True)  # one exact copy
    roles = infer_roles(df)
    found = health_report(df, roles)
    imb = by_title(found, "Imbalanced")
    assert imb.level == "warning" and "9.2×" in imb.detail and "class weights" in imb.action
    assert "1 rows" in by_title(found, "Duplicate rows").detail
    assert by_title(found, "Constant column `plant`").level == "info"
    assert by_title(found, "ID column `id`").level == "info"
    assert [f.level for f in found] == sorted((f.level for f in found), key=["error", "warning", "info"].index)


def test_health_leaking_columns():
    n = 300
    y = RNG.choice(["a", "b", "c"], n)
    code = pd.Series(y).map({"a": 10, "b": 20, "c": 30})
    df = pd.DataFrame({"x": RNG.normal(size=n), "code": code, "noise": RNG.choice(["u", "v"], n), "label": y})
    found = health_report(df, infer_roles(df))
    leak = by_title(found, "`code` gives the answer away")
    assert leak.level == "warning" and "100.0%" in leak.detail
    assert not any("`noise`" in t or "`x`" in t for t in titles(found))

    target = RNG.normal(size=n)
    reg = pd.DataFrame({"a": RNG.normal(size=n), "twice": target * 2 + 1e-4 * RNG.normal(size=n), "value": target})
    roles = Roles("table", "regression", "value", features=["a", "twice"])
    found = health_report(reg, roles)
    assert "correlation 1.000" in by_title(found, "`twice` gives the answer away").detail
    assert not any("`a`" in t for t in titles(found))


def test_health_target_errors():
    df = pd.DataFrame({"x": range(30), "y": ["one"] * 30})
    one = health_report(df, Roles("table", "classification", "y", features=["x"]))
    assert by_title(one, "Only one class").level == "error"
    df = pd.DataFrame({"x": range(30), "y": ["a"] * 15 + ["b"] * 14 + ["c"]})
    roles = Roles("table", "classification", "y", features=["x"])
    single = by_title(health_report(df, roles), "Class with a single example")
    assert single.level == "error" and "'c'" in single.detail
    df = pd.DataFrame({"x": range(30), "y": [np.nan] * 30})
    assert by_title(health_report(df, roles), "Target is empty").level == "error"
    assert by_title(health_report(df, Roles("table", "classification", "nope")), "Column not found").level == "error"


def test_health_text_and_missing_columns():
    n = 60
    df = pd.DataFrame({"text": [None] * 40 + sentences(20), "label": RNG.choice(["a", "b"], n),
                       "extra": [np.nan] * 45 + list(range(15))})
    found = health_report(df, Roles("text", "classification", "label", text="text"))
    assert by_title(found, "Text column `text` is mostly empty").level == "error"
    missing = by_title(found, "Mostly missing: `extra`")
    assert missing.level == "warning" and "75%" in missing.detail

    df = pd.DataFrame({"text": ["same words here for everyone"] * 3 + sentences(57),
                       "label": ["a", "b", "a"] + ["a", "b"] * 28 + ["a"]})
    dup = by_title(health_report(df, Roles("text", "classification", "label", text="text")), "Duplicate texts")
    assert "2 texts appear more than once" in dup.detail and "1 of them carry different labels" in dup.detail
