"""Creating a project from data, and the facts about its data that building needs.

Shared by the CLI's `init` and the app's Data page, so both infer the same defaults.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from layerlab.data.info import DataInfo
from layerlab.errors import DataError
from layerlab.samples import get_sample
from layerlab.spec import DataSpec, ModelSpec, PrepareSpec, ProjectSpec, load_spec
from layerlab.workspace import Source

TABLE_EXTENSIONS = {".csv", ".tsv", ".txt", ".tab", ".xlsx", ".parquet", ".pq", ".jsonl", ".ndjson", ".json"}


ACCEPTED_FILES = ("a .zip holding one folder of images per class, or a table: CSV, TSV, Excel (.xlsx), Parquet "
                  "or JSON Lines")


def is_table_file(path: Path) -> bool:
    return path.suffix.lower() in TABLE_EXTENSIONS


def kind_of_file(name: str) -> str:
    """'images' for a zip, 'table' for a table file; otherwise a DataError saying which files are
    accepted and why this one is not (an uploader that only turns red says neither)."""
    suffix = Path(name).suffix.lower()
    if suffix == ".zip":
        return "images"
    if suffix in TABLE_EXTENSIONS:
        return "table"
    from layerlab.data.images import IMAGE_EXTENSIONS

    if suffix in IMAGE_EXTENSIONS:
        why = (f"`{name}` is a single image, but Layerlab learns from many images sorted into classes, "
               "so images come in a .zip with one folder per class.")
    elif not suffix:
        why = f"`{name}` has no file extension, so Layerlab cannot tell a table from a zip of images."
    else:
        why = f"Layerlab cannot read {suffix} files such as `{name}`: it is neither a zip of images nor a table file."
    raise DataError(why, f"Upload {ACCEPTED_FILES}.")


def describe_data(spec: ProjectSpec, frame: Any = None) -> DataInfo:
    """The DataInfo for the spec's data and preparation, without training anything (the kind's `describe`)."""
    from layerlab.kinds import get_kind

    return get_kind(spec.data.kind).describe(spec, frame)


def with_template(spec: ProjectSpec, template: str, info: DataInfo | None = None) -> ProjectSpec:
    """The spec with its body replaced by the template's layers (fitted to the data)."""
    from layerlab.models.templates import template_layers

    info = info or describe_data(spec)
    layers = template_layers(template, info)
    data = spec.to_dict()
    data["model"] = {"template": template, "layers": [layer.model_dump(mode="json") for layer in layers]}
    return load_spec(data)


def new_project(source: str, *, template: str | None = None, target: str | None = None, text: str | None = None,
                date: str | None = None, task: str | None = None, name: str | None = None,
                frame: Any = None) -> ProjectSpec:
    """A ready-to-train project for `source` (`sample:NAME`, a zip, a folder or a table file) with inferred defaults."""
    from layerlab.kinds.registry import KINDS
    from layerlab.models.templates import default_template

    sample = Source(source).sample
    if sample is not None:
        meta = get_sample(sample)
        kind, defaults, title = meta.kind, dict(getattr(meta, "defaults", {}) or {}), meta.title
        sample_prep = {f"prepare.{k}": v for k, v in (getattr(meta, "prepare", {}) or {}).items()}
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise DataError(f"There is no file or folder at {path}.", "Check the path.")
        source = str(path.resolve())
        defaults, title, sample_prep = {}, path.stem, {}
        kind = "images" if path.is_dir() else kind_of_file(path.name)
    prepare = PrepareSpec()
    if kind == "images":
        from layerlab.data.images import open_images

        src = open_images(source)
        prepare = PrepareSpec(image=src.suggest_prep())
        data = DataSpec(kind="images", source=source)
        frame = None
    else:
        from layerlab.prep.prepare import load_frame
        from layerlab.roles import roles_for_frame

        if frame is None:
            frame = load_frame(load_spec({"data": {"kind": "table", "source": source}}))
        roles = roles_for_frame(frame, None if sample is None else kind, target, text, date, task, defaults)
        data = DataSpec(kind=roles["kind"], source=source, task=roles["task"], target=roles["target"],
                        text=roles["text"] if roles["kind"] == "text" else None,
                        date=roles["date"] if roles["kind"] == "series" else None, ignore=roles["ignore"])
    spec = ProjectSpec(name=(name or title or "Untitled project")[:100], data=data, prepare=prepare,
                       model=ModelSpec(template=template or default_template(data.kind), layers=[]))
    spec = _fit_series_window(spec, frame) if data.kind == "series" else spec
    spec = _fit_text_length(spec, frame) if data.kind == "text" else spec
    spec = spec.edit(**sample_prep) if sample_prep and data.kind == kind else spec
    start = KINDS[data.kind].start if template is None else None  # e.g. photos start pretrained
    spec = spec.edit(**start(spec)) if start else spec
    return with_template(spec, spec.model.template, describe_data(spec, frame))


def _fit_text_length(spec: ProjectSpec, frame: Any) -> ProjectSpec:
    """A sequence length that holds 95% of the texts whole, rounded up to a multiple of 8, between 16
    and 256: tweets of ~20 words padded to the old fixed 120 paid for 100 empty positions in every
    layer, and a long text is cut at 256 words to keep training quick (Prepare shows how many are cut)."""
    words = frame[spec.data.text].astype("string").str.split().str.len().dropna()
    if words.empty:
        return spec
    length = int(min(256, max(16, math.ceil(float(words.quantile(0.95)) / 8) * 8)))
    return spec.edit(**{"prepare.text.sequence_length": length})


def _fit_series_window(spec: ProjectSpec, frame: Any) -> ProjectSpec:
    """A default window that suits the series' length (about a tenth of it, between 4 and 48)."""
    n = len(frame)
    window = max(4, min(48, n // 10))
    return spec.edit(**{"prepare.series.window": window})
