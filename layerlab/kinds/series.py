"""Time series: values over time (a date column or the row order), forecast a few steps ahead."""

from __future__ import annotations

from typing import Any

from layerlab.data.info import DataInfo
from layerlab.kinds.base import DataKind
from layerlab.spec import ProjectSpec


def describe(spec: ProjectSpec, frame: Any = None) -> DataInfo:
    from layerlab.prep import prepare as P

    df = frame if frame is not None else P.load_frame(spec)
    features, targets = P.series_columns(df, spec)
    s = spec.prepare.series
    return DataInfo(kind="series", task="forecasting", input_shape=(s.window, len(features)),
                    outputs=s.horizon * len(targets),
                    extra={"horizon": s.horizon, "n_targets": len(targets), "targets": targets, "features": features})


def prepare(spec: ProjectSpec, progress: Any = None) -> Any:
    from layerlab.prep.prepare import prepare_series

    return prepare_series(spec, progress)


def preview(df: Any, spec: ProjectSpec) -> Any:
    from layerlab.preview import series_plan

    return series_plan(df, spec)


KIND = DataKind(name="series", input_parser="window", title="Time series", examples="windows", describe=describe, prepare=prepare,
                default_template="lstm_forecaster", preview=preview)
