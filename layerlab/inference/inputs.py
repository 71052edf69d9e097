"""Raw inputs of every kind, parsed and checked into what a run's end-to-end model takes.

Every client (the Predict page, the CLI, the model server) calls these with plain Python values
(bytes, str, dict, list) and gets the same messages. Each function returns model-ready inputs or
raises a DataError that names the input (the file, the row, the line, the column) and what was
expected, never an exception's own text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from layerlab.errors import DataError

IMAGE_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp"]
IMAGE_HINT = "Use a PNG, JPEG, BMP, GIF or WebP image."
INK = 24  # gray levels above this count as ink in a drawing


# ---- batches ------------------------------------------------------------------------------------------


def check_batch_rows(count: int, name: str, what: str = "rows", where: str = "the Predict page",
                     parts: str = "files") -> None:
    """Refuse a batch with more rows (or texts) than LAYERLAB_PREDICT_ROWS, before predicting any.

    Args:
        where: who refuses it ("the Predict page", "this server"); parts: what to split it into.

    Raises:
        DataError: saying how many were given, the cap, and what to do.
    """
    from layerlab.settings import limits

    cap = limits().predict_rows
    if count > cap:
        raise DataError(f"{name} holds {count:,} {what}; {where} takes at most {cap:,} {what} at a time.",
                        f"Split it into {parts} of {cap:,} {what} or fewer, or predict it all on the command line "
                        "(`python -m layerlab predict RUN_DIR FILE`); whoever runs this server can raise the cap "
                        "with LAYERLAB_PREDICT_ROWS.")


def is_number(value: Any) -> bool:
    """Whether `float(value)` works (numbers and numeric strings)."""
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


# ---- images ---------------------------------------------------------------------------------------------


def image(data: bytes, prep: Any, name: str = "the image") -> np.ndarray:
    """Image file bytes (any format the page accepts, within LAYERLAB_IMAGE_PIXELS) as the model's uint8 input.

    Args:
        data: the file's bytes (the server decodes base64 first).
        prep: the run's ImagePrep (size and colour), as in training.
        name: the file or field named in messages.
    """
    from layerlab.data.images import decode_image

    if not isinstance(data, (bytes, bytearray)):
        raise DataError(f"{name} should be an image file's bytes; received {type(data).__name__}.", IMAGE_HINT)
    try:
        return decode_image(bytes(data), prep)
    except DataError as exc:
        raise DataError(f"{name}: {exc.message}", exc.hint or IMAGE_HINT) from None


def drawing_to_gray(drawing: Any) -> np.ndarray:
    """A canvas drawing (RGBA, RGB or gray array) as uint8 gray (H, W, 1): light ink on black.

    Transparent pixels count as the black background, so it works whether or not the
    canvas painted its background into the image.
    """
    try:
        arr = np.asarray(drawing, dtype="float32")
    except (TypeError, ValueError):
        raise DataError("The drawing should be an array of pixel values (height × width × RGBA).") from None
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        gray = arr
    elif arr.ndim == 3 and arr.shape[2] in (3, 4):
        gray = arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114
        if arr.shape[2] == 4:
            gray = gray * (arr[..., 3] / 255.0)
    else:
        raise DataError(f"The drawing has an unexpected shape {arr.shape}.",
                        "Send height × width pixels, gray or RGB(A).")
    return np.clip(np.round(np.nan_to_num(gray)), 0, 255).astype("uint8")[..., None]


def has_ink(gray: np.ndarray) -> bool:
    """Whether anything was drawn (an empty canvas predicts nothing useful)."""
    return bool(gray.size) and int(gray.max()) >= INK


def fit_to_frame(gray: np.ndarray, margin: float = 0.12, threshold: int = INK) -> np.ndarray:
    """The drawing cropped to its ink and centred in a square with a small black margin.

    Digits in the training data fill their frame; a small drawing in a corner would not.
    Returns the input unchanged when there is no ink.
    """
    g = gray[..., 0] if gray.ndim == 3 else gray
    rows, cols = np.flatnonzero((g > threshold).any(axis=1)), np.flatnonzero((g > threshold).any(axis=0))
    if not len(rows):
        return gray
    crop = g[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    side = int(math.ceil(max(crop.shape) * (1 + 2 * margin)))
    out = np.zeros((side, side), dtype="uint8")
    top, left = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
    out[top:top + crop.shape[0], left:left + crop.shape[1]] = crop
    return out[..., None]


def drawing(pixels: Any, prep: Any, fit: bool = True) -> np.ndarray:
    """A drawing (RGBA/RGB/gray array, light ink on black) as the model's uint8 input.

    Args:
        fit: crop to the ink and centre it, as the training digits fill their frame.
    """
    from layerlab.data.images import resize_array

    gray = drawing_to_gray(pixels)
    if not has_ink(gray):
        raise DataError("The drawing is empty.", "Draw something in light ink on a black background.")
    return resize_array(fit_to_frame(gray) if fit else gray, prep)


# ---- texts ----------------------------------------------------------------------------------------------


def text_lines(raw: str) -> list[str]:
    """Pasted text as one text per non-blank line, stripped."""
    return [ln.strip() for ln in str(raw).splitlines() if ln.strip()]


def texts(values: Sequence[Any], name: str = "The request") -> list[str]:
    """A list of texts (strings) checked: each a string; the list not empty.

    Raises:
        DataError: naming the first text that is not a string.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise DataError(f"{name} should be a list of texts (strings); received {type(values).__name__}.")
    if not values:
        raise DataError(f"{name} holds no texts.", "Send at least one text.")
    for i, v in enumerate(values, 1):
        if not isinstance(v, str):
            raise DataError(f"{name}: text {i} should be a string; received {v!r}.", "Send each text as a string.")
    return list(values)


def texts_of_file(name: str, data: bytes, column: str, cap: bool = True) -> list[str]:
    """The texts of an uploaded file: a .txt (one per line) or a table's `column`; capped per batch (`cap`)."""
    import pandas as pd

    if name.lower().endswith(".txt"):
        found = text_lines(data.decode("utf-8", errors="replace"))
    else:
        from layerlab.data.tables import read_table

        df = read_table(data, name).frame
        if column not in df.columns:
            raise DataError(f"{name} has no `{column}` column with the texts.",
                            f"Its columns are: {', '.join(map(str, list(df.columns)[:20]))}. Rename the text column to "
                            f"`{column}`, or upload a .txt file with one text per line.")
        found = ["" if pd.isna(t) else str(t) for t in df[column].to_numpy(dtype=object)]
    if not any(t.strip() for t in found):
        raise DataError(f"{name} holds no texts.")
    if cap:
        check_batch_rows(len(found), name, "texts")
    return found


# ---- table rows -----------------------------------------------------------------------------------------


def choices(column: dict[str, Any]) -> list[str]:
    """The categories a person may pick for a categorical training column (not the missing-value token)."""
    from layerlab.prep.tabular import MISSING_TOKEN

    return [c for c in column.get("categories", []) if c != MISSING_TOKEN] or [column.get("default", "")]


def rows(records: Any, columns: list[dict[str, Any]], name: str = "The request") -> dict[str, np.ndarray]:
    """Table rows (a DataFrame, or a list of {column: raw value}) as the model's named inputs.

    Numbers may come as numbers or numeric strings; a missing value (None, NaN, an empty cell in a
    file) is filled as in training. Other columns are ignored.

    Raises:
        DataError: a row that is not an object, a missing column, a non-number in a numeric column.
    """
    from layerlab.prep.tabular import raw_inputs

    return raw_inputs(_checked_frame(records, columns, name), columns)


def _checked_frame(records: Any, columns: list[dict[str, Any]], name: str) -> Any:
    """The rows as a DataFrame with every needed column, numbers where the model takes numbers."""
    import pandas as pd

    if isinstance(records, pd.DataFrame):
        df = records
    else:
        if isinstance(records, dict):
            records = [records]
        if not isinstance(records, Sequence) or isinstance(records, (str, bytes)):
            raise DataError(f"{name} should be a list of rows (objects of column values); "
                            f"received {type(records).__name__}.")
        for i, r in enumerate(records, 1):
            if not isinstance(r, dict):
                raise DataError(f"Row {i} should be an object of column values; received {type(r).__name__}.",
                                "Send each row as {\"column\": value, …}.")
            for key, v in r.items():
                if isinstance(v, (dict, list, tuple, set)):
                    raise DataError(f"Row {i}: the column `{key}` should hold one value; received {v!r}.")
        df = pd.DataFrame(list(records))
    names = [c["name"] for c in columns]
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise DataError(f"{name} has no column {', '.join(f'`{m}`' for m in missing[:5])}"
                        f"{' and more' if len(missing) > 5 else ''}.",
                        f"The model needs the columns it was trained on: {', '.join(names)}.")
    for col in columns:
        if col["type"] != "numeric":
            continue
        s = df[col["name"]]
        bad = s.notna() & pd.to_numeric(s, errors="coerce").isna()
        if bad.any():
            at = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{name}: the column `{col['name']}` should hold numbers, but row {at + 1} has "
                            f"{s.iloc[at]!r}.", "Fix or remove that value (leave it empty when it is missing).")
    return df


def rows_of_file(name: str, data: bytes, columns: list[dict[str, Any]], cap: bool = True) -> Any:
    """An uploaded table of rows (any format read_table reads), capped per batch (`cap`) and checked before any
    row is predicted; returned whole (its other columns go back with the predictions)."""
    from layerlab.data.tables import read_table

    df = read_table(data, name).frame
    if cap:
        check_batch_rows(len(df), name)
    return _checked_frame(df, columns, name)


# ---- series ---------------------------------------------------------------------------------------------


def window(values: Any, extra: dict[str, Any], name: str = "The window") -> np.ndarray:
    """Recent values of a series (rows × value columns, oldest first; a flat list when there is one column)
    as the model's window: the last `window` rows.

    Args:
        extra: the run's DataInfo.extra (`window`, `features`).
    """
    need, features = int(extra["window"]), list(extra["features"])
    try:
        w = np.asarray(values, dtype="float32")
    except (TypeError, ValueError):
        flat = list(np.asarray(values, dtype=object).ravel()) if _is_rectangular(values) else None
        bad = next((v for v in flat if not is_number(v) and v is not None), None) if flat else None
        if bad is None and flat is not None:
            raise DataError(f"{name} has missing values.", "Fill them before forecasting.") from None
        raise DataError(f"{name} should hold numbers, one row per step with {len(features)} value(s) "
                        f"({', '.join(features)})" + (f", but has {bad!r}." if bad is not None else "."),
                        "Send a list of rows of numbers, oldest first.") from None
    if w.ndim == 1 and len(features) == 1:
        w = w[:, None]
    if w.ndim != 2 or w.shape[1] != len(features):
        raise DataError(f"{name} must have {len(features)} value column(s) ({', '.join(features)}); "
                        f"it has shape {w.shape}.")
    if len(w) < need:
        raise DataError(f"{name} needs at least {need} rows; it has {len(w)}.", "Provide more history.")
    if np.isnan(w).any():
        raise DataError(f"{name} has missing values.", "Fill them before forecasting.")
    if not np.isfinite(w).all():
        raise DataError(f"{name} has infinite values.", "Send finite numbers.")
    return w[-need:]


def _is_rectangular(values: Any) -> bool:
    try:
        np.asarray(values, dtype=object)
        return True
    except ValueError:
        return False


def window_of_file(name: str, data: bytes, extra: dict[str, Any]) -> tuple[np.ndarray, list[Any]]:
    """The value columns of an uploaded table as a float array (sorted by date when it has one), and its dates
    (or row numbers)."""
    import pandas as pd

    from layerlab.data.tables import read_table

    df = read_table(data, name).frame
    missing = [c for c in extra["features"] if c not in df.columns]
    if missing:
        raise DataError(f"{name} has no column {', '.join(f'`{m}`' for m in missing)}.",
                        f"A window needs the value columns {', '.join(f'`{c}`' for c in extra['features'])}"
                        f"{' (and, optionally, the date column `' + extra['date'] + '`)' if extra.get('date') else ''}.")
    for c in extra["features"]:
        s = df[c]
        num = pd.to_numeric(s, errors="coerce")
        bad = s.notna() & num.isna()
        if bad.any():
            raise DataError(f"The column `{c}` should hold numbers, but has {s[bad].iloc[0]!r}.", "Fix or remove that value.")
        df[c] = num
    dates: list[Any]
    date = extra.get("date")
    if date and date in df.columns:
        from layerlab.data.series import parse_dates

        parsed = parse_dates(df[date], date)
        order = np.argsort(parsed.to_numpy(), kind="stable")
        df = df.iloc[order].reset_index(drop=True)
        dates = list(parsed.iloc[order])
    else:
        dates = list(range(1, len(df) + 1))
    return df[extra["features"]].to_numpy(dtype="float32"), dates
