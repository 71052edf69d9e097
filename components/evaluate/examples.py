"""The test examples of an evaluation as a user recognises them: texts and table rows kept in the
evaluation, images found again in the project's data source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st

from components.markup import message
from layerlab.errors import LayerlabError
from layerlab.spec import ProjectSpec


@dataclass


class Examples:
    """Test examples by position in the test set: images from the data source, texts or table rows
    kept in evaluation.json (`examples`), and the true class of each (`true_labels`)."""

    kind: str
    true_labels: list[int] | None = None
    image: Callable[[dict[str, Any]], np.ndarray | None] | None = None  # gallery item → image as the model saw it
    texts: dict[int, str] = field(default_factory=dict)
    rows: dict[int, list[Any]] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    target: str | None = None  # the raw table's target column (shown as True instead)

    def available(self, position: int) -> bool:
        if self.kind == "images":
            return self.image is not None
        return position in (self.texts if self.kind == "text" else self.rows)

    def row(self, position: int) -> dict[str, Any]:
        values = self.rows.get(position)
        if values is None:
            return {}
        return {c: v for c, v in zip(self.columns, values) if c != self.target}


def examples_from(ev: dict[str, Any], kind: str, target: str | None = None) -> Examples:
    """The texts or table rows that evaluation.json keeps (absent in runs trained before it kept them)."""
    ex = ev.get("examples") or {}
    out = Examples(kind=kind, true_labels=ev.get("true_labels"), target=target)
    positions = [int(p) for p in ex.get("positions", [])]
    if ex.get("kind") == "text":
        out.texts = dict(zip(positions, (str(t) for t in ex.get("texts", []))))
    elif ex.get("kind") == "table":
        out.columns = [str(c) for c in ex.get("columns", [])]
        out.rows = dict(zip(positions, ex.get("rows", [])))
    return out


# ---- images: found again in the data source -------------------------------------------------------


@st.cache_resource(max_entries=2, ttl=600, show_spinner="Opening the data…")
def _image_source(source: str):
    from layerlab.data.images import open_images

    return open_images(source)


def _image_of(src, prep, item: dict) -> np.ndarray | None:
    """The test image of a gallery item as the model saw it, or None if it cannot be found again."""
    i = int(item["source_index"]) if "source_index" in item else None
    if i is None:
        return None
    name = item.get("name")
    if name is not None and src.files and (i >= len(src.files) or src.item_name(i) != name):
        # Unreadable files were skipped at training time, which shifts indices: find it by name.
        matches = [k for k, f in enumerate(src.files) if f.name == name and int(src.labels[k]) == int(item["true"])]
        if not matches:
            return None
        i = matches[0]
    if i >= len(src) or (name is None and int(src.labels[i]) != int(item["true"])):
        return None  # the data changed since training
    try:
        return src.decode(i, prep)
    except (LayerlabError, OSError):
        return None  # unreadable now


def examples_for(ev: dict, spec: ProjectSpec | None) -> Examples:
    """The run's test examples: texts and rows from the evaluation, images from the project's data source."""
    kind = spec.data.kind if spec else (ev.get("examples") or {}).get("kind", "images")
    if kind != "images":
        target = spec.data.target if spec else None
        return examples_from(ev, kind, target)
    ex = Examples(kind="images", true_labels=ev.get("true_labels"))
    if spec is None:
        return ex
    try:
        src = _image_source(spec.data.source)
    except LayerlabError as exc:
        st.warning(f"The images cannot be shown: {message(exc.message)}", icon=":material/broken_image:")
        return ex
    ex.image = lambda item: _image_of(src, spec.prepare.image, item)
    if ex.true_labels is None and ev.get("test_source_indices") is not None:
        labels = src.labels
        ex.true_labels = [int(labels[i]) if i < len(labels) else -1 for i in ev["test_source_indices"]]
    return ex
