"""Spec metadata: every spec field a page draws is a registry Param read from the schema itself."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from layerlab import spec_meta
from layerlab.spec import ImagePrep, ModelSpec, SeriesPrep, SplitSpec, TablePrep, TextPrep, TrainSpec

# The sections whose every field has a widget (init_from_run is picked from a list of runs).
DRAWN = [ImagePrep, TablePrep, TextPrep, SeriesPrep, SplitSpec, TrainSpec]
NOT_DRAWN = {(TrainSpec, "init_from_run"), (SeriesPrep, "targets")}


def _fields(model: type[BaseModel]) -> list[str]:
    return [name for name in model.model_fields if (model, name) not in NOT_DRAWN]


def test_limits_come_from_the_schema():
    """The limits pages once copied by hand (Epochs 1–1000, sequence length 4–2,000, window 2–2,000)."""
    epochs = spec_meta.param(TrainSpec, "epochs")
    assert (epochs.kind, epochs.min, epochs.max, epochs.default, epochs.title) == ("int", 1, 1000, 100, "Epochs")
    assert epochs.help == "Passes over the training data at most; early stopping usually ends sooner."
    seq = spec_meta.field_param("prepare.text.sequence_length")
    assert (seq.min, seq.max, seq.title) == (4, 2_000, "Sequence length")
    window = spec_meta.field_param("prepare.series.window")
    assert (window.min, window.max, window.title) == (2, 2_000, "Window length")
    assert spec_meta.field_param("prepare.split.validation") == spec_meta.param(SplitSpec, "validation")


def test_choices_and_their_words():
    ngrams = spec_meta.field_param("prepare.text.ngrams")
    assert ngrams.kind == "choice" and ngrams.choices == (1, 2)
    assert ngrams.choice_label(2) == "Single words and word pairs"
    optimizer = spec_meta.param(TrainSpec, "optimizer")
    assert optimizer.choices == ("adam", "adamw", "sgd", "rmsprop") and optimizer.choice_label("sgd").startswith("SGD")
    assert spec_meta.param(ModelSpec, "template").choice_label("mlp") == "mlp", "a choice without words shows itself"


def test_a_server_limit_caps_its_field_when_asked(monkeypatch):
    assert spec_meta.field_param("prepare.text.vocab_size").max == 100_000
    monkeypatch.setenv("LAYERLAB_VOCABULARY", "5000")
    vocab = spec_meta.field_param("prepare.text.vocab_size")
    assert (vocab.min, vocab.max, vocab.log) == (100, 5000, True)


@pytest.mark.parametrize("model", DRAWN, ids=lambda m: m.__name__)
def test_every_drawn_field_has_words_and_a_valid_default(model):
    for name in _fields(model):
        p = spec_meta.param(model, name)
        assert p.label and p.help, f"{model.__name__}.{name} needs a label and help for its widget"
        assert p.validate(p.default, name) == p.default
        if p.kind == "choice" and p.choice_labels:
            assert {v for v, _ in p.choice_labels} == set(p.choices), f"{model.__name__}.{name}: words for each choice"


def test_an_unknown_field_or_section_is_refused():
    with pytest.raises(KeyError):
        spec_meta.param(TrainSpec, "epoch")
    with pytest.raises(KeyError):
        spec_meta.field_param("train.epochs.more")
