"""Each way of encoding a table's categories trains on looked-up indices and saves a model that takes raw rows.

Training never sees a string (the categories are vocabulary indices before tf.data: see
`prep.tabular.encode_categories`); the saved model looks the raw strings up itself. Both must give the test
rows the same answers, or the model would be judged on one encoding and answer with another.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("encode", ["one_hot", "integer", "embedding"])
def test_the_saved_model_answers_raw_test_rows_as_training_evaluated_them(tmp_path, encode):
    from layerlab.inference.predictor import load_predictor
    from layerlab.prep.prepare import load_frame
    from layerlab.project import new_project
    from layerlab.runs.store import RunStore
    from layerlab.train.trainer import run_training

    store = RunStore(tmp_path / "runs")
    spec = new_project("sample:penguins").edit(**{"train.epochs": 1, "prepare.table.encode": encode})
    run = run_training(store, store.create(spec).id)
    assert run.status == "completed", run.message
    evaluation = json.loads((run.path / "evaluation.json").read_text())
    answers = load_predictor(run.path).predict_rows(load_frame(spec).iloc[evaluation["test_indices"]])
    assert [a["label"] for a in answers] == [evaluation["class_names"][p] for p in evaluation["predictions"]]
    assert [a["confidence"] for a in answers] == pytest.approx(evaluation["confidences"], abs=1e-4)
