"""Evaluate page: test metrics against the baseline, per-class table, confusion matrix, mistakes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from components import evaluation_views as views
from layerlab.data.images import open_images
from layerlab.runs.store import RunStore
from tests.pages.trained import (
    OWNER,
    digits_spec,
    fake_active_run,
    page_links,
    plotly_figure,
    train_digits,
)
from tests.pages.trained import shared_home  # noqa: F401 - this module's "home" fixture

PAGE = "pages/evaluate.py"


@pytest.fixture(scope="module")
def finished(home):
    """A real finished digits run of this session, and its evaluation.json."""
    run = train_digits(RunStore(), OWNER, name="digits one epoch")
    return run, json.loads((run.path / "evaluation.json").read_text())


def _open(app, **state):
    return app(PAGE, state={"project": digits_spec(), "pid": OWNER, **state})


def test_without_a_finished_run_it_links_to_train(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path / "no-runs"))
    at = _open(app)

    assert not at.exception
    assert at.title[0].value == "Evaluate"
    assert "No finished run yet" in at.info[0].value
    assert page_links(at)["Go to Train"] == "train"


@pytest.mark.slow
def test_metrics_beside_the_baseline(app, finished):
    run, ev = finished
    at = _open(app, run_id=run.id)

    assert not at.exception
    metrics = {m.label: m for m in at.metric}
    assert metrics["Test accuracy"].value == f"{ev['accuracy']:.1%}"
    points = (ev["accuracy"] - ev["baseline_accuracy"]) * 100
    assert metrics["Test accuracy"].proto.delta == f"{points:+.1f} points vs baseline"
    assert metrics["Baseline accuracy"].value == f"{ev['baseline_accuracy']:.1%}"
    assert metrics["Test loss"].value == f"{ev['loss']:.4f}"
    assert metrics["Test examples"].value == f"{ev['n_test']:,}"
    assert any("always predict the most common training class" in c.value for c in at.caption)


@pytest.mark.slow
def test_per_class_table(app, finished):
    run, ev = finished
    at = _open(app, run_id=run.id)

    df = at.dataframe[0].value
    assert list(df.columns) == ["Class", "Precision", "Recall", "F1", "Support"]
    assert list(df["Class"]) == ev["class_names"] == [str(d) for d in range(10)]
    assert df["Support"].sum() == ev["n_test"]
    assert df["Recall"].tolist() == pytest.approx([c["recall"] for c in ev["per_class"]])


@pytest.mark.slow
def test_confusion_matrix_counts_and_normalised(app, finished):
    run, ev = finished
    at = _open(app, run_id=run.id)

    heat = plotly_figure(at.get("plotly_chart")[0]).data[0]
    assert heat.type == "heatmap"
    assert [list(r) for r in heat.z] == ev["confusion_matrix"]
    assert list(heat.y) == ev["class_names"]

    at.toggle(key="evaluate_normalize").set_value(True).run()
    heat = plotly_figure(at.get("plotly_chart")[0]).data[0]
    for row, counts in zip([list(r) for r in heat.z], ev["confusion_matrix"]):
        assert sum(row) == pytest.approx(1.0)
        assert row[0] == pytest.approx(counts[0] / sum(counts))


def _gallery_captions(at) -> list[str]:
    return [img.proto.imgs[0].caption for img in at.image]


def _by_column(items: list) -> list:
    """Gallery items in the order AppTest lists them: column by column."""
    n = views.GALLERY_COLUMNS
    return [item for c in range(n) for item in items[c::n]]


@pytest.mark.slow
def test_gallery_of_the_most_confident_mistakes(app, finished):
    run, ev = finished
    at = _open(app, run_id=run.id)

    mistakes = ev["mistakes"]
    assert mistakes, "a one-epoch model makes mistakes on the test set"
    count, pair = views.cell_items(ev, _image_examples(ev), *views.default_cell(ev["confusion_matrix"]))
    assert len(at.image) == len(pair) + len(mistakes)  # the chosen pair's examples, then the mistakes
    labels = open_images("sample:digits").labels
    assert all(labels[m["source_index"]] == m["true"] for m in mistakes)  # the gallery shows the right images
    names = ev["class_names"]
    assert _gallery_captions(at)[len(pair):] == [views.pair_caption(names, m) for m in _by_column(mistakes)]
    first = mistakes[0]
    assert _gallery_captions(at)[len(pair)] == (f"true {first['true']} → predicted {first['pred']} "
                                                f"({first['confidence']:.0%})")


def _image_examples(ev):
    """What the page knows of the digits test set: true labels from the data source (no `true_labels` kept)."""
    labels = open_images("sample:digits").labels
    return views.Examples(kind="images", true_labels=[int(labels[i]) for i in ev["test_source_indices"]],
                          image=lambda item: True)


@pytest.mark.slow
def test_a_pair_of_classes_shows_its_images(app, finished):
    run, ev = finished
    at = _open(app, run_id=run.id)
    true_key, pred_key = views.cell_keys(run.id)
    t, p = views.default_cell(ev["confusion_matrix"])
    assert (at.selectbox(key=true_key).value, at.selectbox(key=pred_key).value) == (t, p)
    assert plotly_figure(at.get("plotly_chart")[0]).layout.shapes[0].x0 == p - 0.5  # outlined in the matrix

    at.selectbox(key=true_key).set_value(4).run()
    at.selectbox(key=pred_key).set_value(4).run()
    count, pair = views.cell_items(ev, _image_examples(ev), 4, 4)
    assert count == ev["confusion_matrix"][4][4] > 0
    captions = _gallery_captions(at)[: len(pair)]
    assert captions == [views.pair_caption(ev["class_names"], item) for item in _by_column(pair)]
    assert all(c.startswith("true 4 → predicted 4") for c in captions)
    assert [item["confidence"] for item in pair] == sorted((item["confidence"] for item in pair), reverse=True)
    assert any(c.value.startswith(f"{count} correctly classified test example(s): true 4, predicted 4")
               for c in at.caption)


@pytest.mark.slow
def test_show_what_the_model_looked_at(app, finished):
    run, ev = finished
    at = _open(app, run_id=run.id)
    plain = len(at.image)
    at.toggle(key="evaluate_explain").set_value(True).run()

    assert not at.exception and not at.error
    assert len(at.image) == plain  # the same gallery, each image overlaid with its heat map
    assert any(c.value.startswith("Red marks the parts of each image") for c in at.caption)
    m = ev["mistakes"][0]
    from components.model_cache import get_predictor
    from layerlab.explain import image_occlusion

    img = open_images("sample:digits").decode(m["source_index"], digits_spec().prepare.image)
    heat = image_occlusion(get_predictor(run.path), img)["heat"]
    assert heat.shape == img.shape[:2] and heat.max() == 1.0


@pytest.mark.slow
def test_picker_offers_this_sessions_finished_runs_and_picking_makes_it_current(app, finished):
    run, _ = finished
    store = RunStore()
    spec = digits_spec()
    other = store.create(spec, owner="cli")
    store.set_status(other.id, "completed")
    active = fake_active_run(store, spec)
    at = _open(app)  # no current run: the newest finished run of this session

    picker = at.selectbox(key="evaluate_run")
    assert picker.value == run.id
    assert picker.options == [f"digits one epoch · completed · test accuracy {run.test_metrics['accuracy']:.1%} · "
                              f"{datetime.fromtimestamp(run.started):%d %b %H:%M}"]

    second = train_digits(store, OWNER, name="second run")
    at.run()
    picker = at.selectbox(key="evaluate_run")
    assert picker.value == run.id  # the shown run does not jump when another one finishes
    assert picker.options[0].startswith("second run · completed")  # newest first
    picker.set_value(second.id).run()
    assert at.session_state["run_id"] == second.id  # the pick becomes the current run (and goes into the URL)
    assert at.query_params["run"] in (second.id, [second.id])
    assert at.metric[0].value == f"{second.test_metrics['accuracy']:.1%}"

    for r in (other, second):
        store.delete(r.id)
    store.set_status(active.id, "stopped")
    store.delete(active.id)


@pytest.mark.slow
def test_a_damaged_evaluation_is_reported_without_a_traceback(app, finished):
    store = RunStore()
    broken = store.create(digits_spec(), owner=OWNER)
    store.set_status(broken.id, "completed", "Finished.")
    (broken.path / "evaluation.json").write_text("{ not json")
    at = _open(app, run_id=broken.id)

    assert not at.exception
    assert at.selectbox(key="evaluate_run").value == broken.id
    assert "The run's evaluation could not be read" in at.error[0].value
    assert "pick another run" in at.error[0].value
    store.delete(broken.id, owner=OWNER)
