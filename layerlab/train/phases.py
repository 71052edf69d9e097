"""Two-phase fine-tuning: phase 1 trains what is not frozen, phase 2 unfreezes the frozen part's top layers.

Phase 1 is an ordinary fit in which the layers built with `LayerSpec.trainable=False` stay as they are
(batch normalisation inside them runs in inference mode). When `train.fine_tune_layers` > 0 and some layer
is frozen, phase 2 unfreezes the top `fine_tune_layers` weight-holding layers of the frozen part (inside a
block that is a whole model, such as a pretrained backbone, its own layers count), keeps every
BatchNormalization frozen (the Keras transfer-learning guide's advice: unfrozen, its statistics would be
re-estimated on a few small batches and wreck what the layers after it learnt), recompiles with the learning
rate times `fine_tune_lr_factor` and trains `fine_tune_epochs` more epochs.

history.json records each epoch's phase (its `phase` list, 1 or 2, one per epoch like `loss`): that is how
a continued run knows which phase it goes on in. This module imports Keras only inside its functions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from layerlab.spec import ProjectSpec

PHASE_2_LABEL = "phase 2: fine-tuning"
_NAMES_SHOWN = 6  # a backbone's unfrozen layers can be many: the log names the first few


def has_frozen(spec: ProjectSpec) -> bool:
    """Whether the model has a frozen layer (what makes the fine-tuning settings matter)."""
    return any(not layer.trainable for layer in spec.model.layers)


def planned(spec: ProjectSpec) -> bool:
    """Whether a run of `spec` has a phase 2: some layer is frozen and `train.fine_tune_layers` > 0."""
    return spec.train.fine_tune_layers > 0 and has_frozen(spec)


def phase_2_spec(spec: ProjectSpec) -> ProjectSpec:
    """The spec phase 2 trains with: the learning rate times `fine_tune_lr_factor`."""
    return spec.edit(**{"train.learning_rate": spec.train.learning_rate * spec.train.fine_tune_lr_factor})


def phase_2_start(history: dict[str, list[float]]) -> int | None:
    """Epochs done when phase 2 began (history.json's `phase` list), None when it has not begun."""
    phases = history.get("phase") or []
    return next((i for i, p in enumerate(phases) if p == 2), None)


def weight_layers(layer: Any) -> list[Any]:
    """The layers phase 2 counts inside `layer`, from the bottom: a model's own weight-holding layers,
    recursively, also for a layer that wraps models (a pretrained backbone with its input scaling); any
    other layer is one, when it holds weights. BatchNormalization never counts."""
    import keras

    if isinstance(layer, keras.Model):
        return [unit for sub in layer.layers for unit in weight_layers(sub)]
    models = [sub for sub in layer._flatten_layers(include_self=False, recursive=False) if isinstance(sub, keras.Model)]
    if models:
        return [unit for model in models for unit in weight_layers(model)]
    if isinstance(layer, keras.layers.BatchNormalization) or not layer.weights:
        return []
    return [layer]


def unfreeze_top(core: Any, n: int) -> list[str]:
    """Unfreeze the top `n` weight-holding layers of the core model's frozen part; returns their names, bottom first.

    The frozen part is the core's layers built frozen (call this on a freshly built model). Everything else in
    it stays frozen, batch normalisation included, also inside an unfrozen layer.
    """
    import keras

    frozen = [layer for layer in core.layers if not layer.trainable and layer.weights]
    units = [unit for layer in frozen for unit in weight_layers(layer)]
    chosen = units[-n:] if n > 0 else []
    picked, counted = {id(unit) for unit in chosen}, {id(unit) for unit in units}
    for layer in frozen:
        inside = list(layer._flatten_layers(include_self=True))  # Keras 3: the layer and all its sublayers
        if not any(id(sub) in picked for sub in inside):
            continue
        layer.trainable = True  # sets every sublayer too: freeze again what is not picked
        for sub in inside:
            if isinstance(sub, keras.layers.BatchNormalization) or (id(sub) in counted and id(sub) not in picked):
                sub.trainable = False
    return [unit.name for unit in chosen]


def describe_unfrozen(names: list[str], asked: int) -> str:
    """The log's words for what phase 2 unfroze."""
    shown = ", ".join(names[:_NAMES_SHOWN]) + (f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else "")
    if len(names) < asked:
        return (f"all {len(names)} weight-holding layer(s) of the frozen part ({shown}; {asked} were asked for)"
                if names else "nothing (the frozen part holds no weights outside batch normalisation)")
    return f"the top {len(names)} layer(s) of the frozen part ({shown})"


def start_phase_2(model: Any, core: Any, spec: ProjectSpec, compile_fn: Callable[[ProjectSpec], None],
                  log: Callable[[str], None], done: int, resumed: bool = False) -> ProjectSpec:
    """Unfreeze, recompile at the lower rate (a new optimizer) and say so in the log; returns phase 2's spec.

    `compile_fn(spec)` compiles `model` as phase 1 did; `done` is the epochs run before phase 2 began.
    Compiled in the model's distribution scope (a MirroredStrategy's scope cannot be entered twice).
    """
    import keras

    names = unfreeze_top(core, spec.train.fine_tune_layers)
    fine = phase_2_spec(spec)
    strategy = getattr(model, "distribute_strategy", None)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        compile_fn(fine)
    what = describe_unfrozen(names, spec.train.fine_tune_layers)
    frozen_norm = any(isinstance(sub, keras.layers.BatchNormalization) and not sub.trainable
                      for sub in core._flatten_layers(include_self=False))
    what += "; batch normalisation stays frozen" if frozen_norm else ""
    rate = f"learning rate {fine.train.learning_rate:.3g} (× {spec.train.fine_tune_lr_factor:g})"
    if resumed:
        log(f"Continuing phase 2 (fine-tuning, since epoch {done}): unfrozen {what}; {rate}.")
    else:
        log(f"Phase 2 (fine-tuning) starts after epoch {done}: unfroze {what}; {rate}, "
            f"up to {spec.train.fine_tune_epochs} epoch(s).")
    return fine
