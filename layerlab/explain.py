"""Why did the model decide that? Occlusion explanations that work for any model and backend.

Images: cover one patch at a time and see how much the predicted class's probability
drops — the regions that matter light up. Text: remove one word at a time. Table rows: set
one column at a time to its typical training value (median or most frequent category).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def image_occlusion(predictor: Any, image: np.ndarray, target: int | None = None, patch: int | None = None) -> dict[str, Any]:
    """A heat map (H, W) in [0, 1] of how much hiding each region lowers the class's probability.

    `image` is uint8 at the model's size (as Predictor.prepare_image returns it).
    """
    h, w = image.shape[:2]
    patch = patch or max(1, min(h, w) // 6)
    stride = max(1, patch // 2)
    base = predictor.predict_images([image])[0]
    names = predictor.info.class_names
    k = names.index(base["label"]) if target is None else int(target)
    fill = np.full_like(image, int(np.median(image)))
    covered, spots = [], []
    for y in range(0, max(1, h - patch + 1), stride):
        for x in range(0, max(1, w - patch + 1), stride):
            img = image.copy()
            img[y:y + patch, x:x + patch] = fill[y:y + patch, x:x + patch]
            covered.append(img)
            spots.append((y, x))
    drops = np.zeros((h, w), dtype="float64")
    counts = np.zeros((h, w), dtype="float64")
    p0 = base["probabilities"][names[k]]
    for start in range(0, len(covered), 256):
        results = predictor.predict_images(covered[start:start + 256])
        for (y, x), r in zip(spots[start:start + 256], results):
            drops[y:y + patch, x:x + patch] += p0 - r["probabilities"][names[k]]
            counts[y:y + patch, x:x + patch] += 1
    heat = np.clip(drops / np.maximum(counts, 1), 0, None)
    if heat.max() > 0:
        heat = heat / heat.max()
    return {"heat": heat, "class": names[k], "probability": p0}


def text_occlusion(predictor: Any, text: str, target: int | None = None, limit: int = 60) -> dict[str, Any]:
    """Each word's effect: how much removing it changes the predicted class's probability (+ = supports it)."""
    words = text.split()[:limit]
    base = predictor.predict_texts([text])[0]
    names = predictor.info.class_names
    k = names.index(base["label"]) if target is None else int(target)
    variants = [" ".join(words[:i] + words[i + 1:]) for i in range(len(words))]
    results = predictor.predict_texts(variants) if variants else []
    p0 = base["probabilities"][names[k]]
    effects = [{"word": w, "effect": float(p0 - r["probabilities"][names[k]])} for w, r in zip(words, results)]
    return {"class": names[k], "probability": p0, "words": effects}


def row_effects(predictor: Any, row: dict[str, Any], target: int | None = None) -> dict[str, Any]:
    """Each column's effect on one raw row's prediction: the prediction minus the prediction with that
    column set to its typical training value (+ = the row's value pushes towards the predicted class,
    or raises the predicted number). A column already at its typical value has no effect."""
    columns = predictor.info.extra["columns"]
    base = predictor.predict_rows([row])[0]
    classify = predictor.info.task == "classification"
    names = predictor.info.class_names if classify else None
    k = (names.index(base["label"]) if target is None else int(target)) if classify else None

    def score(r: dict[str, Any]) -> float:
        return float(r["probabilities"][names[k]]) if classify else float(r["value"])

    variants, changed = [], []
    for col in columns:
        name = col["name"]
        typical = col.get("default")
        if typical is None or _same(row.get(name), typical):
            continue
        variants.append({**row, name: typical})
        changed.append(col)
    results = predictor.predict_rows(variants) if variants else []
    s0 = score(base)
    effects = {c["name"]: s0 - score(r) for c, r in zip(changed, results)}
    out = [{"column": c["name"], "value": row.get(c["name"]), "typical": c.get("default"),
            "effect": float(effects.get(c["name"], 0.0))} for c in columns]
    return {"class": names[k] if classify else None, "score": s0, "task": predictor.info.task, "columns": out}


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.isclose(float(a), float(b)))
    except (TypeError, ValueError):
        return str(a) == str(b)


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The image (gray or RGB uint8) with the heat map laid over it in red, as uint8 RGB."""
    rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
    red = np.zeros_like(rgb, dtype="float64")
    red[..., 0] = 255
    a = (alpha * heat)[..., None]
    return np.clip(rgb * (1 - a) + red * a, 0, 255).astype("uint8")
