"""Image classification data: a zip or folder of class folders, or a bundled sample.

`open_images` is cheap (lists files, reads headers lazily) and feeds the Data page: a zip is
unpacked once per content under workspace.extracted_dir() and its listing kept there. `load_images`
decodes, converts and resizes everything for training, once per preparation, into a .npy on
disk beside it; a set larger than LAYERLAB_IMAGE_MEMORY_MB stays there (ImageRows) and
training reads it batch by batch.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
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


# ---- zips: unpacked once, listed once -------------------------------------------------------------

_MARKER = ".layerlab-complete"
_INDEX = ".layerlab-index.json"
_INDEX_VERSION = 1


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
        cache_dir, signature = folder / _CACHE, folder.name  # an unpacked zip never changes
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


# ---- decoded once, kept on disk -------------------------------------------------------------------

_CACHE = ".layerlab-cache"
_CACHE_VERSION = 1


class ImageRows:
    """Decoded images in a .npy file on disk (uint8, N × H × W × C), read only when asked.

    What `Prepared.x` holds for an image set too large to keep in memory. Indexing with a
    slice or an array of positions gives another ImageRows (nothing is read); an integer
    gives one image; `take(positions)` reads those images into a new array, and
    `np.asarray(rows)` reads them all. Reads use `os.preadv` on the file (runs of
    consecutive rows in one call), not a memory map, so the process's resident memory
    holds the batch being read, not the pages of the file it has touched.
    """

    def __init__(self, path: str | Path, rows: np.ndarray | None = None, *, _header: tuple | None = None) -> None:
        self.path = Path(path)
        if _header is None:
            with open(self.path, "rb") as f:
                version = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, fortran, dtype = read(f)
                if fortran or dtype != np.uint8 or len(shape) != 4:
                    raise ValueError(f"{self.path} does not hold uint8 images")
                _header = (tuple(shape), f.tell())
        self._header = _header
        self.stored_shape, self.offset = _header
        self.rows = np.arange(self.stored_shape[0], dtype="int64") if rows is None else np.asarray(rows, dtype="int64")
        self._fd: int | None = None
        self._pid = 0
        self._lock = threading.Lock()

    dtype = np.dtype("uint8")
    ndim = 4

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.stored_shape[1:])

    @property
    def row_bytes(self) -> int:
        return int(np.prod(self.stored_shape[1:]))

    @property
    def nbytes(self) -> int:
        return len(self.rows) * self.row_bytes

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"ImageRows({str(self.path)!r}, shape={self.shape})"

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, np.integer)):
            return self.take(np.array([key]))[0]
        return ImageRows(self.path, self.rows[key], _header=self._header)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.take(np.arange(len(self)))
        return out.astype(dtype) if dtype is not None else out

    def __iter__(self):
        for start in range(0, len(self), 1024):
            yield from self.take(np.arange(start, min(len(self), start + 1024)))

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_fd", "_pid", "_lock")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _fd=None, _pid=0, _lock=threading.Lock())

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None and self._pid == os.getpid():
            try:
                os.close(self._fd)
            except OSError:
                pass

    def _file(self) -> int:
        """This process's descriptor for the file (tf.data reads batches on several threads)."""
        with self._lock:
            if self._fd is None or self._pid != os.getpid():
                self._fd, self._pid = os.open(self.path, os.O_RDONLY), os.getpid()
            return self._fd

    def take(self, positions: Any) -> np.ndarray:
        """The images at these positions (of this view), in that order, as a new uint8 array."""
        wanted = self.rows[np.asarray(positions, dtype="int64").reshape(-1)]
        out = np.empty((len(wanted), *self.stored_shape[1:]), dtype=np.uint8)
        if not len(wanted):
            return out
        order = np.argsort(wanted, kind="stable")
        rows = wanted[order]
        got = out if np.array_equal(order, np.arange(len(order))) else np.empty_like(out)
        flat = got.reshape(len(rows), -1)
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        fd, size = self._file(), self.row_bytes
        for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(rows)]):
            view = memoryview(flat[a:b]).cast("B")
            at, done = self.offset + int(rows[a]) * size, 0
            while done < len(view):
                n = os.preadv(fd, [view[done:]], at + done)
                if n <= 0:
                    raise OSError(f"{self.path} is shorter than its header says")
                done += n
        if got is not out:
            out[order] = got
        return out


def _signature(src: ImageSource) -> str:
    """What the decoded cache of `src` depends on besides the preparation: an unpacked zip's
    digest, or a folder's files with their sizes and modification times."""
    if src.signature:
        return src.signature
    h = hashlib.sha256()
    for f in src.files:
        info = f.stat()
        h.update(f"{f}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def _cache_paths(src: ImageSource, prep: ImagePrep) -> dict[str, Path]:
    stem = f"{prep.height}x{prep.width}-{prep.color}"
    folder = src.cache_dir or image_cache_dir() / "other"  # an ImageSource not made by open_images
    return {k: folder / f"{stem}.{k}" for k in ("npy", "keep.npy", "hash.npy", "json")}


def _read_cache(paths: dict[str, Path], signature: str, n: int) -> tuple[np.ndarray, np.ndarray, list] | None:
    """(kept positions, their hashes, skipped files) of a complete cache for this signature, else None."""
    try:
        meta = json.loads(paths["json"].read_text(encoding="utf-8"))
        if meta.get("version") != _CACHE_VERSION or meta.get("signature") != signature or meta.get("files") != n:
            return None
        keep, hashes = np.load(paths["keep.npy"]), np.load(paths["hash.npy"])
        if paths["npy"].stat().st_size < meta["bytes"] or len(keep) != len(hashes):
            return None
        return keep, hashes, [tuple(s) for s in meta["skipped"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _image_hash(img: np.ndarray) -> bytes:
    return hashlib.blake2b(img.tobytes(), digest_size=12).digest()


def _decode_to_cache(src: ImageSource, prep: ImagePrep, paths: dict[str, Path], signature: str,
                     progress: Progress | None) -> tuple[np.ndarray, np.ndarray, list]:
    """Decode every file at the target size into the cache's .npy (one row per file, in order;
    a row of zeros for a file that cannot be read), a few chunks at a time on a thread pool.

    Memory holds only the chunks in flight. Files are written under temporary names and
    renamed, the .json last: a cache with its .json is complete.
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    n = len(src.files)
    c = 1 if prep.color == "grayscale" else 3
    shape = (n, prep.height, prep.width, c)
    row = prep.height * prep.width * c
    per_chunk = max(16, min(512, (8 << 20) // row))
    max_pixels = limits().image_pixels

    def decode_chunk(start: int) -> tuple[int, np.ndarray, list[int], list[bytes], list[tuple[int, str]]]:
        stop = min(n, start + per_chunk)
        buf = np.zeros((stop - start, *shape[1:]), dtype=np.uint8)
        ok, hashes, errors = [], [], []
        for i in range(start, stop):
            try:
                buf[i - start] = decode_image(src.files[i], prep, max_pixels)
            except DataError as exc:
                errors.append((i, exc.message))
                continue
            ok.append(i)
            hashes.append(_image_hash(buf[i - start]))
        return start, buf, ok, hashes, errors

    paths["npy"].parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{threading.get_ident()}.part"
    tmp = {k: p.with_name(f"{p.name}.{tag}") for k, p in paths.items()}
    keep: list[int] = []
    hashes: list[bytes] = []
    errors: list[tuple[int, str]] = []
    threads = max(1, min(4, os.cpu_count() or 1))
    try:
        with open(tmp["npy"], "wb") as f, ThreadPoolExecutor(threads, thread_name_prefix="layerlab-decode") as pool:
            np.lib.format.write_array_header_1_0(f, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)),
                                                     "fortran_order": False, "shape": shape})
            header = f.tell()
            starts = iter(range(0, n, per_chunk))
            pending = deque(pool.submit(decode_chunk, s) for s in itertools.islice(starts, 2 * threads))
            while pending:
                start, buf, ok, hs, errs = pending.popleft().result()
                nxt = next(starts, None)
                if nxt is not None:
                    pending.append(pool.submit(decode_chunk, nxt))
                f.write(buf.tobytes())
                keep += ok
                hashes += hs
                errors += errs
                if progress:
                    done = start + len(buf)
                    progress(done / n, f"Decoding images ({done:,} of {n:,})")
            size = f.tell()
        skipped = [(src.files[i].name, why) for i, why in errors]
        for k, values in (("keep.npy", np.asarray(keep, dtype="int64")), ("hash.npy", np.asarray(hashes, dtype="S12"))):
            with open(tmp[k], "wb") as out:  # a file object: np.save would add ".npy" to the name
                np.save(out, values)
        tmp["json"].write_text(json.dumps({"version": _CACHE_VERSION, "signature": signature, "files": n,
                                           "shape": list(shape), "bytes": size, "kept": len(keep),
                                           "skipped": skipped, "header_bytes": header}), encoding="utf-8")
        for k in ("npy", "keep.npy", "hash.npy", "json"):
            os.replace(tmp[k], paths[k])
    finally:
        for p in tmp.values():
            p.unlink(missing_ok=True)
    return np.asarray(keep, dtype="int64"), np.asarray(hashes, dtype="S12"), skipped


def load_images(src: ImageSource, prep: ImagePrep, progress: Progress | None = None) -> ImageData:
    """Every image at the target size and colour; unreadable ones are skipped and counted.

    Files are decoded once per preparation into a .npy cache beside the unpacked zip (for a
    folder, under workspace.image_cache_dir()), which later runs reuse. The images come back in
    memory when they take at most LAYERLAB_IMAGE_MEMORY_MB, else as ImageRows that read
    from the cache batch by batch. `progress(fraction, text)` is told how decoding goes.
    """
    if src.arrays is not None:
        images = np.stack([_resize_array(a, prep) for a in src.arrays]) if len(src) else src.arrays
        return ImageData(images, src.labels.copy(), list(src.class_names), [src.item_name(i) for i in range(len(src))], [],
                         np.arange(len(src)), np.array([_image_hash(a) for a in images], dtype="S12"))
    signature = _signature(src)
    paths = _cache_paths(src, prep)
    cached = _read_cache(paths, signature, len(src.files))
    if cached is None:
        keep, hashes, skipped_files = _decode_to_cache(src, prep, paths, signature, progress)
        from_cache = False
    else:
        keep, hashes, skipped_files = cached
        from_cache = True
        if progress:
            progress(1.0, f"Read {len(keep):,} decoded images from the cache")
    skipped = list(src.skipped) + skipped_files
    labels = src.labels[keep]
    if len(keep) == 0:
        raise DataError("None of the images could be read.", "Check that the files are real PNG/JPEG images.")
    counts = np.bincount(labels, minlength=len(src.class_names))
    if (counts > 0).sum() < 2:
        raise DataError("After skipping unreadable files only one class has images.", "Add readable images for at least two classes.")
    rows = ImageRows(paths["npy"], keep)
    in_memory = rows.nbytes <= limits().image_memory_mb * 1024 * 1024
    images: np.ndarray | ImageRows = np.asarray(rows) if in_memory else rows
    return ImageData(images, labels, list(src.class_names), [src.files[i].name for i in keep], skipped, keep, hashes,
                     from_cache=from_cache, cache=paths["npy"])
