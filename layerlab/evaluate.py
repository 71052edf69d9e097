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
