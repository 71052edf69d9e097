"""Runs on a Ray cluster (LAYERLAB_EXECUTOR=ray), checked against local runs of the same project.

The cluster (a head and a second node with its own working folder and LAYERLAB_HOME) and every driver live
in a loopback-only network namespace — Ray probes 8.8.8.8 and listens on every interface — and in a process
namespace of their own, so that everything Ray started ends with it. `harness.py` runs all scenarios
against one cluster (starting one takes 20-90 s here) and the tests below read what it saw.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
HARNESS = Path(__file__).with_name("harness.py")


@pytest.fixture(scope="module")
def seen(tmp_path_factory) -> dict:
    if not shutil.which("unshare") or not shutil.which("ray"):
        pytest.fail("these tests need `unshare` (util-linux), `ip` and Ray (pip install -r requirements-ray.txt)")
    out = tmp_path_factory.mktemp("ray")
    inner = f"ip link set lo up && cd {REPO} && PYTHONPATH={REPO} exec {sys.executable} {HARNESS} {out}"
    done = subprocess.run(["unshare", "--net", "--pid", "--fork", "--mount-proc", "sh", "-c", inner],
                          check=False, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads((out / "result.json").read_text())


def test_the_cluster_listens_only_on_loopback(seen):
    assert seen["listeners"] and all(a in ("127.0.0.1", "[::ffff:127.0.0.1]") for a in seen["listeners"])


def test_two_queued_runs_finish_on_two_nodes_like_local_runs(seen):
    local = seen["local"]
    assert local["status"] == "completed", local["message"]
    for run in seen["two"]:
        assert run["status"] == "completed", run["message"]
        assert run["executor"] == "ray" and run["node"].startswith("127.0.0.1 (node ")
        # The same row fields and the same files as a local run, plus where it ran.
        assert set(run["fields"]) == set(local["fields"]) | {"executor", "node"}
        assert run["files"] == local["files"]
        assert run["epochs"] == local["epochs"] == 2 and len(run["history"]["loss"]) == 2
    assert seen["two"][0]["node"] != seen["two"][1]["node"]  # one CPU a node: they trained side by side


def test_the_second_node_works_in_its_own_folder(seen):
    # Its actor laid the run out under the node's own LAYERLAB_HOME (and removed its run there when done);
    # the app's run folder got every file through Ray.
    assert seen["node2_home"] == ["ray-runs"]


def test_the_live_curve_moves_during_a_ray_run(seen):
    counts = [n for n in seen["live"]["counts_while_running"] if n]
    assert len(counts) >= 3 and counts == sorted(counts)


def test_stop_reaches_the_node_within_two_seconds(seen):
    stop = seen["stop"]
    assert stop["status"] == "stopped" and "Stopped by request" in stop["message"]
    assert stop["training_s"] <= 2.0, stop
    assert {"model.keras", "best.keras", "evaluation.json", "history.json", "last.weights.h5"} <= set(stop["files"])


def test_killing_the_training_process_fails_the_run_with_a_reason(seen):
    killed = seen["killed"]
    assert killed["status"] == "failed"
    assert "The Ray worker training this run died" in killed["message"]
    assert "checkpoint after epoch" in killed["message"] and "last.weights.h5" in killed["files"]


def test_the_cli_trains_on_ray_with_the_same_setting(seen):
    cli = seen["cli"]
    assert cli["rc"] == 0, cli["stderr"]
    assert cli["summary"]["status"] == "completed" and cli["executor"] == "ray"
    assert "Test: test accuracy" in cli["stdout"]  # the node's log lines reach the terminal


def test_a_ray_run_continues_on_the_cluster_from_its_checkpoint(seen):
    cont = seen["continued"]
    assert cont["status"] == "completed", cont["message"]
    assert cont["epochs"] == [1, 2, 3] and len(cont["history"]["loss"]) == 3  # its two epochs kept, one more
    assert "Continuing from epoch 2 for 1 more epoch(s)." in cont["log"]
    assert "continue.json" not in cont["files"] and "model.keras" in cont["files"]


def test_a_run_fine_tuned_from_another_trains_on_the_cluster_from_its_weights(seen):
    tuned = seen["tuned"]
    assert tuned["status"] == "completed", tuned["message"]
    assert f"Starting from the weights of run `{tuned['source_name']}`" in tuned["log"]
    assert {"model.keras", "best.keras", "history.json", "evaluation.json"} <= set(tuned["files"])


def test_projects_that_start_from_a_run_or_a_keras_file_train_on_the_cluster(seen):
    """The earlier run's model and the kept .keras file travel with the run (one of the two trains on the node
    whose LAYERLAB_HOME has neither)."""
    from_run, from_file = seen["start_from"]
    assert from_run["status"] == "completed", from_run["message"]
    assert from_file["status"] == "completed", from_file["message"]
    assert "layer(s) took its weights" in from_run["log"] and "model.keras" in from_file["files"]
    assert from_run["node"] != from_file["node"]


def test_a_dead_driver_is_relaunched_and_the_run_completes_with_its_rows(seen):
    killed = seen["driver_killed"]
    assert killed["reaped"] and killed["new_pid"] not in (None, 0, killed["old_pid"])
    assert killed["status"] == "completed", killed["message"]
    assert killed["rows_at_kill"] > 0
    # Every epoch once: the rows from before the kill kept, the new driver went on after them.
    assert killed["epochs"] == [1, 2, 3, 4, 5, 6] and len(killed["history"]["loss"]) == 6
    assert set(killed["fields"]) == set(seen["two"][0]["fields"]) and "ray_cursor" not in killed["fields"]
    assert killed["files"] == seen["two"][0]["files"]


def test_without_an_address_the_app_starts_its_own_head(seen):
    own = seen["own_head"]
    assert own["rc"] == 0, own["stderr"]
    assert own["summary"]["status"] == "completed" and own["executor"] == "ray"
    assert own["started_one"] and own["node"].startswith("127.0.0.1 (node ")
    assert own["status"] == 0  # the head it started stays up for the next runs
