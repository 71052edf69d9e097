"""Text preparation: a TextVectorization fitted on the training texts only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from layerlab.spec import TextPrep


@dataclass
class TextFit:
    vectorizer: Any
    vocab_size: int
    coverage: float
    notes: list[str]


def _standardize(prep: TextPrep) -> Any:
    """The model's own standardisation (saved with it): Keras' lower/strip_punctuation options, after
    control and line-break characters become spaces, so the saved vocabulary loads whatever the texts held."""
    from layerlab.prep.layers import STANDARDIZERS

    return STANDARDIZERS[(bool(prep.lowercase), bool(prep.strip_punctuation))]


def fit_text(texts: np.ndarray, prep: TextPrep) -> TextFit:
    """Adapt the vocabulary on `texts` (the training split) and measure how much of it is covered."""
    import keras

    vec = keras.layers.TextVectorization(
        max_tokens=prep.vocab_size, output_sequence_length=prep.sequence_length, standardize=_standardize(prep),
        ngrams=prep.ngrams if prep.ngrams > 1 else None, output_mode="int", name="vectorize",
    )
    vec.adapt(np.asarray(texts, dtype=object), batch_size=256)
    sample = np.asarray(texts[: 2000], dtype=object)
    ids = np.asarray(vec(sample))
    used = (ids > 0).sum()
    coverage = float(1 - (ids == 1).sum() / used) if used else 0.0
    truncated = float(np.mean((ids[:, -1] > 0))) if len(ids) else 0.0
    notes = [f"Vocabulary: {vec.vocabulary_size():,} words; they cover {coverage:.0%} of the words in the training texts."]
    if truncated > 0.2:
        notes.append(f"{truncated:.0%} of texts are longer than {prep.sequence_length} words and are cut; "
                     "raise the sequence length to keep more.")
    return TextFit(vec, int(vec.vocabulary_size()), coverage, notes)


def vectorize(vec: Any, texts: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Token ids for many texts, in batches (keeps memory flat)."""
    texts = np.asarray(texts, dtype=object)
    parts = [np.asarray(vec(texts[i:i + batch])) for i in range(0, len(texts), batch)]
    return np.concatenate(parts).astype("int32") if parts else np.zeros((0, vec._output_sequence_length), "int32")
