"""Image classification data: a zip or folder of class folders, or a bundled sample.

`open_images` is cheap (lists files, reads headers lazily) and feeds the Data page;
`load_images` decodes, converts and resizes everything for training.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from layerlab.data.zipsafe import extract_zip
from layerlab.errors import DataError
from layerlab.samples import get_sample, sample_name
from layerlab.settings import home, limits
from layerlab.spec import ImagePrep

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
_IGNORED = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass
class ImageSource:
    """The images a source holds: files (or in-memory sample arrays) with their class."""

    name: str
    class_names: list[str]
    labels: np.ndarray
    files: list[Path] = field(default_factory=list)
    arrays: np.ndarray | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    description: str = ""

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self) -> dict[str, int]:
        c = Counter(self.labels.tolist())
        return {name: int(c.get(i, 0)) for i, name in enumerate(self.class_names)}

    def item_name(self, i: int) -> str:
        return self.files[i].name if self.files else f"{self.name} #{i}"

    def decode(self, i: int, prep: ImagePrep | None = None) -> np.ndarray:
        """One image as uint8 (H, W, C); resized and converted when `prep` is given."""
        if self.arrays is not None:
            img = self.arrays[i]
            return _resize_array(img, prep) if prep else img
        return decode_image(self.files[i], prep)

    def examples(self, per_class: int = 6, seed: int = 0,
                 unreadable: list[tuple[str, str]] | None = None) -> dict[str, list[tuple[int, np.ndarray]]]:
        """A few readable images per class, for the Data page's grid.

        Files met on the way that cannot be read are appended to `unreadable` as
        ("class/file", why), so the page can count them as skipped.
        """
        rng = np.random.default_rng(seed)
        out: dict[str, list[tuple[int, np.ndarray]]] = {}
        for k, name in enumerate(self.class_names):
            idx = np.flatnonzero(self.labels == k)
            rng.shuffle(idx)
            picked: list[tuple[int, np.ndarray]] = []
            for i in idx[: per_class * 3]:
                try:
                    picked.append((int(i), self.decode(int(i))))
                except DataError as exc:
                    if unreadable is not None:
                        unreadable.append((f"{name}/{self.files[int(i)].name}", exc.message))
                    continue
                if len(picked) == per_class:
                    break
            out[name] = picked
        return out

    def suggest_prep(self) -> ImagePrep:
        """Target size from the typical image (capped for speed), grayscale if the data is."""
        if self.arrays is not None:
            h, w, c = self.arrays.shape[1:]
            return ImagePrep(height=h, width=w, color="grayscale" if c == 1 else "rgb")
        from PIL import Image

        sizes, gray = [], 0
        sample = self.files[:: max(1, len(self.files) // 200)][:200]
        for f in sample:
            try:
                with Image.open(f) as im:
                    sizes.append(im.size)
                    gray += im.mode in ("1", "L", "LA", "I", "I;16", "F")
            except Exception:  # noqa: BLE001 - unreadable files are reported at load time
                continue
        if not sizes:
            return ImagePrep()
        w = int(np.median([s[0] for s in sizes]))
        h = int(np.median([s[1] for s in sizes]))
        scale = min(1.0, 64 / max(h, w))
        h, w = max(8, round(h * scale)), max(8, round(w * scale))
        return ImagePrep(height=h, width=w, color="grayscale" if gray == len(sizes) else "rgb")


@dataclass
class ImageData:
    """Decoded images ready for the pipeline: uint8 (N, H, W, C) and int labels."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    names: list[str]
    skipped: list[tuple[str, str]]
    source_indices: np.ndarray | None = None  # position of each loaded image in its ImageSource


def _configure_pillow() -> None:
    from PIL import Image

    # Deliberate: Pillow warns above this and refuses at twice it; we refuse at it.
    Image.MAX_IMAGE_PIXELS = limits().image_pixels


def decode_image(file, prep: ImagePrep | None = None) -> np.ndarray:
    """Read one image file (path, bytes or file object) into uint8 (H, W, C).

    Any mode is converted (transparency onto white, palette, 16-bit); animated images
    use their first frame. Raises DataError for anything that is not a readable image.
    """
    import io

    from PIL import Image, ImageOps, UnidentifiedImageError

    _configure_pillow()
    if isinstance(file, (bytes, bytearray)):
        file = io.BytesIO(file)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as im:
                if im.size[0] * im.size[1] > limits().image_pixels:
                    raise DataError(f"the image is {im.size[0]}×{im.size[1]} pixels, over the limit of {limits().image_pixels:,}.")
                im.seek(0)
                im = ImageOps.exif_transpose(im)
                im = _to_mode(im, (prep.color if prep else None))
                if prep is not None:
                    im = im.resize((prep.width, prep.height), Image.Resampling.BILINEAR)
                arr = np.asarray(im, dtype=np.uint8)
    except DataError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"the image has more pixels than the limit of {limits().image_pixels:,}.") from None
    except UnidentifiedImageError:
        raise DataError("it is not an image we can read.") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise DataError(f"the image is damaged or truncated ({exc}).") from None
    if arr.ndim == 2:
        arr = arr[..., None]
    return arr


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


def _resize_array(img: np.ndarray, prep: ImagePrep) -> np.ndarray:
    from PIL import Image

    want_c = 1 if prep.color == "grayscale" else 3
    if img.shape[:2] == (prep.height, prep.width) and img.shape[2] == want_c:
        return img
    im = Image.fromarray(img[..., 0] if img.shape[2] == 1 else img)
    im = im.convert("L" if want_c == 1 else "RGB").resize((prep.width, prep.height), Image.Resampling.BILINEAR)
    arr = np.asarray(im, dtype=np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr


def _class_root(root: Path) -> Path:
    """Descend through single wrapper folders (`dataset/cats/…` → `dataset`)."""
    while True:
        entries = [p for p in root.iterdir() if p.name not in _IGNORED and not p.name.startswith(".")]
        dirs = [p for p in entries if p.is_dir()]
        files = [p for p in entries if p.is_file()]
        if len(dirs) == 1 and not files and any(p.is_dir() for p in dirs[0].iterdir()):
            root = dirs[0]
            continue
        return root


def _extracted_folder(zip_path: Path) -> Path:
    """Unzip once per distinct file content, into Layerlab's cache."""
    h = hashlib.sha256()
    with open(zip_path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    dest = home() / "extracted" / h.hexdigest()[:20]
    marker = dest / ".layerlab-complete"
    if not marker.exists():
        _, skipped = extract_zip(zip_path, dest)
        marker.write_text("\n".join(f"{n}\t{r}" for n, r in skipped), encoding="utf-8")
    return dest


def _zip_skips(folder: Path) -> list[tuple[str, str]]:
    marker = folder / ".layerlab-complete"
    if not marker.exists():
        return []
    lines = [ln for ln in marker.read_text(encoding="utf-8").splitlines() if ln]
    return [tuple(ln.split("\t", 1)) for ln in lines]  # type: ignore[misc]


def open_images(source: str) -> ImageSource:
    """List the images of a source: `sample:NAME`, a .zip of class folders, or such a folder.

    Raises DataError when there are no images, or fewer than two classes.
    """
    name = sample_name(source)
    if name is not None:
        sample = get_sample(name)
        if sample.kind != "images":
            raise DataError(f"The sample `{name}` holds {sample.kind}, not images.")
        arrays, labels, classes = sample.load()
        return ImageSource(sample.title, classes, labels, arrays=arrays, description=sample.description)
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"There is no file or folder at {path}.", "Check the path.")
    skipped: list[tuple[str, str]] = []
    if path.is_file():
        if path.suffix.lower() != ".zip":
            raise DataError(f"{path.name} is not a zip file.",
                            "Upload a .zip holding one folder per class (e.g. cats/…, dogs/…).")
        folder = _extracted_folder(path)
        skipped += _zip_skips(folder)
    else:
        folder = path
    root = _class_root(folder)
    classes: dict[str, list[Path]] = {}
    for f in sorted(root.rglob("*")):
        rel = f.relative_to(root)
        if any(part in _IGNORED or part.startswith(".") for part in rel.parts) or not f.is_file():
            continue
        if len(rel.parts) < 2:
            skipped.append((str(rel), "it is not inside a class folder"))
            continue
        if f.suffix.lower() not in IMAGE_EXTENSIONS:
            skipped.append((str(rel), f"{f.suffix or 'no extension'} is not an image type we read"))
            continue
        classes.setdefault(rel.parts[0], []).append(f)
    if not classes:
        raise DataError("No images found: the data holds no PNG, JPEG, BMP, GIF or WebP files inside class folders.",
                        "Put each class's images in a folder named after the class (cats/…, dogs/…) and zip those folders.")
    if len(classes) < 2:
        only = next(iter(classes))
        raise DataError(f"Only one class was found (`{only}`); a classifier needs at least two.",
                        "Add a folder of images for each other class.")
    total = sum(len(v) for v in classes.values())
    if total > limits().images:
        raise DataError(f"The data holds {total:,} images; the limit is {limits().images:,}.",
                        "Use a subset, or raise LAYERLAB_IMAGES.")
    names = sorted(classes)
    files = [f for c in names for f in classes[c]]
    labels = np.array([k for k, c in enumerate(names) for _ in classes[c]], dtype="int64")
    return ImageSource(path.stem, names, labels, files=files, skipped=skipped)


def load_images(src: ImageSource, prep: ImagePrep, progress=None) -> ImageData:
    """Decode every image at the target size and colour; unreadable ones are skipped and counted."""
    if src.arrays is not None:
        images = np.stack([_resize_array(a, prep) for a in src.arrays]) if len(src) else src.arrays
        return ImageData(images, src.labels.copy(), list(src.class_names), [src.item_name(i) for i in range(len(src))], [],
                         np.arange(len(src)))
    c = 1 if prep.color == "grayscale" else 3
    images = np.empty((len(src), prep.height, prep.width, c), dtype=np.uint8)
    keep: list[int] = []
    skipped = list(src.skipped)
    for i, f in enumerate(src.files):
        try:
            images[len(keep)] = decode_image(f, prep)
            keep.append(i)
        except DataError as exc:
            skipped.append((f.name, exc.message))
        if progress and i % 200 == 0:
            progress(i / len(src.files))
    labels = src.labels[keep]
    counts = np.bincount(labels, minlength=len(src.class_names))
    if len(keep) == 0:
        raise DataError("None of the images could be read.", "Check that the files are real PNG/JPEG images.")
    if (counts > 0).sum() < 2:
        raise DataError("After skipping unreadable files only one class has images.", "Add readable images for at least two classes.")
    return ImageData(images[: len(keep)], labels, list(src.class_names), [src.files[i].name for i in keep], skipped,
                     np.asarray(keep, dtype="int64"))
