"""Template: the text standardisation, exactly as Layerlab's (`fit_text` itself is copied from the engine).

A copy of the private `layerlab.prep.text._standardize`; tests/engine/test_codegen_templates.py
asserts the same answer for every setting. `STANDARDIZERS` comes from the copy of
`layerlab/prep/layers.py` that the script carries (control and line-break characters become spaces,
so the saved vocabulary loads whatever the texts held).
"""

from __future__ import annotations

from layerlab.prep.layers import STANDARDIZERS

# ---- the script starts here ----


def _standardize(prep):
    """TextVectorization's `standardize` for the project's lowercase/punctuation settings."""
    return STANDARDIZERS[(bool(prep.lowercase), bool(prep.strip_punctuation))]
