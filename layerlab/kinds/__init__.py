"""One object per kind of data (images, table, text, series), so the rest of Layerlab asks the kind
instead of branching on its name. A new kind is one new module here plus its line in `registry.py`.
"""

from layerlab.kinds.base import DataKind
from layerlab.kinds.registry import KINDS, get_kind

__all__ = ["DataKind", "KINDS", "get_kind"]
