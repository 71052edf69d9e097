"""The training curves are built as plain dicts and wrapped without plotly's validation (it cost ~60 ms of the
server's CPU per live redraw, #20): what they hold must still be a figure plotly itself accepts, for every shape
of run the Train page draws."""

from __future__ import annotations

import time

import plotly.graph_objects as go
import pytest

from components.training_chart import curves_figure, speed_figure
from layerlab.train.phases import PHASE_2_LABEL


def _rows(epochs: int, steps: int = 20, metrics: tuple[str, ...] = ("loss", "accuracy")) -> list[dict]:
    rows, step, t = [], 0, time.time()
    for e in range(1, epochs + 1):
        for _ in range(steps):
            step += 1
            rows.append({"id": len(rows), "scope": "batch", "epoch": e, "step": step, "t": t + step,
                         **{m: 1.0 / step for m in metrics}})
        rows.append({"id": len(rows), "scope": "epoch", "epoch": e, "step": step, "t": t + step,
                     "learning_rate": 1e-3 / e, "epoch_seconds": 0.5,
                     **{m: 1.0 / e for m in metrics}, **{f"val_{m}": 1.1 / e for m in metrics}})
    return rows


CASES = {
    "waiting for the first batch": ([], {}),
    "one epoch, active": (_rows(1), {"epochs": 10, "steps_per_epoch": 20}),
    "classification, finished": (_rows(4), {"smoothing": 0.0}),
    "two phases": (_rows(4), {"fine_tune_from": 2}),
    "four panels (two rows)": (_rows(3, metrics=("loss", "mae", "mse", "rmse")),
                               {"task": "regression", "titles": {"mae": "Mean absolute error (target units)"}}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_figure_is_one_plotly_accepts(case):
    rows, options = CASES[case]
    for fig in (curves_figure(rows, **options), speed_figure(rows, batch_size=32)):
        checked = go.Figure(fig.to_dict())  # validates every property; raises on anything plotly does not know
        assert checked.to_dict()["data"] == fig.to_dict()["data"]


def test_panels_sit_on_their_own_axes_and_accuracy_reads_as_percent():
    fig = curves_figure(_rows(2), epochs=10, steps_per_epoch=20, revision="r1")
    axes = {(t.name, t.xaxis, t.yaxis) for t in fig.data}
    assert ("validation", "x", "y") in axes and ("validation", "x2", "y2") in axes
    assert fig.layout.yaxis2.tickformat == ".0%" and fig.layout.yaxis.tickformat is None
    assert [a.text for a in fig.layout.annotations] == ["Loss", "Accuracy"]
    assert fig.layout.xaxis.title.text == "epoch" and fig.layout.uirevision == "r1"
    assert fig.layout.xaxis.range[1] == pytest.approx(5 * 1.02)  # headroom while active: 1.5 × 2 epochs, at least 5


def test_a_two_phase_history_gets_a_line_at_the_phase_change_on_every_panel():
    fig = curves_figure(_rows(4), fine_tune_from=2)
    assert [(s.type, s.x0, s.x1, s.xref, s.yref) for s in fig.layout.shapes] == [
        ("line", 2, 2, "x", "y domain"), ("line", 2, 2, "x2", "y2 domain")]
    assert [a.text for a in fig.layout.annotations].count(PHASE_2_LABEL) == 1


def test_a_run_without_phase_2_draws_no_phase_line():
    fig = curves_figure(_rows(4))
    assert not fig.layout.shapes and PHASE_2_LABEL not in [a.text for a in fig.layout.annotations]
