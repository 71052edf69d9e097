"""Train page and two-phase fine-tuning (#18): the phase-2 settings appear only for a model with a frozen
layer, edit the project, and the live curves mark where phase 2 began."""

from __future__ import annotations

import time

import pytest

from layerlab.runs.store import RunStore
from layerlab.train.phases import PHASE_2_LABEL
from tests.pages.trained import OWNER, digits_spec, fake_active_run, plotly_figure

pytestmark = pytest.mark.usefixtures("home")  # a fresh LAYERLAB_HOME per test (tests/pages/conftest.py)

PAGE = "pages/train.py"
KEYS = ("train_ft_layers", "train_ft_epochs", "train_ft_factor")


def frozen_spec():
    """The digits project with its first convolution frozen."""
    spec = digits_spec()
    layers = [layer.model_dump() for layer in spec.model.layers]
    layers[0]["trainable"] = False
    return spec.edit(**{"model.layers": layers})


def _open(app, spec, **extra):
    return app(PAGE, state={"project": spec, "pid": OWNER, **extra})


def _keys(at) -> set[str]:
    return {w.key for w in at.number_input} | {w.key for w in at.selectbox}


def _two_phase_rows(phase_1: int = 2, phase_2: int = 2, steps: int = 10) -> list:
    rows, step, t = [], 0, time.time() - 10
    for e in range(1, phase_1 + phase_2 + 1):
        for _ in range(steps):
            step += 1
            rows.append(("batch", e, step, t + step * 0.01, {"loss": 2.0 / step ** 0.3, "accuracy": 0.5}))
        rate = 1e-3 if e <= phase_1 else 1e-4
        rows.append(("epoch", e, step, t + step * 0.01, {"loss": 2.0 / e, "accuracy": 0.5, "val_loss": 2.1 / e,
                                                         "val_accuracy": 0.5, "learning_rate": rate}))
    return rows


def test_the_fine_tune_settings_appear_only_with_a_frozen_layer(app):
    at = _open(app, digits_spec())
    assert not at.exception and not set(KEYS) & _keys(at)
    assert "Fine-tuning (phase 2)" not in "\n".join(m.value for m in at.markdown)

    at = _open(app, frozen_spec())
    assert not at.exception and set(KEYS) <= _keys(at)
    assert any("phase 2 then unfreezes the frozen part's top layers" in c.value for c in at.caption)
    assert at.number_input(key="train_ft_epochs").disabled and at.selectbox(key="train_ft_factor").disabled
    at.number_input(key="train_ft_layers").set_value(2).run()
    assert not at.number_input(key="train_ft_epochs").disabled  # phase 2 is on: its epochs and rate apply
    at.number_input(key="train_ft_epochs").set_value(4).run()
    at.selectbox(key="train_ft_factor").set_value(0.3).run()
    t = at.session_state["project"].train
    assert not at.exception and (t.fine_tune_layers, t.fine_tune_epochs, t.fine_tune_lr_factor) == (2, 4, 0.3)
    assert at.selectbox(key="train_ft_factor").format_func(0.3) == "× 0.3"


def test_the_curves_mark_where_phase_2_began(app):
    store = RunStore()
    spec = frozen_spec().edit(**{"train.fine_tune_layers": 1})
    run = fake_active_run(store, spec, epochs=6, epoch=4, step=40, steps_per_epoch=10, fine_tune_from=2)
    store.add_metrics(run.id, _two_phase_rows())
    at = _open(app, spec, run_id=run.id)
    assert not at.exception
    fig = plotly_figure(at.get("plotly_chart")[0])
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert lines and {s.x0 for s in lines} == {2} and len(lines) == 2  # one per panel: loss and accuracy
    assert [a.text for a in fig.layout.annotations].count(PHASE_2_LABEL) == 1

