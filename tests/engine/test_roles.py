"""layerlab/roles.py: the guess of kind and task (with its alternatives), moving the target, and the
words for a one-class label (#15 items 2, 3 and 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from layerlab.data.profile import infer_roles
from layerlab.errors import DataError
from layerlab.project import new_project
from layerlab.roles import guesses, move_target, project_from_roles, roles_of_columns
from layerlab.samples import SAMPLES
from tests.engine.test_profile import sentences

RNG = np.random.default_rng(1)


def _reviews(n: int = 200) -> pd.DataFrame:
    """Drug reviews: a text, a rating label, the day each was written (repeated, irregular) and a count."""
    days = pd.to_datetime("2020-01-01") + pd.to_timedelta(np.sort(RNG.integers(0, 900, n)), unit="D")
    return pd.DataFrame({"review": sentences(n), "rating": RNG.integers(1, 11, n),
                         "date": days.strftime("%Y-%m-%d"), "usefulCount": RNG.integers(0, 300, n)})


def _weather(n: int = 300) -> pd.DataFrame:
    """A daily weather table with a label: one row per day, but the label is what to learn."""
    return pd.DataFrame({"date": pd.date_range("2012-01-01", periods=n).strftime("%Y-%m-%d"),
                         "precipitation": RNG.gamma(1.0, 3.0, n).round(1), "temp_max": RNG.normal(15, 6, n).round(1),
                         "wind": RNG.gamma(2.0, 1.5, n).round(1),
                         "weather": RNG.choice(["rain", "sun", "drizzle", "fog"], n)})


def test_a_text_column_and_a_label_are_text_classification_even_with_a_date():
    r = infer_roles(_reviews())
    assert (r.kind, r.task, r.text, r.target) == ("text", "classification", "review", "rating")


def test_a_categorical_label_is_classification_even_with_a_regular_date():
    r = infer_roles(_weather())
    assert (r.kind, r.task, r.target) == ("table", "classification", "weather")


def test_forecasting_needs_one_regular_series_with_a_numeric_target():
    n = 120
    daily = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=n).strftime("%Y-%m-%d"),
                          "sales": RNG.integers(0, 50, n), "temp": RNG.normal(size=n)})
    assert infer_roles(daily).kind == "series"
    irregular = daily.assign(day=(pd.to_datetime("2024-01-01") + pd.to_timedelta(
        np.sort(RNG.choice(10_000, n, replace=False)) * 37, unit="min")).strftime("%Y-%m-%d %H:%M"))
    assert infer_roles(irregular).kind == "table", "events at irregular times are no series"
    two_stores = pd.concat([daily, daily]).reset_index(drop=True)
    assert infer_roles(two_stores).kind == "table", "rows of two series interleaved are no single series"
    for name in ("sunspots", "co2"):
        assert infer_roles(SAMPLES[name].load()).kind == "series", name


def test_the_guess_comes_with_its_alternatives():
    found = guesses(_weather())
    assert [(g.kind, g.task) for g in found][:1] == [("table", "classification")]
    series = next(g for g in found if g.kind == "series")
    assert series.task == "forecasting" and series.roles["date"] == "date"
    assert series.words.startswith("Forecast `")
    df = _weather()
    assert len({g.words for g in found}) == len(found), "each alternative says something different"
    assert all(set(g.roles) == set(map(str, df.columns)) for g in found)


def test_marking_a_new_target_moves_the_role_and_says_where_the_old_one_went():
    df = SAMPLES["penguins"].load()
    spec = new_project("sample:penguins", frame=df)
    roles = roles_of_columns(spec, list(df.columns), {})
    roles["island"] = "target"  # species is still marked as the target
    moved, note = move_target(spec, roles, "classification")
    assert moved["species"] == "feature" and moved["island"] == "target"
    assert note == "`island` is the target now; `species`, the target before, is now a feature."
    new = project_from_roles(spec, df, roles, "classification")
    assert new.data.target == "island" and "species" in new.data.features


def test_two_new_targets_at_once_are_still_refused():
    df = SAMPLES["penguins"].load()
    spec = new_project("sample:penguins", frame=df)
    roles = {**roles_of_columns(spec, list(df.columns), {}), "island": "target", "sex": "target"}
    assert move_target(spec, roles, "classification") == (roles, None)
    with pytest.raises(DataError, match="predicts one column"):
        project_from_roles(spec, df, roles, "classification")


@pytest.mark.parametrize("target", [None, "label"])
def test_a_label_with_one_class_is_named_as_the_problem(tmp_path, target):
    path = tmp_path / "one.csv"
    path.write_text("x,label\n" + "".join(f"{i},yes\n" for i in range(30)), encoding="utf-8")
    with pytest.raises(DataError, match=r"target column `label` has only one class \(`yes`\)"):
        new_project(str(path), target=target)


def test_a_constant_last_column_is_guessed_as_the_label(tmp_path):
    path = tmp_path / "rated.csv"
    path.write_text("x,colour,rating\n" + "".join(f"{i},{'ab'[i % 2]},5\n" for i in range(30)), encoding="utf-8")
    with pytest.raises(DataError, match="target column `rating` has only one class"):
        new_project(str(path))
