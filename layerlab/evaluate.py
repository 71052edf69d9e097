"""Metrics from predictions (NumPy only, so pages can show them without TensorFlow)."""

from __future__ import annotations

from typing import Any

import numpy as np


def classification_report(y_true: np.ndarray, probs: np.ndarray, class_names: list[str],
                          train_labels: np.ndarray) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1/support, confusion matrix and the majority baseline."""
    y_true = np.asarray(y_true).astype(int)
    pred = probs.argmax(axis=1)
    k = len(class_names)
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (y_true, pred), 1)
    per_class = []
    for i, name in enumerate(class_names):
        tp = cm[i, i]
        p = tp / cm[:, i].sum() if cm[:, i].sum() else 0.0
        r = tp / cm[i, :].sum() if cm[i, :].sum() else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per_class.append({"class": name, "precision": float(p), "recall": float(r), "f1": float(f1),
                          "support": int(cm[i, :].sum())})
    majority = int(np.bincount(np.asarray(train_labels).astype(int), minlength=k).argmax())
    return {
        "accuracy": float((pred == y_true).mean()) if len(y_true) else 0.0,
        "baseline_accuracy": float((y_true == majority).mean()) if len(y_true) else 0.0,
        "baseline": f"always predict the most common training class, `{class_names[majority]}`",
        "confusion_matrix": cm.tolist(),
        "class_names": list(class_names),
        "per_class": per_class,
        "n_test": int(len(y_true)),
    }


def confident_mistakes(y_true: np.ndarray, probs: np.ndarray, limit: int = 12) -> list[dict[str, Any]]:
    """The test examples the model got wrong with the most confidence."""
    pred = probs.argmax(axis=1)
    conf = probs.max(axis=1)
    wrong = np.flatnonzero(pred != np.asarray(y_true))
    order = wrong[np.argsort(-conf[wrong])][:limit]
    return [{"index": int(i), "true": int(y_true[i]), "pred": int(pred[i]), "confidence": float(conf[i])} for i in order]


def binary_curves(y_true: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """ROC and precision-recall points for a two-class model (score = probability of class 1)."""
    y = np.asarray(y_true).astype(int)
    order = np.argsort(-score, kind="stable")
    y, s = y[order], score[order]
    tps = np.cumsum(y)
    fps = np.cumsum(1 - y)
    pos, neg = max(1, int(y.sum())), max(1, int(len(y) - y.sum()))
    tpr = np.concatenate([[0.0], tps / pos])
    fpr = np.concatenate([[0.0], fps / neg])
    precision = np.concatenate([[1.0], tps / np.arange(1, len(y) + 1)])
    auc = float(np.trapezoid(tpr, fpr))
    step = max(1, len(tpr) // 200)
    return {"roc": {"fpr": fpr[::step].tolist(), "tpr": tpr[::step].tolist(), "auc": auc},
            "pr": {"recall": tpr[::step].tolist(), "precision": precision[::step].tolist()}}


def regression_report(true: np.ndarray, pred: np.ndarray, train_mean: float) -> dict[str, Any]:
    """MAE, RMSE and R² in the target's units; the baseline always predicts the training mean."""
    err = pred - true
    ss_tot = float(((true - true.mean()) ** 2).sum()) or 1.0
    worst = np.argsort(-np.abs(err))[:20]
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err ** 2).mean())),
        "r2": float(1 - (err ** 2).sum() / ss_tot),
        "baseline_mae": float(np.abs(true - train_mean).mean()),
        "baseline": f"always predict the training mean, {train_mean:.4g}",
        "true": [float(v) for v in true],
        "pred": [float(v) for v in pred],
        "worst": [int(i) for i in worst],
        "n_test": int(len(true)),
    }


def forecast_report(true: np.ndarray, pred: np.ndarray, naive: np.ndarray, targets: list[str]) -> dict[str, Any]:
    """Errors per horizon step (arrays are (windows, horizon, targets)); baseline repeats the last value."""
    err = pred - true
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err ** 2).mean())),
        "baseline_mae": float(np.abs(naive - true).mean()),
        "baseline": "repeat the last value of the input window",
        "mae_per_step": np.abs(err).mean(axis=(0, 2)).tolist(),
        "rmse_per_step": np.sqrt((err ** 2).mean(axis=(0, 2))).tolist(),
        "targets": list(targets),
        "true": true[:, 0, :].tolist(),
        "pred": pred[:, 0, :].tolist(),
        "n_test": int(len(true)),
    }
