"""Template: a series' rows in time order, simplified: dates parsed by pandas, gaps not inserted."""

from __future__ import annotations

import numpy as np
import pandas as pd

from layerlab.codegen.templates.project import SPEC

# ---- the script starts here ----


def _dates(s: pd.Series) -> pd.Series:
    """Dates from datetimes, text, whole years (1000-2999) or YYYYMMDD numbers."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s
    if pd.api.types.is_numeric_dtype(s.dtype):
        v = s.dropna().to_numpy(dtype="float64")
        if len(v) and np.all(np.mod(v, 1) == 0) and v.min() >= 1000 and v.max() <= 2999:
            return pd.to_datetime(pd.DataFrame({"year": s, "month": 1, "day": 1}), errors="coerce")
        if len(v) and np.all(np.mod(v, 1) == 0) and v.min() >= 1000_01_01:
            return pd.to_datetime(s.astype("Int64").astype("str"), format="%Y%m%d", errors="coerce")
    return pd.to_datetime(s, errors="coerce")


def series_values(df: pd.DataFrame, features: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows in time order (repeated dates averaged), values as floats, missing values filled."""
    date = SPEC.data.date
    values = df[features].apply(pd.to_numeric, errors="coerce").astype("float64")
    if date:
        values[date] = _dates(df[date])
        values = values.dropna(subset=[date]).groupby(date, sort=True).mean().reset_index()
    how = SPEC.prepare.series.fill
    if how == "interpolate":
        values[features] = values[features].interpolate(limit_direction="both")
    elif how == "ffill":
        values[features] = values[features].ffill().bfill()
    values = values.dropna(subset=features).reset_index(drop=True)
    return values, values[features].to_numpy(dtype="float64")
