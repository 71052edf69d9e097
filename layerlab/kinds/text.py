"""Text: a column of texts and a label to classify them by."""

from __future__ import annotations

from typing import Any

from layerlab.data.info import DataInfo
from layerlab.kinds.base import DataKind
from layerlab.spec import ProjectSpec


def describe(spec: ProjectSpec, frame: Any = None) -> DataInfo:
    from layerlab.prep import prepare as P

    df = frame if frame is not None else P.load_frame(spec)
    target = P.check_column(df, spec.data.target, "target")
    P.check_column(df, spec.data.text, "text")
    df = P.drop_missing_target(df, target, [])
    t = spec.prepare.text
    return DataInfo(kind="text", task="classification", input_shape=(t.sequence_length,),
                    class_names=P.labels(df[target], target)[1],
                    extra={"vocab_size": t.vocab_size, "sequence_length": t.sequence_length,
                           "text": spec.data.text, "target": target})


def prepare(spec: ProjectSpec, progress: Any = None) -> Any:
    from layerlab.prep.prepare import prepare_text

    return prepare_text(spec, progress)


def preview(df: Any, spec: ProjectSpec) -> Any:
    from layerlab.preview import split_sizes

    return split_sizes(df, spec)


KIND = DataKind(name="text", input_parser="texts", title="Text", examples="texts", describe=describe, prepare=prepare,
                default_template="bag_of_embeddings", preview=preview)
