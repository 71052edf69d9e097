"""The verdict on a finished run: did it clearly beat its baseline, and if not, why and what to try.

One judgement for the Train page's finish box, Evaluate's headline, the CLI and any other client
(#15: a model no better than its baseline is never reported as a success).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """Whether a run beat its baseline clearly, in plain words.

    level: "success" (clearly better), "neutral" (better, but not by much) or "warning" (no
    better than the baseline, or worse). `causes` are the likely reasons and `tips` what to try,
    most likely first; `actions` name the settings a page can offer to change ("more_epochs",
    "class_weights", "lower_learning_rate", "raise_learning_rate", "other_template").
    """

    level: str
    headline: str
    text: str
    causes: tuple[str, ...] = ()
    tips: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "headline": self.headline, "text": self.text, "causes": list(self.causes),
                "tips": list(self.tips), "actions": list(self.actions)}


def verdict(evaluation: Mapping[str, Any], spec: Mapping[str, Any] | None = None,
            history: Mapping[str, Sequence[float]] | None = None) -> Verdict:
    """The one judgement of a finished run against its baseline, for the Train page's finish box,
    Evaluate's headline, the CLI and any other client.

    Classification: the test accuracy must beat always answering the most common training class
    by more than the test set's noise (two standard errors, at least 2 points) to be a success;
    within one standard error (at least 1 point) of it, or below, is a warning. Regression and
    forecasting: the test MAE must be at least 10% below the baseline's (the training mean, or
    repeating the last value); not below it is a warning.

    Args:
        evaluation: the run's evaluation.json.
        spec: the run's project.json (for the template, learning rate and class weights), if known.
        history: the run's history.json (loss per epoch), if known.
    """
    task = evaluation.get("task")
    if task == "classification" and "accuracy" in evaluation and "baseline_accuracy" in evaluation:
        acc, base = float(evaluation["accuracy"]), float(evaluation["baseline_accuracy"])
        n = max(1, int(evaluation.get("n_test") or 1))
        noise = math.sqrt(max(base * (1 - base), 1e-4) / n)
        gain = acc - base
        figures = f"test accuracy {acc:.1%} against {base:.1%} for the baseline ({evaluation.get('baseline', 'always the most common class')})"
        if gain <= max(0.01, noise):
            level, headline = "warning", ("Worse than the baseline" if gain < -max(0.01, noise)
                                          else "No better than the baseline")
        elif gain < max(0.02, 2 * noise):
            level, headline = "neutral", "Only slightly better than the baseline"
        else:
            level, headline = "success", f"{gain * 100:+.1f} points over the baseline"
    elif "mae" in evaluation and evaluation.get("baseline_mae"):
        mae, base = float(evaluation["mae"]), float(evaluation["baseline_mae"])
        ratio = mae / base if base > 0 else (1.0 if mae == 0 else math.inf)
        figures = f"test MAE {mae:.4g} against {base:.4g} for the baseline ({evaluation.get('baseline', 'a naive guess')})"
        if ratio >= 1.0:
            level, headline = "warning", "Worse than the baseline" if ratio > 1.02 else "No better than the baseline"
        elif ratio > 0.9:
            level, headline = "neutral", "Only slightly better than the baseline"
        else:
            level, headline = "success", f"{1 - ratio:.0%} less error than the baseline"
    else:
        return Verdict("neutral", "Finished", "This run has no baseline to compare with.")
    if level == "success":
        return Verdict(level, headline, f"The model clearly beat its baseline: {figures}.")
    causes, tips, actions = _causes(evaluation, spec or {}, history or {})
    meaning = ("it has not learned anything useful yet" if level == "warning"
               else "it has learned a little, not much")
    return Verdict(level, headline, f"The {figures}: {meaning}.", tuple(causes), tuple(tips), tuple(actions))


def _causes(evaluation: Mapping[str, Any], spec: Mapping[str, Any],
            history: Mapping[str, Sequence[float]]) -> tuple[list[str], list[str], list[str]]:
    """Likely causes of a weak run, what to try, and the action names, most likely first."""
    causes: list[str] = []
    tips: list[str] = []
    actions: list[str] = []
    train = spec.get("train") or {}
    lr = train.get("learning_rate")
    stopped = evaluation.get("stopped_because") or {}
    loss = [float(v) for v in history.get("loss") or [] if v is not None]
    epochs_run = stopped.get("epochs_run") or len(loss)
    if (stopped.get("reason") == "epoch_cap" and stopped.get("still_improving")) or (
            stopped.get("reason") not in ("early_stopping", "pruned") and epochs_run and epochs_run < 10):
        causes.append(f"Too few epochs: it trained {epochs_run} and the validation loss may still have been falling.")
        tips.append("Train for more epochs, with early stopping to end the run when it stops improving.")
        actions.append("more_epochs")
    per_class = evaluation.get("per_class") or []
    support = [int(c.get("support") or 0) for c in per_class]
    if per_class and sum(support):
        top = max(range(len(support)), key=support.__getitem__)
        share = support[top] / sum(support)
        recalled = [c for c in per_class if c.get("recall", 0) > 0]
        if len(recalled) <= 1 and len(per_class) > 1:
            only = recalled[0]["class"] if recalled else per_class[top]["class"]
            causes.append(f"The model answers `{only}` for (nearly) everything.")
        if share > 1.25 / len(per_class) and not (spec.get("prepare") or {}).get("class_weights"):
            causes.append(f"One class dominates: `{per_class[top]['class']}` is {share:.0%} of the test examples, "
                          "so always answering it already scores well.")
            tips.append("Turn on class weights (Prepare), so that the rarer classes count as much while training.")
            actions.append("class_weights")
    finite = [v for v in loss if math.isfinite(v)]
    if loss and (len(finite) < len(loss) or (len(finite) >= 2 and finite[-1] > finite[0])):
        causes.append("The learning rate is too high: the training loss rose instead of falling.")
        tips.append(f"Lower the learning rate{f' (e.g. from {lr:g} to {lr / 10:g})' if lr else ''}.")
        actions.append("lower_learning_rate")
    elif len(finite) >= 2 and finite[-1] > 0.9 * finite[0]:
        causes.append("The learning rate may be too low (or too high): the training loss barely moved.")
        tips.append(f"Try a learning rate ten times larger{f' ({lr * 10:g})' if lr else ''}, then ten times smaller.")
        actions.append("raise_learning_rate")
    template = (spec.get("model") or {}).get("template")
    causes.append(f"The template{f' `{template}`' if template else ''} may not suit this data "
                  "(too small, or made for another kind of input).")
    tips.append("Try another template on the Build page, or check on Prepare that the target and inputs are the right columns.")
    actions.append("other_template")
    return causes, tips, actions
