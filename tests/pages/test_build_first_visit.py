"""The Build page's first visit never waits on `import tensorflow` (#15 item 13).

It waited 5–12 s for TensorFlow before showing anything, as its model check builds the model with Keras.
Now the editor is drawn at once, the import runs in the background (`layerlab.warmup.preload_models`), and
the check follows when it is done. Run in a fresh interpreter: another test may have imported TensorFlow.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys
from streamlit.testing.v1 import AppTest
from layerlab import warmup
from layerlab.project import new_project

asked = []
preload = warmup.preload_models
warmup.preload_models = lambda: asked.append(True) or True  # hold the import back: the page must not need it

at = AppTest.from_file("app.py", default_timeout=60)
at.session_state["project"] = new_project("sample:penguins")
at.run()
at.switch_page("pages/build.py").run()
assert not at.exception, [e.value for e in at.exception]
assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "the Build page imported TensorFlow"
assert asked, "the page asked for the background import"
assert any(h.value.startswith("Layers (") for h in at.subheader), [h.value for h in at.subheader]
assert at.button(key="build.add") is not None and at.button(key="build.apply") is not None
assert any("Loading TensorFlow to check the model" in i.value for i in at.info), [i.value for i in at.info]
assert not at.success, "no verdict on a model that was not checked"

assert preload() is True
warmup.join(600, group="models")
assert warmup.models_ready() and warmup.loaded("tensorflow")
at.run()
assert not at.exception, [e.value for e in at.exception]
assert any("ready to train" in s.value for s in at.success), [s.value for s in at.success]
assert not any("Loading TensorFlow" in i.value for i in at.info)
print("ok")
"""


def test_build_shows_its_editor_before_tensorflow_is_loaded_then_the_check(tmp_path: Path):
    env = {**os.environ, "LAYERLAB_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO_ROOT)}
    env.pop("LAYERLAB_RUNS_DIR", None)
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
