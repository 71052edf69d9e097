"""The fast-GPU profile and the speed plan: each part is applied (policy, XLA, steps per call, the larger
batch with its learning rate), on a CPU too, and the model it trains is still right."""

from __future__ import annotations

import json
import math
import zipfile
from types import SimpleNamespace

import pytest

from layerlab.spec import TrainSpec
from layerlab.train import speed


def test_plain_settings_change_nothing_on_a_cpu():
    plan = speed.plan(TrainSpec(), gpus=0)
    assert (plan.policy, plan.jit_compile, plan.steps_per_execution, plan.batch_size, plan.learning_rate) == (
        "float32", None, 1, 32, 1e-3)
    assert plan.notes == []


def test_the_fast_profile_turns_each_part_on():
    plan = speed.plan(TrainSpec(fast_gpu=True), gpus=1)
    assert plan.policy == "mixed_bfloat16" and plan.jit_compile is True
    assert plan.steps_per_execution == speed.FAST_STEPS_PER_EXECUTION
    assert plan.batch_size == 32 * speed.FAST_BATCH_FACTOR
    assert plan.learning_rate == pytest.approx(1e-3 * math.sqrt(speed.FAST_BATCH_FACTOR))  # Adam: square root
    assert "Batch 32 → 128 for the fast-GPU profile" in plan.notes[0]


def test_learning_rate_scales_linearly_for_sgd_and_batches_stay_within_the_limit():
    plan = speed.plan(TrainSpec(optimizer="sgd", learning_rate=0.01, batch_size=2048, fast_gpu=True), gpus=2, replicas=2)
    assert plan.batch_size == speed.MAX_BATCH
    assert plan.learning_rate == pytest.approx(0.01 * 2)  # the batch grew 2× (capped), SGD: linear
    assert speed.plan(TrainSpec(steps_per_execution=64, fast_gpu=True), gpus=1).steps_per_execution == 64


def test_gpu_only_settings_wait_for_a_gpu_but_the_profile_does_not():
    cpu = speed.plan(TrainSpec(mixed_precision=True, xla=True), gpus=0)
    assert cpu.policy == "float32" and cpu.jit_compile is None and "needs a GPU" in cpu.notes[0]
    gpu = speed.plan(TrainSpec(mixed_precision=True, xla=True), gpus=1)
    assert gpu.policy == "mixed_float16" and gpu.jit_compile is True
    assert "no GPU" in speed.plan(TrainSpec(fast_gpu=True), gpus=0).notes[0]


def test_two_replicas_double_the_global_batch():
    plan = speed.plan(SimpleNamespace(**{**TrainSpec().model_dump(), "batch_size": 16}), gpus=2, replicas=2)
    assert plan.batch_size == 32 and plan.replicas == 2 and plan.policy == "float32"


def _layers(config):
    """Every layer config in a saved model's config, nested models included."""
    if isinstance(config, dict):
        if "class_name" in config and isinstance(config.get("config"), dict):
            yield config
        for value in config.values():
            yield from _layers(value)
    elif isinstance(config, list):
        for value in config:
            yield from _layers(value)


def _compiled(path) -> tuple[dict, dict]:
    """(the first hidden Dense layer's config, the compile config) of a saved training model."""
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    dense = next(l for l in _layers(config) if l["class_name"] == "Dense")
    return dense["config"], config.get("compile_config") or {}


@pytest.fixture(scope="module")
def fast_and_plain(tmp_path_factory):
    from layerlab.project import new_project
    from layerlab.runs.store import RunStore
    from layerlab.train.trainer import run_training

    store = RunStore(tmp_path_factory.mktemp("fast-gpu"))
    # All-numeric columns: the model has no lookup layer, so XLA can compile it (as on a GPU).
    spec = new_project("sample:diabetes").edit(**{"train.epochs": 40, "train.early_stopping_patience": 0})
    plain = run_training(store, store.create(spec).id)
    fast = run_training(store, store.create(spec.edit(**{"train.fast_gpu": True})).id)
    return store, plain, fast


@pytest.mark.slow
def test_the_profile_is_applied_in_training(fast_and_plain):
    store, plain, fast = fast_and_plain
    assert fast.status == "completed", fast.message
    dense, compiled = _compiled(fast.path / "best.keras")
    assert dense["dtype"]["config"]["name"] == "mixed_bfloat16"
    assert compiled["jit_compile"] is True and compiled["steps_per_execution"] == speed.FAST_STEPS_PER_EXECUTION
    assert _compiled(plain.path / "best.keras")[0]["dtype"]["config"]["name"] == "float32"
    log = (fast.path / "log.txt").read_text()
    assert "Precision: mixed_bfloat16" in log and "XLA compilation on, 16 steps per call." in log
    assert "batch size 128" in log
    # The live curve's steps stay those of the data: one call may run several steps, none is counted twice.
    steps = [r["step"] for r in store.metrics(fast.id, scope="epoch")]
    assert steps == [fast.steps_per_epoch * (i + 1) for i in range(len(steps))]
    import keras

    assert keras.mixed_precision.global_policy().name == "float32"  # the run put the policy back


@pytest.mark.slow
def test_the_profile_still_learns(fast_and_plain):
    _, plain, fast = fast_and_plain
    # Beats the naive baseline (predicting the training mean) and stays near the float32 run.
    assert fast.test_metrics["mae"] < 0.9 * fast.test_metrics["baseline_mae"]
    assert fast.test_metrics["mae"] <= 1.15 * plain.test_metrics["mae"], (fast.test_metrics, plain.test_metrics)
