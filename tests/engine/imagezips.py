"""Generated image zips for tests: learnable classes, real encodings, mixed modes and sizes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

COLOURS = [(220, 40, 40), (40, 200, 40), (40, 60, 220), (230, 200, 30), (200, 40, 200), (30, 200, 210), (250, 130, 20), (120, 120, 120)]


def class_image(k: int, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """An RGB image whose class shows in colour and in the position of a bright square."""
    img = rng.integers(0, 60, size=(size, size, 3)).astype(np.uint8)
    colour = np.array(COLOURS[k % len(COLOURS)], dtype=np.int32)
    img = np.clip(img.astype(np.int32) + colour // 3, 0, 255).astype(np.uint8)
    q = size // 4
    r, c = divmod(k % 4, 2)
    y0, x0 = r * 2 * q + rng.integers(0, q // 2), c * 2 * q + rng.integers(0, q // 2)
    img[y0:y0 + q, x0:x0 + q] = np.clip(colour + rng.integers(-20, 20, 3), 0, 255)
    return img


def encode(img: np.ndarray, fmt: str, mode: str | None = None) -> bytes:
    from PIL import Image

    im = Image.fromarray(img)
    if mode:
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def make_class_zip(path: Path, classes: int = 8, per_class: int = 60, size: int = 48, seed: int = 0,
                   extras: dict[str, bytes] | None = None, wrapper: str = "") -> Path:
    """A zip of `classes` class folders, PNG and JPEG mixed, plus any `extras` (name → bytes)."""
    rng = np.random.default_rng(seed)
    formats = [("png", "PNG", None), ("jpg", "JPEG", None), ("bmp", "BMP", None), ("webp", "WEBP", None),
               ("png", "PNG", "RGBA"), ("gif", "GIF", "P"), ("png", "PNG", "L")]
    with zipfile.ZipFile(path, "w") as zf:
        for k in range(classes):
            for i in range(per_class):
                ext, fmt, mode = formats[i % len(formats)] if i % 5 == 0 else formats[i % 2]
                s = size if i % 7 else size + 8  # mixed sizes
                zf.writestr(f"{wrapper}class_{k}/img_{i:03d}.{ext}", encode(class_image(k, rng, s), fmt, mode))
        for name, data in (extras or {}).items():
            zf.writestr(name, data)
    return path
