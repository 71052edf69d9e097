"""Predict's first visit never waits on `import tensorflow` (#20, finding 8: with runs filling the cores, that import
made one page switch take 19 s). The page is drawn at once (run picker, Export, Import), the model follows when the
background import is done. Run in a fresh interpreter: the parent has TensorFlow in (it trained the run)."""

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

asked = []
preload = warmup.preload_models
warmup.preload_models = lambda: asked.append(True) or True  # hold the import back: the page must not need it

at = AppTest.from_file("app.py", default_timeout=60)
at.session_state["pid"] = sys.argv[1]
at.run()
at.switch_page("pages/predict.py").run()
assert not at.exception, [e.value for e in at.exception]
assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "the Predict page imported TensorFlow"
assert asked, "the page asked for the background import"
assert any("Loading TensorFlow to run the model" in i.value for i in at.info), [i.value for i in at.info]
assert [t.label for t in at.tabs][1:] == [":material/download: Export", ":material/upload: Import"]

assert preload() is True
warmup.join(600, group="models")
at.run()
assert not at.exception, [e.value for e in at.exception]
assert not any("Loading TensorFlow" in i.value for i in at.info)
assert at.file_uploader, "the model's inputs are shown"
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
