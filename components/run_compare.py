"""Compare runs: their validation curves overlaid, one colour per run, and their settings
side by side with the differing rows highlighted.

`overlay_figure` and `settings_frame` are pure (runs and rows in, figure or table out) so
tests can read them; `show` draws both for the runs selected on the Runs page.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from components.markup import plot_text
from layerlab.runs.files import RunFiles
from layerlab.runs.store import Run, RunStore
from layerlab.train import insights

COLORS = ["#0F766E", "#4F46E5", "#F59E0B", "#DC2626", "#0EA5E9", "#A855F7", "#65A30D", "#DB2777", "#78716C",
          "#0891B2"]
DIFFERS_STYLE = "background-color: #FEF3C7; font-weight: 600"
_TITLES = {"val_loss": "Validation loss", "val_accuracy": "Validation accuracy",
           "val_mae": "Validation MAE (target units)"}


@st.cache_data(max_entries=5000, show_spinner=False)
def _epoch_rows(root: str, run_id: str, status: str, epoch: int | None, ended: float | None) -> list[dict[str, Any]]:
    # status, epoch and ended are part of the cache key only: a finished run's rows never change.
    return RunStore(root, read_only=True).metrics(run_id, scope="epoch")


def epoch_rows(store: RunStore, run: Run) -> list[dict[str, Any]]:
    """The run's epoch rows (cached until the run moves on), with MAE in the target's units.

    A run whose MAE has no single unit (a forecast of several columns) loses its MAE here,
    so that no scaled value sits beside values in the target's units.
    """
    return comparable(run, _epoch_rows(str(store.root), run.id, run.status, run.epoch, run.ended))


def comparable(run: Run, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` of `run` with MAE in the target's units, or without MAE when it has no single unit."""
    if insights.main_metric(run.task) != "mae":
        return rows
    scale = mae_scale(run)
    if scale:
        return in_units(rows, scale)
    return [{k: v for k, v in r.items() if k not in ("mae", "val_mae")} for r in rows]


@st.cache_data(max_entries=5000, show_spinner=False)
def _mae_scale(run_dir: str, has_info: bool) -> float | None:
    # has_info is part of the cache key only: a run that has not yet described its data is asked again.
    return insights.mae_scale(RunFiles(run_dir).info_doc() or None) if has_info else None


def mae_scale(run: Run) -> float | None:
    """The factor from the logged (standardized) MAE to the target's units; None if unknown."""
    if insights.main_metric(run.task) != "mae":
        return None
    return _mae_scale(run.run_dir, run.files.has_info)


def in_units(rows: list[dict[str, Any]], scale: float | None) -> list[dict[str, Any]]:
    """The rows with `mae` and `val_mae` in the target's units (unchanged without a scale)."""
    if not scale:
        return rows
    return [{**r, **{k: r[k] * scale for k in ("mae", "val_mae") if r.get(k) is not None}} for r in rows]


def labels(runs: list[Run]) -> list[str]:
    """A unique label per run: its name, with the id's tail where two runs share a name."""
    names = [r.name for r in runs]
    return [f"{r.name} ({r.id[-6:]})" if names.count(r.name) > 1 else r.name for r in runs]


def metrics_of(runs: list[Run]) -> list[str]:
    """The validation metrics to overlay: loss, then accuracy and/or MAE as the runs' tasks need."""
    out = ["val_loss"]
    if any(insights.main_metric(r.task) == "accuracy" for r in runs):
        out.append("val_accuracy")
    if any(insights.main_metric(r.task) == "mae" for r in runs):
        out.append("val_mae")
    return out


def overlay_figure(runs: list[Run], rows: dict[str, list[dict[str, Any]]], *, with_train: bool = False) -> go.Figure:
    """Validation loss and accuracy/MAE per epoch of several runs, one colour per run.

    Args:
        runs: the runs, in legend order.
        rows: run id → its epoch rows.
        with_train: also draw each run's training curve, dashed and lighter.
    """
    metrics = metrics_of(runs)
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=[_TITLES[m] for m in metrics],
                        horizontal_spacing=0.08)
    for i, (run, label) in enumerate(zip(runs, labels(runs))):
        label = plot_text(label)  # a run's name is the user's: plotly reads <b>, <a>… in names and hover text
        color = COLORS[i % len(COLORS)]
        shown = False
        for col, metric in enumerate(metrics, start=1):
            series = [(metric, label, None, 1.0)]
            if with_train:
                series.append((metric.removeprefix("val_"), f"{label} · train", "dash", 0.55))
            for key, name, dash, opacity in series:
                pts = [(r["epoch"], r[key]) for r in rows.get(run.id, []) if r.get(key) is not None]
                if not pts:
                    continue
                fig.add_trace(go.Scatter(
                    x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers" if len(pts) <= 30 else "lines",
                    name=name, legendgroup=run.id, showlegend=not shown and dash is None, opacity=opacity,
                    line={"color": color, "width": 2.5 if dash is None else 1.5, "dash": dash}, marker={"size": 6},
                    hovertemplate=f"epoch %{{x}}<br>%{{y:.4f}}<extra>{name.replace('%', '&#37;')}</extra>"),
                    row=1, col=col)
                shown = shown or dash is None
            if metric == "val_accuracy":
                fig.update_yaxes(tickformat=".0%", row=1, col=col)
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0}, hovermode="closest")
    return fig


def run_doc(run: Run) -> dict[str, Any]:
    """The run's project.json as a dict ({} when it cannot be read)."""
    return run.files.project_doc() or {}


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def settings_frame(runs: list[Run], docs: list[dict[str, Any]], *, only_differences: bool = False,
                   names: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per setting, one column per run (values as text), and a `Differs` column.

    The first row is the epochs each run has trained (a continued run trains past its
    `train.epochs`); `names` (run id → name) shows a fine-tuning source by its name.
    """
    trained = [{"epochs trained": r.epoch if r.epoch is not None else 0} for r in runs]
    docs = [{"run": t, **d} for t, d in zip(trained, docs)]
    rows = insights.settings_diff(docs)
    for row in rows:
        if row["setting"] == "train.init_from_run":
            row["values"] = [(names or {}).get(v, v) if v else v for v in row["values"]]
    if only_differences:
        rows = [r for r in rows if r["differs"]]
    columns = labels(runs)
    frame = pd.DataFrame([[r["setting"], *(_text(v) for v in r["values"]), "≠" if r["differs"] else ""]
                          for r in rows], columns=["Setting", *columns, "Differs"])
    return frame


def styled(frame: pd.DataFrame) -> "pd.io.formats.style.Styler":
    """The settings table with the rows that differ highlighted."""
    return frame.style.apply(lambda row: [DIFFERS_STYLE if row["Differs"] else "" for _ in row], axis=1)


def show(store: RunStore, runs: list[Run]) -> None:
    """The overlay of the runs' validation curves, then their settings side by side."""
    rows = {r.id: epoch_rows(store, r) for r in runs}
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.markdown(f"**Validation curves of {len(runs)} runs** — one colour per run")
    with_train = right.toggle("Also training curves", key="runs_compare_train",
                              help="Draw each run's training curve too, dashed.")
    if not any(rows.values()):
        st.info("None of these runs has finished an epoch yet.", icon=":material/info:")
    st.plotly_chart(overlay_figure(runs, rows, with_train=with_train), width="stretch", key="runs-compare-chart")

    docs = [run_doc(r) for r in runs]
    sources = {d.get("train", {}).get("init_from_run") for d in docs} - {None}
    names = {i: f"{run.name} ({i[-6:]})" for i in sources if (run := store.get(i))}
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    frame = settings_frame(runs, docs, names=names)
    n_diff = int((frame["Differs"] != "").sum())
    left.markdown(f"**Settings side by side** — {n_diff} of {len(frame)} differ (highlighted)")
    only = right.toggle("Only the differences", key="runs_compare_only", disabled=not n_diff)
    if only:
        frame = settings_frame(runs, docs, only_differences=True, names=names)
    # Tall enough for every row (no scrolling inside the table), so no highlighted row hides below.
    height = min(38 + 35 * len(frame), 1600)
    st.dataframe(styled(frame), hide_index=True, key="runs_compare_settings", height=height,
                 column_config={"Setting": st.column_config.TextColumn(width="medium", pinned=True),
                                "Differs": st.column_config.TextColumn("≠", width="small",
                                                                       help="Differs between the runs")})
