"""layerlab.inference.results: the time points a forecast is for, and predictions laid out as tables."""

from __future__ import annotations

import pandas as pd

from layerlab.data.info import DataInfo
from layerlab.inference.results import append_predictions, results_table


def test_future_steps_use_the_frequency_or_the_last_spacing_or_step_numbers():
    from layerlab.inference.results import future_steps

    assert future_steps("2001-01-07", "W-SUN", 2) == [pd.Timestamp("2001-01-14"), pd.Timestamp("2001-01-21")]
    assert future_steps(pd.Timestamp("2000-03-01"), None, 2, previous="2000-02-01") == [
        pd.Timestamp("2000-03-01") + pd.Timedelta(days=29) * k for k in (1, 2)]
    assert future_steps("41", None, 3) == [42, 43, 44]


def test_time_labels_read_like_the_steps():
    from layerlab.inference.results import time_labels

    assert time_labels([pd.Timestamp("2009-01-01"), pd.Timestamp("2010-01-01")]) == ["2009", "2010"]
    assert time_labels([pd.Timestamp("2009-01-01"), pd.Timestamp("2009-02-01")]) == ["2009-01-01", "2009-02-01"]
    assert time_labels([pd.Timestamp("2009-01-01 06:00")]) == ["2009-01-01 06:00:00"]
    assert time_labels([42, 43]) == [42, 43]


def test_predictions_are_appended_without_clashing_with_the_files_columns():
    info = DataInfo("table", "classification", (2,), ["a", "b"], extra={"target": "kind"})
    df = pd.DataFrame({"x": [1, 2], "confidence": [0, 0]})
    res = [{"label": "a", "confidence": 0.9, "probabilities": {"a": 0.9, "b": 0.1}},
           {"label": "b", "confidence": 0.6, "probabilities": {"a": 0.4, "b": 0.6}}]
    out = append_predictions(df, res, info)
    assert list(out.columns) == ["x", "confidence", "predicted_kind", "confidence_", "p(a)", "p(b)"]
    assert out["predicted_kind"].tolist() == ["a", "b"] and list(df.columns) == ["x", "confidence"]
    table = results_table(["t1", "t2"], res, info, "text")
    assert list(table.columns) == ["text", "predicted", "confidence", "p(a)", "p(b)"]
