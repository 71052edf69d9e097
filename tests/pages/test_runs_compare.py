"""Runs page, several runs selected: their validation curves overlaid (one colour per run) and
their settings side by side with the differing rows highlighted."""

from __future__ import annotations

import time

import pytest

from components import run_compare
from layerlab.runs.store import RunStore
from tests.pages.trained import OWNER, digits_spec, plotly_figure
from tests.pages.trained import shared_home  # noqa: F401 - this module's "home" fixture

PAGE = "pages/runs.py"


def _finished(store, spec, name, val_loss, val_acc, owner=OWNER):
    run = store.create(spec, owner=owner, name=name)
    rows = [("epoch", e, 40 * e, time.time(), {"loss": v * 0.9, "accuracy": a - 0.05, "val_loss": v,
                                               "val_accuracy": a, "learning_rate": spec.train.learning_rate,
                                               "epoch_seconds": 1.0})
            for e, (v, a) in enumerate(zip(val_loss, val_acc), start=1)]
    store.add_metrics(run.id, rows)
    store.update(run.id, started=time.time() - 10, epoch=len(rows), steps_per_epoch=40, best_val=min(val_loss),
                 test_metrics={"accuracy": val_acc[-1]})
    store.set_status(run.id, "completed", "Finished.")
    return store.get(run.id)


@pytest.fixture(scope="module")
def runs(home):
    """Three finished runs: a baseline, one with a higher learning rate fine-tuned from it, one
    from the command line with a different batch size and more epochs."""
    store = RunStore()
    base = _finished(store, digits_spec(epochs=3), "baseline", [1.0, 0.7, 0.6], [0.6, 0.75, 0.8])
    fast = _finished(store, digits_spec(epochs=3, learning_rate=0.01, init_from_run=base.id), "faster",
                     [0.9, 0.5, 0.45], [0.65, 0.85, 0.9])
    cli = _finished(store, digits_spec(epochs=4, batch_size=64), "from the terminal", [1.2, 0.9, 0.8, 0.75],
                    [0.5, 0.6, 0.7, 0.72], owner="cli")
    return base, fast, cli


def _open(app, selected, **state):
    return app(PAGE, state={"project": digits_spec(), "pid": OWNER, "runs_selected": [r.id for r in selected],
                            **state})


def _overlay(at):
    return plotly_figure(at.get("plotly_chart")[0])


def _settings(at):
    return at.dataframe[1]


def test_two_selected_runs_overlay_their_validation_curves(app, runs):
    base, fast, _ = runs
    at = _open(app, [base, fast])

    assert not at.exception
    assert [s.value for s in at.subheader] == ["Compare 2 runs", "Manage a selected run"]
    fig = _overlay(at)
    assert [a.text for a in fig.layout.annotations] == ["Validation loss", "Validation accuracy"]
    assert len(fig.data) == 4
    by = {(d.name, d.xaxis): d for d in fig.data}
    assert list(by[("baseline", "x")].y) == [1.0, 0.7, 0.6] and list(by[("faster", "x2")].y) == [0.65, 0.85, 0.9]
    assert by[("baseline", "x")].line.color == by[("baseline", "x2")].line.color != by[("faster", "x")].line.color
    assert [d.showlegend for d in fig.data] == [True, False, True, False]  # one legend entry per run


def test_three_runs_overlay_three_traces_per_metric_and_training_curves_on_request(app, runs):
    at = _open(app, list(runs))

    assert not at.exception
    fig = _overlay(at)
    assert len([d for d in fig.data if d.xaxis == "x"]) == 3 and len(fig.data) == 6
    assert len({d.line.color for d in fig.data}) == 3

    at.toggle(key="runs_compare_train").set_value(True).run()
    fig = _overlay(at)
    assert len(fig.data) == 12
    dashed = [d for d in fig.data if d.line.dash == "dash"]
    assert len(dashed) == 6 and all(d.name.endswith(" · train") and not d.showlegend for d in dashed)


def test_settings_side_by_side_mark_the_rows_that_differ(app, runs):
    base, fast, cli = runs
    at = _open(app, [base, fast, cli])

    df = _settings(at).value.set_index("Setting")
    assert list(df.columns) == ["from the terminal", "faster", "baseline", "Differs"]  # the table's order: newest first
    assert df.loc["train.learning_rate"].tolist() == ["0.001", "0.01", "0.001", "≠"]
    assert df.loc["train.batch_size"].tolist() == ["64", "32", "32", "≠"]
    assert df.loc["run.epochs trained"].tolist() == ["4", "3", "3", "≠"]
    assert df.loc["train.init_from_run"].tolist()[:3] == ["—", f"baseline ({base.id[-6:]})", "—"]
    assert df.loc["train.optimizer", "Differs"] == "" and df.loc["data.source", "Differs"] == ""
    assert df.loc["model.number of layers", "faster"] == str(len(digits_spec().model.layers))
    differing = sorted(df.index[df["Differs"] == "≠"])
    assert differing == ["run.epochs trained", "train.batch_size", "train.epochs", "train.init_from_run",
                         "train.learning_rate"]
    assert run_compare.DIFFERS_STYLE.split(";")[0] in _settings(at).proto.arrow_data.styler.styles
    assert f"{len(differing)} of {len(df)} differ" in "\n".join(m.value for m in at.markdown)

    at.toggle(key="runs_compare_only").set_value(True).run()
    assert sorted(_settings(at).value["Setting"]) == differing


def test_the_styler_highlights_exactly_the_differing_rows(runs):
    base, fast, _ = runs
    frame = run_compare.settings_frame([base, fast], [run_compare.run_doc(base), run_compare.run_doc(fast)])
    styles = run_compare.styled(frame)._compute().ctx  # (row, col) → [(property, value)]
    highlighted = sorted({r for (r, _), css in styles.items() if css})
    assert highlighted == sorted(frame.index[frame["Differs"] == "≠"].tolist())


def test_manage_one_of_the_selected_runs(app, runs):
    base, fast, cli = runs
    at = _open(app, [base, fast, cli], run_id=fast.id)

    assert at.selectbox(key="runs_manage").value == fast.id  # the current run, when selected
    assert at.text_input(key=f"runs_name_{fast.id}").value == "faster"
    at.selectbox(key="runs_manage").set_value(cli.id).run()
    assert not at.exception
    assert "Started by the command line" in "\n".join(c.value for c in at.caption)
    assert not at.text_input  # another owner's run: read-only here
    assert not [b for b in at.button if b.key == "runs_delete"]


def test_one_selected_run_is_managed_without_a_comparison(app, runs):
    base, _, _ = runs
    at = _open(app, [base])

    assert not at.exception
    assert [s.value for s in at.subheader] == ["Selected run"]
    assert not at.get("plotly_chart") and len(at.dataframe) == 1


def test_runs_that_predict_numbers_get_mae_columns_and_panels(app, tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path / "mixed-runs"))
    store = RunStore()
    digits = _finished(store, digits_spec(), "digits", [1.0, 0.6], [0.6, 0.8])
    numbers = store.create(digits_spec(), owner=OWNER, name="numbers")
    store.update(numbers.id, task="regression", test_metrics={"mae": 3.5, "rmse": 4.0})
    (numbers.path / "info.json").write_text('{"extra": {"target_spread": 2.0}}')  # MAE is logged on the scaled target
    store.add_metrics(numbers.id, [("epoch", e, 10 * e, time.time(), {"loss": 1 / e, "mae": 5 / e, "val_loss": 1.2 / e,
                                                                     "val_mae": 6 / e}) for e in (1, 2, 3)])
    store.set_status(numbers.id, "completed", "Finished.")
    at = _open(app, [digits, store.get(numbers.id)])

    assert not at.exception
    table = at.dataframe[0].value.set_index("Name")
    assert list(table.columns)[3:8] == ["Best val. accuracy", "Best val. MAE", "Best val. loss", "Test accuracy",
                                        "Test MAE"]
    assert table.loc["numbers", "Best val. MAE"] == 4.0 and table.loc["numbers", "Test MAE"] == 3.5  # 2.0 × spread
    assert table.loc["digits", "Best val. accuracy"] == 0.8 and table.isna().loc["digits", "Best val. MAE"]
    fig = _overlay(at)
    assert [a.text for a in fig.layout.annotations] == ["Validation loss", "Validation accuracy",
                                                        "Validation MAE (target units)"]
    (mae,) = [d for d in fig.data if d.xaxis == "x3"]
    assert mae.name == "numbers" and list(mae.y) == [12.0, 6.0, 4.0]


def test_run_names_reach_the_overlay_as_text_not_markup(home):
    """Issue #7: plotly reads <b>, <a href>… in trace names and hover text; a run's name is escaped there."""
    store = RunStore()
    hostile = _finished(store, digits_spec(epochs=2), "<b>bold</b> <a href='javascript:x'>l</a> %{y}", [1.0, 0.8],
                        [0.5, 0.6])
    plain_run = _finished(store, digits_spec(epochs=2), "plain", [1.0, 0.9], [0.5, 0.55])
    rows = {r.id: store.metrics(r.id, scope="epoch") for r in (hostile, plain_run)}
    fig = run_compare.overlay_figure([hostile, plain_run], rows)

    names = {t.name for t in fig.data}
    assert "&lt;b&gt;bold&lt;/b&gt; &lt;a href='javascript:x'&gt;l&lt;/a&gt; %{y}" in names and "plain" in names
    hovers = " ".join(t.hovertemplate for t in fig.data)
    assert "<b>" not in hovers and "<a " not in hovers and "&#37;{y}" in hovers
