"""Template: the text standardisation, exactly as Layerlab's (`fit_text` itself is copied from the engine).

A copy of the private `layerlab.prep.text._standardize`; tests/engine/test_codegen_templates.py
asserts the same answer for every setting.
"""

from __future__ import annotations

# ---- the script starts here ----


def _standardize(prep) -> str | None:
    """TextVectorization's `standardize` for the project's lowercase/punctuation settings."""
    if prep.lowercase and prep.strip_punctuation:
        return "lower_and_strip_punctuation"
    if prep.lowercase:
        return "lower"
    if prep.strip_punctuation:
        return "strip_punctuation"
    return None
