"""Creating a project from data, and the facts about its data that building needs.

Shared by the CLI's `init` and the app's Data page, so both infer the same defaults.
"""

from __future__ import annotations

from pathlib import Path

from layerlab.data.info import DataInfo
from layerlab.errors import DataError
from layerlab.samples import get_sample, sample_name
from layerlab.spec import DataSpec, ModelSpec, PrepareSpec, ProjectSpec, load_spec


def infer_kind(source: str) -> str:
    name = sample_name(source)
    if name is not None:
        return get_sample(name).kind
    path = Path(source).expanduser()
    if path.is_dir() or path.suffix.lower() == ".zip":
        return "images"
    raise DataError(f"Layerlab cannot tell what kind of data {path.name} holds.",
                    "Use a .zip (or folder) of class folders of images, or a bundled sample (`python -m layerlab samples`).")


def describe_data(spec: ProjectSpec) -> DataInfo:
    """The DataInfo for the spec's data and preparation, without loading all of it."""
    if spec.data.kind == "images":
        from layerlab.data.images import open_images

        src = open_images(spec.data.source)
        prep = spec.prepare.image
        return DataInfo(kind="images", task="classification",
                        input_shape=(prep.height, prep.width, 1 if prep.color == "grayscale" else 3),
                        class_names=list(src.class_names))
    raise DataError(f"{spec.data.kind} data is not supported yet.")


def with_template(spec: ProjectSpec, template: str, info: DataInfo | None = None) -> ProjectSpec:
    """The spec with its body replaced by the template's layers (fitted to the data)."""
    from layerlab.models.templates import template_layers

    info = info or describe_data(spec)
    layers = template_layers(template, info)
    data = spec.to_dict()
    data["model"] = {"template": template, "layers": [layer.model_dump(mode="json") for layer in layers]}
    return load_spec(data)


def new_project(source: str, *, template: str | None = None, target: str | None = None,
                name: str | None = None) -> ProjectSpec:
    """A ready-to-train project for `source` (`sample:NAME`, a zip or a folder) with inferred defaults."""
    from layerlab.models.templates import default_template

    kind = infer_kind(source)
    if sample_name(source) is None:
        source = str(Path(source).expanduser().resolve())
    data = DataSpec(kind=kind, source=source, target=target)
    prepare = PrepareSpec()
    title = name
    if kind == "images":
        from layerlab.data.images import open_images

        src = open_images(source)
        prepare = PrepareSpec(image=src.suggest_prep())
        title = title or src.name
    spec = ProjectSpec(name=(title or "Untitled project")[:100], data=data, prepare=prepare,
                       model=ModelSpec(template=template or default_template(kind), layers=[]))
    return with_template(spec, spec.model.template)
