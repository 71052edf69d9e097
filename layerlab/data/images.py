"""Image classification data: a zip or folder of class folders, or a bundled sample.

`open_images` is cheap (lists files, reads headers lazily) and feeds the Data page: a zip is
unpacked once per content under workspace.extracted_dir() and its listing kept there. `image_cache.load_images`
decodes, converts and resizes everything for training, once per preparation, into a .npy on
disk beside it; a set larger than LAYERLAB_IMAGE_MEMORY_MB stays there (ImageRows) and
training reads it batch by batch.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import threading
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable

import numpy as np

from layerlab.data.zipsafe import extract_zip
from layerlab.errors import DataError
from layerlab.samples import get_sample
from layerlab.settings import limits
from layerlab.spec import ImagePrep
from layerlab.workspace import Source, extracted_dir, image_cache_dir

# progress(fraction done, what is happening in words): how long steps report to the page or the run.
Progress = Callable[[float, str], None]

PHOTO_SIDE = 96  # pictures at least this many pixels on the short side, in colour, count as photos
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
    cache_dir: Path | None = None  # where load_images keeps the decoded images
    signature: str = ""  # what the cache depends on; "" for a folder, whose files are signed when loading

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
            return resize_array(img, prep) if prep else img
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

    def typical_size(self) -> tuple[int, int, bool] | None:
        """(height, width, grayscale) of the typical image (medians over up to 200 files); None when none reads."""
        if self.arrays is not None:
            h, w, c = self.arrays.shape[1:]
            return int(h), int(w), c == 1
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
            return None
        return int(np.median([s[1] for s in sizes])), int(np.median([s[0] for s in sizes])), gray == len(sizes)

    def suggest_prep(self) -> ImagePrep:
        """Target size from the typical image (capped for speed), grayscale if the data is."""
        typical = self.typical_size()
        if typical is None:
            return ImagePrep()
        h, w, gray = typical
        if self.arrays is None:
            scale = min(1.0, 64 / max(h, w))
            h, w = max(8, round(h * scale)), max(8, round(w * scale))
        return ImagePrep(height=h, width=w, color="grayscale" if gray else "rgb")

    def looks_like_photos(self) -> bool:
        """Colour pictures of a camera's size (at least PHOTO_SIDE pixels on the short side): what a network
        pretrained on ImageNet's photos helps with, unlike small or grayscale images such as digits."""
        typical = self.typical_size()
        return typical is not None and not typical[2] and min(typical[:2]) >= PHOTO_SIDE


@dataclass
class ImageData:
    """Decoded images ready for the pipeline: uint8 (N, H, W, C) and int labels.

    `images` is an array in memory, or ImageRows reading from the disk cache for a large set.
    """

    images: Any
    labels: np.ndarray
    class_names: list[str]
    names: list[str]
    skipped: list[tuple[str, str]]
    source_indices: np.ndarray | None = None  # position of each loaded image in its ImageSource
    hashes: np.ndarray | None = None  # a 12-byte hash of each decoded image (finds duplicates)
    from_cache: bool = False  # the decoded images were already on disk
    cache: Path | None = None  # the .npy they are in


def _configure_pillow(max_pixels: int | None = None) -> None:
    from PIL import Image

    # Deliberate: Pillow warns above this and refuses at twice it; we refuse at it.
    Image.MAX_IMAGE_PIXELS = max_pixels or limits().image_pixels


def decode_image(file, prep: ImagePrep | None = None, max_pixels: int | None = None) -> np.ndarray:
    """Read one image file (path, bytes or file object) into uint8 (H, W, C).

    Any mode is converted (transparency onto white, palette, 16-bit); animated images
    use their first frame. Raises DataError for anything that is not a readable image.
    `max_pixels` (default: the LAYERLAB_IMAGE_PIXELS limit) lets a loop over many files
    read the limit once.
    """
    import io

    from PIL import Image, ImageOps, UnidentifiedImageError

    max_pixels = max_pixels or limits().image_pixels
    _configure_pillow(max_pixels)
    if isinstance(file, (bytes, bytearray)):
        file = io.BytesIO(file)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as im:
                if im.size[0] * im.size[1] > max_pixels:
                    raise DataError(f"the image is {im.size[0]}×{im.size[1]} pixels, over the limit of {max_pixels:,}.")
                im.seek(0)
                im = ImageOps.exif_transpose(im)
                im = _to_mode(im, (prep.color if prep else None))
                if prep is not None:
                    im = im.resize((prep.width, prep.height), Image.Resampling.BILINEAR)
                arr = np.asarray(im, dtype=np.uint8)
    except DataError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"the image has more pixels than the limit of {max_pixels:,}.") from None
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


def resize_array(img: np.ndarray, prep: ImagePrep) -> np.ndarray:
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


# ---- zips: unpacked once, listed once -------------------------------------------------------------

_MARKER = ".layerlab-complete"
_INDEX = ".layerlab-index.json"
_INDEX_VERSION = 1
CACHE_FOLDER = ".layerlab-cache"  # where image_cache keeps an unpacked zip's decoded images


def _digest(path: Path) -> str:
    """The first 20 hex digits of the file's sha256, remembered per (path, size, mtime) in this process."""
    info = path.stat()
    return _content_digest(str(path.resolve()), info.st_size, info.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _content_digest(path: str, size: int, mtime_ns: int) -> str:
    """Keyed by size and mtime too, so a file replaced in place is hashed again."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()[:20]


def _folder_cache_dir(folder: Path) -> Path:
    """Where the decoded images of a folder source are cached (a folder can change: keyed by its path)."""
    return image_cache_dir() / hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:20]


def derived_folders(source: str | Path) -> list[Path]:
    """The folders Layerlab made from an image source (its unpacked zip, its decoded-image cache),
    whether or not they exist yet: what housekeeping must keep while the source is in use."""
    path = Path(source).expanduser()
    try:
        if path.is_file() and path.suffix.lower() == ".zip":
            return [extracted_dir() / _digest(path)]
        if path.is_dir():
            return [_folder_cache_dir(path)]
    except OSError:
        pass
    return []


def _extracted_folder(zip_path: Path, progress: Progress | None = None) -> Path:
    """Unzip once per distinct file content, into Layerlab's cache (workspace.extracted_dir()/<digest>).

    The zip is unpacked into a temporary folder beside that one, renamed when complete: a
    folder with the marker is always whole, even when two sessions unpack the same zip at
    once or an unpacking was cut off. With `progress`, the unpacking runs in a helper thread
    while this one reports progress(fraction, text) four times a second.
    """
    dest = extracted_dir() / _digest(zip_path)
    if (dest / _MARKER).exists():
        return dest
    tmp = dest.with_name(f".{dest.name}-{os.getpid()}-{threading.get_ident()}.part")
    try:
        skipped = _extract(zip_path, tmp, progress)
        (tmp / _MARKER).write_text("\n".join(f"{n}\t{r}" for n, r in skipped), encoding="utf-8")
        if dest.exists() and not (dest / _MARKER).exists():  # left over by an unpacking that was cut off
            shutil.rmtree(dest, ignore_errors=True)
        try:
            os.rename(tmp, dest)
        except OSError:
            if not (dest / _MARKER).exists():  # not just another session finishing first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _extract(zip_path: Path, dest: Path, progress: Progress | None) -> list[tuple[str, str]]:
    """extract_zip, reporting how far it got when `progress` is given; returns the skipped members."""
    if progress is None:
        return extract_zip(zip_path, dest)[1]
    import zipfile

    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    except Exception:  # noqa: BLE001 - extract_zip says in words what is wrong with the file
        names = []
    # Only plain relative names: the progress probe must not look outside the folder.
    names = [n for n in names if n and not n.startswith(("/", "\\")) and ".." not in n.replace("\\", "/").split("/")]
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["skipped"] = extract_zip(zip_path, dest)[1]
        except BaseException as exc:  # noqa: BLE001 - raised again in the calling thread
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="layerlab-unzip", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.25)
        if names and thread.is_alive():
            done = _members_written(dest, names)
            progress(done / len(names), f"Unpacking {len(names):,} files ({done:,} done)")
    if "error" in outcome:
        raise outcome["error"]
    if names:
        progress(1.0, f"Unpacked {len(names):,} files")
    return outcome["skipped"]


def _members_written(dest: Path, names: list[str]) -> int:
    """About how many of `names` (in the zip's order, which extract_zip follows) are on disk:
    a binary search for the last one that exists, a dozen stat calls however large the zip."""
    lo, hi = 0, len(names)
    while lo < hi:
        mid = (lo + hi) // 2
        if os.path.exists(os.path.join(dest, names[mid])):
            lo = mid + 1
        else:
            hi = mid
    return lo


def unpack_images(source: str, progress: Progress | None = None) -> None:
    """Unpack a zip source now (once per content), reporting progress(fraction, text); a no-op
    for folders, samples and zips already unpacked. The Data page calls this before opening an upload."""
    path = Path(source).expanduser()
    if not Source(str(source)).is_sample and path.is_file() and path.suffix.lower() == ".zip":
        _extracted_folder(path, progress)


def _zip_skips(folder: Path) -> list[tuple[str, str]]:
    marker = folder / _MARKER
    if not marker.exists():
        return []
    lines = [ln for ln in marker.read_text(encoding="utf-8").splitlines() if ln]
    return [tuple(ln.split("\t", 1)) for ln in lines]  # type: ignore[misc]


def _walk(root: Path) -> list[tuple[str, ...]]:
    """The relative parts of every file under `root`, sorted as sorted(root.rglob("*")) sorts them.

    Hidden and ignored folders are not entered (their files would be left out anyway), and
    links to folders are not followed, as rglob does not; os.scandir reads the entry types
    from the directory, so a large folder costs no stat call per file.
    """
    out: list[tuple[str, ...]] = []
    stack: list[tuple[str, tuple[str, ...]]] = [(str(root), ())]
    while stack:
        folder, parts = stack.pop()
        with os.scandir(folder) as entries:
            for e in entries:
                if e.name in _IGNORED or e.name.startswith("."):
                    continue
                if e.is_dir(follow_symlinks=False):
                    stack.append((e.path, (*parts, e.name)))
                elif e.is_file():
                    out.append((*parts, e.name))
    out.sort()
    return out


def _listing(root: Path) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """(class folder → relative paths of its images, skipped files with the reason) under `root`."""
    classes: dict[str, list[str]] = {}
    skipped: list[tuple[str, str]] = []
    for parts in _walk(root):
        rel = "/".join(parts)
        if len(parts) < 2:
            skipped.append((rel, "it is not inside a class folder"))
            continue
        suffix = PurePosixPath(parts[-1]).suffix
        if suffix.lower() not in IMAGE_EXTENSIONS:
            skipped.append((rel, f"{suffix or 'no extension'} is not an image type we read"))
            continue
        classes.setdefault(parts[0], []).append(rel)
    return classes, skipped


def _zip_listing(folder: Path) -> tuple[Path, dict[str, list[str]], list[tuple[str, str]]]:
    """`_listing` of an unpacked zip, kept in the folder (it never changes): a 60,000-image zip
    is listed once, not on every page that opens it."""
    index = folder / _INDEX
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
        if data.get("version") == _INDEX_VERSION:
            return folder / data["root"], data["classes"], [tuple(s) for s in data["skipped"]]  # type: ignore[misc]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    root = _class_root(folder)
    classes, skipped = _listing(root)
    tmp = index.with_name(f"{_INDEX}.{os.getpid()}-{threading.get_ident()}")
    try:
        tmp.write_text(json.dumps({"version": _INDEX_VERSION, "root": root.relative_to(folder).as_posix(),
                                   "classes": classes, "skipped": skipped}), encoding="utf-8")
        os.replace(tmp, index)
    except OSError:  # a read-only cache still lists, just not faster next time
        tmp.unlink(missing_ok=True)
    return root, classes, skipped


def open_images(source: str, progress: Progress | None = None) -> ImageSource:
    """List the images of a source: `sample:NAME`, a .zip of class folders, or such a folder.

    A zip is unpacked once per content (reporting progress(fraction, text) when given) and
    its listing kept beside it. Raises DataError when there are no images, or fewer than two classes.
    """
    name = Source(str(source)).sample
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
        folder = _extracted_folder(path, progress)
        skipped += _zip_skips(folder)
        root, classes, listed_skips = _zip_listing(folder)
        cache_dir, signature = folder / CACHE_FOLDER, folder.name  # an unpacked zip never changes
    else:
        root = _class_root(path)
        classes, listed_skips = _listing(root)
        cache_dir = _folder_cache_dir(path)
        signature = ""  # a folder can change: load_images signs its files' sizes and times
    skipped += listed_skips
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
    base = str(root) + os.sep
    files = [Path(base + rel) for c in names for rel in classes[c]]
    labels = np.array([k for k, c in enumerate(names) for _ in classes[c]], dtype="int64")
    return ImageSource(path.stem, names, labels, files=files, skipped=skipped, cache_dir=cache_dir,
                       signature=signature)
