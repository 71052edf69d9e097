"""Whether a finished run learned anything, in plain words, with what to try (the engine's `layerlab.train.verdict`).

Shown where a run ends (the Train page's status) and atop Evaluate, so a model no better than its
baseline is never presented as a success.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import errors, nav, shell, state
from components.markup import message
from layerlab.errors import LayerlabError
from layerlab.runs.store import Run

FLAG = "verdict_error"
BOX = {"success": (st.success, ":material/check_circle:"), "neutral": (st.info, ":material/info:"),
       "warning": (st.warning, ":material/warning:")}


def of_run(run: Run) -> dict[str, Any] | None:
    """The run's verdict (saved with its evaluation, or judged now for runs older than verdicts); None without one."""
    from layerlab.train.verdict import verdict as judge

    try:
        ev = run.files.evaluation()
    except LayerlabError:
        return None
    if isinstance(ev.get("verdict"), dict) and ev["verdict"].get("level") in BOX:
        found = dict(ev["verdict"])
    else:
        found = judge(ev, run.files.project_doc(), run.files.history()).to_dict()
    found["stopped"] = (ev.get("stopped_because") or {}).get("text")
    return found


def _changes(action: str, spec: Any) -> dict[str, Any] | None:
    """The project change that carries out a suggested action (None: a link instead)."""
    t = spec.train
    return {
        "more_epochs": {"train.epochs": min(1000, t.epochs * 2),
                        "train.early_stopping_patience": min(100, max(10, t.early_stopping_patience * 2))},
        "class_weights": {"prepare.class_weights": True},
        "lower_learning_rate": {"train.learning_rate": t.learning_rate / 10},
        "raise_learning_rate": {"train.learning_rate": min(1.0, t.learning_rate * 10)},
    }.get(action)


LABELS = {"more_epochs": "Train longer", "class_weights": "Weigh the classes",
          "lower_learning_rate": "Lower the learning rate ÷10", "raise_learning_rate": "Raise the learning rate ×10",
          "other_template": "Try another template"}


def show(run: Run, key: str, actions: bool = True, lead: str | None = None) -> bool:
    """The verdict box (True when one was shown), coloured by how well the run did and opening with `lead`
    (the run's own message) when given; with `actions`, buttons that change the project accordingly."""
    found = of_run(run)
    if found is None:
        return False
    box, icon = BOX[found["level"]]
    lines = [message(lead)] if lead else []
    if not lead or found["headline"] not in lead:
        lines.append(f"**{message(found['headline'])}** — {message(found['text'])}")
    if found.get("causes"):  # each is a sentence: joined by "; " and ended once, never "falling.;" or "input).."
        lines.append("Likely causes: " + "; ".join(message(c.rstrip(".")) for c in found["causes"]) + ".")
    if found.get("tips"):
        lines.append("What to try: " + "; ".join(message(t.rstrip(".")) for t in found["tips"]) + ".")
    box("  \n".join(lines), icon=icon)
    if found.get("stopped") and found["stopped"] not in (lead or ""):  # the run's message may already say why
        st.caption(message(found["stopped"]))
    spec = state.project()
    if actions and found["level"] != "success" and found.get("actions") and spec is not None:
        errors.show_flagged(FLAG)
        cols = st.columns(len(found["actions"]))
        for col, action in zip(cols, found["actions"]):
            with col:
                changes = _changes(action, spec)
                if changes is None:
                    nav.link(shell.BUILD, LABELS.get(action, action), ":material/account_tree:")
                elif st.button(LABELS.get(action, action), key=f"{key}_{action}"):
                    if errors.edit(FLAG, **changes):
                        st.toast("Project changed: start a new run on the Train page.", icon=":material/done:")
    return True
