"""Template: the project the script was written from, as constants, and small shared helpers."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

# ---- the script starts here ----
# The project as Layerlab saved it (the settings below are read from here).
PROJECT: dict = {}
DATA = ""
# The limits Layerlab applied when this script was written.
LIMITS: dict = {"image_pixels": 0, "vocabulary": 0, "columns": 0}


def _namespace(value: Any) -> Any:
    """Dicts as attribute namespaces, so the copied Layerlab code reads `spec.prepare.split.seed`."""
    if isinstance(value, dict):
        return SimpleNamespace(**{k: _namespace(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_namespace(v) for v in value]
    return value


SPEC = _namespace(PROJECT)


class DataError(ValueError):
    """A problem with the data, with a hint on what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(f"{message} {hint}".strip())
        self.message, self.hint = message, hint


def limits() -> SimpleNamespace:
    """The limits Layerlab applied when this script was written."""
    return SimpleNamespace(**LIMITS)
