"""Metrics and the raw test examples that evaluation.json keeps for the Evaluate page (NumPy only, no training)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from layerlab import evaluate as ev


def _classification(y_true, probs, names=("a", "b", "c")):
    out = ev.classification_report(y_true, probs, list(names), y_true)
    out["mistakes"] = ev.confident_mistakes(y_true, probs)
    out["predictions"] = [int(p) for p in probs.argmax(axis=1)]
    out["confidences"] = [float(c) for c in probs.max(axis=1)]
    return out


@pytest.fixture
def three_classes():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=60)
    probs = rng.dirichlet(np.ones(3), size=60)
    return y, probs


def test_example_positions_keep_the_most_confident_of_every_pair_and_every_mistake(three_classes):
    y, probs = three_classes
    report = _classification(y, probs)
    keep = ev.example_positions(report, y, per_cell=2)

    pred, conf = probs.argmax(axis=1), probs.max(axis=1)
    for t in range(3):
        for p in range(3):
            cell = np.flatnonzero((y == t) & (pred == p))
            top = cell[np.argsort(-conf[cell])][:2]
            assert set(top.tolist()) <= set(keep)
    assert {m["index"] for m in report["mistakes"]} <= set(keep)
    assert keep == sorted(set(keep))
    assert len(keep) <= 9 * 2 + len(report["mistakes"])


def test_with_many_classes_fewer_examples_are_kept_per_pair():
    rng = np.random.default_rng(1)
    k, n = 40, 5000
    y = rng.integers(0, k, size=n)
    probs = rng.dirichlet(np.ones(k), size=n)
    report = _classification(y, probs, names=[str(i) for i in range(k)])
    keep = ev.example_positions(report, y, per_cell=12, max_examples=2000)
    assert len(keep) <= 2000 + len(report["mistakes"])
    assert len(keep) >= 1000  # still about one per pair that occurs


def test_raw_examples_of_texts(three_classes):
    y, probs = three_classes
    report = _classification(y, probs)
    texts = np.array([f"text number {i} " + "x" * (i * 40) for i in range(100)], dtype=object)
    test_idx = np.arange(40, 100)  # test position i is example 40 + i
    out = ev.raw_examples(report, y, "text", {"texts": texts}, test_idx, per_cell=3, max_chars=500)

    assert out["true_labels"] == y.tolist()
    ex = out["examples"]
    assert ex["kind"] == "text"
    assert ex["positions"] == ev.example_positions(report, y, 3)
    for pos, text in zip(ex["positions"], ex["texts"]):
        assert text == str(texts[40 + pos])[:500]
    assert max(len(t) for t in ex["texts"]) == 500
    json.dumps(out)  # it goes into evaluation.json


def test_raw_examples_of_table_rows_are_json_safe():
    y = np.array([0, 1, 1, 0])
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6]])
    report = _classification(y, probs, names=("no", "yes"))
    frame = pd.DataFrame({
        "island": pd.array(["Dream", None, "Biscoe", "Torgersen", "Dream"], dtype="string"),
        "mass": [3500.0, np.nan, 4200.5, 3900.0, 4100.0],
        "count": np.array([1, 2, 3, 4, 5], dtype="int64"),
        "when": pd.to_datetime(["2020-01-01", "2020-01-02", None, "2020-01-04", "2020-01-05"]),
        "species": ["no", "yes", "yes", "no", "no"],
    })
    test_idx = np.array([1, 2, 3, 4])
    out = ev.raw_examples(report, y, "table", {"frame": frame, "y": None}, test_idx)

    ex = out["examples"]
    assert ex["columns"] == ["island", "mass", "count", "when", "species"]
    assert ex["positions"] == [0, 1, 2, 3]
    assert ex["rows"][0] == [None, None, 2, "2020-01-02 00:00:00", "yes"]
    assert ex["rows"][1] == ["Biscoe", 4200.5, 3, None, "yes"]
    json.loads(json.dumps(out, allow_nan=False))


def test_raw_examples_of_regression_rows_are_the_worst_ones():
    true = np.arange(30, dtype=float)
    pred = true + np.linspace(-3, 3, 30)
    report = ev.regression_report(true, pred, train_mean=10.0)
    frame = pd.DataFrame({"x": np.arange(50) * 2.0, "y": np.arange(50, dtype=float)})
    out = ev.raw_examples(report, (true - 10) / 3, "table", {"frame": frame, "y": frame["y"].to_numpy()},
                          np.arange(20, 50))

    assert "true_labels" not in out
    ex = out["examples"]
    assert ex["positions"] == sorted(report["worst"])
    for pos, row in zip(ex["positions"], ex["rows"]):
        assert row == [float((20 + pos) * 2), float(20 + pos)]


def test_no_raw_examples_for_images_and_series(three_classes):
    y, probs = three_classes
    report = _classification(y, probs)
    images = ev.raw_examples(report, y, "images", {"source_indices": np.arange(60)}, np.arange(60))
    assert set(images) == {"true_labels"}
    fc = ev.forecast_report(np.zeros((4, 2, 1)), np.ones((4, 2, 1)), np.zeros((4, 2, 1)), ["v"])
    assert ev.raw_examples(fc, np.zeros((4, 2, 1)), "series", {"dates": []}, np.arange(4)) == {}


def test_forecast_report_has_the_baseline_error_per_step():
    true = np.array([[[1.0], [2.0], [3.0]], [[2.0], [3.0], [4.0]]])
    pred = true + 0.5
    naive = np.zeros_like(true)
    out = ev.forecast_report(true, pred, naive, ["v"])
    assert out["mae_per_step"] == pytest.approx([0.5, 0.5, 0.5])
    assert out["baseline_mae_per_step"] == pytest.approx([1.5, 2.5, 3.5])
    assert out["baseline_mae"] == pytest.approx(2.5)
    # The forecasts of the later steps, for the test-span plot, and the last window's actual values.
    assert out["pred_by_step"] == {"2": [[2.5], [3.5]], "3": [[3.5], [4.5]]}
    assert out["true_tail"] == [[2.0], [3.0], [4.0]]


def test_a_long_test_span_keeps_only_the_last_steps_forecasts():
    true = np.zeros((100_000, 24, 1))
    out = ev.forecast_report(true, true + 1, true, ["v"])
    assert list(out["pred_by_step"]) == ["24"]
    assert ev.forecast_report(true[:, :1], true[:, :1], true[:, :1], ["v"])["pred_by_step"] == {}
