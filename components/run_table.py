"""The Runs page's table: one row per run with its data, template, status, best and test metrics,
duration, device and who started it."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from components import run_compare, run_status, state
from layerlab import workspace
from layerlab.runs.store import Run, RunStore
from layerlab.train import insights


def _data_label(source: str | None) -> str:
    """`sample:NAME` as it is; an upload by its file name, never the server's folders."""
    if not source:
        return "—"
    found = workspace.source_of(source)
    return found.raw if found.is_sample else found.display_name


def _best(store: RunStore, run: Run, metric: str) -> float | None:
    """The best `metric` of the run's epochs (MAE in the target's units); else the store's record of it."""
    found = insights.best(run_compare.epoch_rows(store, run), metric)
    if found:
        return found[0]
    if metric == "val_loss":
        return run.best_val
    return run.best_metric if run.best_metric_name == metric else None


def table(store: RunStore, runs: list[Run]) -> pd.DataFrame:
    """One row per run; accuracy columns when some run classifies, MAE columns when some run
    predicts numbers (empty where a run's task has no such metric)."""
    metrics = [m.removeprefix("val_") for m in run_compare.metrics_of(runs)[1:]]
    cols: dict[str, list] = {
        "Name": [r.name for r in runs],
        "Data": [_data_label(r.data_source) for r in runs],
        "Template": [r.template or "—" for r in runs],
        "Status": [run_status.STATUS.get(r.status, (r.status,))[0] for r in runs],
    }
    if any(r.study for r in runs):  # tuning trials (layerlab.tune): which study, which trial
        cols["Study"] = [f"{r.study} · trial {r.trial}" if r.study else "—" for r in runs]
    for m in metrics:
        cols[f"Best val. {_NAMES[m]}"] = [_best(store, r, f"val_{m}") if insights.main_metric(r.task) == m else None
                                          for r in runs]
    cols["Best val. loss"] = [_best(store, r, "val_loss") for r in runs]
    for m in metrics:
        cols[f"Test {_NAMES[m]}"] = [r.test_metrics.get(m) for r in runs]
    cols.update({
        "Duration": [run_status.format_duration(r.duration) if r.started else "—" for r in runs],
        "Device": [r.device or "—" for r in runs],
        "Where": [r.placement for r in runs],
        "Started": [datetime.fromtimestamp(r.started) if r.started else None for r in runs],
        "By": [run_status.started_by(r, state.owner()) for r in runs],
    })
    return pd.DataFrame(cols)


_NAMES = {"accuracy": "accuracy", "mae": "MAE"}
