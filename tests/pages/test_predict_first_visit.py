"""Predict never imports TensorFlow into the server (#20, finding 8: with runs filling the cores, that import made
page switches take 10–23 s for every session): the run's model runs in the model host process, and the page, its
predictions included, leave the server's interpreter without TensorFlow. Run in a fresh interpreter: the parent
has TensorFlow in (it trained the run)."""

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
from layerlab.inference.remote import model_host

at = AppTest.from_file("app.py", default_timeout=300)
at.session_state["pid"] = sys.argv[1]
at.run()
at.switch_page("pages/predict.py").run()
assert not at.exception, [e.value for e in at.exception]
assert [t.label for t in at.tabs][1:] == [":material/download: Export", ":material/upload: Import"]
assert at.file_uploader, "the model's inputs are shown"
assert model_host().ready() and model_host().pid, "the model runs in the model host"
from tests.pages.trained import digit_png
at.file_uploader(key="predict_files").set_value([("three.png", digit_png(3), "image/png")]).run()
at.toggle(key="predict_explain_images").set_value(True).run()  # the heat map: dozens of predictions
assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
assert len(at.metric) == 1 and at.metric[0].value in [str(k) for k in range(10)], at.metric
assert "red: what made the model say" in at.image[0].proto.imgs[0].caption
assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "the server process never imports TensorFlow"
print("ok")
"""


def test_predict_runs_the_model_in_the_model_host_and_never_imports_tensorflow(tmp_path: Path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("LAYERLAB_HOME", str(home))
    monkeypatch.delenv("LAYERLAB_RUNS_DIR", raising=False)
    train_digits(RunStore())
    env = {**os.environ, "LAYERLAB_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD, OWNER], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
