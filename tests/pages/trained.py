"""Real runs for the page tests of Train, Evaluate, Predict and Runs.

`shared_home` gives a test module one LAYERLAB_HOME for all its tests; `train_digits` trains a real
digits run in-process through the engine (one epoch, a few seconds), so the pages read
the same folder a worker writes: evaluation.json, model.keras, metric rows.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

OWNER = "0123456789abcdef"  # this AppTest session's owner token (st.session_state["pid"])


@pytest.fixture(scope="module", name="home")
def shared_home(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One LAYERLAB_HOME for a whole test module, so runs trained once serve all its tests.

    A module imports it (``from tests.pages.trained import shared_home``) and so overrides the
    per-test ``home`` of tests/pages/conftest.py.
    """
    path = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAYERLAB_HOME", str(path))
        mp.delenv("LAYERLAB_RUNS_DIR", raising=False)
        yield path


def digits_spec(**train: Any):
    from layerlab.project import new_project

    spec = new_project("sample:digits")
    return spec.edit(**{f"train.{k}": v for k, v in train.items()}) if train else spec


def train_digits(store, owner: str = OWNER, epochs: int = 1, name: str | None = None):
    """A real completed run of the digits sample, trained in this process."""
    from layerlab.train.trainer import run_training

    run = run_training(store, store.create(digits_spec(epochs=epochs), owner=owner, name=name).id)
    assert run.status == "completed", run.message
    return run


def fake_active_run(store, spec, owner: str = OWNER, status: str = "running", **fields: Any):
    """A run row the store shows as active without a worker (for progress/queue views).

    The heartbeat is fresh and the pid is this test process, so `store.reap()` leaves it alone.
    """
    import os

    run = store.create(spec, owner=owner)
    if status != "queued":
        store.update(run.id, status=status, started=time.time() - 5, heartbeat=time.time(), pid=os.getpid(), **fields)
    return store.get(run.id)


def digit_png(label: int, size: int = 64, mode: str = "L", fmt: str = "PNG") -> bytes:
    """A real handwritten digit from the sample, enlarged to `size` pixels and encoded."""
    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    i = int(np.flatnonzero(d.target == label)[0])
    img = Image.fromarray(np.round(d.images[i] * 255 / 16).astype("uint8")).resize((size, size), Image.NEAREST)
    buf = io.BytesIO()
    img.convert(mode).save(buf, format=fmt)
    return buf.getvalue()


def _decode(node):
    """Plotly's JSON stores numeric arrays as base64 typed arrays: turn them back into lists."""
    if isinstance(node, dict):
        if "bdata" in node and "dtype" in node:
            import base64

            arr = np.frombuffer(base64.b64decode(node["bdata"]), dtype=np.dtype(node["dtype"]))
            if node.get("shape"):
                arr = arr.reshape([int(n) for n in str(node["shape"]).split(",")])
            return arr.tolist()
        return {k: _decode(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_decode(v) for v in node]
    return node


def plotly_figure(element):
    """The plotly Figure of an AppTest plotly_chart element, with its arrays decoded."""
    import json

    import plotly.graph_objects as go

    return go.Figure(_decode(json.loads(element.proto.spec)))


def page_links(at) -> dict[str, str]:
    """label → url path of every st.page_link on the page."""
    return {p.proto.label: p.proto.page for p in at.get("page_link")}
