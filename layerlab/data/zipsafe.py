"""Extract a user's zip without letting it escape its folder or fill the disk."""

from __future__ import annotations

import errno
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from layerlab.errors import DataError
from layerlab.settings import limits


def _safe_name(name: str) -> PurePosixPath | None:
    """The member's path inside the zip, or None if it would leave the extraction folder."""
    name = name.replace("\\", "/")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    if any(part == ".." for part in path.parts):
        return None
    return path


def _write_error(exc: OSError, zip_path: Path, name: str) -> DataError:
    """Writing an unpacked file failed: the server's disk, or a name this system cannot hold."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
        return DataError(f"The server could not unpack {zip_path.name}: {exc.strerror}.",
                         "Try again later, or ask whoever runs this server to free disk space.")
    return DataError(f"{zip_path.name} holds a file this server cannot create: {name} ({exc.strerror}).",
                     "Give that file a shorter, plainer name, zip the folders again and upload the new zip.")


def check_archive(infos: list[zipfile.ZipInfo], what: str = "The zip", hint: str = "") -> None:
    """Refuse (DataError) an archive with too many entries, or whose unpacked size or compression
    ratio is over the limits, from its directory alone (nothing is unpacked). `hint` replaces the
    image-zip advice for other archives (an .xlsx workbook)."""
    lim = limits()
    if len(infos) > lim.zip_members:
        raise DataError(f"{what} holds {len(infos):,} entries; the limit is {lim.zip_members:,}.",
                        f"{hint or 'Split it into smaller zips'}, or raise LAYERLAB_ZIP_MEMBERS.")
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > lim.extracted_mb * 1024 * 1024:
        raise DataError(f"{what} would unpack to {total / 2**20:,.0f} MB; the limit is {lim.extracted_mb:,} MB.",
                        f"{hint or 'Use fewer or smaller images'}, or raise LAYERLAB_EXTRACTED_MB.")
    if total > 10 * 2**20 and total / packed > lim.zip_ratio:
        raise DataError(f"{what} unpacks {total / packed:,.0f} times larger than it is, which looks like a zip bomb.",
                        f"{hint}." if hint else "Upload the images as an ordinary zip.")


def extract_zip(zip_path: str | Path, dest: str | Path) -> tuple[Path, list[tuple[str, str]]]:
    """Extract `zip_path` into `dest` after checking it; return (dest, skipped members).

    Refuses (DataError) a file that is not a zip, an encrypted zip, too many members, or a
    total or ratio of uncompressed size over the limits — before writing anything; and a member
    that turns out damaged, or a write that fails, removing what was unpacked.
    Skips (and reports) members with unsafe paths, symlinks, and nested zips.
    """
    lim = limits()
    zip_path, dest = Path(zip_path), Path(dest)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{zip_path.name} is not a readable zip file ({exc}).",
                        "Upload a .zip made with your system's 'Compress' command.") from None
    with zf:
        infos = zf.infolist()
        check_archive(infos)
        if any(i.flag_bits & 0x1 for i in infos):
            raise DataError("The zip is password-protected.", "Make a zip without a password and upload it again.")
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        root = dest.resolve()
        skipped: list[tuple[str, str]] = []
        written = 0
        name = ""
        try:
            for info in infos:
                name = info.filename
                if info.is_dir():
                    continue
                rel = _safe_name(info.filename)
                mode = info.external_attr >> 16
                if rel is None:
                    skipped.append((info.filename, "its path points outside the zip's folder"))
                    continue
                if stat.S_ISLNK(mode):
                    skipped.append((info.filename, "it is a symbolic link"))
                    continue
                if rel.suffix.lower() == ".zip":
                    skipped.append((info.filename, "zips inside the zip are not opened"))
                    continue
                target = (root / rel).resolve()
                if not target.is_relative_to(root):
                    skipped.append((info.filename, "its path points outside the zip's folder"))
                    continue
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    out = open(target, "wb")
                except OSError as exc:
                    raise _write_error(exc, zip_path, name) from None
                with zf.open(info) as src, out:
                    # Count real bytes: the sizes in the zip's directory can lie.
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > lim.extracted_mb * 1024 * 1024:
                            raise DataError(f"The zip unpacks to more than {lim.extracted_mb:,} MB.",
                                            "Use fewer or smaller images, or raise LAYERLAB_EXTRACTED_MB.")
                        try:
                            out.write(chunk)
                        except OSError as exc:
                            raise _write_error(exc, zip_path, name) from None
        except DataError:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as exc:
            # Reading a member failed: its bytes do not match the zip's directory (a bad CRC, sizes
            # that lie, a cut-off download), or it uses a compression Python cannot read.
            shutil.rmtree(dest, ignore_errors=True)
            raise DataError(f"{zip_path.name} is damaged: {name} cannot be unpacked ({exc}).",
                            "Zip the folders again with your system's 'Compress' command and upload the new zip.") from None
    return dest, skipped
