"""Prepare page for tables, text and series: each control edits the spec; previews before/after augmentation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from layerlab.project import new_project
from layerlab.spec import load_spec

pytestmark = pytest.mark.usefixtures("home")  # a fresh LAYERLAB_HOME per test (tests/pages/conftest.py)

PAGE = "pages/prepare.py"


@pytest.fixture
def open_sample(app):
    def open_(name: str):
        return app(PAGE, state={"project": new_project(f"sample:{name}")})

    return open_


def _spec(at):
    return at.session_state["project"]


def _saved(at, home: Path):
    return load_spec(home / "projects" / f"{at.session_state['pid']}.json")


def _text(elements) -> str:
    return " ".join(e.value for e in elements)


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _add(at, step: str):
    at.selectbox(key="prepare.add_step").set_value(step)
    at.button(key="prepare.add").click()
    return at.run()


def _ok(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, _text(at.error)


# ---- tables -------------------------------------------------------------------------------------------


def test_table_controls_edit_the_spec(open_sample, home: Path):
    at = open_sample("penguins")
    _ok(at)
    assert at.selectbox(key="prepare.prepare.table.impute_numeric").value == "median"
    assert "Each row becomes **14** numbers" in _text(at.caption)

    at.selectbox(key="prepare.prepare.table.impute_numeric").set_value("constant").run()
    at.number_input(key="prepare.prepare.table.fill_value").set_value(-1.0).run()
    at.selectbox(key="prepare.prepare.table.impute_categorical").set_value("most_frequent").run()
    at.selectbox(key="prepare.prepare.table.scale").set_value("minmax").run()
    at.selectbox(key="prepare.prepare.table.encode").set_value("embedding").run()
    at.slider(key="prepare.prepare.table.embedding_dim").set_value(3).run()
    at.toggle(key="prepare.prepare.table.drop_constant_and_ids").set_value(False).run()

    _ok(at)
    t = _spec(at).prepare.table
    assert (t.impute_numeric, t.fill_value, t.impute_categorical, t.scale, t.encode, t.embedding_dim,
            t.drop_constant_and_ids) == ("constant", -1.0, "most_frequent", "minmax", "embedding", 3, False)
    assert _saved(at, home).prepare.table == t, "every change is saved"
    assert "Each row becomes **11** numbers" in _text(at.caption)  # 5 numbers + 2 embeddings of 3


def test_table_split_and_class_weights(open_sample):
    at = open_sample("penguins")
    assert "**240** rows to train on" in _text(at.caption)
    at.toggle(key="prepare.class_weights").set_value(True).run()
    at.number_input(key="prepare.prepare.split.seed").set_value(7).run()
    at.toggle(key="prepare.prepare.split.stratify").set_value(False).run()

    _ok(at)
    p = _spec(at).prepare
    assert (p.class_weights, p.split.seed, p.split.stratify) == (True, 7, False)


def test_a_split_leaving_too_little_training_data_is_refused_for_tables(open_sample):
    at = open_sample("diabetes")
    assert "split at random" in _text(at.caption)  # regression: no stratify toggle
    assert not [t for t in at.toggle if t.key == "prepare.prepare.split.stratify"]
    at.slider(key="prepare.prepare.split.validation").set_value(0.5).run()
    at.slider(key="prepare.prepare.split.test").set_value(0.4).run()

    assert not at.exception
    assert "must leave at least 30% of the data for training" in _text(at.error)
    assert _spec(at).prepare.split.test == pytest.approx(0.15)


def test_table_noise_preview_changes_the_prepared_numbers(open_sample):
    at = open_sample("penguins")
    raw, prepared = at.dataframe[-2].value, at.dataframe[-1].value
    assert list(raw.columns) == list(prepared.columns) and len(raw) == 5
    assert abs(prepared.to_numpy()).max() < 10, "scaled numbers are small"

    _add(at, "gaussian_noise")
    _ok(at)
    assert [s.type for s in _spec(at).prepare.augment] == ["gaussian_noise"]
    before, after = at.dataframe[-2].value, at.dataframe[-1].value
    assert before.shape == after.shape and not before.equals(after)
    assert abs((after - before).to_numpy()).max() < 1.0  # a little noise: stddev 0.05
    at.slider(key="prepare.aug.0.gaussian_noise.stddev").set_value(0.5).run()
    assert _spec(at).prepare.augment[0].params["stddev"] == 0.5
    assert "word_dropout" not in at.selectbox(key="prepare.add_step").options, "only steps for tables"


# ---- text ---------------------------------------------------------------------------------------------


def test_text_controls_edit_the_spec_and_the_vocabulary(open_sample):
    at = open_sample("tweets")
    _ok(at)
    assert _metrics(at)["Vocabulary"] == "10,000 words"
    assert 0.5 < float(_metrics(at)["Known words in unseen texts"].rstrip("%")) / 100 <= 1

    assert at.number_input(key="prepare.prepare.text.vocab_size").max == 100_000, "the LAYERLAB_VOCABULARY limit"
    at.number_input(key="prepare.prepare.text.vocab_size").set_value(500).run()
    at.number_input(key="prepare.prepare.text.sequence_length").set_value(16).run()
    at.toggle(key="prepare.prepare.text.lowercase").set_value(False).run()
    at.toggle(key="prepare.prepare.text.strip_punctuation").set_value(False).run()
    at.selectbox(key="prepare.prepare.text.ngrams").set_value(2).run()

    _ok(at)
    t = _spec(at).prepare.text
    assert (t.vocab_size, t.sequence_length, t.lowercase, t.strip_punctuation, t.ngrams) == (500, 16, False, False, 2)
    m = _metrics(at)
    assert m["Vocabulary"] == "500 words"
    assert int(m["Texts cut"].rstrip("%")) > 0, "16 tokens cut many tweets"
    assert "**26,710** texts to train on" in _text(at.caption)


def test_text_preview_shows_words_before_and_after_dropout(open_sample):
    at = open_sample("tweets")
    table = at.table[0].value
    assert list(table.columns) == ["as the model reads it"] and len(table) == 4

    _add(at, "word_dropout")
    at.slider(key="prepare.aug.0.word_dropout.rate").set_value(0.5).run()
    _ok(at)
    table = at.table[0].value
    assert list(table.columns) == ["as the model reads it", "after augmentation"]
    assert any("▢" in t for t in table["after augmentation"]), "blanked words are shown"
    assert all(len(a.split()) == len(b.split()) for a, b in zip(table["as the model reads it"],
                                                                table["after augmentation"]))
    _add(at, "word_swap")
    assert [s.type for s in _spec(at).prepare.augment] == ["word_dropout", "word_swap"]
    at.button(key="prepare.reshuffle").click().run()
    assert not at.exception


# ---- series -------------------------------------------------------------------------------------------


def test_series_controls_edit_the_spec(open_sample, home: Path):
    at = open_sample("sunspots")
    _ok(at)
    assert "split **by time**" in _text(at.info)
    assert not [n for n in at.number_input if n.key == "prepare.prepare.split.seed"], "no shuffling, no seed"

    at.number_input(key="prepare.prepare.series.window").set_value(12).run()
    at.number_input(key="prepare.prepare.series.horizon").set_value(3).run()
    at.number_input(key="prepare.prepare.series.stride").set_value(2).run()
    at.selectbox(key="prepare.prepare.series.fill").set_value("ffill").run()
    at.selectbox(key="prepare.prepare.series.scale").set_value("minmax").run()
    at.selectbox(key="prepare.prepare.series.predict").set_value("level").run()

    _ok(at)
    s = _spec(at).prepare.series
    assert (s.window, s.horizon, s.stride, s.fill, s.scale, s.predict) == (12, 3, 2, "ffill", "minmax", "level")
    assert _saved(at, home).prepare.series == s
    assert "the last **12** steps" in _text(at.caption)
    assert "windows to train on" in _text(at.caption)
    split_chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [a["text"] for a in split_chart["layout"]["annotations"]] == ["validation", "test"]


def test_a_window_too_long_for_the_series_is_refused(open_sample):
    at = open_sample("sunspots")
    window = _spec(at).prepare.series.window
    at.number_input(key="prepare.prepare.series.window").set_value(300).run()

    assert not at.exception
    assert "too short for a window of 300" in _text(at.error)
    assert _spec(at).prepare.series.window == window, "the last good value stays"
    assert at.number_input(key="prepare.prepare.series.window").value == window


def test_series_targets_can_be_one_or_several(app, tmp_path: Path):
    import pandas as pd

    frame = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=120, freq="D").strftime("%Y-%m-%d"),
                          "sales": [float(x) for x in range(120)], "visits": [float(x % 7) for x in range(120)]})
    path = tmp_path / "shop.csv"
    frame.to_csv(path, index=False)
    at = app(PAGE, state={"project": new_project(str(path))})
    _ok(at)
    targets = at.multiselect(key="prepare.prepare.series.targets")
    assert targets.value == ["sales"] and set(targets.options) == {"sales", "visits"}
    assert "Univariate" in _text(at.caption)

    targets.set_value(["sales", "visits"]).run()
    _ok(at)
    assert _spec(at).prepare.series.targets == ["sales", "visits"]
    assert "Multivariate" in _text(at.caption)
    at.multiselect(key="prepare.prepare.series.targets").set_value(["sales"]).run()
    assert _spec(at).prepare.series.targets is None, "the data's own target again"


def test_series_preview_shows_a_window_before_and_after_jitter(open_sample):
    at = open_sample("co2")
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    window = charts[-1]
    names = [t["name"] for t in window["data"]]
    assert names == ["co2 (window)", "co2 (to forecast)"]
    assert len(window["data"][0]["y"]) == _spec(at).prepare.series.window

    _add(at, "jitter")
    _ok(at)
    window = json.loads(at.get("plotly_chart")[-1].proto.spec)
    before, after = window["data"][0]["y"], window["data"][1]["y"]
    assert window["data"][1]["name"] == "co2 (augmented)" and before != after
    _add(at, "scaling")
    _ok(at)
    assert [s.type for s in _spec(at).prepare.augment] == ["jitter", "scaling"]
