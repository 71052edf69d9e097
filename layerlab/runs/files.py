"""What a run's folder holds, read through one object: the only code that knows its file names.

    project.json      the spec the run was trained with
    info.json         what the model knows of the data (DataInfo)
    history.json      per-epoch metrics, kept in step with last.weights.h5 during training
    last.weights.h5   the latest weights (and optimizer state), to continue or finish a cut-off run
    best.keras        the best epoch's training model
    model.keras       the end-to-end inference model (takes raw inputs)
    evaluation.json   the test-set evaluation
    log.txt           the worker's timestamped log

Pages, the CLI, the model server and a remote worker read a run through `RunFiles`, never by path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerlab.errors import LayerlabError

PROJECT, INFO, HISTORY = "project.json", "info.json", "history.json"
LAST_WEIGHTS, BEST, MODEL = "last.weights.h5", "best.keras", "model.keras"
EVALUATION, LOG = "evaluation.json", "log.txt"
# Everything a finished run's folder holds (what a remote worker sends back, what an export may copy).
ARTEFACTS = (PROJECT, INFO, HISTORY, LAST_WEIGHTS, BEST, MODEL, EVALUATION, LOG)
TASKS = ("classification", "regression", "forecasting")

_STAMP = re.compile(r"^\d\d:\d\d:\d\d  ")
_AGAIN = "Train the run again, or pick another run."


@dataclass(frozen=True)
class RunFiles:
    """A view of one run folder; each method reads the file it names when called."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    # ---- paths (for the engine's writers and loaders) ----------------------------------------
    def path(self, name: str) -> Path:
        if name not in ARTEFACTS:
            raise ValueError(f"Invalid value received for argument `name`. Expected one of {ARTEFACTS}. "
                             f"Received: name={name!r}")
        return self.root / name

    @property
    def model_path(self) -> Path:
        return self.root / MODEL

    @property
    def best_path(self) -> Path:
        return self.root / BEST

    # ---- what is there --------------------------------------------------------------------------
    @property
    def has_model(self) -> bool:
        return (self.root / MODEL).exists()

    @property
    def has_weights(self) -> bool:
        """A checkpoint to continue or fine-tune from: the best epoch's model or the last weights."""
        return (self.root / BEST).exists() or (self.root / LAST_WEIGHTS).exists()

    @property
    def has_info(self) -> bool:
        """The description of the data (written once the data is prepared)."""
        return (self.root / INFO).exists()

    @property
    def has_checkpoint(self) -> bool:
        """The last weights (last.weights.h5): what continuing a run trains on from."""
        return (self.root / LAST_WEIGHTS).exists()

    @property
    def has_evaluation(self) -> bool:
        return (self.root / EVALUATION).exists()

    def saved_epochs(self) -> int:
        """Epochs held by the last checkpoint (last.weights.h5 with history.json), 0 when none."""
        if not (self.root / LAST_WEIGHTS).exists():
            return 0
        try:
            return len(self.history().get("loss") or [])
        except (OSError, ValueError, AttributeError):
            return 0

    # ---- documents ------------------------------------------------------------------------------
    def project_doc(self) -> dict[str, Any] | None:
        """project.json as a plain dict (any version, unvalidated), None when missing or unreadable."""
        try:
            doc = json.loads((self.root / PROJECT).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    def spec(self):
        """The validated ProjectSpec the run was trained with; raises LayerlabError when unreadable."""
        from layerlab.spec import load_spec

        return load_spec(self.root / PROJECT)

    def info(self):
        """The run's DataInfo; raises LayerlabError when missing (a run that never prepared its data)."""
        from layerlab.data.info import DataInfo

        if not (self.root / INFO).exists():
            raise LayerlabError("This run has no description of its data (info.json): it never got past preparing "
                                "the data.", _AGAIN)
        return DataInfo.load(self.root / INFO)

    def info_doc(self) -> dict[str, Any]:
        try:
            doc = json.loads((self.root / INFO).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return doc if isinstance(doc, dict) else {}

    def history(self) -> dict[str, list[float]]:
        try:
            doc = json.loads((self.root / HISTORY).read_text(encoding="utf-8"))
        except OSError:
            return {}
        return doc if isinstance(doc, dict) else {}

    def evaluation(self) -> dict[str, Any]:
        """The test evaluation, with its `task` always set; LayerlabError when missing or damaged."""
        path = self.root / EVALUATION
        try:
            ev = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LayerlabError("This run has no evaluation: it did not finish its test evaluation.", _AGAIN) from None
        except (OSError, ValueError):
            raise LayerlabError("The run's evaluation is damaged: it could not be read.", _AGAIN) from None
        task = task_of(ev) if isinstance(ev, dict) else None
        if task is None:
            raise LayerlabError("The run's evaluation is damaged: it holds no test results that Layerlab knows.",
                                _AGAIN)
        return {**ev, "task": task}

    def evaluation_mtime(self) -> float | None:
        """When evaluation.json was written (a cache key), None when there is none."""
        try:
            return (self.root / EVALUATION).stat().st_mtime
        except OSError:
            return None

    def log_tail(self, lines: int = 14) -> str:
        """The last lines of log.txt, without the Python tracebacks the worker appends after a crash
        (the run's message already says what went wrong, in words)."""
        try:
            with open(self.root / LOG, "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - 16_384))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        kept, in_traceback = [], False
        for line in text.splitlines():
            if line.startswith("Traceback (most recent call last)"):
                in_traceback = True
            elif _STAMP.match(line):
                in_traceback = False
            if not in_traceback:
                kept.append(line)
        return "\n".join(kept[-lines:])

    def read_bytes(self, name: str) -> bytes:
        """A file's bytes for a download (only the artefacts above, never another path)."""
        return self.path(name).read_bytes()


def task_of(ev: dict) -> str | None:
    """The evaluation's task; inferred from its keys for files written before `task` was stored."""
    task = ev.get("task")
    if task in TASKS:
        return task
    if "confusion_matrix" in ev:
        return "classification"
    if "mae_per_step" in ev:
        return "forecasting"
    if "r2" in ev:
        return "regression"
    return None
