"""`python -m layerlab tune`: a line per finished trial, then one JSON object; bad input exits 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def _layerlab(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "layerlab", *args], capture_output=True, text=True, cwd=REPO_ROOT,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("tune-cli") / "penguins.json"
    assert _layerlab("init", "--data", "sample:penguins", "-o", str(path)).returncode == 0
    return str(path)


@pytest.mark.slow
def test_tune_prints_a_line_per_trial_then_the_summary(project, tmp_path):
    done = _layerlab("tune", project, "--trials", "2", "--epochs", "2", "--search", "lr,units",
                     "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("Study ") and sum(line.startswith("trial ") for line in lines) == 2
    summary = json.loads(lines[-1])
    assert set(summary) >= {"study", "best_run_id", "best_params", "best_value", "metric", "trials"}
    assert summary["metric"] == "val_accuracy" and summary["trials"]["complete"] == 2
    assert set(summary["best_params"]) == {"lr", "units.0", "units.1"} and 0 < summary["best_value"] <= 1
    assert (tmp_path / "runs" / summary["best_run_id"] / "model.keras").exists()


@pytest.mark.parametrize("args, words", [
    (["--trials", "2", "--search", "lr,colour"], "error: search: unknown search setting `colour`; expected one of:"),
    (["--trials", "2", "--search", "dropout"], "error: search: this project has nothing to search for `dropout`"),
    (["--trials", "0"], "error: trials: expected a number of trials between 1 and 1000, received 0."),
    (["--trials", "x"], "error: argument --trials: invalid int value: 'x'"),
])
def test_bad_tune_arguments_exit_2_with_one_line(project, args, words):
    done = _layerlab("tune", project, *args, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith(words) and done.stderr.count("\n") == 1, done.stderr


def test_a_missing_project_exits_2():
    done = _layerlab("tune", "/nonexistent/project.json", "--trials", "2", timeout=120)
    assert done.returncode == 2 and "no project file at /nonexistent/project.json" in done.stderr
