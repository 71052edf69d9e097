"""Trained models for the pages that need one (Evaluate, Predict).

`get_predictor(run_dir)` gives a run's predictor: its inputs are parsed in the server, its model
(model.keras) runs in the server's model host process (`layerlab.inference.remote`), loaded there once
per (run folder, file time), so a run trained again loads afresh. The server itself never imports
TensorFlow: with training runs filling the cores, that import held every session's page scripts for
10–20 s (#20).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from layerlab.errors import LayerlabError
from layerlab.runs.files import RunFiles


@st.cache_resource(max_entries=16, show_spinner="Loading the model…")
def _load(run_dir: str, model_mtime: float) -> Any:
    from layerlab.inference.remote import remote_predictor

    return remote_predictor(run_dir)


def start_host() -> None:
    """Start the model host in the background (a page that may soon need a model calls it; it returns at once)."""
    from layerlab.inference.remote import model_host

    model_host().start()


def wait_for_host() -> None:
    """Wait, under a spinner, until the model host has TensorFlow loaded (only the first time after the server
    starts; the rest of the page is drawn before this is called)."""
    from layerlab.inference.remote import model_host

    host = model_host()
    if not host.ready():
        with st.spinner("Starting the process that runs the models (once after the server starts: a few seconds)…"):
            host.wait_ready()


def model_mtime(run_dir: str | Path) -> float:
    """The modification time of the run's model.keras; raises LayerlabError when there is none."""
    try:
        return RunFiles(Path(run_dir)).model_path.stat().st_mtime
    except OSError:
        raise LayerlabError(f"The run folder {Path(run_dir).name} holds no trained model (model.keras).",
                            "Pick a run that has finished, or train it again.") from None


def get_predictor(run_dir: str | Path) -> Any:
    """The run's Predictor (layerlab.inference.remote), cached per (run folder, model.keras mtime)."""
    return _load(str(run_dir), model_mtime(run_dir))


def clear() -> None:
    """Forget every loaded model (tests; after runs are deleted)."""
    from layerlab.inference.remote import model_host

    _load.clear()
    if model_host().ready():
        model_host().call("forget")
