"""Pretrained `keras.applications` backbones, and where their weights come from.

A backbone is one `Backbone` layer (layers.py) built by `backbone_layer` as one Keras block
(`blocks.Backbone`). Its ImageNet weights are the `.h5` file Keras itself would fetch (name, hash and
address as in Keras' own module constants: a test checks them), looked up in this order:

1. `weights/<file>` in the workspace: a file uploaded on Build whose hash matches Keras' (the same bytes
   Keras would download, so shared by every session);
2. Keras' cache, `$KERAS_HOME/models/<file>` (default `~/.keras/models`), hash checked;
3. an upload whose hash differs, which its owner chose to use anyway (the Build page and the run's log then
   say "weights from a file you gave"): kept in that owner's uploads (`workspace.weights_dir(owner=…)`) and
   used only for that owner's models and runs, never another session's; the command line's (owner None or
   `cli`) are the server operator's, in `weights/given/`;
4. a download by `keras.utils.get_file` when training starts (progress in the run's log),
   unless LAYERLAB_WEIGHTS_DOWNLOAD=0.

Whose given file a model build uses is the run's owner, set around the build with `weights_of(owner)`
(the build goes through the layer registry, which knows nothing of owners).

When none of them works, `WeightsMissing` says which file is missing, where to put it and that an
upload works too: a pretrained backbone never trains from random weights by accident.

Importable without Keras; the functions that need it import it.
"""

from __future__ import annotations

import os
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from layerlab.errors import LayerlabError
from layerlab.identity import CLI_OWNER

BACKBONE = "Backbone"  # the layer type (layers.py)
IMAGENET, NO_WEIGHTS = "imagenet", "none"
IMAGE_SIZES = (32, 64, 96, 128, 160, 192, 224)
GIVEN = "weights from a file you gave"


@dataclass(frozen=True)
class Architecture:
    """One `keras.applications` network: its constructor's name, the size and pixel range it was trained on."""

    name: str
    help: str
    module: str  # the keras.src.applications module holding its weights' names and hashes
    weights_key: str  # its key in that module's WEIGHTS_HASHES
    pixels: tuple[float, float]  # the values it expects for black and white
    file: tuple[str, str, str]  # the `include_top=False` weights Keras downloads: its file name, hash and address
    size: int = 224  # the side of the images it was trained on (the templates use it)

    def weights_file(self) -> WeightsFile:
        """The `include_top=False` file Keras would download, with Keras' own name, hash and address (kept here, so
        that Build can name it without importing TensorFlow; tests/engine/test_backbones.py checks them against
        Keras' own tables)."""
        return WeightsFile(self.name, *self.file)


@dataclass(frozen=True)
class WeightsFile:
    architecture: str
    name: str
    hash: str  # md5 (32 hex digits) or sha256 (64), as Keras' validate_file reads it
    url: str

    @property
    def algorithm(self) -> str:
        return "sha256" if len(self.hash) == 64 else "md5"


@dataclass(frozen=True)
class Weights:
    """A weights file found for a backbone: `checked` when its hash is Keras' own."""

    path: Path
    checked: bool

    def describe(self, architecture: str) -> str:
        if self.checked:
            return f"{architecture}: ImageNet weights from {self.path} (the file Keras expects, hash checked)."
        return f"{architecture}: {GIVEN} ({self.path.name}, whose hash is not the one Keras expects)."


_KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications/"
ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (
    Architecture("MobileNetV3Small", "Small and fast (about 0.9 million parameters): the default for photos, "
                 "trains in a minute on a laptop.", "mobilenet_v3", "small_224_1.0_float", (0.0, 255.0),
                 ("weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5", "d3e8ec802a04aa4fc771ee12a9a9b836",
                  _KERAS_APPS + "mobilenet_v3/weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5")),
    Architecture("MobileNetV3Large", "A larger MobileNet (about 3 million parameters): more accurate, still quick.",
                 "mobilenet_v3", "large_224_1.0_float", (0.0, 255.0),
                 ("weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5", "07fb09a5933dd0c8eaafa16978110389",
                  _KERAS_APPS + "mobilenet_v3/weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5")),
    Architecture("EfficientNetB0", "About 4 million parameters: more accurate than MobileNet, a few times slower.",
                 "efficientnet", "b0", (0.0, 255.0),
                 ("efficientnetb0_notop.h5", "50bc09e76180e00e4465e1a485ddc09d",
                  "https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5")),
    Architecture("ResNet50V2", "A large classic (about 23.5 million parameters): strong features, slow on a CPU.",
                 "resnet", "resnet50v2", (-1.0, 1.0),
                 ("resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5", "fac2f116257151a9d068a22e544a4917",
                  _KERAS_APPS + "resnet/resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5")),
)}
DEFAULT = "MobileNetV3Small"


class WeightsMissing(LayerlabError):
    """A pretrained backbone's weights are not on this machine and cannot be downloaded."""

    def __init__(self, file: WeightsFile, why: str) -> None:
        super().__init__(
            f"The ImageNet weights of {file.architecture} are not on this server: Keras' file `{file.name}` {why}.",
            f"Put it into `{keras_cache_dir()}` (download it from {file.url} on a machine with internet), or "
            "upload it on the Build page; or set the backbone's weights to 'none' to train it from scratch.")
        self.file = file


def architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise LayerlabError(f"Invalid value received for argument `architecture`. Expected one of: "
                            f"{', '.join(ARCHITECTURES)}. Received: architecture={name!r}") from None


def keras_cache_dir() -> Path:
    """Where Keras keeps downloaded weights: `$KERAS_HOME/models` (default `~/.keras/models`)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


# ---- finding the weights ------------------------------------------------------------------------

_BUILT_FOR: ContextVar[str | None] = ContextVar("layerlab_weights_owner", default=None)


@contextmanager
def weights_of(owner: str | None) -> Iterator[None]:
    """Within it, a model build loads the weights `owner` gave (a run's owner: the trainer builds in it)."""
    token = _BUILT_FOR.set(owner)
    try:
        yield
    finally:
        _BUILT_FOR.reset(token)


def _given_dir(owner: str | None) -> Path | None:
    """Where `owner`'s unverified weights are kept: their uploads, or the operator's folder for the CLI."""
    from layerlab.workspace import SESSION_ID, weights_dir

    owner = None if owner == CLI_OWNER else owner
    if owner is not None and not SESSION_ID.match(owner):
        return None  # not an owner id (a run from before owners): nobody's given file
    return weights_dir(given=True, owner=owner)


def find_weights(name: str, owner: str | None = None) -> Weights | None:
    """The weights file to use for this architecture now, without downloading (None: there is none).

    A file whose hash is Keras' own is found for everyone; a file someone gave only for its `owner`.
    """
    from layerlab.workspace import weights_dir

    file = architecture(name).weights_file()
    for folder in (weights_dir(), keras_cache_dir()):
        path = folder / file.name
        if path.is_file() and _hash_ok(path, file):
            return Weights(path, True)
    folder = _given_dir(owner)
    if folder is None or not (folder / file.name).is_file():
        return None
    try:  # in use: the uploads sweep keeps what was touched lately
        os.utime(folder)
    except OSError:
        pass
    return Weights(folder / file.name, False)


def resolve_weights(name: str, log: Callable[[str], None] | None = None, owner: str | None = None) -> Weights:
    """The weights file for this architecture, downloaded by Keras if needed and allowed.

    Keras' own `get_file` looks in its cache, checks the hash and downloads again when it does not match;
    offline that ends in `WeightsMissing`, never in random weights. A file given by someone is used only for
    its `owner`.

    Raises:
        WeightsMissing: naming the file and where to put it.
    """
    found = find_weights(name, owner)
    if found is not None:
        return found
    file = architecture(name).weights_file()
    if not _download_allowed():
        raise WeightsMissing(file, "is missing, and downloads are turned off (LAYERLAB_WEIGHTS_DOWNLOAD=0)")
    from contextlib import redirect_stdout

    from keras.utils import get_file

    if log:
        log(f"Downloading the ImageNet weights of {name} ({file.name}) from {file.url} …")
    try:  # Keras would use /tmp/.keras instead of a folder that does not exist yet, and it is looked for here
        keras_cache_dir().mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # not writable: Keras picks its own place, and says so if that fails too
    try:
        with redirect_stdout(_ProgressLog(log)):
            path = get_file(file.name, file.url, file_hash=file.hash, cache_subdir="models",
                            cache_dir=str(keras_cache_dir().parent))
    except Exception as exc:  # noqa: BLE001 - Keras raises a bare Exception for a failed download
        raise WeightsMissing(file, f"is missing or damaged, and downloading it failed ({_first_line(exc)})") from None
    if log:
        log(f"Downloaded {file.name} ({Path(path).stat().st_size / 2**20:,.1f} MB) into {Path(path).parent}.")
    return Weights(Path(path), True)


def require_weights(spec: Any, owner: str | None = None) -> None:
    """Refuse to start training when a pretrained backbone's weights are missing and cannot be downloaded now
    (the Train page and the CLI's train call this before a run starts).

    Raises:
        WeightsMissing: the first backbone whose weights are missing.
    """
    for missing in unavailable_weights(spec, owner):
        raise missing


def unavailable_weights(spec: Any, owner: str | None = None) -> list[WeightsMissing]:
    """Why a run of this model cannot start now: each pretrained backbone whose weights `owner` has no file for
    and that cannot be downloaded (empty: ready as far as weights go). Build's check and `require_weights` ask."""
    why = "is missing, and this server cannot download it" + (
        " (no internet)" if _download_allowed() else ": downloads are turned off (LAYERLAB_WEIGHTS_DOWNLOAD=0)")
    return [WeightsMissing(file, why) for file in missing_weights(spec, owner=owner) if not download_possible(file)]


def download_possible(file: WeightsFile) -> bool:
    """Whether training could download this file now: downloads allowed and its host answering."""
    return _download_allowed() and _reachable(file.url)


def missing_weights(spec: Any, layers: list[Any] | None = None, owner: str | None = None) -> list[WeightsFile]:
    """The weights files the model's pretrained backbones need and this server does not have for `owner`."""
    out = []
    for name in pretrained(spec.model.layers if layers is None else layers):
        if find_weights(name, owner) is None:
            out.append(architecture(name).weights_file())
    return out


def fetch_weights(spec: Any, log: Callable[[str], None], owner: str | None = None) -> None:
    """Before a run builds its model: make sure every pretrained backbone's weights are here for the run's
    `owner` (downloading them with progress in the run's log when allowed) and say in the log where they come
    from."""
    for name in pretrained(spec.model.layers):
        log(resolve_weights(name, log, owner).describe(name))


def size_note(spec: Any) -> str | None:
    """Images prepared far smaller than a backbone looks at lose what it was trained to see: say so (for Build)."""
    prep = spec.prepare.image
    for layer in spec.model.layers:
        size = int(layer.params.get("image_size", 224)) if layer.type == BACKBONE else 0
        if min(prep.height, prep.width) * 2 <= size:
            return (f"Your images are prepared at {prep.height}×{prep.width} pixels and "
                    f"{layer.params.get('architecture', DEFAULT)} looks at {size}×{size}: details lost in the small "
                    f"images cannot come back. For photos, prepare them at {min(size, 160)} pixels or more on the "
                    "Prepare page (slower to train, usually more accurate).")
    return None


def size_fix(spec: Any) -> dict[str, int] | None:
    """For `size_note`'s case on photos (which have the detail to give): the edits that prepare the images at the
    size the backbone looks at, for Build's one-click fix; None when there is nothing to fix or nothing to gain."""
    from layerlab.kinds.images import looks_like_photos

    sizes = [int(layer.params.get("image_size", 224)) for layer in spec.model.layers if layer.type == BACKBONE]
    if not sizes or size_note(spec) is None or not looks_like_photos(spec.data.source):
        return None
    return {"prepare.image.height": max(sizes), "prepare.image.width": max(sizes)}


def pretrained(layers: list[Any]) -> list[str]:
    """The architectures of the backbones in these layers that want ImageNet weights (each once)."""
    names: list[str] = []
    for layer in layers:
        if layer.type == BACKBONE and layer.params.get("weights", IMAGENET) == IMAGENET:
            name = layer.params.get("architecture", DEFAULT)
            if name not in names:
                names.append(name)
    return names


# ---- an uploaded weights file -------------------------------------------------------------------


def save_weights_upload(name: str, file_name: str, data: bytes, use_anyway: bool = False,
                        owner: str | None = None) -> Weights:
    """Keep an uploaded `.h5` as this architecture's weights.

    A file whose hash is Keras' own is kept for everyone (the bytes Keras would download); another one only
    with `use_anyway`, after checking that it loads into the network, and only for its `owner` (the session that
    gave it; None: the server's operator); it is then marked as "weights from a file you gave".

    Raises:
        LayerlabError: not an .h5 file, too large, a different hash (without `use_anyway`), or weights that do
            not fit the network.
    """
    from layerlab.settings import limits
    from layerlab.workspace import weights_dir, write_file

    file = architecture(name).weights_file()
    shown = Path(file_name).name
    if not shown.lower().endswith((".h5", ".hdf5")):
        raise LayerlabError(f"{shown} is not a weights file: Keras' weights for {name} are an .h5 file.",
                            f"Upload `{file.name}` (from {file.url}).")
    if len(data) > limits().upload_mb * 2**20:
        raise LayerlabError(f"{shown} is larger than the upload limit of {limits().upload_mb} MB.",
                            "Raise LAYERLAB_UPLOAD_MB on the server, or copy the file into Keras' cache folder.")
    import hashlib

    digest = hashlib.new(file.algorithm, data).hexdigest()
    if digest == file.hash:
        path = weights_dir() / file.name
        write_file(path, data, shown)
        given = _given_dir(owner)
        if given is not None:  # the owner's own unverified copy is never used again
            (given / file.name).unlink(missing_ok=True)
        return Weights(path, True)
    if not use_anyway:
        raise LayerlabError(
            f"{shown} is not the file Keras expects for {name}: its {file.algorithm} is {digest}, Keras expects "
            f"{file.hash} (`{file.name}`).",
            f"Upload `{file.name}` from {file.url}; or, if you trust this file (weights you made yourself), "
            f"choose to use it anyway: the model is then marked as using {GIVEN}.")
    folder = _given_dir(owner)
    if folder is None:
        raise LayerlabError(f"Invalid owner received: {owner!r}. Expected an owner id (16 hexadecimal digits), "
                            f"{CLI_OWNER!r} or None.")
    path = folder / file.name
    write_file(path, data, shown)
    try:
        _check_loads(name, path)
    except LayerlabError:
        path.unlink(missing_ok=True)
        raise
    return Weights(path, False)


def _check_loads(name: str, path: Path) -> None:
    from layerlab.models.blocks import Backbone

    try:
        Backbone(name, weights=str(path))
    except Exception as exc:  # noqa: BLE001 - any reading error means the file does not fit
        raise LayerlabError(f"{path.name} does not hold weights that fit {name}: {_first_line(exc)}",
                            "Upload the file Keras downloads for it (its name is in the message above).") from None


# ---- the layer --------------------------------------------------------------------------------


def backbone_layer(name: str, weights: str, image_size: int, pixel_max: float) -> Any:
    """The Keras block for a Backbone layer: pixels in 0..`pixel_max` mapped to the network's range.

    While the Build page checks the model (a Keras StatelessScope: nothing is allocated) the
    weights are neither looked up nor loaded; a real build loads them or raises WeightsMissing.
    """
    from layerlab.models.blocks import Backbone

    arch = architecture(name)
    low, high = arch.pixels
    scale = (high - low) / pixel_max
    if weights != IMAGENET:
        return Backbone(name, image_size=image_size, scale=scale, offset=low)
    if _checking():
        block = Backbone(name, image_size=image_size, scale=scale, offset=low)
        block.pretrained = IMAGENET  # as built for training: its config (and the generated code) says pretrained
        return block
    found = resolve_weights(name, owner=_BUILT_FOR.get())
    return Backbone(name, image_size=image_size, scale=scale, offset=low, weights=str(found.path))


def block_summary(name: str, weights: str, trainable: bool, params: int | None = None,
                  owner: str | None = None, count_layers: bool = True) -> str:
    """One line for Build: the network, its weights (for `owner`), its size, frozen or trainable. Counting its
    layers builds it (TensorFlow): the app asks the model host, or leaves the count out until that is ready."""
    what = "ImageNet weights" if weights == IMAGENET else "random weights (trained from scratch)"
    found = find_weights(name, owner) if weights == IMAGENET else None
    if found is not None and not found.checked:
        what = GIVEN
    layers = f"{layer_count(name)} layers" if count_layers else ""
    size = " in ".join(part for part in (f"{params:,} parameters" if params is not None else "", layers) if part)
    state = "trainable" if trainable else "frozen (training leaves its weights as they are)"
    return f"{name} with {what}: {size + ', ' if size else ''}{state}."


@cache
def layer_count(name: str) -> int:
    """How many Keras layers the network has (built once without weights)."""
    from layerlab.models.blocks import Backbone
    from layerlab.models.build import _no_weights

    with _no_weights():
        return len(Backbone(name).network.layers)


def _checking() -> bool:
    """True inside a Keras StatelessScope (the Build page's check): no weights are loaded there."""
    try:
        from keras.src.backend.common.stateless_scope import in_stateless_scope
    except ImportError:  # pragma: no cover - a future Keras may move it
        return False
    return in_stateless_scope()


# ---- small helpers ----------------------------------------------------------------------------


_HASHES: dict[tuple[str, float, int, str], bool] = {}


def _hash_ok(path: Path, file: WeightsFile) -> bool:
    """What Keras' `validate_file` checks (the file's md5 or sha256 against Keras' hash), without importing Keras:
    the app server asks (Build, a new photo project) and never imports TensorFlow. Remembered per file version."""
    import hashlib

    stat = path.stat()
    key = (str(path), stat.st_mtime, stat.st_size, file.hash)
    if key not in _HASHES:
        digest = hashlib.new(file.algorithm)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        _HASHES[key] = digest.hexdigest() == file.hash
    return _HASHES[key]


def _download_allowed() -> bool:
    from layerlab.settings import limits

    return bool(limits().weights_download)


_REACHABLE: dict[str, tuple[float, bool]] = {}


def _reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether the weights' host answers now (remembered for a minute): without internet, say so before training."""
    host = urllib.parse.urlsplit(url).hostname or ""
    seen = _REACHABLE.get(host)
    if seen and time.monotonic() - seen[0] < 60:
        return seen[1]
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        ok = True
    except OSError:
        ok = False
    _REACHABLE[host] = (time.monotonic(), ok)
    return ok


class _ProgressLog:
    """Keras' download progress bar, written to the run's log every few seconds instead of a terminal."""

    def __init__(self, log: Callable[[str], None] | None) -> None:
        self.log, self.last = log, 0.0

    def write(self, text: str) -> int:
        line = text.strip("\r\n\b ").splitlines()[-1].strip() if text.strip() else ""
        if self.log and line and time.monotonic() - self.last > 5:
            self.last = time.monotonic()
            self.log(f"Download: {line}")
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True  # Keras' progress bar then reports as it goes, not only at the end


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
