"""What a kind of data owns: describing it, preparing it, its default template, its preview and the
name of its raw-input parser for prediction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from layerlab.data.info import DataInfo
from layerlab.spec import ProjectSpec


@dataclass(frozen=True)
class DataKind:
    """One kind of data.

    Attributes:
        name: the `data.kind` of a project ("images", "table", …).
        title: what a person calls it, as a heading ("Time series").
        examples: what one example is called, plural ("rows", "windows").
        describe: `(spec, frame) -> DataInfo` without training (frame: the table, None for images).
        prepare: `(spec, progress) -> Prepared`, the data ready for the tf.data pipeline.
        preview: `(df, spec) -> dict` the Prepare page's plan of the split (None: none worth computing).
        default_template: the model template a new project of this kind starts from.
        start: `(spec) -> edits` a new project of this data starts with when its data asks for more than the
            default (None: none); `model.template` among them replaces the default.
        input_parser: the name of its raw-input parser in `layerlab.inference.inputs` (`parser()` finds it).
        tabular: whether its data is a table read from a file (table, text, series).
    """

    name: str
    title: str
    examples: str
    describe: Callable[[ProjectSpec, Any], DataInfo]
    prepare: Callable[[ProjectSpec, Any], Any]
    default_template: str
    preview: Callable[[Any, ProjectSpec], Any] | None = None
    input_parser: str | None = None
    tabular: bool = True
    start: Callable[[ProjectSpec], dict[str, Any]] | None = None

    def parser(self) -> Callable[..., Any]:
        """The function in `layerlab.inference.inputs` that turns this kind's raw inputs into model inputs."""
        from layerlab.inference import inputs

        return getattr(inputs, self.input_parser or "")
