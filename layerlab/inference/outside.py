"""A `.keras` file made elsewhere: checked before it is loaded, loaded in safe mode, and tried on raw inputs.

The checks bound what an upload may cost (file and unzipped size from LAYERLAB_MODEL_PARAMS,
member count, config.json size) and refuse what would run code (a Lambda layer) before Keras
sees the file. `load(data, name)` does both and returns the model; `input_kind(model)` says what
it takes, and `number_rows` / `image_for` parse raw inputs for it.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from layerlab.errors import DataError, LayerlabError
from layerlab.inference.inputs import IMAGE_HINT, is_number

_MAX_MEMBERS = 10_000  # a .keras archive holds three files
_MAX_CONFIG = 16 * 1024 ** 2  # a model's config.json is kilobytes; read whole, so bounded
_MODEL_OVERHEAD = 1024 ** 2  # config.json, metadata.json and the HDF5 file's own structure
_HINT = "Save the model with Keras 3: `model.save('model.keras')`. Older .h5 files and pickles are not accepted."
# Pixel scalings a model made elsewhere may expect: (factor, offset) applied to 0–255 values.
SCALES = {"0–255 (as read)": (1.0, 0.0), "0–1 (divided by 255)": (1 / 255.0, 0.0), "−1–1": (1 / 127.5, -1.0)}


def model_file_caps() -> tuple[int, int]:
    """(largest .keras file, largest unzipped content) in bytes that a model within LAYERLAB_MODEL_PARAMS needs.

    Its weights take 4 bytes a parameter (float32) in the file, up to 8 unzipped (float64); the file is also
    one upload, so LAYERLAB_UPLOAD_MB bounds it too. With the defaults: about 192 MB.
    """
    from layerlab.settings import limits

    lim = limits()
    params = max(0, lim.model_params)
    return (min(lim.upload_mb * 1024 ** 2, 4 * params + _MODEL_OVERHEAD),
            8 * params + 16 * _MODEL_OVERHEAD)


def max_model_mb() -> int:
    """The largest .keras file, in whole MB (for an uploader)."""
    return max(1, math.ceil(model_file_caps()[0] / 1024 ** 2))


def check_model_params(model: Any, name: str = "the model") -> None:
    """Refuse a loaded model with more parameters than LAYERLAB_MODEL_PARAMS (its file may hold fewer bytes).
    `model` may be the count itself (the model host's `describe` gives it).

    Raises:
        LayerlabError: with the count, the limit and what to do.
    """
    from layerlab.settings import limits

    limit, count = limits().model_params, int(model if isinstance(model, int) else model.count_params())
    if count > limit:
        raise LayerlabError(f"{name} has {count:,} parameters; models up to {limit:,} parameters can be tried here.",
                            "Try a smaller model; whoever runs this server can raise the limit with "
                            "LAYERLAB_MODEL_PARAMS.")


def check_keras_file(data: bytes, name: str = "the file") -> None:
    """Refuse what is not a Keras 3 `.keras` archive, or what would run code when loaded.

    Checks before anything is loaded: the size, that it is a zip with Keras' config.json
    (member count and unzipped size bounded), and that no layer is a `Lambda` (its Python
    code would run; safe mode refuses it too, with a less clear message).

    Raises:
        LayerlabError: naming what is wrong.
    """
    import io
    import json
    import zipfile
    import zlib

    from layerlab.settings import limits

    max_file, max_unzipped = model_file_caps()
    if len(data) > max_file:
        raise LayerlabError(f"{name} is {len(data) / 2**20:,.1f} MB; models up to {max_file / 2**20:,.1f} MB can be "
                            f"tried here (up to {limits().model_params:,} parameters).",
                            "Try a smaller model; whoever runs this server can raise the limit with "
                            "LAYERLAB_MODEL_PARAMS (and LAYERLAB_UPLOAD_MB).")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise LayerlabError(f"{name} is not a Keras model file: a .keras file is a zip archive, and this one is not.",
                            _HINT)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
            unzipped = sum(m.file_size for m in members)
            if (len(members) > _MAX_MEMBERS or unzipped > max_unzipped
                    or (unzipped > 10 * 2**20 and unzipped / max(1, len(data)) > limits().zip_ratio)):
                raise LayerlabError(f"{name} unpacks to too many or too large files to be a model.", _HINT)
            if "config.json" not in zf.namelist():
                raise LayerlabError(f"{name} is a zip archive but not a Keras model: it has no config.json.", _HINT)
            if zf.getinfo("config.json").file_size > _MAX_CONFIG:
                raise LayerlabError(f"{name} has a model description (config.json) too large to be a model's.", _HINT)
            config = json.loads(zf.read("config.json").decode("utf-8"))
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, RecursionError, OSError, zlib.error,
            EOFError, NotImplementedError) as exc:
        raise LayerlabError(f"{name} is damaged: its model description cannot be read ({type(exc).__name__}).",
                            _HINT) from None
    lam = find_lambda(config)
    if lam is not None:
        raise LayerlabError(f"The model has a Lambda layer (`{lam}`): it holds Python code that would run when the "
                            "model is loaded, so Layerlab refuses it (Keras safe mode).",
                            "Rebuild the model with built-in layers (or registered custom layers) instead of Lambda, "
                            "and save it again.")


def find_lambda(node: Any) -> str | None:
    """The name of the first Lambda layer in a model's config.json (None: there is none)."""
    if isinstance(node, dict):
        if node.get("class_name") == "Lambda":
            cfg = node.get("config") if isinstance(node.get("config"), dict) else {}
            return str(cfg.get("name") or "lambda")
        for v in node.values():
            found = find_lambda(v)
            if found:
                return found
    elif isinstance(node, list):
        for v in node:
            found = find_lambda(v)
            if found:
                return found
    return None


def load(data: bytes, name: str) -> Any:
    """Check and load an uploaded .keras file in safe mode; LayerlabError (plain words) when it cannot be used."""
    import tempfile
    from pathlib import Path

    from layerlab.inference.predictor import load_model_file

    check_keras_file(data, name)
    with tempfile.TemporaryDirectory(prefix="layerlab-model-") as tmp:
        path = Path(tmp) / "uploaded.keras"
        path.write_bytes(data)
        model = load_model_file(path, name)
    check_model_params(model, name)
    return model


def input_kind(model: Any) -> str | None:
    """What a foreign model takes, from its single input: image, rows, text or window (None: not one of those)."""
    shape = model.input_shape
    if isinstance(shape, (list, dict)) or len(getattr(model, "inputs", []) or [None]) != 1:
        return None
    dtype = str(getattr(model.inputs[0], "dtype", "float32"))
    if "string" in dtype:
        return "text" if len(shape) in (1, 2) else None
    if len(shape) == 4:
        return "image" if (shape[3] or 3) in (1, 3) else None
    if len(shape) == 2 and shape[1]:
        return "rows"
    if len(shape) == 3 and shape[2]:
        return "window"
    return None


def run(model: Any, x: Any) -> np.ndarray:
    """The model's outputs for a batch, one flat row per input (float64). One caller at a time: the model host
    (`layerlab.inference.host`) answers one request after another."""
    out = np.asarray(model(x, training=False), dtype="float64")
    return out.reshape(len(out), -1)


def describe(model: Any) -> dict[str, Any]:
    """What the Predict page needs to know of a loaded model made elsewhere (plain values: it crosses from the
    model host to the server)."""
    return {"input_shape": _plain(model.input_shape), "output_shape": _plain(model.output_shape),
            "params": int(model.count_params()), "kind": input_kind(model)}


def _plain(shape: Any) -> Any:
    if isinstance(shape, dict):
        return {str(k): _plain(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        return tuple(_plain(v) for v in shape)
    return None if shape is None else int(shape)


def text_batch(model: Any, texts: list[str]) -> Any:
    """Texts as a string model's input (a string tensor: a string input is TensorFlow's)."""
    from layerlab.prep.tf_pipeline import as_model_inputs

    x = np.array(texts, dtype=object)
    if len(model.input_shape) == 2:
        x = x.reshape(-1, 1)
    return as_model_inputs(x)


def number_rows(lines: list[str], width: int, what: str) -> np.ndarray:
    """Rows of `width` numbers from text lines (commas, semicolons, tabs or spaces), or a DataError naming the line."""
    rows = []
    for i, line in enumerate(lines, 1):
        cells = [c for c in re.split(r"[,;\t ]+", line.strip()) if c]
        try:
            values = [float(c) for c in cells]
        except ValueError:
            bad = next(c for c in cells if not is_number(c))
            raise DataError(f"{what} {i} holds {bad!r}, which is not a number.",
                            f"Give {width} numbers per line, separated by commas.") from None
        if len(values) != width:
            raise DataError(f"{what} {i} has {len(values)} number(s); the model takes {width}.",
                            f"Give {width} numbers per line, in the order the model was trained on.")
        rows.append(values)
    return np.asarray(rows, dtype="float32")


def window_rows(lines: list[str], steps: int | None, width: int) -> np.ndarray:
    """One sequence (steps × width numbers, oldest first) from text lines."""
    if steps and len(lines) != steps:
        raise DataError(f"The sequence has {len(lines)} step(s); the model takes {steps}.",
                        f"Give exactly {steps} lines, the oldest first.")
    return number_rows(lines, width, "Step")


def image_for(data: bytes, h: int, w: int, c: int, name: str) -> np.ndarray:
    """An image file as uint8 (h, w, c) for a model made elsewhere, or a DataError naming the file."""
    from PIL import Image

    from layerlab.data.images import decode_image

    try:
        arr = decode_image(data)
    except DataError as exc:
        raise DataError(f"{name}: {exc.message}", IMAGE_HINT) from None
    im = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    im = im.convert("L" if c == 1 else "RGB").resize((w, h), Image.Resampling.BILINEAR)
    out = np.asarray(im, dtype=np.uint8)
    return out[..., None] if out.ndim == 2 else out
