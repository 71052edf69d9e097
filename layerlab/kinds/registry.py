"""The kinds of data Layerlab knows, by name: add a kind's module and one line here."""

from __future__ import annotations

from layerlab.errors import DataError
from layerlab.kinds import images, series, table, text
from layerlab.kinds.base import DataKind

KINDS: dict[str, DataKind] = {k.name: k for k in (images.KIND, table.KIND, text.KIND, series.KIND)}


def get_kind(name: str) -> DataKind:
    """The kind called `name`; a DataError naming the known ones otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise DataError(f"{name} data is not supported.", f"Expected one of: {', '.join(KINDS)}.") from None
