"""How a run uses its devices: the precision policy, XLA, steps per call, and the batch size and learning
rate scaled for several replicas (MirroredStrategy) or the fast-GPU profile. Pure rules, no TensorFlow:
the trainer applies the plan, the Train page explains it, the tests check it on a CPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

FAST_BATCH_FACTOR = 4  # the fast-GPU profile's larger batch
FAST_STEPS_PER_EXECUTION = 16
MAX_BATCH = 4096  # TrainSpec.batch_size's limit


@dataclass(frozen=True)
class SpeedPlan:
    """What the trainer sets: `batch_size` is the global batch (all replicas together)."""

    policy: str = "float32"  # a Keras dtype policy
    jit_compile: bool | None = None  # None: leave Keras' own choice (on a CPU); on a GPU: the `xla` setting
    steps_per_execution: int = 1
    batch_size: int = 32
    learning_rate: float = 1e-3
    replicas: int = 1
    notes: list[str] = field(default_factory=list)


def lr_scale(factor: float, optimizer: str) -> float:
    """The learning rate's factor for a batch `factor` times larger: linear for SGD (Goyal et al. 2017),
    the square root for the adaptive optimizers (Adam, AdamW, RMSprop), whose steps are already normalised."""
    return factor if optimizer == "sgd" else math.sqrt(factor)


def plan(train: Any, gpus: int, replicas: int = 1) -> SpeedPlan:
    """The plan for a run's `train` settings on a machine with `gpus` GPUs and `replicas` model copies.

    Several replicas: each one takes the spec's batch, so the global batch is `replicas` times larger and
    the learning rate is scaled to match. The fast-GPU profile applies wherever it is asked for (on a CPU
    too, where it is slower but correct); plain `mixed_precision`/`xla` act only on a GPU, as before.
    """
    notes: list[str] = []
    factor = max(1, replicas)
    policy, jit, steps = "float32", bool(train.xla) if gpus else None, train.steps_per_execution
    if train.fast_gpu:
        factor *= FAST_BATCH_FACTOR
        policy, jit, steps = "mixed_bfloat16", True, max(steps, FAST_STEPS_PER_EXECUTION)
        if not gpus:
            notes.append("The fast-GPU profile is on but there is no GPU: it trains correctly, usually slower.")
    else:
        if train.mixed_precision:
            if gpus:
                policy = "mixed_float16"
            else:
                notes.append("Mixed precision was asked for but needs a GPU; training in float32.")
    batch = min(MAX_BATCH, train.batch_size * factor)
    scaled = batch / train.batch_size
    lr = min(1.0, train.learning_rate * lr_scale(scaled, train.optimizer))
    if scaled > 1:
        why = " and ".join(w for w, on in ((f"{replicas} replicas", replicas > 1), ("the fast-GPU profile", train.fast_gpu)) if on)
        notes.append(f"Batch {train.batch_size} → {batch} for {why}; learning rate {train.learning_rate:g} → {lr:.3g} "
                     f"({'linear' if train.optimizer == 'sgd' else 'square-root'} scaling).")
    return SpeedPlan(policy=policy, jit_compile=jit, steps_per_execution=int(steps), batch_size=int(batch),
                     learning_rate=float(lr), replicas=max(1, replicas), notes=notes)
