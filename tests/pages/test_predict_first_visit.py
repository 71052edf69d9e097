"""Predict's first visit does not import TensorFlow in its script (#20, finding 8: with runs filling the cores, that
import made one page switch take 19 s): the page (run picker, Export, Import) is drawn first, and the Predict tab
waits for the background import with a spinner. Run in a fresh interpreter: the parent has TensorFlow in (it trained
the run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from layerlab.runs.store import RunStore
from tests.pages.trained import OWNER, train_digits

pytestmark = pytest.mark.slow  # trains the run the page shows

REPO_ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys
from streamlit.testing.v1 import AppTest
from layerlab import warmup

waited = []
join = warmup.join


def watched_join(timeout=None, group="data"):
    waited.append((group, warmup.loaded("tensorflow")))  # the script waits: it did not import TensorFlow itself
    join(timeout, group=group)


warmup.join = watched_join
at = AppTest.from_file("app.py", default_timeout=120)
at.session_state["pid"] = sys.argv[1]
at.run()
at.switch_page("pages/predict.py").run()
assert not at.exception, [e.value for e in at.exception]
assert waited == [("models", False)], waited
assert warmup.loaded("tensorflow"), "the background import brought TensorFlow in"
assert [t.label for t in at.tabs][1:] == [":material/download: Export", ":material/upload: Import"]
assert at.file_uploader, "the model's inputs are shown"
at.run()
assert waited == [("models", False)], "a second visit does not wait"
print("ok")
"""


def test_predict_shows_the_page_before_tensorflow_is_loaded_then_the_model(tmp_path: Path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("LAYERLAB_HOME", str(home))
    monkeypatch.delenv("LAYERLAB_RUNS_DIR", raising=False)
    train_digits(RunStore())
    env = {**os.environ, "LAYERLAB_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD, OWNER], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
