"""Template: an image sample's data, from the sample's own loader (copied in just above)."""

from __future__ import annotations

import numpy as np

from layerlab.codegen.templates.generated import sample_loader
from layerlab.codegen.templates.images import _resize_array
from layerlab.codegen.templates.project import SPEC

# ---- the script starts here ----
SAMPLE_LOADER = sample_loader


def load_data(source: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The bundled sample, resized and converted as the project says."""
    images, labels, class_names = SAMPLE_LOADER()
    return np.stack([_resize_array(a, SPEC.prepare.image) for a in images]), labels, class_names
