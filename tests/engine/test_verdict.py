"""The verdict on a finished run against its baseline (issue #15, item 4)."""

from __future__ import annotations

from layerlab.train.verdict import verdict


def _classification(acc, base, n=480, support=(309, 171), recall=(1.0, 0.0), **extra):
    per_class = [{"class": name, "support": s, "recall": r, "precision": 0.5, "f1": 0.5}
                 for name, s, r in zip(("negative", "positive"), support, recall)]
    return {"task": "classification", "accuracy": acc, "baseline_accuracy": base, "n_test": n,
            "baseline": "always predict the most common training class, `negative`", "per_class": per_class, **extra}


def test_a_run_at_its_baseline_is_a_warning_with_causes_and_what_to_try():
    spec = {"model": {"template": "text_small"}, "train": {"learning_rate": 1e-3}, "prepare": {"class_weights": False}}
    v = verdict(_classification(0.644, 0.644), spec, {"loss": [0.69, 0.66, 0.655]})
    assert v.level == "warning" and v.headline == "No better than the baseline"
    assert "64.4%" in v.text and "not learned anything" in v.text
    assert "class_weights" in v.actions and "other_template" in v.actions and "more_epochs" in v.actions
    assert any("answers `negative`" in c for c in v.causes) and any("dominates" in c for c in v.causes)
    assert any("class weights" in t for t in v.tips)
    assert v.to_dict()["level"] == "warning"


def test_the_verdict_levels_follow_the_margin_over_the_baseline():
    ok = _classification(0.93, 0.5, recall=(0.9, 0.95), support=(240, 240))
    assert verdict(ok).level == "success" and verdict(ok).causes == ()
    assert verdict(_classification(0.333, 0.333, support=(160, 160))).level == "warning"
    assert verdict(_classification(0.30, 0.45)).headline == "Worse than the baseline"
    assert verdict(_classification(0.53, 0.50, support=(240, 240))).level == "neutral"


def test_a_forecast_worse_than_repeating_the_last_value_is_a_warning():
    ev = {"task": "forecasting", "mae": 12.0, "baseline_mae": 10.0, "baseline": "repeat the last value of the input window"}
    v = verdict(ev, history={"loss": [1.0, 1.2, 1.5]})
    assert v.level == "warning" and v.headline == "Worse than the baseline"
    assert "lower_learning_rate" in v.actions and "repeat the last value" in v.text
    assert verdict({**ev, "mae": 9.5}).level == "neutral"
    assert verdict({**ev, "mae": 5.0}).level == "success"
    assert verdict({"task": "regression", "mae": 1.0}).headline == "Finished"  # nothing to compare with


def test_a_learning_rate_that_barely_moves_the_loss_is_named():
    v = verdict(_classification(0.5, 0.5, support=(240, 240), recall=(0.5, 0.5)),
                         {"train": {"learning_rate": 1e-5}}, {"loss": [0.70, 0.699, 0.698] * 5})
    assert "raise_learning_rate" in v.actions and "class_weights" not in v.actions
