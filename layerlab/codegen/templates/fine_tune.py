"""Template: phase 2 of two-phase fine-tuning, as `layerlab.train.phases.start_phase_2` begins it.

The rule for what phase 2 unfreezes is the engine's own public code (`weight_layers`, `unfreeze_top`,
`describe_unfrozen`, `planned`), copied into the script beside this; only this starter is a template.
"""

from __future__ import annotations

import keras

from layerlab.codegen.templates.generated import compile_model
from layerlab.codegen.templates.project import SPEC
from layerlab.train.phases import describe_unfrozen, unfreeze_top

# ---- the script starts here ----
_NAMES_SHOWN = 6  # how many unfrozen layers the message names (layerlab.train.phases)


def start_phase_2(train_model: keras.Model, core: keras.Model, done: int) -> float:
    """Unfreeze the top `fine_tune_layers` weight-holding layers of the frozen part (batch normalisation stays
    frozen) and compile again at the learning rate times `fine_tune_lr_factor`; returns that rate."""
    t = SPEC.train
    names = unfreeze_top(core, t.fine_tune_layers)
    rate = t.learning_rate * t.fine_tune_lr_factor
    compile_model(train_model, rate)  # a new optimizer, at the lower rate
    frozen_norm = any(isinstance(sub, keras.layers.BatchNormalization) and not sub.trainable
                      for sub in core._flatten_layers(include_self=False))
    what = describe_unfrozen(names, t.fine_tune_layers) + ("; batch normalisation stays frozen" if frozen_norm else "")
    print(f"Phase 2 (fine-tuning) starts after epoch {done}: unfroze {what}; learning rate {rate:.3g} "
          f"(× {t.fine_tune_lr_factor:g}).")
    return rate
