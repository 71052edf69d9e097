"""Request bodies in TensorFlow Serving's REST format → a run's model inputs, and model outputs → valid JSON.

Every input goes through the kind's parser in `layerlab.inference.inputs` (`DataKind.parser()`), so a bad
input gets the same message here as on the Predict page and in the CLI, with the request's field named
(`instances[2].b64`, "`instances`: the column `age` should hold numbers, but row 3 has 'old'").
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

import numpy as np

from layerlab.errors import DataError
from layerlab.inference import inputs
from layerlab.kinds.registry import get_kind

FORMATS_HINT = ('Send {"instances": [input, …]} (one entry per input) or {"inputs": …} (columnar); '
                "see /docs for this model's inputs.")


def read_json(raw: bytes) -> Any:
    """The body as JSON. NaN is read as a missing value (refused later where the model allows none); Infinity
    is refused here.

    Raises:
        DataError: not UTF-8, empty, or not valid JSON (with the line and column).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError("The request body is not UTF-8 text; expected JSON.", FORMATS_HINT) from None
    if not text.strip():
        raise DataError("The request body is empty; expected a JSON object.", FORMATS_HINT)
    try:
        return json.loads(text, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise DataError(f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.",
                        FORMATS_HINT) from None


def _constant(name: str) -> float:
    if name == "NaN":
        return math.nan
    raise DataError(f"The request body holds {name}, which no model takes.",
                    "Send finite numbers, and null for a missing value.")


def instances(body: Any) -> tuple[list[Any], str]:
    """The request's inputs, one per example, and its format: "row" (`instances`) or "columnar" (`inputs`,
    a list or an object of equally long lists by input name, e.g. table columns).

    Raises:
        DataError: neither or both keys, or a value of the wrong type.
    """
    if not isinstance(body, dict):
        raise DataError(f"The request body should be a JSON object; received {_json_type(body)}.", FORMATS_HINT)
    if ("instances" in body) == ("inputs" in body):
        raise DataError("The request body should hold either `instances` or `inputs` (not "
                        f"{'both' if 'inputs' in body else 'neither'}).", FORMATS_HINT)
    if "instances" in body:
        items = body["instances"]
        if not isinstance(items, list):
            raise DataError(f"`instances` should be a list, one entry per input; received {_json_type(items)}.",
                            FORMATS_HINT)
        return items, "row"
    cols = body["inputs"]
    if isinstance(cols, list):
        return cols, "columnar"
    if not isinstance(cols, dict) or not cols:
        raise DataError("`inputs` should be a list (one entry per input) or an object of lists by input name; "
                        f"received {_json_type(cols)}.", FORMATS_HINT)
    for key, col in cols.items():
        if not isinstance(col, list):
            raise DataError(f"`inputs.{key}` should be a list, one value per input; received {_json_type(col)}.",
                            FORMATS_HINT)
    lengths = {key: len(col) for key, col in cols.items()}
    if len(set(lengths.values())) > 1:
        raise DataError("The lists in `inputs` should all have one value per input, but their lengths differ: "
                        + ", ".join(f"{k}: {n}" for k, n in list(lengths.items())[:10]) + ".", FORMATS_HINT)
    n = next(iter(lengths.values()))
    return [{key: col[i] for key, col in cols.items()} for i in range(n)], "columnar"


def model_batch(predictor: Any, items: list[Any], field: str) -> Any:
    """Raw inputs of the predictor's kind as one model-ready batch (an array, or arrays by input name).

    Args:
        field: the body's key the items came from (`instances` or `inputs`), named in messages.

    Raises:
        DataError: no inputs, more than LAYERLAB_PREDICT_ROWS, or one the kind's parser refuses.
    """
    info = predictor.info
    if not items:
        raise DataError(f"`{field}` is empty.", "Send at least one input.")
    inputs.check_batch_rows(len(items), f"`{field}`", "inputs", "this server", "requests")
    parse = get_kind(info.kind).parser()
    if info.kind == "images":
        prep = predictor.spec.prepare.image
        images = [parse(_b64(x, f"{field}[{i}]"), prep, f"{field}[{i}].b64") for i, x in enumerate(items)]
        return np.stack(images).astype("float32")
    if info.kind == "text":
        return np.array(parse(items, f"`{field}`"), dtype=object).reshape(-1, 1)
    if info.kind == "table":
        return parse(items, info.extra["columns"], f"`{field}`")
    ex = info.extra
    return np.stack([parse(_window_values(x, ex["features"], f"{field}[{i}]"), ex, f"{field}[{i}]")
                     for i, x in enumerate(items)])


def _b64(item: Any, name: str) -> bytes:
    """The image bytes of `{"b64": "…"}` (standard or URL-safe base64)."""
    if not isinstance(item, dict) or not isinstance(item.get("b64"), str):
        raise DataError(f'{name} should be an image as {{"b64": "<base64 of the image file>"}}; '
                        f"received {_json_type(item)}.", inputs.IMAGE_HINT)
    text = item["b64"].strip().replace("-", "+").replace("_", "/")  # URL-safe base64 too
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise DataError(f"{name}.b64 is not valid base64.",
                        "Encode the image file's bytes with base64 (e.g. `base64 -w0 image.png`).") from None


def _window_values(item: Any, features: list[str], name: str) -> Any:
    """A series input: a list (flat, or rows of values) or an object of value lists by column."""
    if not isinstance(item, dict):
        return item
    missing = [f for f in features if f not in item]
    if missing:
        raise DataError(f"{name} has no column {', '.join(f'`{m}`' for m in missing)}.",
                        f"Send the recent values of {', '.join(f'`{f}`' for f in features)}, oldest first.")
    cols = [item[f] for f in features]
    if not all(isinstance(c, list) for c in cols) or len({len(c) for c in cols}) > 1:
        raise DataError(f"{name} should hold one list of recent values per column, all of the same length.")
    return [list(row) for row in zip(*cols)]


def concat(batches: list[Any]) -> Any:
    """Several model-ready batches as one (arrays stacked; arrays by name stacked per name)."""
    if len(batches) == 1:
        return batches[0]
    if isinstance(batches[0], dict):
        return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
    return np.concatenate(batches)


def plain(out: np.ndarray) -> list[Any]:
    """Model outputs as JSON lists, a NaN or infinity (a broken model's) as null: JSON stays valid."""
    arr = np.asarray(out, dtype="float64")
    if np.isfinite(arr).all():
        return arr.tolist()
    return np.where(np.isfinite(arr), arr, None).tolist()


def finite(value: Any) -> Any:
    """A friendly answer with any NaN or infinity (in nested dicts and lists) as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
