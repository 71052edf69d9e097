import numpy as np
import pytest

from layerlab.explain import image_occlusion, overlay

pytestmark = pytest.mark.slow  # every test reads a real trained run (digits_run or one it trains)


def test_image_occlusion_highlights_where_the_digit_is(digits_run):
    from layerlab.data.images import open_images
    from layerlab.predict import load_predictor

    pred = load_predictor(digits_run.path)
    img = open_images("sample:digits").decode(0)
    out = image_occlusion(pred, img)
    heat = out["heat"]
    assert heat.shape == (8, 8) and 0 <= heat.min() and heat.max() == 1.0
    # Hiding ink matters more than hiding the empty border.
    ink = img[..., 0] > 64
    assert heat[ink].mean() > heat[~ink].mean()
    shown = overlay(img, heat)
    assert shown.shape == (8, 8, 3) and shown.dtype == np.uint8


def _table_run(tmp_path, sample: str):
    from layerlab.predict import load_predictor
    from layerlab.project import new_project
    from layerlab.runs.store import RunStore
    from layerlab.train.trainer import run_training

    store = RunStore(tmp_path)
    run = run_training(store, store.create(new_project(f"sample:{sample}").edit(**{"train.epochs": 15})).id)
    assert run.status == "completed", run.message
    return load_predictor(run.path)


def test_row_effects_are_the_change_when_a_column_is_set_to_its_typical_value(tmp_path):
    from layerlab.explain import row_effects
    from layerlab.samples import get_sample

    pred = _table_run(tmp_path, "penguins")
    row = get_sample("penguins").load().drop(columns=["species"]).iloc[300].to_dict()  # a Chinstrap/Gentoo
    out = row_effects(pred, row)
    base = pred.predict_rows([row])[0]
    assert out["class"] == base["label"] and out["score"] == base["probabilities"][base["label"]]
    by_name = {c["column"]: c for c in out["columns"]}
    assert list(by_name) == [c["name"] for c in pred.info.extra["columns"]]
    for col in pred.info.extra["columns"]:
        typical = pred.predict_rows([{**row, col["name"]: col["default"]}])[0]
        expected = base["probabilities"][base["label"]] - typical["probabilities"][base["label"]]
        assert by_name[col["name"]]["effect"] == pytest.approx(expected, abs=1e-5)
    assert any(abs(c["effect"]) > 0.01 for c in out["columns"])  # something in the row matters


def test_row_effects_of_a_regression_are_in_the_targets_units(tmp_path):
    from layerlab.explain import row_effects
    from layerlab.samples import get_sample

    pred = _table_run(tmp_path, "diabetes")
    target = pred.info.extra["target"]
    row = get_sample("diabetes").load().drop(columns=[target]).iloc[5].to_dict()
    out = row_effects(pred, row)
    assert out["class"] is None and out["score"] == pytest.approx(pred.predict_rows([row])[0]["value"])
    typical_row = {c["name"]: c["default"] for c in pred.info.extra["columns"]}
    assert all(c["effect"] == 0 for c in row_effects(pred, typical_row)["columns"])  # nothing differs from typical
