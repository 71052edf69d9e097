"""The MirroredStrategy path on a CPU: two logical CPU devices stand in for two GPUs.

Each data kind's default template trains for two epochs with 2 replicas (batch 16 each: a global batch of
32, the learning rate scaled by √2 for Adam) and once on one device with that same global batch and
learning rate. Same data order, same global batches, gradients summed over the replicas: the curves agree
within 25% (relative) per epoch and both learn (measured here: 5.4% and 15.7% in two runs, both digits'
second-epoch validation loss — the CNN's dropout and augmentation on 1,797 images). They are not
bit-identical: the replicas draw their own dropout and augmentation randomness and sum in another order.
Logical CPUs combine gradients through one device (tf_distribution), as the collective all-reduce aborts
on them. The logical devices must be set before TensorFlow starts, so each side runs in its own process.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

# One sample per kind; two tables: diabetes (numbers only) and penguins (text categories, which Keras'
# MirroredStrategy path cannot carry as strings: it mean-reduces the first batch over the replicas).
SAMPLES = ("sample:digits", "sample:diabetes", "sample:penguins", "sample:tweets", "sample:sunspots")

SCRIPT = r"""
import json, sys
import tensorflow as tf
devices = int(sys.argv[1])
if devices > 1:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
from layerlab.project import new_project
from layerlab.runs.store import RunStore
from layerlab.train.trainer import run_training
store = RunStore(sys.argv[2])
out = {}
for source in sys.argv[4:]:
    spec = new_project(source).edit(**{"train.epochs": 2, "train.early_stopping_patience": 0,
                                       "train.lr_schedule": "constant", **json.loads(sys.argv[3])})
    run = run_training(store, store.create(spec).id)
    out[source] = {"status": run.status, "message": run.message, "template": spec.model.template,
                   "history": json.loads((run.path / "history.json").read_text()) if run.status == "completed" else {},
                   "log": (run.path / "log.txt").read_text()}
    if source == "sample:penguins" and run.status == "completed":  # the saved model takes the raw test rows
        from layerlab.inference.predictor import load_predictor
        from layerlab.prep.prepare import load_frame
        rows = load_frame(spec).iloc[json.loads((run.path / "evaluation.json").read_text())["test_indices"]]
        out[source]["answers"] = load_predictor(run.path).predict_rows(rows)
        out[source]["evaluation"] = json.loads((run.path / "evaluation.json").read_text())
print(json.dumps(out))
"""


def _train(tmp_path, devices: int, edits: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(devices), str(tmp_path / f"runs{devices}"),
                           json.dumps(edits), *SAMPLES], check=False, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mirrored")
    two = _train(tmp, 2, {"train.batch_size": 16, "train.learning_rate": 1e-3})
    one = _train(tmp, 1, {"train.batch_size": 32, "train.learning_rate": 1e-3 * math.sqrt(2)})
    return two, one


@pytest.mark.parametrize("source", SAMPLES)
def test_two_replicas_train_each_kind_and_agree_with_one_device(both, source):
    two, one = both
    assert two[source]["status"] == "completed", two[source]["message"]
    assert one[source]["status"] == "completed", one[source]["message"]
    log = two[source]["log"]
    assert "Training on 2 CPU devices with tf.distribute.MirroredStrategy." in log
    assert "Batch 16 → 32 for 2 replicas; learning rate 0.001 → 0.00141 (square-root scaling)." in log
    assert "MirroredStrategy" not in one[source]["log"]
    for name in ("loss", "val_loss"):
        a, b = two[source]["history"][name], one[source]["history"][name]
        assert len(a) == len(b) == 2
        assert a == pytest.approx(b, rel=0.25), (source, name, a, b)
    assert two[source]["history"]["loss"][1] < two[source]["history"]["loss"][0]  # the replicas learn too


def test_a_table_with_text_categories_trained_on_two_replicas_answers_raw_rows(both):
    # The categories were looked up before training (numbers only reach the replicas); the saved model looks
    # them up itself and gives the test rows, raw, exactly the answers the evaluation recorded.
    two, _ = both
    evaluation, answers = two["sample:penguins"]["evaluation"], two["sample:penguins"]["answers"]
    assert len(answers) == evaluation["n_test"] > 0
    assert [a["label"] for a in answers] == [evaluation["class_names"][p] for p in evaluation["predictions"]]
    assert [a["confidence"] for a in answers] == pytest.approx(evaluation["confidences"], abs=1e-4)  # kept to 4 places
