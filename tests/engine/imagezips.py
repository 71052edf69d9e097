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


# ---- hostile zips (tests of the upload checks) ------------------------------------------------------------


def zip_bytes(files: dict[str | zipfile.ZipInfo, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip in memory; a key may be a ZipInfo (e.g. from `symlink_entry`) to set its attributes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def class_zip_bytes(tmp: Path, classes: int = 2, per_class: int = 4, extras: dict[str, bytes] | None = None) -> bytes:
    """`make_class_zip` as bytes (small images, for uploads in page tests)."""
    return make_class_zip(tmp / "classes.zip", classes=classes, per_class=per_class, size=16, extras=extras).read_bytes()


def bomb_zip(megabytes: int, name: str = "a/zeros.png") -> bytes:
    """`megabytes` of zeros, deflated to about a thousandth of that: a zip bomb in miniature."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open(name, "w") as f:
            block = b"\0" * (1 << 20)
            for _ in range(megabytes):
                f.write(block)
    return buf.getvalue()


def symlink_entry(name: str) -> zipfile.ZipInfo:
    """A zip entry that unzip tools would create as a symbolic link (its data is the link's target)."""
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o120777 << 16
    return info


def mark_encrypted(data: bytes) -> bytes:
    """Set the 'encrypted' flag of every entry, in its local and central headers, as password tools do."""
    raw = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = raw.find(sig)
        while i != -1:
            raw[i + offset] |= 0x1
            i = raw.find(sig, i + 4)
    return bytes(raw)


def lie_about_sizes(data: bytes, size: int = 100) -> bytes:  # size < 4 GiB (a 32-bit field)
    """Rewrite every central-directory entry to claim `size` uncompressed bytes (a bomb that hides its size)."""
    import struct

    raw = bytearray(data)
    i = raw.find(b"PK\x01\x02")
    while i != -1:
        struct.pack_into("<I", raw, i + 24, size)
        i = raw.find(b"PK\x01\x02", i + 4)
    return bytes(raw)
