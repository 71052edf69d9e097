"""The training curves mark where phase 2 (fine-tuning) began, on every panel, labelled once."""

from __future__ import annotations

from components.training_chart import curves_figure
from layerlab.train.phases import PHASE_2_LABEL


def _rows(n: int = 4) -> list[dict]:
    return [{"id": i, "scope": "epoch", "epoch": i, "step": 10 * i, "loss": 1 / i, "val_loss": 1.1 / i,
             "accuracy": 0.5, "val_accuracy": 0.4} for i in range(1, n + 1)]


def test_a_two_phase_history_gets_a_line_at_the_phase_change_on_every_panel():
    fig = curves_figure(_rows(), fine_tune_from=2)
    assert [(s.type, s.x0, s.x1, s.xref) for s in fig.layout.shapes] == [("line", 2, 2, "x"), ("line", 2, 2, "x2")]
    assert [a.text for a in fig.layout.annotations].count(PHASE_2_LABEL) == 1


def test_a_run_without_phase_2_draws_no_phase_line():
    fig = curves_figure(_rows())
    assert not fig.layout.shapes and PHASE_2_LABEL not in [a.text for a in fig.layout.annotations]
