"""RunFiles: the one reader of a run folder's files."""

from __future__ import annotations

import json

import pytest

from layerlab.errors import LayerlabError
from layerlab.runs.files import RunFiles, task_of


def test_a_new_folder_has_nothing(tmp_path):
    f = RunFiles(tmp_path)
    assert (f.has_model, f.has_weights, f.has_evaluation, f.saved_epochs()) == (False, False, False, 0)
    assert f.project_doc() is None and f.history() == {} and f.log_tail() == "" and f.evaluation_mtime() is None
    with pytest.raises(LayerlabError, match="no evaluation"):
        f.evaluation()
    with pytest.raises(LayerlabError, match="info.json"):
        f.info()


def test_checkpoint_epochs_count_only_with_weights(tmp_path):
    f = RunFiles(tmp_path)
    (tmp_path / "history.json").write_text(json.dumps({"loss": [1.0, 0.5, 0.4]}))
    assert f.saved_epochs() == 0
    (tmp_path / "last.weights.h5").write_bytes(b"x")
    assert f.saved_epochs() == 3 and f.has_weights


def test_evaluation_task_is_always_set_and_damage_is_a_message(tmp_path):
    f = RunFiles(tmp_path)
    (tmp_path / "evaluation.json").write_text(json.dumps({"r2": 0.5, "mae": 1.0}))
    assert f.evaluation()["task"] == "regression" and f.evaluation_mtime() is not None
    (tmp_path / "evaluation.json").write_text("{not json")
    with pytest.raises(LayerlabError, match="damaged"):
        f.evaluation()
    (tmp_path / "evaluation.json").write_text(json.dumps({"something": 1}))
    with pytest.raises(LayerlabError, match="damaged"):
        f.evaluation()
    assert task_of({"confusion_matrix": []}) == "classification"
    assert task_of({"mae_per_step": []}) == "forecasting"


def test_log_tail_drops_tracebacks(tmp_path):
    (tmp_path / "log.txt").write_text("12:00:00  epoch 1\nTraceback (most recent call last)\n  File x\nValueError\n"
                                      "12:00:01  Failed: the data is bad\n")
    assert RunFiles(tmp_path).log_tail() == "12:00:00  epoch 1\n12:00:01  Failed: the data is bad"


def test_only_known_artefacts_are_read(tmp_path):
    with pytest.raises(ValueError, match="Expected one of"):
        RunFiles(tmp_path).read_bytes("../../etc/passwd")
