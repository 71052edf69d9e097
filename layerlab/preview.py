"""What the Prepare page shows before training, built on the very functions training uses, so a
preview cannot drift from what a run does: the split sizes, the text vocabulary's coverage, the
series' windows per part, and each augmentation's before/after.

Every function takes the project's table (`df`) and spec; the page caches their results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from layerlab.prep.prepare import (drop_missing_target, labels, series_columns, text_rows, training_split)
from layerlab.spec import ProjectSpec, StepSpec

TEXT_FIT_SAMPLE = 5_000
HELDOUT_SAMPLE = 2_000
MAX_WINDOW_VALUES = 20_000_000  # above this many numbers, window counts are worked out without cutting them


def usable_steps(spec: ProjectSpec) -> list[StepSpec]:
    """The project's augmentation steps that apply to its kind of data (others are flagged on the page)."""
    from layerlab.prep.augment import AUGMENTATIONS

    kind = spec.data.kind
    return [s for s in spec.prepare.augment if kind in AUGMENTATIONS.get(s.type).meta.get("kinds", (kind,))]


def _rows(df: pd.DataFrame, spec: ProjectSpec) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None]:
    """The rows training keeps (with a target, and a text for text data), their texts and class indices."""
    d = spec.data
    df = drop_missing_target(df, d.target, [])
    texts = None
    if d.kind == "text":
        df, texts = text_rows(df, d.text, [])
    y = labels(df[d.target], d.target)[0] if d.task == "classification" else None
    return df, texts, y


def split_sizes(df: pd.DataFrame, spec: ProjectSpec) -> dict[str, int]:
    """Rows (or texts) in training, validation and test of a table or text project, as training splits them."""
    rows, _, y = _rows(df, spec)
    return training_split(len(rows), spec, y).sizes()


@dataclass(frozen=True)
class TextSample:
    """A vocabulary fitted on a sample of the training texts, that sample, and unseen validation texts."""

    fit: Any
    sample: np.ndarray
    heldout: np.ndarray


def text_sample(df: pd.DataFrame, spec: ProjectSpec) -> TextSample:
    """fit_text on a random sample of the training texts (the split training uses)."""
    from layerlab.prep.text import fit_text

    _, texts, y = _rows(df, spec)
    split = training_split(len(texts), spec, y)
    rng = np.random.default_rng(0)
    train, val = texts[split.train], texts[split.validation]
    sample = train[np.sort(rng.choice(len(train), size=min(TEXT_FIT_SAMPLE, len(train)), replace=False))]
    heldout = val[np.sort(rng.choice(len(val), size=min(HELDOUT_SAMPLE, len(val)), replace=False))]
    return TextSample(fit_text(sample, spec.prepare.text), sample, heldout)


def text_coverage(ts: TextSample) -> dict[str, Any]:
    """Vocabulary size, its coverage of the training sample and of unseen (validation) texts, and notes."""
    from layerlab.prep.text import vectorize

    ids = vectorize(ts.fit.vectorizer, ts.heldout) if len(ts.heldout) else np.zeros((0, 1), "int32")
    words = int((ids > 0).sum())
    unseen = float(1 - (ids == 1).sum() / words) if words else 0.0
    cut = float(np.mean(ids[:, -1] > 0)) if len(ids) else 0.0
    return {"vocab": int(ts.fit.vocab_size), "coverage": float(ts.fit.coverage), "heldout": unseen, "cut": cut,
            "sample": int(len(ts.sample)), "notes": list(ts.fit.notes)}


def _words(ids: np.ndarray, vocab: list[str], before: np.ndarray | None = None) -> str:
    """Token ids as words; a word blanked by augmentation shows as ▢, padding is left out."""
    out = []
    for k, i in enumerate(ids.tolist()):
        if i == 0:
            if before is not None and before[k] != 0:
                out.append("▢")
            continue
        out.append(str(vocab[i]) if i < len(vocab) else "[UNK]")
    return " ".join(out)


def text_augmented(ts: TextSample, steps: list[StepSpec], seed: int, k: int = 4) -> pd.DataFrame:
    """A few training texts as the word sequences the model reads, before and after the augmentation."""
    from layerlab.prep.augment import preview_arrays
    from layerlab.prep.text import vectorize

    rng = np.random.default_rng(seed)
    picked = ts.sample[rng.choice(len(ts.sample), size=min(k, len(ts.sample)), replace=False)]
    ids = vectorize(ts.fit.vectorizer, picked)
    after = preview_arrays(ids, steps, seed=seed) if steps else ids
    vocab = [str(w) for w in ts.fit.vectorizer.get_vocabulary()]
    rows = [{"as the model reads it": _words(b, vocab), "after augmentation": _words(a, vocab, b)}
            for b, a in zip(ids, np.asarray(after).astype("int64"))]
    return pd.DataFrame(rows, columns=["as the model reads it", "after augmentation"])


def table_rows(df: pd.DataFrame, spec: ProjectSpec, info: Any, steps: list[StepSpec], seed: int,
               k: int = 5) -> dict[str, Any]:
    """A few rows: raw numbers, the prepared numbers (filled, scaled as `info`'s columns say) and the
    same after augmentation."""
    from layerlab.prep.augment import preview_arrays

    numeric = [c for c in info.extra["columns"] if c["type"] == "numeric"]
    if not numeric:
        return {"numeric": 0}
    target = spec.data.target
    pool = df[df[target].notna()] if target in df.columns else df
    rows = pool.sample(n=min(k, len(pool)), random_state=seed)
    raw = pd.DataFrame({c["name"]: pd.to_numeric(rows[c["name"]], errors="coerce") for c in numeric})
    prepared = pd.DataFrame({c["name"]: (raw[c["name"]].fillna(c["fill"]) - c["center"]) / c["spread"]
                             for c in numeric})
    after = prepared
    if steps:
        values = preview_arrays(prepared.to_numpy(dtype="float32"), steps, info=info, seed=seed)
        after = pd.DataFrame(np.asarray(values)[:, : len(numeric)], columns=prepared.columns)
    index = [f"row {i + 1}" for i in rows.index]
    for frame in (raw, prepared, after):
        frame.index = index
    return {"numeric": len(numeric), "raw": raw, "prepared": prepared.round(3), "after": after.round(3),
            "steps": bool(steps)}


def series_plan(df: pd.DataFrame, spec: ProjectSpec, examples: int = 6) -> dict[str, Any]:
    """Windows per part, where the parts start, the filled series (for the chart) and a few training windows.

    Raises DataError when the window, horizon and split do not fit the series (as training would).
    """
    from layerlab.data.series import fill_gaps, prepare_series
    from layerlab.prep.series import make_windows, window_parts

    prep, split = spec.prepare.series, spec.prepare.split
    features, targets = series_columns(df, spec)
    sf = fill_gaps(prepare_series(df, spec.data.date, features), prep.fill)
    frame = sf.frame
    if frame[features].isna().to_numpy().any():
        frame = frame.dropna(subset=features).reset_index(drop=True)
    values = frame[features].to_numpy(dtype="float64")
    n = len(values)
    target_idx = [features.index(t) for t in targets]
    picked: list[dict[str, Any]] = []
    if n * prep.window * len(features) <= MAX_WINDOW_VALUES:
        win = make_windows(values, target_idx, prep, split)
        parts, bounds = win.parts, tuple(int(b) for b in win.bounds)
        rng = np.random.default_rng(0)
        train = win.parts["train"]
        for i in rng.choice(train, size=min(examples, len(train)), replace=False):
            picked.append({"x": win.x[i].tolist(), "y": win.y[i].tolist(), "start": int(win.start[i])})
    else:
        _, parts, bounds = window_parts(n, prep, split)
    sizes = {k: int(len(v)) for k, v in parts.items()}
    keep = np.unique(np.linspace(0, n - 1, min(n, 4000)).round().astype("int64")) if n else np.arange(0)
    x = frame[spec.data.date].iloc[keep].tolist() if spec.data.date else keep.tolist()
    return {"n": n, "sizes": sizes, "bounds": bounds, "features": features, "targets": targets,
            "target_idx": target_idx, "examples": picked, "notes": list(sf.notes),
            "x": x, "pos": keep.tolist(), "y": frame[targets[0]].iloc[keep].astype("float64").tolist(),
            "x_bounds": [frame[spec.data.date].iloc[b] if spec.data.date else b for b in bounds]}


def series_augmented(window: list[list[float]], steps: list[StepSpec], seed: int) -> list[list[float]]:
    """One window after one random draw of the augmentation."""
    from layerlab.prep.augment import preview_arrays

    x = np.asarray(window, dtype="float32")[None]
    return np.asarray(preview_arrays(x, steps, seed=seed))[0].tolist()


def image_split_sizes(spec: ProjectSpec) -> dict[str, int]:
    """How many images land in training, validation and test, as training splits them."""
    from layerlab.data.images import open_images

    src = open_images(spec.data.source)
    return training_split(len(src), spec, src.labels).sizes()


def image_examples(spec: ProjectSpec, seed: int, classes: int = 4, variants: int = 4) -> list[tuple[str, list[Any]]]:
    """(class name, [prepared image, variant 1, …]) for one training image of each of a few classes."""
    from layerlab.data.images import open_images
    from layerlab.errors import LayerlabError
    from layerlab.prep import augment

    prep, steps = spec.prepare.image, usable_steps(spec)
    src = open_images(spec.data.source)
    train = training_split(len(src), spec, src.labels).train
    rng = np.random.default_rng(seed)
    shown = list(range(len(src.class_names)))
    shown = shown[::max(1, len(shown) // classes)][:classes]
    picked, images = [], []
    for k in shown:
        candidates = train[src.labels[train] == k]
        for i in rng.permutation(candidates)[:5]:  # a few tries past unreadable files
            try:
                images.append(src.decode(int(i), prep))
            except LayerlabError:
                continue
            picked.append(src.class_names[k])
            break
    if not steps:
        return [(name, [img]) for name, img in zip(picked, images)]
    made = augment.preview(images, steps, rescale=prep.rescale, variants=variants, seed=seed)
    return [(name, [img, *vs]) for name, img, vs in zip(picked, images, made)]


def image_overview(source: str, per_class: int = 6) -> dict[str, Any]:
    """What the Data page shows about an image source: images per class (unreadable ones left out),
    a few examples per class and the files skipped, each with its reason."""
    from layerlab.data.images import open_images

    src = open_images(source)
    unreadable: list[tuple[str, str]] = []  # fakes, truncated files, image bombs met while picking examples
    examples = src.examples(per_class=per_class, unreadable=unreadable)
    counts = src.counts()
    for name, _ in unreadable:
        counts[name.split("/", 1)[0]] -= 1
    return {
        "name": src.name,
        "description": src.description,
        "images": len(src) - len(unreadable),
        "classes": list(src.class_names),
        "counts": counts,
        "examples": examples,
        "skipped": list(src.skipped) + unreadable,
    }
