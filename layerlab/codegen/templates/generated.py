"""Names the generator writes from the project itself; declared here so the templates import and lint.

None of this goes into a script: `layerlab.codegen.script` writes the real ones (the model
from `model_code`, the augmentation from the project's steps, a sample's own loader).
"""

from __future__ import annotations

from typing import Any

import keras


def build_model(input_shape: tuple = ()) -> keras.Model:
    """The core model (written by `layerlab.codegen.model_code`)."""
    raise NotImplementedError


def compile_model(model: keras.Model, learning_rate: float = 0.001) -> None:
    """Compiles with the project's optimizer (at its learning rate unless given), loss and metrics (written by
    `model_code`)."""
    raise NotImplementedError


def augmentation() -> list:
    """The project's augmentation layers (written from its steps)."""
    return []


def sample_loader() -> Any:
    """A bundled sample's own loader (copied from `layerlab.samples`)."""
    raise NotImplementedError


def load_data(source: str) -> Any:
    """The project's data (a template: `read_table`, `image_folder` or `sample_*`)."""
    raise NotImplementedError
