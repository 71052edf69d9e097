"""prepare_series / fill_gaps: order, frequency, gaps, repeated dates and bad columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from layerlab.data.series import fill_gaps, infer_frequency, prepare_series
from layerlab.errors import DataError
from layerlab.samples import get_sample


def daily_with_gaps() -> pd.DataFrame:
    days = pd.date_range("2024-01-01", periods=20, freq="D")
    keep = [d for i, d in enumerate(days) if i not in (3, 4, 5, 12)]
    df = pd.DataFrame({"when": [d.strftime("%Y-%m-%d") for d in keep], "sales": np.arange(len(keep), dtype=float) * 2})
    return df.sample(frac=1.0, random_state=1).reset_index(drop=True)  # shuffled


def test_sorts_infers_daily_and_finds_gaps():
    s = prepare_series(daily_with_gaps(), "when", ["sales"])
    assert s.frame["when"].is_monotonic_increasing and pd.api.types.is_datetime64_any_dtype(s.frame["when"])
    assert s.freq == "D"
    assert s.gaps == [(pd.Timestamp("2024-01-04"), pd.Timestamp("2024-01-06"), 3),
                      (pd.Timestamp("2024-01-13"), pd.Timestamp("2024-01-13"), 1)]
    assert s.missing_steps == 4 and s.duplicates == 0
    assert any("date order" in n for n in s.notes) and any("4 missing time steps in 2 gaps" in n for n in s.notes)


@pytest.mark.parametrize("method", ["interpolate", "ffill"])
def test_fill_gaps_reindexes_to_the_frequency(method):
    s = prepare_series(daily_with_gaps(), "when", "sales")
    filled = fill_gaps(s, method)
    f = filled.frame
    assert len(f) == 20 and f["sales"].notna().all() and filled.gaps == []
    assert f["when"].tolist() == list(pd.date_range("2024-01-01", periods=20, freq="D"))
    before, after = f.loc[2, "sales"], f.loc[6, "sales"]
    gap = f.loc[3:5, "sales"].tolist()
    if method == "interpolate":
        assert gap == pytest.approx(np.linspace(before, after, 5)[1:4].tolist())
    else:
        assert gap == [before] * 3
    assert any("4 missing time steps were added" in n for n in filled.notes)


def test_fill_gaps_drop_and_bad_method():
    df = pd.DataFrame({"d": pd.date_range("2024-01-01", periods=6), "v": [1.0, np.nan, 3.0, 4.0, np.nan, 6.0]})
    s = prepare_series(df, "d", ["v"])
    dropped = fill_gaps(s, "drop")
    assert dropped.frame["v"].tolist() == [1.0, 3.0, 4.0, 6.0]
    assert fill_gaps(s, "interpolate").frame["v"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    with pytest.raises(ValueError, match="Expected one of: interpolate, ffill, drop"):
        fill_gaps(s, "mean")


def test_repeated_dates_are_averaged():
    df = pd.DataFrame({"d": ["2024-03-01", "2024-03-02", "2024-03-02", "2024-03-03"], "v": [1, 2, 4, 5]})
    s = prepare_series(df, "d", ["v"])
    assert s.duplicates == 1 and s.frame["v"].tolist() == [1.0, 3.0, 5.0] and s.freq == "D"


@pytest.mark.parametrize(("dates", "freq"), [
    (pd.date_range("2020-01-01", periods=12, freq="MS").delete([4, 5]), "MS"),
    (pd.date_range("2020-01-31", periods=12, freq="ME").delete([7]), "ME"),
    (pd.date_range("2020-01-04", periods=30, freq="W-SAT").delete([10, 20]), "W-SAT"),
    (pd.date_range("2001-01-01", periods=10, freq="YS").delete([3]), "YS-JAN"),
    (pd.date_range("2024-01-01", periods=48, freq="h").delete([5, 6]), "h"),
    (pd.bdate_range("2024-01-01", periods=30).delete([9]), "B"),
    (pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-09", "2024-02-10"]), None),
])
def test_frequency_even_with_gaps(dates, freq):
    assert infer_frequency(pd.DatetimeIndex(dates)) == freq


def test_monthly_gaps_from_text_dates():
    dates = pd.date_range("2020-01-01", periods=12, freq="MS").delete([4, 5])
    df = pd.DataFrame({"month": dates.strftime("%d/%m/%Y"), "v": range(10)})
    s = prepare_series(df, "month", ["v"])
    assert s.freq == "MS" and s.gaps == [(pd.Timestamp("2020-05-01"), pd.Timestamp("2020-06-01"), 2)]
    assert len(fill_gaps(s).frame) == 12


def test_year_numbers_are_dates():
    df = pd.DataFrame({"year": [2001, 2002, 2003, 2005], "v": [1.0, 2.0, 3.0, 5.0]})
    s = prepare_series(df, "year", ["v"])
    assert s.freq == "YS-JAN" and s.missing_steps == 1 and s.frame["year"].iloc[0] == pd.Timestamp("2001-01-01")


def test_unparsable_date_column_is_refused_with_examples():
    df = pd.DataFrame({"when": ["2024-01-01", "soon", "later", "2024-01-04", "n/a?"], "v": range(5)})
    with pytest.raises(DataError) as info:
        prepare_series(df, "when", ["v"])
    err = info.value
    assert "`when` does not read as dates" in err.message and "'soon'" in err.message and "'later'" in err.message
    assert "no date column" in err.hint
    with pytest.raises(DataError, match="plain numbers"):
        prepare_series(pd.DataFrame({"n": [5.5, 7.25, 9.0], "v": [1, 2, 3]}), "n", ["v"])


def test_a_few_unreadable_dates_are_dropped_with_a_note():
    when = [d.strftime("%Y-%m-%d") for d in pd.date_range("2024-01-01", periods=40)] + ["TOTAL"]
    s = prepare_series(pd.DataFrame({"when": when, "v": range(41)}), "when", ["v"])
    assert len(s.frame) == 40 and "1 row without a readable date (including 'TOTAL') is left out." in s.notes


def test_bad_value_and_missing_columns():
    df = pd.DataFrame({"d": pd.date_range("2024-01-01", periods=4), "v": ["a", "b", "c", "1"]})
    with pytest.raises(DataError, match="`v` does not hold numbers"):
        prepare_series(df, "d", ["v"])
    with pytest.raises(DataError, match="`nope` is not in the data"):
        prepare_series(df, "nope", ["v"])
    with pytest.raises(DataError, match="No value column"):
        prepare_series(df, "d", [])


def test_row_order_without_a_date():
    df = pd.DataFrame({"a": [3, 1, 2], "b": [1.5, np.nan, 2.5]})
    s = prepare_series(df, None, ["a", "b"])
    assert s.frame["a"].tolist() == [3.0, 1.0, 2.0] and s.freq is None and s.gaps == []
    assert fill_gaps(s).frame["b"].tolist() == [1.5, 2.0, 2.5]


def test_co2_sample_gaps_and_fill():
    df = get_sample("co2").load()
    s = prepare_series(df, "date", ["co2"])
    assert s.freq == "W-SAT" and s.missing_steps == 59 and len(s.gaps) > 10
    assert s.gaps[0] == (pd.Timestamp("1958-05-10"), pd.Timestamp("1958-05-10"), 1)
    filled = fill_gaps(s)
    assert len(filled.frame) == 2284 and filled.frame["co2"].notna().all()


def test_sunspots_sample_is_yearly():
    s = prepare_series(get_sample("sunspots").load(), "year", ["sunspots"])
    assert s.freq == "YS-JAN" and s.gaps == [] and len(s.frame) == 309
