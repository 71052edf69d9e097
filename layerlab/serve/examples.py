"""A ready request body for a served run, holding one real input from its test set.

`/docs`' "Try it out", the tests, the benchmark and the Serve page's "Send a test request" and snippets all
send this body, so what a person tries first is a real example the model was tested on, in the exact form
the server expects (an image as `{"b64": …}` of its file, a table row by column name with raw values, a text,
a series' recent values).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np

from layerlab.errors import LayerlabError
from layerlab.runs.files import RunFiles


def example_request(run_dir: str | Path) -> dict[str, Any]:
    """`{"instances": [one input]}` in TensorFlow Serving's row format, from the run's test set.

    Raises:
        LayerlabError: the run has no evaluation (images, texts) or its images cannot be found again.
    """
    return {"instances": [example_input(run_dir)]}


def example_input(run_dir: str | Path) -> Any:
    """One raw test input of the run, as a request's instance."""
    files = RunFiles(Path(run_dir))
    info = files.info()
    ev = files.evaluation() if files.has_evaluation else {}
    if info.kind == "series":
        return _plain_rows(info.extra["last_window"], len(info.extra["features"]))
    if info.kind == "table":
        return _table_row(ev, info.extra["columns"])
    if info.kind == "text":
        texts = (ev.get("examples") or {}).get("texts") or []
        if not texts:
            raise LayerlabError(f"The run {files.root.name} kept no test texts to take an example from.",
                                "Train the run again with this version of Layerlab.")
        return texts[0]
    return {"b64": base64.b64encode(_image_file(files, ev)).decode("ascii")}


def _plain_rows(window: list[list[float]], n_features: int) -> list[Any]:
    """A window as the rows of values (a flat list for one column)."""
    return [row[0] for row in window] if n_features == 1 else [list(row) for row in window]


def _table_row(ev: dict[str, Any], columns: list[dict[str, Any]]) -> dict[str, Any]:
    """The first kept test row, by the model's column names (its typical values when the run kept none)."""
    ex = ev.get("examples") or {}
    if ex.get("rows"):
        row = dict(zip(ex["columns"], ex["rows"][0]))
        return {c["name"]: row.get(c["name"]) for c in columns}
    return {c["name"]: c.get("default") for c in columns}


def _image_file(files: RunFiles, ev: dict[str, Any]) -> bytes:
    """The bytes of the run's first test image: its file, or a PNG of a sample's array."""
    from layerlab.data.images import open_images

    index = (ev.get("test_source_indices") or ev.get("test_indices") or [None])[0]
    if index is None:
        raise LayerlabError(f"The run {files.root.name} has no test set to take an example image from.",
                            "Pick a run that has finished training.")
    src = open_images(files.spec().data.source)
    if index >= len(src):
        raise LayerlabError("The run's data changed since training: its test image cannot be found again.")
    if src.files:
        return Path(src.files[index]).read_bytes()
    from PIL import Image

    arr = np.asarray(src.arrays[index], dtype=np.uint8)  # type: ignore[index]
    buf = io.BytesIO()
    Image.fromarray(arr[..., 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr).save(buf, format="PNG")
    return buf.getvalue()
