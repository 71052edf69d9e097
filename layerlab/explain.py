"""Why did the model decide that? Occlusion explanations that work for any model and backend.

Images: cover one patch at a time and see how much the predicted class's probability
drops — the regions that matter light up. Text: remove one word at a time.
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


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The image (gray or RGB uint8) with the heat map laid over it in red, as uint8 RGB."""
    rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
    red = np.zeros_like(rgb, dtype="float64")
    red[..., 0] = 255
    a = (alpha * heat)[..., None]
    return np.clip(rgb * (1 - a) + red * a, 0, 255).astype("uint8")
