"""Template: the weight penalty Layerlab's blocks use, exactly as `layerlab.models.blocks._l1l2`.

A copy of a private helper; tests/engine/test_codegen_templates.py asserts the same result.
"""

from __future__ import annotations

import keras

# ---- the script starts here ----


def _l1l2(l1: float, l2: float):
    """A weight penalty, or None when both strengths are zero (saves a no-op term)."""
    if not l1 and not l2:
        return None
    return keras.regularizers.L1L2(l1=l1, l2=l2)
