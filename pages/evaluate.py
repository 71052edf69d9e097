"""Evaluate: how a finished run does on its held-out test set, beside a naive baseline.

Classification: accuracy, per-class table, confusion matrix (click a cell to see its examples),
ROC and precision-recall for two classes, the most confident mistakes (images, texts or rows)
and, on request, what the model looked at. Regression: errors, predicted vs actual, residuals,
the worst rows. Forecasting: error per horizon step and the test span, per target.
The model itself is loaded only when an explanation is asked for (components/evaluate/).
"""

from __future__ import annotations

import streamlit as st

from components import errors, nav, run_picker, shell, state
from components.evaluate import sections

nav.ensure_app()
st.title(shell.EVALUATE)
with errors.guard():
    store = state.run_store(read_only=True)
    sections.note_current_without_evaluation(store)
    run = run_picker.pick_run(store, need="evaluation", key="evaluate_run")
    sections.show(run)
