"""Evaluate page for every kind of run: text and table classification, regression, forecasting.

Each run is real and tiny (trained in-process once per module, a few epochs). The trainer's
`evaluate_model` is wrapped to keep the raw test examples exactly as the trainer is to call
`layerlab.evaluate.raw_examples` (the wrapper does nothing once the trainer does it itself).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from components.evaluate import confusion, examples, formatting
from components.markup import md
from layerlab.runs.store import RunStore
from tests.pages.trained import OWNER, plotly_figure
from tests.pages.trained import shared_home  # noqa: F401 - this module's "home" fixture

pytestmark = pytest.mark.slow  # every test shows a run trained by a module fixture

PAGE = "pages/evaluate.py"


@pytest.fixture(scope="module")
def train(home):
    """train(spec, **train_settings) → (run, evaluation.json) with the raw test examples kept."""
    import layerlab.train.trainer as trainer
    from layerlab import evaluate as ev
    from layerlab.train.trainer import run_training

    original = trainer.evaluate_model

    def evaluate_model(model, test_ds, y_te, y_tr, prepared):
        out = original(model, test_ds, y_te, y_tr, prepared)
        if "examples" not in out and "true_labels" not in out:
            out.update(ev.raw_examples(out, y_te, prepared.info.kind, prepared.raw, prepared.split.test))
        return out

    def run(spec, name: str, **settings):
        spec = spec.edit(**{f"train.{k}": v for k, v in settings.items()})
        store = RunStore()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(trainer, "evaluate_model", evaluate_model)
            done = run_training(store, store.create(spec, owner=OWNER, name=name).id)
        assert done.status == "completed", done.message
        return done, json.loads((done.path / "evaluation.json").read_text())

    return run


@pytest.fixture(scope="module")
def tweets(train, home: Path):
    """Text classification on 600 tweets, one epoch."""
    from layerlab.project import new_project
    from layerlab.samples import get_sample

    path = home / "tweets.csv"
    get_sample("tweets").load().sample(600, random_state=0).to_csv(path, index=False)
    return train(new_project(str(path), text="text", target="sentiment"), "tweets", epochs=1)


@pytest.fixture(scope="module")
def penguins(train, home: Path):
    """Two species from body measurements only (they overlap: mistakes are certain), so ROC and PR apply."""
    from layerlab.project import new_project
    from layerlab.samples import get_sample

    df = get_sample("penguins").load()
    df = df[df["species"].isin(["Adelie", "Chinstrap"])]
    df = df[["island", "flipper_length_mm", "body_mass_g", "sex", "species"]]
    path = home / "two-penguins.csv"
    df.to_csv(path, index=False)
    return train(new_project(str(path), target="species", task="classification"), "two penguins", epochs=3)


@pytest.fixture(scope="module")
def diabetes(train):
    from layerlab.project import new_project

    return train(new_project("sample:diabetes"), "diabetes", epochs=3)


@pytest.fixture(scope="module")
def sunspots(train):
    from layerlab.project import new_project

    return train(new_project("sample:sunspots").edit(**{"prepare.series.horizon": 3}), "sunspots", epochs=2)


def _open(app, run):
    at = app(PAGE, state={"pid": OWNER, "run_id": run.id})
    assert not at.exception, at.exception
    assert at.selectbox(key="evaluate_run").value == run.id
    return at


def _metrics(at) -> dict:
    return {m.label: m for m in at.metric}


def _chart(at, key: str):
    """The plotly figure of the chart with this key."""
    for c in at.get("plotly_chart"):
        if c.key == key:
            return plotly_figure(c)
    raise AssertionError(f"no chart with key {key}: {[c.key for c in at.get('plotly_chart')]}")


def _tables(at) -> list:
    """The page's st.dataframe values, top to bottom (classification: per class, the pair's rows, the mistakes)."""
    return [d.value for d in at.dataframe]


# ---- text classification -----------------------------------------------------------------------


@pytest.mark.slow
def test_text_metrics_beside_the_baseline(app, tweets):
    run, ev = tweets
    at = _open(app, run)

    m = _metrics(at)
    assert m["Test accuracy"].value == f"{ev['accuracy']:.1%}"
    assert m["Baseline accuracy"].value == f"{ev['baseline_accuracy']:.1%}"
    points = (ev["accuracy"] - ev["baseline_accuracy"]) * 100
    assert m["Test accuracy"].proto.delta == f"{points:+.1f} points vs baseline"
    assert any("always predict the most common training class" in c.value for c in at.caption)
    heat = _chart(at, "evaluate_confusion").data[0]
    assert [list(r) for r in heat.z] == ev["confusion_matrix"]


@pytest.mark.slow
def test_text_gallery_shows_the_texts_of_the_mistakes_and_of_a_pair(app, tweets):
    run, ev = tweets
    at = _open(app, run)
    texts = dict(zip(ev["examples"]["positions"], ev["examples"]["texts"]))
    names = ev["class_names"]

    t, p = confusion.default_cell(ev["confusion_matrix"])
    assert t != p, "a one-epoch model confuses some classes"
    count, items = confusion.cell_items(ev, examples.examples_from(ev, "text"), t, p)
    assert count == ev["confusion_matrix"][t][p]
    shown = [x.value for x in at.text]
    mistakes = ev["mistakes"]
    assert shown == [texts[i["index"]] for i in _by_column(items)] + [texts[m["index"]] for m in _by_column(mistakes)]
    captions = [c.value for c in at.caption]
    assert md(formatting.pair_caption(names, mistakes[0])) in captions
    assert f"{count:,} mistaken test example(s): true {names[t]}, predicted {names[p]}" in " ".join(captions)

    # The fallback to clicking a cell: pick a pair with the selectboxes.
    true_key, pred_key = confusion.cell_keys(run.id)
    at.selectbox(key=true_key).set_value(t).run()
    at.selectbox(key=pred_key).set_value(t).run()
    count, items = confusion.cell_items(ev, examples.examples_from(ev, "text"), t, t)
    assert count == ev["confusion_matrix"][t][t]
    assert [x.value for x in at.text][: len(items)] == [texts[i["index"]] for i in _by_column(items)]
    assert any(c.value.startswith(f"{count:,} correctly classified test example(s)") for c in at.caption)


def _by_column(items: list, columns: int = 2) -> list:
    """Gallery items in the order AppTest lists them: column by column."""
    return [item for c in range(columns) for item in items[c::columns]]


@pytest.mark.slow
def test_text_explanation_highlights_the_words(app, tweets):
    run, ev = tweets
    at = _open(app, run)
    charts = len(at.get("plotly_chart"))
    at.toggle(key="evaluate_explain_text").set_value(True).run()

    assert not at.exception
    first = ev["mistakes"][0]["index"]
    pick = at.selectbox(key=f"evaluate_explain_pick_{run.id}")
    assert pick.value == first
    text = dict(zip(ev["examples"]["positions"], ev["examples"]["texts"]))[first]
    words = text.split()[:60]
    highlighted = _chart(at, f"evaluate_words_{first}_text")
    assert [a.text for a in highlighted.layout.annotations] == [formatting.plot_text(w) for w in words]
    bars = _chart(at, f"evaluate_words_{first}_bars").data[0]
    assert bars.type == "bar" and len(bars.x) == min(15, len(words))
    assert set(bars.text) <= {formatting.plot_text(w) for w in words}
    effects = [abs(x) for x in bars.x]
    assert effects == sorted(effects)  # the strongest word at the top
    assert len(at.get("plotly_chart")) == charts + 2


# ---- table classification with two classes ----------------------------------------------------


@pytest.mark.slow
def test_two_classes_show_roc_and_precision_recall(app, penguins):
    run, ev = penguins
    at = _open(app, run)

    assert _metrics(at)["ROC AUC"].value == f"{ev['roc']['auc']:.3f}"
    roc = _chart(at, "evaluate_roc")
    model = [t for t in roc.data if t.name.startswith("model")][0]
    assert list(model.x) == pytest.approx(ev["roc"]["fpr"]) and list(model.y) == pytest.approx(ev["roc"]["tpr"])
    assert any(t.name == "guessing" for t in roc.data)
    pr = _chart(at, "evaluate_pr")
    model = [t for t in pr.data if t.name == "model"][0]
    assert list(model.x) == pytest.approx(ev["pr"]["recall"])
    assert list(model.y) == pytest.approx(ev["pr"]["precision"])


@pytest.mark.slow
def test_table_mistakes_show_the_raw_rows(app, penguins):
    run, ev = penguins
    at = _open(app, run)
    assert ev["mistakes"], "body measurements alone cannot separate the two species"
    rows = dict(zip(ev["examples"]["positions"], ev["examples"]["rows"]))
    columns = ev["examples"]["columns"]
    names = ev["class_names"]

    per_class, _, df = _tables(at)
    assert list(df.columns) == ["True", "Predicted", "Confidence", "island", "flipper_length_mm", "body_mass_g", "sex"]
    assert len(df) == len(ev["mistakes"])
    for (_, row), m in zip(df.iterrows(), ev["mistakes"]):
        assert (row["True"], row["Predicted"]) == (names[m["true"]], names[m["pred"]])
        assert row["Confidence"] == pytest.approx(m["confidence"])
        raw = dict(zip(columns, rows[m["index"]]))
        assert raw["species"] == names[m["true"]]  # the row really is that test example
        for c in ("island", "flipper_length_mm", "body_mass_g"):
            assert row[c] == raw[c] or (raw[c] is None and row[c] != row[c])


@pytest.mark.slow
def test_table_pair_of_classes_lists_its_rows(app, penguins):
    run, ev = penguins
    at = _open(app, run)
    true_key, pred_key = confusion.cell_keys(run.id)
    at.selectbox(key=true_key).set_value(0).run()
    at.selectbox(key=pred_key).set_value(0).run()

    df = _tables(at)[1]
    assert len(df) == min(confusion.CELL_LIMIT, ev["confusion_matrix"][0][0])
    assert set(df["True"]) == set(df["Predicted"]) == {ev["class_names"][0]}
    assert list(df["Confidence"]) == sorted(df["Confidence"], reverse=True)
    heat = _chart(at, "evaluate_confusion")
    outline = heat.layout.shapes[0]
    assert (outline.x0, outline.y0) == (-0.5, -0.5)  # the chosen cell is outlined


# ---- regression ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_regression_metrics_and_charts(app, diabetes):
    run, ev = diabetes
    at = _open(app, run)

    m = _metrics(at)
    assert m["Test MAE"].value == formatting.number(ev["mae"])
    assert m["Test MAE"].proto.delta == f"{formatting.signed(ev['mae'] - ev['baseline_mae'])} vs baseline"
    assert m["Test RMSE"].value == formatting.number(ev["rmse"])
    assert m["Test R²"].value == formatting.number(ev["r2"])
    assert m["Baseline MAE"].value == formatting.number(ev["baseline_mae"])
    assert any("always predict the training mean" in c.value for c in at.caption)

    scatter = _chart(at, "evaluate_scatter")
    points = [t for t in scatter.data if t.name == "test rows"][0]
    assert list(points.x) == pytest.approx(ev["true"]) and list(points.y) == pytest.approx(ev["pred"])
    line = [t for t in scatter.data if t.name.startswith("perfect")][0]
    assert list(line.x) == list(line.y)  # y = x
    hist = _chart(at, "evaluate_residuals").data[0]
    assert hist.type == "histogram"
    assert list(hist.x) == pytest.approx(np.subtract(ev["pred"], ev["true"]).tolist())


@pytest.mark.slow
def test_regression_worst_rows_with_their_features(app, diabetes):
    run, ev = diabetes
    at = _open(app, run)
    rows = dict(zip(ev["examples"]["positions"], ev["examples"]["rows"]))
    columns = ev["examples"]["columns"]

    (df,) = _tables(at)
    assert list(df.columns) == ["Row", "True", "Predicted", "Error", *[c for c in columns if c != "progression"]]
    assert len(df) == len(ev["worst"])
    first, i = df.iloc[0], ev["worst"][0]
    assert first["Row"] == f"row {ev['rows'][i] + 1}"
    assert first["True"] == pytest.approx(ev["true"][i]) and first["Predicted"] == pytest.approx(ev["pred"][i])
    assert first["Error"] == pytest.approx(ev["pred"][i] - ev["true"][i])
    raw = dict(zip(columns, rows[i]))
    assert raw["progression"] == pytest.approx(ev["true"][i])  # the raw row is that test row
    assert first["bmi"] == raw["bmi"] and first["age"] == raw["age"]
    errors = df["Error"].abs().tolist()
    assert errors == sorted(errors, reverse=True)


# ---- forecasting --------------------------------------------------------------------------------


@pytest.mark.slow
def test_forecast_errors_per_step_and_the_test_span(app, sunspots):
    run, ev = sunspots
    at = _open(app, run)

    m = _metrics(at)
    assert m["Test MAE"].value == formatting.number(ev["mae"])
    assert m["Baseline MAE"].value == formatting.number(ev["baseline_mae"])
    assert m["Test windows"].value == f"{ev['n_test']:,}"
    assert any("repeat the last value of the input window" in c.value for c in at.caption)

    bars = {t.name: t for t in _chart(at, "evaluate_steps").data}
    assert list(bars["MAE"].x) == ["t+1", "t+2", "t+3"]
    assert list(bars["MAE"].y) == pytest.approx(ev["mae_per_step"])
    assert list(bars["RMSE"].y) == pytest.approx(ev["rmse_per_step"])
    assert list(bars["baseline MAE"].y) == pytest.approx(ev["baseline_mae_per_step"])

    span = {t.name: t for t in _chart(at, "evaluate_span_0").data}
    assert list(span["actual"].x) == ev["dates"]
    assert list(span["actual"].y) == pytest.approx([row[0] for row in ev["true"]])
    assert list(span["forecast (1 step ahead)"].y) == pytest.approx([row[0] for row in ev["pred"]])


@pytest.mark.slow
def test_the_test_span_shows_forecasts_made_further_ahead(app, sunspots):
    run, ev = sunspots
    # Windows follow each other a year apart: the forecast 3 steps ahead of window i is for window i+2's year.
    assert ev["dates_by_step"]["3"][:-2] == ev["dates"][2:]
    assert ev["dates_tail"][0] == ev["dates"][-1] and len(ev["dates_tail"]) == 3

    at = app(PAGE, state={"pid": OWNER, "run_id": run.id, "evaluate_span_step": 3})
    assert not at.exception
    span = {t.name: t for t in _chart(at, "evaluate_span_0").data}
    forecast = span["forecast (3 steps ahead)"]
    assert list(forecast.x) == ev["dates_by_step"]["3"]
    assert list(forecast.y) == pytest.approx([row[0] for row in ev["pred_by_step"]["3"]])
    assert list(span["actual"].x) == ev["dates"] + ev["dates_tail"][1:], "the actual line reaches the last forecast"
    assert any("made 3 steps ahead" in c.value for c in at.caption)


# ---- stopped, interrupted and damaged runs ------------------------------------------------------


def _copy_run(source, status: str, evaluation: str | None = None):
    from layerlab.spec import load_spec

    store = RunStore()
    run = store.create(load_spec(source.path / "project.json"), owner=OWNER, name=f"{status} copy")
    store.set_status(run.id, status, f"{status}.")
    text = evaluation if evaluation is not None else (source.path / "evaluation.json").read_text()
    (run.path / "evaluation.json").write_text(text)
    return store.get(run.id)


@pytest.mark.slow
def test_a_stopped_or_interrupted_run_is_evaluated_too(app, diabetes):
    source, ev = diabetes
    for status in ("stopped", "interrupted"):
        run = _copy_run(source, status)
        at = _open(app, run)
        assert any(f"This run was {status}" in c.value for c in at.caption)
        assert _metrics(at)["Test MAE"].value == formatting.number(ev["mae"])
        RunStore().delete(run.id, owner=OWNER)


@pytest.mark.slow
def test_a_part_missing_from_the_evaluation_is_a_note_not_a_traceback(app, tweets):
    source, ev = tweets
    damaged = dict(ev, per_class="nonsense", mistakes=[{"index": 0}])
    run = _copy_run(source, "completed", json.dumps(damaged))
    at = _open(app, run)

    warnings = [w.value for w in at.warning]
    assert len(warnings) == 2 and all("missing or damaged" in w for w in warnings)
    assert _metrics(at)["Test accuracy"].value == f"{ev['accuracy']:.1%}"  # the rest still shows
    assert _chart(at, "evaluate_confusion").data[0].type == "heatmap"
    RunStore().delete(run.id, owner=OWNER)


@pytest.mark.slow
@pytest.mark.parametrize("content", ["[1, 2, 3]", '{"task": "clustering"}', ""])
def test_an_evaluation_without_results_is_reported(app, diabetes, content):
    run = _copy_run(diabetes[0], "completed", content)
    at = _open(app, run)
    assert at.error, "a clear message"
    assert "evaluation" in at.error[0].value and "pick another run" in at.error[0].value
    RunStore().delete(run.id, owner=OWNER)


@pytest.mark.slow
def test_a_current_run_without_an_evaluation_is_explained(app, diabetes):
    from layerlab.spec import load_spec

    store = RunStore()
    run = store.create(load_spec(diabetes[0].path / "project.json"), owner=OWNER, name="cut short")
    store.set_status(run.id, "interrupted", "The worker stopped.")
    at = app(PAGE, state={"pid": OWNER, "run_id": run.id})

    assert not at.exception
    assert ("**cut short** has no evaluation to show: it was interrupted before its test evaluation was written"
            in at.info[0].value)
    assert at.selectbox(key="evaluate_run").value != run.id  # a run that has one is shown below
    assert at.metric  # …with its metrics
    assert "Train it again to evaluate it" in at.info[0].value  # it saved nothing to evaluate

    (run.path / "last.weights.h5").write_bytes(b"weights")  # it had saved a checkpoint of 3 epochs
    (run.path / "history.json").write_text('{"loss": [0.9, 0.5, 0.4]}')
    at.run()
    assert "Its checkpoint holds 3 epoch(s): on the Train page, **Evaluate it as it is** tests it" in at.info[0].value
    store.delete(run.id, owner=OWNER)


@pytest.mark.slow
def test_an_evaluation_that_disappears_is_reported(app, diabetes):
    run = _copy_run(diabetes[0], "completed")
    at = _open(app, run)
    (run.path / "evaluation.json").unlink()
    at.run()

    assert not at.exception
    assert "has no evaluation to show: its evaluation file is missing" in at.info[0].value
    assert at.selectbox(key="evaluate_run").value != run.id  # no longer offered
    RunStore().delete(run.id, owner=OWNER)
