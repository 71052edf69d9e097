"""Numbers, labels and colours shared by the Evaluate views (and Predict's explanations)."""

from __future__ import annotations

import math
from typing import Any

from components import charts
from components.markup import plot_text  # noqa: F401 - the Evaluate views import it from here

ACCENT = charts.ACCENT
MUTED = charts.MUTED
SUPPORTS = "#15803D"  # a word that supports the prediction
OPPOSES = "#B91C1C"  # a word that speaks against it


def number(value: Any) -> str:
    """About four significant digits, never in scientific notation (1,235 · 48.79 · 0.3302); — if missing."""
    if value is None:
        return "—"
    v = float(value)
    if not math.isfinite(v):
        return "—"
    if v == 0:
        return "0"
    digits = max(0, 3 - math.floor(math.log10(abs(v))))
    return f"{v:,.{digits}f}"


def signed(value: float) -> str:
    """`+1.234` / `-1.234` (an ASCII minus: st.metric reads a delta's direction from a leading "-")."""
    return ("+" if value >= 0 else "-") + number(abs(value))


def pair_caption(names: list[str], item: dict[str, Any]) -> str:
    """`true A → predicted B (87%)` for a gallery item (plain text)."""
    return f"true {names[item['true']]} → predicted {names[item['pred']]} ({item['confidence']:.0%})"
