"""Images decoded once per preparation and kept on disk beside their source (`load_images`).

A set larger than LAYERLAB_IMAGE_MEMORY_MB is not loaded: training reads its batches from the .npy
(`ImageRows`), so a set larger than memory trains.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from layerlab.data.images import ImageData, ImageSource, Progress, decode_image, resize_array
from layerlab.errors import DataError
from layerlab.settings import limits
from layerlab.spec import ImagePrep
from layerlab.workspace import image_cache_dir

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
        images = np.stack([resize_array(a, prep) for a in src.arrays]) if len(src) else src.arrays
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
