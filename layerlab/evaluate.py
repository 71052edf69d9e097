"""Metrics from predictions (NumPy and scikit-learn, imported where used: no TensorFlow, so pages can show them)."""

from __future__ import annotations

from typing import Any

import numpy as np


def classification_report(y_true: np.ndarray, probs: np.ndarray, class_names: list[str],
                          train_labels: np.ndarray) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1/support, confusion matrix and the majority baseline."""
    from sklearn import metrics

    y_true = np.asarray(y_true).astype(int)
    pred = probs.argmax(axis=1)
    k = len(class_names)
    labels = list(range(k))
    cm = metrics.confusion_matrix(y_true, pred, labels=labels) if len(y_true) else np.zeros((k, k), dtype=int)
    p, r, f1, support = (metrics.precision_recall_fscore_support(y_true, pred, labels=labels, zero_division=0)
                         if len(y_true) else np.zeros((4, k)))
    per_class = [{"class": name, "precision": float(p[i]), "recall": float(r[i]), "f1": float(f1[i]),
                  "support": int(support[i])} for i, name in enumerate(class_names)]
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
    """ROC and precision-recall points for a two-class model (score = probability of class 1).

    One point per distinct score (scikit-learn's curves), so tied scores — saturated probabilities —
    give the same AUC whatever the order of the rows. Empty when the test set holds only one class:
    neither curve is defined then.
    """
    from sklearn import metrics

    y = np.asarray(y_true).astype(int)
    score = np.asarray(score, dtype=float)
    if len(np.unique(y)) < 2:
        return {}
    fpr, tpr, _ = metrics.roc_curve(y, score, drop_intermediate=False)
    precision, recall, _ = metrics.precision_recall_curve(y, score)
    precision, recall = precision[::-1], recall[::-1]  # from recall 0 (precision 1) up to recall 1
    return {"roc": {"fpr": _thin(fpr), "tpr": _thin(tpr), "auc": float(metrics.roc_auc_score(y, score))},
            "pr": {"recall": _thin(recall), "precision": _thin(precision)}}


def _thin(values: np.ndarray, points: int = 200) -> list[float]:
    """About `points` of a curve's values for drawing, the first and the last always kept."""
    step = max(1, len(values) // points)
    kept = list(values[::step])
    if (len(values) - 1) % step:
        kept.append(values[-1])
    return [float(v) for v in kept]


def regression_report(true: np.ndarray, pred: np.ndarray, train_mean: float) -> dict[str, Any]:
    """MAE, RMSE and R² in the target's units; the baseline always predicts the training mean.

    R² is scikit-learn's: a constant test target gives 1.0 for a perfect prediction and 0.0 otherwise.
    """
    from sklearn import metrics

    true, pred = np.asarray(true, dtype=float), np.asarray(pred, dtype=float)
    err = pred - true
    worst = np.argsort(-np.abs(err))[:20]
    return {
        "mae": float(metrics.mean_absolute_error(true, pred)),
        "rmse": float(np.sqrt(metrics.mean_squared_error(true, pred))),
        "r2": float(metrics.r2_score(true, pred, force_finite=True)) if len(true) > 1 else 0.0,
        "baseline_mae": float(metrics.mean_absolute_error(true, np.full_like(true, train_mean))),
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
        "baseline_mae_per_step": np.abs(naive - true).mean(axis=(0, 2)).tolist(),
        "rmse_per_step": np.sqrt((err ** 2).mean(axis=(0, 2))).tolist(),
        "targets": list(targets),
        "true": true[:, 0, :].tolist(),
        "pred": pred[:, 0, :].tolist(),
        # The forecasts made k steps ahead ({"2": windows × targets, …}), for the test-span plot; a very
        # long test span keeps only the last step beside the first, so evaluation.json stays small.
        "pred_by_step": {str(k + 1): pred[:, k, :].tolist() for k in _shown_steps(pred.shape)},
        # The last window's actual values for every step: the actual line then reaches as far as the
        # forecasts of the last window do.
        "true_tail": true[-1, :, :].tolist() if len(true) else [],
        "n_test": int(len(true)),
    }


def _shown_steps(shape: tuple[int, ...], max_values: int = 250_000) -> list[int]:
    """Steps (0-based, beyond the first) whose test-span forecasts are kept."""
    n, horizon, targets = shape
    if horizon < 2:
        return []
    if n * horizon * targets <= max_values:
        return list(range(1, horizon))
    return [horizon - 1]


def _plain(value: Any) -> Any:
    """A JSON-safe Python value for one table cell (NaN → None, NumPy scalars → Python, dates → text)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if not np.isfinite(value) else value
    if isinstance(value, (bool, int, str)):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _cut(value: Any, max_chars: int) -> Any:
    return value[:max_chars] if isinstance(value, str) else value


def example_positions(report: dict[str, Any], y_true: np.ndarray | None = None, per_cell: int = 12,
                      max_examples: int = 2000) -> list[int]:
    """Which test examples the Evaluate page shows: per (true, predicted) pair the most confident ones,
    the confident mistakes, and the worst regression rows. Positions index the test arrays.

    With many classes fewer are kept per pair, so that about `max_examples` are kept in all.
    """
    keep: set[int] = {int(m["index"]) for m in report.get("mistakes") or []}
    keep.update(int(i) for i in report.get("worst") or [])
    pred, conf = report.get("predictions"), report.get("confidences")
    if y_true is not None and pred is not None and conf is not None:
        y, p, c = np.asarray(y_true).astype(int).reshape(-1), np.asarray(pred, dtype=int), np.asarray(conf, dtype=float)
        pairs = len(report.get("class_names") or np.unique(y)) ** 2
        per_cell = max(1, min(per_cell, max_examples // max(1, pairs)))
        for t in np.unique(y):
            for q in np.unique(p[y == t]):
                cell = np.flatnonzero((y == t) & (p == q))
                keep.update(int(i) for i in cell[np.argsort(-c[cell], kind="stable")][:per_cell])
    return sorted(keep)


def raw_examples(report: dict[str, Any], y_true: np.ndarray, kind: str, raw: Any, test_idx: np.ndarray,
                  per_cell: int = 12, max_chars: int = 1000, max_cells: int = 200_000) -> dict[str, Any]:
    """What evaluation.json needs for the Evaluate page to show table rows and texts (not images or series).

    Returns `true_labels` (classification: the true class of every test example) and `examples`:
    the raw texts (`{"kind": "text", "positions", "texts"}`) or table rows (`{"kind": "table",
    "positions", "columns", "rows"}`) of the test examples the page shows (see `example_positions`),
    as a user would recognise them. `raw` is `Prepared.raw`; `test_idx` maps test positions to examples.

    Args:
        report: the evaluation so far (classification_report + predictions/confidences/mistakes,
            or regression_report).
        y_true: the test targets (class indices for classification).
        kind: the data kind ("images", "table", "text", "series").
        raw: `Prepared.raw` for that kind.
        test_idx: index of each test example among all examples.
        per_cell: examples kept per (true, predicted) pair (fewer when there are many classes).
        max_chars: texts are cut to this length.
        max_cells: about how many table cells (rows × columns) to keep at most.
    """
    out: dict[str, Any] = {}
    classification = "confusion_matrix" in report
    if classification:
        out["true_labels"] = [int(v) for v in np.asarray(y_true).reshape(-1)]
    if kind not in ("table", "text") or not raw:
        return out
    width = len(raw["frame"].columns) if kind == "table" and raw.get("frame") is not None else 1
    budget = max(50, min(2000, max_cells // max(1, width)))
    positions = example_positions(report, y_true if classification else None, per_cell, budget)
    rows = [int(test_idx[i]) for i in positions]
    if kind == "text" and raw.get("texts") is not None:
        texts = raw["texts"]
        out["examples"] = {"kind": "text", "positions": positions, "texts": [str(texts[r])[:max_chars] for r in rows]}
    elif kind == "table" and raw.get("frame") is not None:
        frame = raw["frame"]
        if raw.get("frame_rows") is not None:  # the frame holds only these rows (the test rows) of the table
            import pandas as pd

            frame = frame.iloc[pd.Index(raw["frame_rows"]).get_indexer(rows)]
        else:
            frame = frame.iloc[rows]
        out["examples"] = {"kind": "table", "positions": positions, "columns": [str(c) for c in frame.columns],
                           "rows": [[_cut(_plain(v), max_chars) for v in row]
                                    for row in frame.itertuples(index=False, name=None)]}
    return out
