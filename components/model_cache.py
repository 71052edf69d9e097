"""Trained models loaded in the server, shared by the pages that need one (Evaluate, Predict).

`get_predictor(run_dir)` loads a run's end-to-end model.keras once per (run folder, file
time): a run trained again loads afresh. At most four stay in memory. Call it only when a
model is really needed (a prediction, an explanation): loading imports TensorFlow.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import streamlit as st

from layerlab.errors import LayerlabError
from layerlab.runs.files import RunFiles


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def _load(run_dir: str, model_mtime: float) -> Any:
    # The server process must not take all GPU memory from the training workers (see NOTES).
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    from layerlab.inference.predictor import load_predictor

    return load_predictor(run_dir)


def model_mtime(run_dir: str | Path) -> float:
    """The modification time of the run's model.keras; raises LayerlabError when there is none."""
    try:
        return RunFiles(Path(run_dir)).model_path.stat().st_mtime
    except OSError:
        raise LayerlabError(f"The run folder {Path(run_dir).name} holds no trained model (model.keras).",
                            "Pick a run that has finished, or train it again.") from None


def get_predictor(run_dir: str | Path) -> Any:
    """The run's loaded Predictor (layerlab.inference.predictor), cached per (run folder, model.keras mtime)."""
    return _load(str(run_dir), model_mtime(run_dir))


def clear() -> None:
    """Forget every loaded model (tests; after runs are deleted)."""
    _load.clear()
