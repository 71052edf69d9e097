"""Layerlab's metrics agree with scikit-learn's on fixed predictions, edge cases included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from layerlab.evaluate import binary_curves, classification_report, forecast_report, regression_report

NAMES = ["cat", "dog", "bird", "fish"]


def _probs(pred: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Probabilities whose argmax is `pred`."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 0.5, (len(pred), k))
    p[np.arange(len(pred)), pred] = 1.0
    return p / p.sum(axis=1, keepdims=True)


CASES = {
    "mixed": (np.array([0, 1, 2, 3, 0, 1, 2, 3, 0, 0, 1, 2]), np.array([0, 1, 2, 0, 0, 2, 2, 3, 1, 0, 1, 1])),
    # `fish` (3) is never predicted: its precision is 0/0, which both call 0
    "never_predicted": (np.array([0, 1, 2, 3, 3, 0]), np.array([0, 1, 2, 0, 1, 0])),
    # only `cat` in the truth: the other classes have no support
    "one_true_class": (np.array([0, 0, 0, 0, 0]), np.array([0, 1, 0, 2, 0])),
    "all_right": (np.array([3, 2, 1, 0]), np.array([3, 2, 1, 0])),
}


@pytest.mark.parametrize("case", list(CASES))
def test_classification_report_matches_scikit_learn(case: str):
    y, pred = CASES[case]
    report = classification_report(y, _probs(pred, 4), NAMES, train_labels=np.array([1, 1, 0, 2]))
    labels = list(range(4))
    assert report["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
    assert report["confusion_matrix"] == sk.confusion_matrix(y, pred, labels=labels).tolist()
    p, r, f, s = sk.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    got = report["per_class"]
    assert [c["class"] for c in got] == NAMES
    assert [c["precision"] for c in got] == pytest.approx(p)
    assert [c["recall"] for c in got] == pytest.approx(r)
    assert [c["f1"] for c in got] == pytest.approx(f)
    assert [c["support"] for c in got] == list(s)
    # the baseline always answers the most common training class (dog)
    assert report["baseline_accuracy"] == pytest.approx(sk.accuracy_score(y, np.full_like(y, 1)))
    assert "`dog`" in report["baseline"]


def test_binary_curves_match_scikit_learn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 150)  # few enough points that none is left out of the drawn curve
    score = np.clip(y * 0.3 + rng.uniform(0, 0.7, 150), 0, 1)
    curves = binary_curves(y, score)
    assert curves["roc"]["auc"] == pytest.approx(sk.roc_auc_score(y, score), abs=1e-9)
    fpr, tpr, _ = sk.roc_curve(y, score, drop_intermediate=False)  # scores are distinct: one point each
    assert curves["roc"]["fpr"] == pytest.approx(list(fpr)) and curves["roc"]["tpr"] == pytest.approx(list(tpr))
    precision, recall, _ = sk.precision_recall_curve(y, score)
    assert max(curves["pr"]["recall"]) == pytest.approx(1.0)
    assert min(curves["pr"]["precision"]) == pytest.approx(y.mean(), abs=1e-9)  # all called positive
    assert precision[-1] == 1.0 and recall[-1] == 0.0  # scikit-learn's end point: Layerlab starts there


def test_regression_report_matches_scikit_learn():
    rng = np.random.default_rng(1)
    true = rng.normal(100, 20, 200)
    pred = true + rng.normal(0, 8, 200)
    report = regression_report(true, pred, train_mean=97.0)
    assert report["mae"] == pytest.approx(sk.mean_absolute_error(true, pred))
    assert report["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(true, pred)))
    assert report["r2"] == pytest.approx(sk.r2_score(true, pred))
    assert report["baseline_mae"] == pytest.approx(sk.mean_absolute_error(true, np.full_like(true, 97.0)))
    assert report["n_test"] == 200 and len(report["worst"]) == 20
    worst = report["worst"][0]
    assert abs(pred - true)[worst] == pytest.approx(np.abs(pred - true).max())


def test_forecast_report_matches_scikit_learn_per_step():
    rng = np.random.default_rng(2)
    true = rng.normal(0, 1, (40, 3, 2))  # windows × horizon × targets
    pred = true + rng.normal(0, 0.3, true.shape)
    naive = np.repeat(true[:, :1, :], 3, axis=1) + rng.normal(0, 0.5, true.shape)
    report = forecast_report(true, pred, naive, ["a", "b"])
    assert report["mae"] == pytest.approx(sk.mean_absolute_error(true.reshape(-1), pred.reshape(-1)))
    for k in range(3):
        assert report["mae_per_step"][k] == pytest.approx(sk.mean_absolute_error(true[:, k].ravel(), pred[:, k].ravel()))
        assert report["rmse_per_step"][k] == pytest.approx(
            np.sqrt(sk.mean_squared_error(true[:, k].ravel(), pred[:, k].ravel())))
        assert report["baseline_mae_per_step"][k] == pytest.approx(
            sk.mean_absolute_error(true[:, k].ravel(), naive[:, k].ravel()))


def test_tied_scores_give_one_auc_whatever_the_row_order():
    # saturated probabilities: many examples share the score 1.0 or 0.0
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1, 0])
    score = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.5, 0.5])
    expected = sk.roc_auc_score(y, score)
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(len(y))
        curves = binary_curves(y[order], score[order])
        assert curves["roc"]["auc"] == pytest.approx(expected, abs=1e-12)
        assert len(curves["roc"]["fpr"]) == 4  # one point per distinct score, plus the start
        assert curves["pr"]["recall"][0] == 0.0 and curves["pr"]["recall"][-1] == 1.0


def test_binary_curves_of_a_test_set_with_one_class_are_left_out():
    assert binary_curves(np.array([1, 1, 1]), np.array([0.2, 0.9, 0.5])) == {}


def test_long_curves_are_thinned_but_keep_their_ends():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 5000)
    score = rng.uniform(0, 1, 5000)
    curves = binary_curves(y, score)
    assert len(curves["roc"]["fpr"]) <= 260
    assert curves["roc"]["fpr"][0] == 0.0 and curves["roc"]["fpr"][-1] == 1.0 and curves["roc"]["tpr"][-1] == 1.0
    assert curves["roc"]["auc"] == pytest.approx(sk.roc_auc_score(y, score))


@pytest.mark.parametrize("pred, r2", [([5.0, 5.0, 5.0], 1.0), ([5.0, 6.0, 4.0], 0.0)])
def test_r2_of_a_constant_test_target_is_scikit_learns(pred: list[float], r2: float):
    true = np.array([5.0, 5.0, 5.0])
    report = regression_report(true, np.array(pred), train_mean=4.0)
    assert report["r2"] == r2 == sk.r2_score(true, np.array(pred))
