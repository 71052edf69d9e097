"""Extract a user's zip without letting it escape its folder or fill the disk."""

from __future__ import annotations

import shutil
import stat
import zipfile
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


def extract_zip(zip_path: str | Path, dest: str | Path) -> tuple[Path, list[tuple[str, str]]]:
    """Extract `zip_path` into `dest` after checking it; return (dest, skipped members).

    Refuses (DataError) a file that is not a zip, an encrypted zip, too many members, or a
    total or ratio of uncompressed size over the limits — before writing anything.
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
        if len(infos) > lim.zip_members:
            raise DataError(f"The zip holds {len(infos):,} entries; the limit is {lim.zip_members:,}.",
                            "Split it into smaller zips, or raise LAYERLAB_ZIP_MEMBERS.")
        total = sum(i.file_size for i in infos)
        packed = max(1, sum(i.compress_size for i in infos))
        if total > lim.extracted_mb * 1024 * 1024:
            raise DataError(f"The zip would unpack to {total / 2**20:,.0f} MB; the limit is {lim.extracted_mb:,} MB.",
                            "Use fewer or smaller images, or raise LAYERLAB_EXTRACTED_MB.")
        if total > 10 * 2**20 and total / packed > lim.zip_ratio:
            raise DataError(f"The zip unpacks {total / packed:,.0f} times larger than it is, which looks like a zip bomb.",
                            "Upload the images as an ordinary zip.")
        if any(i.flag_bits & 0x1 for i in infos):
            raise DataError("The zip is password-protected.", "Make a zip without a password and upload it again.")
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        root = dest.resolve()
        skipped: list[tuple[str, str]] = []
        written = 0
        for info in infos:
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
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                # Count real bytes: the sizes in the zip's directory can lie.
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > lim.extracted_mb * 1024 * 1024:
                        out.close()
                        shutil.rmtree(dest, ignore_errors=True)
                        raise DataError(f"The zip unpacks to more than {lim.extracted_mb:,} MB.",
                                        "Use fewer or smaller images, or raise LAYERLAB_EXTRACTED_MB.")
                    out.write(chunk)
    return dest, skipped
