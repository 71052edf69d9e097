"""The key numbers of a run's test evaluation beside its naive baseline, one row of metrics per task."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.evaluate.formatting import number, signed
from components.markup import code, message


def _delta_color(ev: dict[str, Any], good: str) -> str:
    """Colour the lead over the baseline only when the run clearly beat it (the engine's verdict): a +0.0 in
    green would call a model that learned nothing a success."""
    from layerlab.train.verdict import verdict

    found = ev.get("verdict") if isinstance(ev.get("verdict"), dict) else verdict(ev).to_dict()
    return good if found.get("level") == "success" else "off"


def classification_summary(ev: dict[str, Any]) -> None:
    """Test accuracy with its lead over the baseline, the baseline itself, loss, size (and AUC for two classes)."""
    acc, base = ev.get("accuracy"), ev.get("baseline_accuracy")
    cols = st.columns(4)
    if acc is not None:
        delta = f"{(acc - base) * 100:+.1f} points vs baseline" if base is not None else None
        cols[0].metric("Test accuracy", f"{acc:.1%}", delta=delta, delta_color=_delta_color(ev, "normal"), border=True,
                       help="Share of the held-out test examples the model classifies correctly.")
    if base is not None:
        cols[1].metric("Baseline accuracy", f"{base:.1%}", border=True, help=f"Baseline: {message(ev.get('baseline', ''))}.")
    cols[2].metric("Test loss", f"{ev['loss']:.4f}" if ev.get("loss") is not None else "—", border=True,
                   help="Cross-entropy on the test set: lower is better.")
    cols[3].metric("Test examples", f"{ev.get('n_test', 0):,}", border=True)
    if ev.get("baseline"):
        st.caption(f"Baseline: {message(ev['baseline'])} — a model must beat it to have learned anything.")


def regression_summary(ev: dict[str, Any], target: str | None = None) -> None:
    """MAE with its difference to the baseline's, RMSE, R² and the baseline MAE (in the target's units)."""
    mae, base = ev["mae"], ev.get("baseline_mae")
    c1, c2, c3, c4 = st.columns(4)
    unit = f" in {code(target)}'s units" if target else ""
    c1.metric("Test MAE", number(mae), delta=f"{signed(mae - base)} vs baseline" if base is not None else None,
              delta_color=_delta_color(ev, "inverse"), border=True,
              help=f"Mean absolute error{unit}: how far off a prediction is on average. Lower is better.")
    c2.metric("Test RMSE", number(ev.get("rmse")), border=True,
              help="Root mean squared error: like MAE, but large misses count more.")
    c3.metric("Test R²", number(ev.get("r2")), border=True,
              help="Share of the target's variation the model explains: 1 is perfect, 0 is no better than the mean.")
    if base is not None:
        c4.metric("Baseline MAE", number(base), border=True, help=f"Baseline: {message(ev.get('baseline', ''))}.")
    _baseline_caption(ev, f"{ev.get('n_test', 0):,} test rows")


def forecast_summary(ev: dict[str, Any]) -> None:
    """MAE over all horizon steps beside the repeat-the-last-value baseline, RMSE, test windows."""
    mae, base = ev["mae"], ev.get("baseline_mae")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Test MAE", number(mae), delta=f"{signed(mae - base)} vs baseline" if base is not None else None,
              delta_color=_delta_color(ev, "inverse"), border=True,
              help="Mean absolute error over every forecast step and target, in the series' units. Lower is better.")
    c2.metric("Test RMSE", number(ev.get("rmse")), border=True, help="Like MAE, but large misses count more.")
    if base is not None:
        c3.metric("Baseline MAE", number(base), border=True, help=f"Baseline: {message(ev.get('baseline', ''))}.")
    c4.metric("Test windows", f"{ev.get('n_test', 0):,}", border=True,
              help="Forecasts made on the held-out end of the series, one per starting point.")
    _baseline_caption(ev, None)


def _baseline_caption(ev: dict[str, Any], extra: str | None) -> None:
    if ev.get("baseline"):
        text = f"Baseline: {message(ev['baseline'])} — a model must beat it to have learned anything."
        st.caption(text + (f" · {extra}" if extra else ""))
