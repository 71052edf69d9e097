"""Template: a table sample's data, from the sample's own loader (copied in just above)."""

from __future__ import annotations

import pandas as pd

from layerlab.codegen.templates.generated import sample_loader

# ---- the script starts here ----
SAMPLE_LOADER = sample_loader


def load_data(source: str) -> pd.DataFrame:
    """The bundled sample (its own loader, above)."""
    return SAMPLE_LOADER()
