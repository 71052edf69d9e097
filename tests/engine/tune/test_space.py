"""The search space: what each project can search, and ranges that cannot be built get a message naming them."""

from __future__ import annotations

import pytest

from layerlab.errors import SpecError
from layerlab.project import new_project
from layerlab.tune import space, study


@pytest.fixture(scope="module")
def digits():
    return new_project("sample:digits")


@pytest.fixture(scope="module")
def penguins():
    return new_project("sample:penguins")


def test_only_what_the_project_has_is_offered(digits, penguins):
    names = {d.name for d in space.available(digits)}
    assert {"lr", "batch_size", "optimizer", "weight_decay", "image_size", "dropout.6"} <= names
    assert {"units.0", "units.2", "units.5"} <= names  # the two convolutions' filters, the Dense layer's units
    assert not {"sequence_length", "window"} & names
    groups = {d.group for d in space.available(penguins)}
    assert "dropout" not in groups and "image_size" not in groups  # an MLP without Dropout, a table


def test_default_ranges_come_from_the_project(digits):
    dims = {d.name: d for d in space.available(digits)}
    assert (dims["units.0"].low, dims["units.0"].high, dims["units.0"].log) == (16, 64, True)  # 32 filters: 16–64
    assert dims["lr"].log and dims["lr"].low < digits.train.learning_rate < dims["lr"].high
    assert dims["image_size"].targets == ("prepare.image.height", "prepare.image.width")


def test_expand_takes_entry_names_and_refuses_unknown_ones(digits, penguins):
    assert set(space.expand(digits, ["lr", "units"])) == {"lr", "units.0", "units.2", "units.5"}
    with pytest.raises(SpecError, match="unknown search setting `colour`"):
        space.expand(digits, ["colour"])
    with pytest.raises(SpecError, match="nothing to search for `dropout`"):
        space.expand(penguins, ["dropout"])


@pytest.mark.parametrize("name, bounds, words", [
    ("lr", {"low": 0.01, "high": 0.001}, "search.lr: the range is empty: low 0.01 is above high 0.001"),
    ("lr", {"low": 1e-4, "high": 5.0}, "search.lr: 5 is outside what the project allows"),
    ("units.0", {"low": 8, "high": 9000}, "search.units.0: 9000 is outside"),
    ("units.9", None, "search.units.9: layer 9 does not exist or has no setting for `units`"),
    ("dropout.6", {"low": 0.1, "high": 0.99}, "search.dropout.6: 0.99 is outside"),
    ("optimizer", {"choices": ["adam", "lion"]}, "search.optimizer: expected choices among adam, adamw, sgd, rmsprop"),
    ("batch_size", {"low": 16.5, "high": 64}, "search.batch_size: expected whole numbers"),
    ("weight_decay", {"low": 0.0, "high": 0.01}, "search.weight_decay: a log-scale range must start above 0"),
    ("height", None, "search.height: unknown search setting"),
])
def test_a_range_that_cannot_be_built_is_named(digits, name, bounds, words):
    with pytest.raises(SpecError) as err:
        space.choose(digits, {name: bounds})
    assert words in str(err.value)


def test_narrowed_ranges_and_apply_write_the_spec(digits):
    dims = space.choose(digits, {"lr": {"low": 1e-3, "high": 2e-3}, "image_size": None, "weight_decay": None,
                                 "optimizer": {"choices": ["sgd"]}})
    assert (dims[0].low, dims[0].high) == (1e-3, 2e-3) and dims[3].choices == ("sgd",)
    spec = space.apply(digits, dims, {"lr": 0.0015, "image_size": 12, "weight_decay": 1e-4, "optimizer": "sgd"})
    assert spec.train.learning_rate == 0.0015 and spec.train.optimizer == "sgd"
    assert (spec.prepare.image.height, spec.prepare.image.width) == (12, 12)
    assert {layer.params.get("l2") for layer in spec.model.layers if "l2" in layer.params} == {1e-4}
    assert [layer.type for layer in spec.model.layers] == [layer.type for layer in digits.model.layers]
    assert digits.train.learning_rate != 0.0015  # the project itself is untouched


def test_a_study_refuses_an_empty_space_or_budget(digits):
    with pytest.raises(SpecError, match="nothing to search"):
        study.create(digits, {}, trials=3)
    with pytest.raises(SpecError, match="trials: expected a number of trials between 1 and 1000, received 0"):
        study.create(digits, {"lr": None}, trials=0)
    with pytest.raises(SpecError, match="timeout: expected a time limit above 0"):
        study.create(digits, {"lr": None}, trials=2, timeout_s=-1)


def test_the_metric_and_its_direction_follow_the_task(digits):
    assert study.objective(digits) == ("val_accuracy", "maximize")
    assert study.objective(new_project("sample:diabetes")) == ("val_mae", "minimize")
