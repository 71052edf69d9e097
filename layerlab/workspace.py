"""The workspace's folder layout under LAYERLAB_HOME, and where a project's data may come from.

Every path under LAYERLAB_HOME is built here (runs have their own root, `settings.runs_dir`), so the
app, the CLI, housekeeping and a remote worker agree on it, and no page builds one itself:

    projects/<owner>.json        an owner's saved project (so a reload, or another device, finds it)
    uploads/<owner>/             what that owner uploaded
    extracted/<digest>/          an image zip, unpacked once
    image-cache/<digest>/        images decoded once for training
    servers/<id>.json, <id>.log  a model server started from the app: its record and its output
    servers/model-host.log       the app server's model host (Predict's and Evaluate's models run there)
    studies/<study>.journal      a tuning study (Optuna's journal file; layerlab.tune)
    weights/<keras file>         pretrained backbone weights uploaded on Build and checked against Keras' hash
    weights/given/<keras file>   the same file name, but one whose hash differs and that the server's operator
                                 chose to use (the CLI's); a session's own such file is in uploads/<owner>/weights/
    model-files/<name>-<digest>.keras  a .keras file to start a model from (layerlab.models.keras_file),
                                 named by its content, so a project names it without naming an owner

`<owner>` is the owner id (`layerlab.identity`): a digest of the browser's owner secret, or of a
signed-in user's issuer and subject. It grants nothing, so a path that shows it (a run's data.source
in a downloaded project) gives nobody the owner's session. Folders named by the owner keys of
before issue #20 are not migrated: those keys were in URLs and shared projects, so nothing opens
them; housekeeping removes their uploads once no run uses them.

`Source` parses a project's `data.source` (`sample:NAME` or a path) once; `check_source` holds the
rule that an imported project may only open a bundled sample or the session's own uploads.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from layerlab.errors import LayerlabError
from layerlab.settings import home

SAMPLE_PREFIX = "sample:"
PROJECTS, UPLOADS, EXTRACTED, IMAGE_CACHE, SERVERS, STUDIES, WEIGHTS, MODEL_FILES = (
    "projects", "uploads", "extracted", "image-cache", "servers", "studies", "weights", "model-files")
SESSION_ID = re.compile(r"^[a-f0-9]{16}$")
_DIGEST_CHARS = 10  # of an upload's sha256, in its stored name
_STORED_DIGEST = re.compile(rf"-[0-9a-f]{{{_DIGEST_CHARS}}}(?=\.[^.]*$|$)")  # "name-<digest>.csv" → "name.csv"
_STORED_MODEL = re.compile(rf"^[\w.-]{{1,60}}-[0-9a-f]{{{_DIGEST_CHARS}}}\.keras$")


@dataclass(frozen=True)
class Source:
    """A project's data source: a bundled sample (by name) or a file or folder (by path)."""

    raw: str

    @property
    def sample(self) -> str | None:
        """The sample's name (`sample:digits` → `digits`), None for a path."""
        return self.raw[len(SAMPLE_PREFIX):] if self.raw.startswith(SAMPLE_PREFIX) else None

    @property
    def is_sample(self) -> bool:
        return self.sample is not None

    @property
    def path(self) -> Path | None:
        return None if self.is_sample else Path(self.raw)

    @property
    def display_name(self) -> str:
        """What a person calls it: the sample's name, or the file's name without the server's folders and
        without the content digest `save_upload` adds to it."""
        return self.sample if self.is_sample else _STORED_DIGEST.sub("", Path(self.raw).name)

    @property
    def exists(self) -> bool:
        return self.is_sample or Path(self.raw).exists()

    @classmethod
    def of_sample(cls, name: str) -> "Source":
        return cls(SAMPLE_PREFIX + name)

    def __str__(self) -> str:
        return self.raw


def source_of(raw: str | Source) -> Source:
    return raw if isinstance(raw, Source) else Source(str(raw))


def source_stamp(raw: str | Source) -> tuple[float, int]:
    """(mtime, size) of a file source, (0, 0) for a sample or a missing file: the key that makes a
    cache read a changed file again (every cached view of a source takes it)."""
    source = source_of(raw)
    if source.is_sample or not source.exists:
        return (0.0, 0)
    info = source.path.stat()
    return (info.st_mtime, info.st_size)


def _dir(*parts: str) -> Path:
    path = home().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def projects_dir() -> Path:
    return _dir(PROJECTS)


def project_file(session: str) -> Path:
    """Where a session's project is kept between reloads."""
    return projects_dir() / f"{_checked(session)}.json"


def uploads_dir(session: str) -> Path:
    """The session's own upload folder (created on first use)."""
    return _dir(UPLOADS, _checked(session))


def save_upload(session: str, name: str, data: bytes) -> Path:
    """Write an upload into the session's folder, named by its content (`stem-<sha256[:10]>.ext`), once:
    the same file uploaded twice is one file, and the user's file name never picks a path."""
    return _store(uploads_dir(session), name, data)


def _store(folder: Path, name: str, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()[:_DIGEST_CHARS]
    stem = re.sub(r"[^\w.-]+", "_", Path(name).stem).strip("._") or "upload"  # letters of any language kept
    path = (folder / f"{stem[:60]}-{digest}{Path(name).suffix.lower()}").resolve()
    if not path.exists():
        write_file(path, data, Path(name).name)
    return path


def write_file(path: Path, data: bytes, shown: str) -> None:
    """Write `data` to `path` whole or not at all; a failure names only `shown` (the user's file name)."""
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        # A half-written copy would hold the last free space (and the runs database needs some to open).
        tmp.unlink(missing_ok=True)
        raise _not_saved(shown, exc) from None


def save_model_file(name: str, data: bytes) -> str:
    """Keep a .keras file (checked by the caller) under its content's name; returns that name, which a
    project's `keras_file` layer holds. The same file saved twice is one file."""
    return _store(_dir(MODEL_FILES), Path(name).stem + ".keras", data).name


def model_file(stored: str) -> Path:
    """The path of a kept .keras file, from the name `save_model_file` gave it.

    Raises:
        LayerlabError: the name is not such a name (a path, say), or the file is no longer kept.
    """
    if not _STORED_MODEL.match(stored or ""):
        raise LayerlabError(f"Invalid model file name received: {stored!r}. Expected the name Layerlab gave an "
                            "uploaded .keras file (name-<10 hexadecimal digits>.keras).",
                            "Upload the .keras file on Build (or give it to `init --start-from`).")
    path = _dir(MODEL_FILES) / stored
    if not path.is_file():
        raise LayerlabError(f"The model file {_STORED_DIGEST.sub('', stored)} is not kept on this server (any more).",
                            "Upload the .keras file again on Build (or give it to `init --start-from`).")
    return path


def model_file_display(stored: str) -> str:
    """What a person calls a kept model file: the name it was uploaded with."""
    return _STORED_DIGEST.sub("", stored)


def _not_saved(name: str, exc: OSError) -> LayerlabError:
    """Why an upload could not be kept, naming only the user's file (never our folder, which names the session)."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return LayerlabError(f"The server's disk is full: {name} could not be saved.",
                             "Delete runs you no longer need on the Runs page, or ask whoever runs this server to "
                             "free disk space, then upload it again.")
    return LayerlabError(f"{name} could not be saved on the server ({exc.strerror or 'a write error'}).",
                         "Ask whoever runs this server to check that LAYERLAB_HOME is writable, then upload it again.")


def uploaded_files(session: str) -> list[Path]:
    """The session's uploads, by name."""
    return sorted(p for p in uploads_dir(session).iterdir() if p.is_file() and p.suffix != ".part")


def extracted_dir() -> Path:
    return _dir(EXTRACTED)


def image_cache_dir() -> Path:
    return _dir(IMAGE_CACHE)


def servers_dir() -> Path:
    """Where model servers started from the app keep their records and logs (layerlab.serve.manage)."""
    return _dir(SERVERS)


def model_host_log() -> Path:
    """The output of the server's model host (`layerlab.inference.host`): TensorFlow's messages and any traceback."""
    return servers_dir() / "model-host.log"


def studies_dir() -> Path:
    """Tuning studies: Optuna's journal files, beside the runs but not in the run store's database."""
    return _dir(STUDIES)


def weights_dir(given: bool = False, owner: str | None = None) -> Path:
    """Pretrained weights uploaded on Build (`layerlab.models.backbones`): files that match Keras' hash (shared), or
    with `given`, files a user chose to use although their hash differs, kept apart so they are never mistaken:
    the `owner`'s own in their uploads (swept like them), or without an owner the server operator's (the CLI's)."""
    if not given:
        return _dir(WEIGHTS)
    return _dir(UPLOADS, _checked(owner), WEIGHTS) if owner is not None else _dir(WEIGHTS, "given")


def _checked(session: str) -> str:
    if not SESSION_ID.match(session or ""):
        raise LayerlabError(f"Invalid session id received: {session!r}. Expected 16 hexadecimal characters.")
    return session


def is_own_upload(path: str | Path, session: str) -> bool:
    """True when `path` lies inside this session's upload folder (after resolving links and `..`)."""
    try:
        return Path(path).resolve().is_relative_to(uploads_dir(session).resolve())
    except (OSError, ValueError):
        return False


def check_source(raw: str | Source, session: str) -> Source:
    """A project file may name any path: open only bundled samples and this session's own uploads,
    never another file on the server (another user's upload, /etc/…)."""
    from layerlab.errors import SpecError

    source = source_of(raw)
    if source.is_sample or is_own_upload(Path(source.raw).expanduser(), session):
        return source
    shown = source.raw if len(source.raw) <= 80 else source.raw[:60] + "…"
    raise SpecError("data.source", f"`{shown}` is neither a bundled sample nor a file uploaded in this session, "
                    "so Layerlab does not open it.",
                    "Open your data on the Data page (upload it, or pick a sample), or use a project file whose "
                    "data is a bundled sample (`sample:…`).")


@dataclass(frozen=True)
class Layout:
    """The same folders under one root, as paths only (nothing is created and session names are not
    checked): for housekeeping, which walks what is there, and for its tests, which give their own root."""

    root: Path

    @property
    def projects(self) -> Path:
        return self.root / PROJECTS

    @property
    def uploads(self) -> Path:
        return self.root / UPLOADS

    @property
    def derived(self) -> tuple[Path, Path]:
        """What Layerlab derives from image sources: unpacked zips and decoded-image caches."""
        return self.root / EXTRACTED, self.root / IMAGE_CACHE

    @property
    def servers(self) -> Path:
        return self.root / SERVERS

    @property
    def model_files(self) -> Path:
        return self.root / MODEL_FILES

    def project_file(self, session: str) -> Path:
        return self.projects / f"{session}.json"

    def session_uploads(self, session: str) -> Path:
        return self.uploads / session


def layout(root: Path | None = None) -> Layout:
    """The folder layout under `root` (default LAYERLAB_HOME)."""
    return Layout(Path(root) if root is not None else home())
