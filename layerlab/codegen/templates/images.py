"""Template: image decoding helpers, exactly as Layerlab's (`decode_image` itself is copied from the engine).

These copy private helpers of `layerlab.data.images`; tests/engine/test_codegen_templates.py
runs both on the same images and asserts the same pixels.
"""

from __future__ import annotations

import numpy as np

from layerlab.codegen.templates.project import limits

# ---- the script starts here ----


def _configure_pillow(max_pixels: int | None = None) -> None:
    from PIL import Image

    # Deliberate: Pillow warns above this and refuses at twice it; we refuse at it.
    Image.MAX_IMAGE_PIXELS = max_pixels or limits().image_pixels


def _to_mode(im, color: str | None):
    """Flatten transparency onto white and convert to L or RGB."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        hi = arr.max() or 1.0
        im = Image.fromarray(np.clip(arr / hi * 255.0, 0, 255).astype(np.uint8), "L")
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba).convert("RGB")
    target = {"grayscale": "L", "rgb": "RGB"}.get(color or "", None)
    if target is None:
        target = "L" if im.mode in ("1", "L") else "RGB"
    return im.convert(target) if im.mode != target else im


def _resize_array(img: np.ndarray, prep) -> np.ndarray:
    """An image array at the project's size and colour (already right: unchanged)."""
    from PIL import Image

    want_c = 1 if prep.color == "grayscale" else 3
    if img.shape[:2] == (prep.height, prep.width) and img.shape[2] == want_c:
        return img
    im = Image.fromarray(img[..., 0] if img.shape[2] == 1 else img)
    im = im.convert("L" if want_c == 1 else "RGB").resize((prep.width, prep.height), Image.Resampling.BILINEAR)
    arr = np.asarray(im, dtype=np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr
