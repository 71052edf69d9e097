"""Tables: one row per example, a target column and feature columns (numbers and categories)."""

from __future__ import annotations

from typing import Any

from layerlab.data.info import DataInfo
from layerlab.kinds.base import DataKind
from layerlab.spec import ProjectSpec


def describe(spec: ProjectSpec, frame: Any = None) -> DataInfo:
    """For tables the width is computed from the whole table (the run fits on the training
    split, so category counts can differ slightly)."""
    from layerlab.prep import prepare as P
    from layerlab.prep.tabular import analyze_columns, encoded_width

    df = frame if frame is not None else P.load_frame(spec)
    target = P.check_column(df, spec.data.target, "target")
    df = P.drop_missing_target(df, target, [])
    classes = P.labels(df[target], target)[1] if spec.data.task == "classification" else []
    features = P.usable_features(df, spec, [])
    columns = analyze_columns(df, features, spec.prepare.table)
    return DataInfo(kind="table", task=spec.data.task, input_shape=(encoded_width(columns, spec.prepare.table),),
                    class_names=classes, extra={"columns": columns, "target": target,
                                                "numeric_width": sum(c["type"] == "numeric" for c in columns)})


def prepare(spec: ProjectSpec, progress: Any = None) -> Any:
    from layerlab.prep.prepare import prepare_table

    return prepare_table(spec, progress)


def preview(df: Any, spec: ProjectSpec) -> Any:
    from layerlab.preview import split_sizes

    return split_sizes(df, spec)


KIND = DataKind(name="table", input_parser="rows", title="Tables", examples="rows", describe=describe, prepare=prepare,
                default_template="mlp", preview=preview)
