"""The Build page's first visit never waits on `import tensorflow` (#15 item 13), and the server never imports it
(#20: with runs training, that import held every session's page scripts for 10 s and more).

Its model check builds the model with Keras, in the model host process (`layerlab.inference.remote`): the editor is
drawn at once, and the check follows once the host has started. Run in a fresh interpreter: another test may have
imported TensorFlow.
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
from layerlab.inference import remote
from layerlab.project import new_project

host = remote.model_host()
ready = host.ready
host.ready = lambda: False  # the host still starting: the page must not wait for it

at = AppTest.from_file("app.py", default_timeout=120)
at.session_state["project"] = new_project("sample:penguins")
at.run()
at.switch_page("pages/build.py").run()
assert not at.exception, [e.value for e in at.exception]
assert any(h.value.startswith("Layers (") for h in at.subheader), [h.value for h in at.subheader]
assert at.button(key="build.add") is not None and at.button(key="build.apply") is not None
assert any("Loading TensorFlow to check the model" in i.value for i in at.info), [i.value for i in at.info]
assert not at.success, "no verdict on a model that was not checked"

host.ready = ready
host.wait_ready()
at.run()
assert not at.exception, [e.value for e in at.exception]
assert any("ready to train" in s.value for s in at.success), [s.value for s in at.success]
assert not any("Loading TensorFlow" in i.value for i in at.info)

# A pretrained backbone's block (its layers counted by building it) and a template change: in the host too.
at.session_state["project"] = new_project("sample:digits", template="mobilenet_v3_small")
at.run()
assert not at.exception, [e.value for e in at.exception]
assert any("157 layers" in c.value for c in at.caption), [c.value for c in at.caption]
assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "the server imported TensorFlow"
print("ok")
"""


def test_build_shows_its_editor_before_the_model_host_is_ready_then_the_check(tmp_path: Path):
    env = {**os.environ, "LAYERLAB_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO_ROOT)}
    env.pop("LAYERLAB_RUNS_DIR", None)
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
