import json

import pytest

from layerlab.errors import SpecError
from layerlab.spec import SPEC_VERSION, ProjectSpec, load_spec

BASE = {"data": {"source": "sample:digits"}}


def test_round_trip_is_identical():
    spec = load_spec({**BASE, "model": {"template": "x", "layers": [{"type": "Dense", "params": {"units": 16}}]},
                      "prepare": {"augment": [{"type": "rotation", "params": {"degrees": 5}}]}})
    again = load_spec(spec.to_json())
    assert again == spec
    assert again.version == SPEC_VERSION
    # defaults were filled from the registries
    assert again.model.layers[0].params["activation"] == "relu"
    assert again.prepare.augment[0].params == {"degrees": 5.0}


@pytest.mark.parametrize("doc, field, words", [
    ({**BASE, "train": {"epochs": 10**9}}, "train.epochs", "less than or equal to 1000"),
    ({**BASE, "train": {"epochs": "many"}}, "train.epochs", "integer"),
    ({**BASE, "model": {"layers": [{"type": "Dense", "params": {"units": 10**6}}]}}, "model.layers[0].params.units", "between 1 and 8192"),
    ({**BASE, "model": {"layers": [{"type": "Dense", "params": {"unitz": 3}}]}}, "model.layers[0].params.unitz", "no parameter"),
    ({**BASE, "model": {"layers": [{"type": "Dens"}]}}, "model.layers[0].type", "unknown layer type"),
    ({**BASE, "prepare": {"augment": [{"type": "rotation", "params": {"degrees": 999}}]}}, "prepare.augment[0].params.degrees", "between 0 and 180"),
    ({**BASE, "surprise": 1}, "surprise", "unknown field"),
    ({"prepare": {}}, "data", "required"),
    ({**BASE, "prepare": {"split": {"validation": 0.4, "test": 0.4}}}, "prepare.split", "30%"),
    ({**BASE, "version": 99}, "version", "newer Layerlab"),
])
def test_bad_values_name_the_field(doc, field, words):
    with pytest.raises(SpecError) as info:
        load_spec(doc)
    assert info.value.field == field
    assert words in str(info.value)


def test_json_file_and_text(tmp_path):
    spec = load_spec(BASE)
    path = spec.save(tmp_path / "p.json")
    assert load_spec(path) == spec
    assert load_spec(str(path)) == spec
    assert json.loads(path.read_text())["data"]["source"] == "sample:digits"
    with pytest.raises(SpecError, match="not valid JSON"):
        load_spec("{not json")
    with pytest.raises(SpecError, match="no project file"):
        load_spec(tmp_path / "missing.json")


def test_edit_validates_and_copies():
    spec = load_spec(BASE)
    new = spec.edit(**{"train.epochs": 3})
    assert new.train.epochs == 3 and spec.train.epochs != 3
    with pytest.raises(SpecError, match="train.batch_size"):
        spec.edit(**{"train.batch_size": 0})
    assert isinstance(new, ProjectSpec)


def test_vocabulary_size_follows_the_configured_limit(monkeypatch):
    """prepare.text.vocab_size is bounded by LAYERLAB_VOCABULARY (issue #7), not by a second number in the spec."""
    from layerlab.settings import limits

    text = {**BASE, "data": {"kind": "text", "source": "sample:tweets", "text": "text", "target": "sentiment"}}
    at_limit = {**text, "prepare": {"text": {"vocab_size": limits().vocabulary}}}
    assert load_spec(at_limit).prepare.text.vocab_size == 100_000
    with pytest.raises(SpecError) as info:
        load_spec({**text, "prepare": {"text": {"vocab_size": 150_000}}})  # the spec alone once allowed 200,000
    assert info.value.field == "prepare.text.vocab_size"
    assert "at most 100,000 words" in str(info.value) and "LAYERLAB_VOCABULARY" in str(info.value)
    assert "received 150000" in str(info.value)
    with pytest.raises(SpecError, match="prepare.text.vocab_size"):
        load_spec(at_limit).edit(**{"prepare.text.vocab_size": 100_001})

    monkeypatch.setenv("LAYERLAB_VOCABULARY", "150000")  # read when validating, so a server can raise it
    assert load_spec({**text, "prepare": {"text": {"vocab_size": 150_000}}}).prepare.text.vocab_size == 150_000
    monkeypatch.setenv("LAYERLAB_VOCABULARY", "5000")
    with pytest.raises(SpecError, match="at most 5,000 words"):
        load_spec(at_limit)
