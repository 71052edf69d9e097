"""What the Predict page shows for each kind of data: inputs to fill in, and the model's answers.

`show(predictor, tag)` picks the view for the run's data kind:

- images: upload one or many, or draw one (small grayscale models, like the 8×8 digits);
- text: one text, many texts (one per line) or a file;
- table: a form generated from the training columns, or a file of rows (CSV back, predictions appended);
- series: the next steps after the end of the data, or after a window the user uploads.

`tag` (the run id) goes into widget keys, so another run's form starts fresh. The pure
helpers (`drawing_to_gray`, `fit_to_frame`, `future_steps`, `forecast_figure`,
`append_predictions`, `number_field`) hold the logic and are tested directly.
Problems with an input (an unreadable image, a missing column, text where numbers
belong) are shown as messages, never as tracebacks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import charts, errors
from components import evaluation_views as views
from components.data_preview import display_image
from components.markup import md
from layerlab.errors import DataError, LayerlabError

IMAGE_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp"]
TABLE_TYPES = ["csv", "tsv", "txt", "xlsx", "parquet", "jsonl", "json"]
DISPLAY_PX = 160
CANVAS_PX = 280
DRAWABLE_MAX_SIDE = 64  # draw only for small grayscale models, like the 8×8 digits
# Tests put a drawing (uint8 RGBA or grayscale) under this key: AppTest cannot drive the canvas.
DRAWING_KEY = "predict_drawing"
SHOWN_ROWS = 200
CHUNK_ROWS = 10_000
HISTORY = "#475569"
FORECAST = charts.ACCENT


def show(predictor: Any, tag: str) -> None:
    """The input and result view for the predictor's kind of data."""
    kind = predictor.info.kind
    views = {"images": image_view, "text": text_view, "table": table_view, "series": series_view}
    if kind not in views:
        st.info(f"Predicting from {kind} data is not supported.")
        return
    views[kind](predictor, tag)


def describe(predictor: Any) -> str:
    """One line on what the model takes and gives, for the caption under the run picker."""
    info = predictor.info
    if info.kind == "images":
        h, w, c = info.input_shape
        classes = info.class_names
        shown = ", ".join(md(n) for n in classes[:20]) + (f" and {len(classes) - 20} more" if len(classes) > 20 else "")
        return (f"Classes: {shown} · images are resized to {w}×{h} "
                f"{'grayscale' if c == 1 else 'colour'}, as in training.")
    ex = info.extra
    if info.kind == "text":
        return f"Classifies texts like the {md(ex.get('text'))} column into: " + ", ".join(md(c) for c in info.class_names) + "."
    if info.kind == "table":
        what = (f"the class of {md(ex.get('target'))} (" + ", ".join(md(c) for c in info.class_names[:20]) + ")"
                if info.task == "classification" else f"the value of {md(ex.get('target'))}")
        return f"Predicts {what} from {len(ex.get('columns', []))} columns."
    if info.kind == "series":
        targets = ", ".join(md(t) for t in ex.get("targets", []))
        return (f"Forecasts the next {ex.get('horizon')} step(s) of {targets} from the last {ex.get('window')} steps of "
                + ", ".join(md(f) for f in ex.get("features", [])) + ".")
    return ""


# ---- shared result views ----------------------------------------------------------------------------


def _class_result(res: dict[str, Any], n_classes: int, key: str, label: str = "Predicted class") -> None:
    k = min(5, n_classes)
    st.metric(label, res["label"], help="The class with the highest probability.")
    st.caption(f"{res['confidence']:.1%} confident · the top {k} classes:")
    st.plotly_chart(charts.probability_figure(res["probabilities"], k), width="stretch", key=key)


def _image_result(name: str, img: np.ndarray, res: dict[str, Any], n_classes: int, key: str,
                  ratio: tuple[int, int] = (1, 3), heat: np.ndarray | None = None) -> None:
    with st.container(border=True):
        left, right = st.columns(list(ratio), vertical_alignment="center")
        with left:
            h, w = img.shape[:2]
            if heat is None:
                st.image(display_image(img, DISPLAY_PX), caption=f"{name} — as the model sees it ({w}×{h})")
            else:
                from layerlab.explain import overlay

                st.image(display_image(overlay(img, heat, alpha=0.75), DISPLAY_PX),
                         caption=f"{name} — red: what made the model say {res['label']}")
        with right:
            _class_result(res, n_classes, key)


EXPLAIN_IMAGES = 12  # heat maps for at most this many images: each costs dozens of predictions


def _explain_images_toggle(key: str) -> bool:
    return st.toggle("Show what the model looked at", key=key,
                     help="Covers one patch of the image at a time: red marks where hiding the picture lowers the "
                          f"predicted class's probability most (the first {EXPLAIN_IMAGES} images).")


def _heat(predictor: Any, img: np.ndarray) -> np.ndarray | None:
    """The occlusion heat map of one image, or None (said once) when the model cannot be explained."""
    from layerlab.explain import image_occlusion

    try:
        return image_occlusion(predictor, img)["heat"]
    except Exception as exc:  # noqa: BLE001 - the plain image is shown instead
        errors.show_error(LayerlabError(f"The model could not explain this image ({type(exc).__name__}).",
                                        "The plain image is shown instead."))
        return None


def _results_table(inputs: Sequence[Any], results: list[dict[str, Any]], info: Any, input_label: str) -> pd.DataFrame:
    """One row per input: the input, the prediction and (classes) each class's probability."""
    rows = []
    for x, r in zip(inputs, results):
        row: dict[str, Any] = {input_label: x}
        if "label" in r:
            row["predicted"] = r["label"]
            row["confidence"] = r["confidence"]
            row.update({f"p({c})": r["probabilities"][c] for c in info.class_names})
        else:
            row["predicted"] = r["value"]
        rows.append(row)
    return pd.DataFrame(rows)


def _show_table(df: pd.DataFrame, key: str, classes: list[str]) -> None:
    config: dict[str, Any] = {}
    if "confidence" in df.columns:
        config["confidence"] = st.column_config.ProgressColumn("confidence", format="percent", min_value=0, max_value=1)
        for c in classes:
            config[f"p({c})"] = st.column_config.NumberColumn(f"p({c})", format="%.3f")
    st.dataframe(df.head(SHOWN_ROWS), width="stretch", hide_index=True, column_config=config, key=key)
    if len(df) > SHOWN_ROWS:
        st.caption(f"The first {SHOWN_ROWS} of {len(df):,} rows; the download has them all.")


# ---- images -------------------------------------------------------------------------------------------


def can_draw(info: Any) -> bool:
    """Drawing suits small grayscale models (8×8 digits, 28×28 letters), not photos."""
    h, w, c = info.input_shape
    return c == 1 and max(h, w) <= DRAWABLE_MAX_SIDE


def image_view(predictor: Any, tag: str) -> None:
    mode = "Upload images"
    if can_draw(predictor.info):
        mode = st.segmented_control("Input", ["Upload images", "Draw"], default="Upload images",
                                    key="predict_image_mode", label_visibility="collapsed") or "Upload images"
    if mode == "Draw":
        drawing_view(predictor)
        return
    files = st.file_uploader("Images to classify", type=IMAGE_TYPES, accept_multiple_files=True, key="predict_files",
                             help="PNG, JPEG, BMP, GIF or WebP; one or more.")
    if files:
        show_image_results(predictor, files)
    else:
        st.info("Upload one or more images to see what the model predicts.", icon=":material/upload:")


def show_image_results(predictor: Any, files: list[Any]) -> None:
    ready, problems = [], []
    for f in files:
        try:
            ready.append((f.name, predictor.prepare_image(f.getvalue())))
        except DataError as exc:
            problems.append(f"**{md(f.name)}**: {md(exc.message)}")
    for msg in problems:
        st.warning(f"{msg} It was skipped.", icon=":material/broken_image:")
    if not ready:
        return
    results = predictor.predict_images([img for _, img in ready])
    explain = _explain_images_toggle("predict_explain_images")
    for i, ((name, img), res) in enumerate(zip(ready, results)):
        heat = _heat(predictor, img) if explain and i < EXPLAIN_IMAGES else None
        _image_result(name, img, res, len(predictor.info.class_names), f"predict_probs_{i}_{name}", heat=heat)


def drawing_to_gray(image: np.ndarray) -> np.ndarray:
    """A canvas drawing (RGBA, RGB or gray) as uint8 gray (H, W, 1): light ink on black.

    Transparent pixels count as the black background, so it works whether or not the
    canvas painted its background into the image.
    """
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    arr = arr.astype("float32")
    if arr.ndim == 2:
        gray = arr
    elif arr.ndim == 3 and arr.shape[2] in (3, 4):
        gray = arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114
        if arr.shape[2] == 4:
            gray = gray * (arr[..., 3] / 255.0)
    else:
        raise DataError(f"The drawing has an unexpected shape {arr.shape}.")
    return np.clip(np.round(gray), 0, 255).astype("uint8")[..., None]


def fit_to_frame(gray: np.ndarray, margin: float = 0.12, threshold: int = 24) -> np.ndarray:
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


def _canvas(info: Any) -> np.ndarray | None:
    """The canvas's RGBA pixels (None before anything is drawn, or when the canvas is unavailable)."""
    h, w, _ = info.input_shape
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception as exc:  # noqa: BLE001 - the page works without the optional canvas
        st.warning(f"The drawing canvas is not available here ({type(exc).__name__}). Upload an image instead.")
        return None
    # A brush about one model pixel wide, once the drawing is scaled down to the model's size.
    brush = max(8, round(CANVAS_PX / max(h, w) * 1.1))
    result = st_canvas(stroke_width=brush, stroke_color="#FFFFFF", background_color="#000000", height=CANVAS_PX,
                       width=CANVAS_PX, drawing_mode="freedraw", return_image_data=True, key="predict_canvas")
    return result.image_data


def drawing_view(predictor: Any) -> None:
    info = predictor.info
    left, right = st.columns([1, 1], gap="large")
    with left:
        injected = st.session_state.get(DRAWING_KEY)
        image = injected if injected is not None else _canvas(info)
        st.caption("Draw in white on black, as in the training images; the canvas's own buttons undo or clear.")
        fit = st.toggle("Centre and fit the drawing", value=True, key="predict_draw_fit",
                        help="Crop to what you drew and centre it, as the training digits fill their frame. "
                             "Off: the whole canvas is scaled down.")
    with right:
        if image is None:
            st.info("Draw something on the canvas to see what the model predicts.", icon=":material/draw:")
            return
        with errors.guard():
            gray = drawing_to_gray(image)
            if int(gray.max()) < 24:
                st.info("The canvas is empty: draw something on it.", icon=":material/draw:")
                return
            img = predictor.prepare_image_array(fit_to_frame(gray) if fit else gray)
            res = predictor.predict_images([img])[0]
            heat = _heat(predictor, img) if _explain_images_toggle("predict_explain_drawing") else None
            _image_result("your drawing", img, res, len(info.class_names), "predict_draw_probs", ratio=(2, 3),
                          heat=heat)


# ---- text -----------------------------------------------------------------------------------------------


def text_view(predictor: Any, tag: str) -> None:
    info = predictor.info
    mode = st.segmented_control("Input", ["One text", "Many texts", "A file"], default="One text",
                                key="predict_text_mode", label_visibility="collapsed") or "One text"
    if mode == "One text":
        text = st.text_area("Text to classify", key=f"predict_text_one_{tag}", height=120,
                            placeholder="Type or paste a text…")
        if not text.strip():
            st.info("Type a text to see which class the model gives it.", icon=":material/edit_note:")
            return
        res = predictor.predict_texts([text])[0]
        with st.container(border=True):
            _class_result(res, len(info.class_names), "predict_text_probs")
            if st.toggle("Show which words mattered", key="predict_explain_text",
                         help="Removes one word at a time and measures how the predicted class's probability changes."):
                from layerlab.explain import text_occlusion

                with errors.guard(), st.spinner("Removing one word at a time…"):
                    views.text_explanation(text_occlusion(predictor, text), key="predict_words")
        return
    if mode == "Many texts":
        raw = st.text_area("Texts to classify, one per line", key=f"predict_text_many_{tag}", height=200)
        texts = [ln.strip() for ln in raw.splitlines() if ln.strip()]
        if not texts:
            st.info("Type or paste texts, one per line.", icon=":material/edit_note:")
            return
        with errors.guard():
            check_batch_rows(len(texts), "The pasted text", "texts")
            _text_batch(predictor, texts, "texts")
        return
    column = info.extra.get("text", "text")
    file = st.file_uploader("A file of texts", type=TABLE_TYPES, key=f"predict_text_file_{tag}",
                            help=f"A table with a {md(column)} column (CSV, Excel, …), or a .txt file with one text per line.")
    if file is None:
        st.info(f"Upload a table with a {md(column)} column, or a .txt file with one text per line.", icon=":material/upload:")
        return
    with errors.guard():
        texts = _texts_of_file(file.name, file.getvalue(), column)
        check_batch_rows(len(texts), file.name, "texts")
        _text_batch(predictor, texts, Path(file.name).stem)


def _texts_of_file(name: str, data: bytes, column: str) -> list[str]:
    if name.lower().endswith(".txt"):
        text = data.decode("utf-8", errors="replace")
        texts = [ln.strip() for ln in text.splitlines() if ln.strip()]
    else:
        from layerlab.data.tables import read_table

        df = read_table(data, name).frame
        if column not in df.columns:
            raise DataError(f"{name} has no `{column}` column with the texts.",
                            f"Its columns are: {', '.join(map(str, list(df.columns)[:20]))}. Rename the text column to "
                            f"`{column}`, or upload a .txt file with one text per line.")
        texts = ["" if pd.isna(t) else str(t) for t in df[column].to_numpy(dtype=object)]
    if not any(t.strip() for t in texts):
        raise DataError(f"{name} holds no texts.")
    return texts


def _text_batch(predictor: Any, texts: list[str], stem: str) -> None:
    from layerlab.data.tables import to_safe_csv

    results = [r for i in range(0, len(texts), CHUNK_ROWS) for r in predictor.predict_texts(texts[i:i + CHUNK_ROWS])]
    df = _results_table(texts, results, predictor.info, "text")
    counts = df["predicted"].value_counts()
    st.caption(f"{len(df):,} texts · " + " · ".join(f"{md(c)}: {n:,}" for c, n in counts.items()))
    _show_table(df, "predict_text_table", predictor.info.class_names)
    st.download_button("Download the predictions (CSV)", to_safe_csv(df), file_name=f"{stem}_predictions.csv",
                       mime="text/csv", icon=":material/download:", key="predict_text_download", on_click="ignore")


# ---- tables ---------------------------------------------------------------------------------------------


def number_field(col: dict[str, Any]) -> dict[str, Any]:
    """number_input arguments for a numeric training column: its range, default and a fitting step."""
    lo, hi = float(col.get("min", 0.0)), float(col.get("max", 0.0))
    default = min(max(float(col.get("default", lo)), lo), hi)
    if col.get("integer"):
        return {"min_value": int(math.floor(lo)), "max_value": int(math.ceil(hi)), "value": int(round(default)),
                "step": 1, "format": "%d"}
    span = hi - lo
    exponent = math.floor(math.log10(span / 100)) if span > 0 else -1
    step = 10.0 ** exponent
    decimals = max(0, -exponent)
    return {"min_value": lo, "max_value": hi, "value": round(default, decimals), "step": step,
            "format": f"%.{decimals}f"}


def _field(col: dict[str, Any], key: str) -> Any:
    from layerlab.prep.tabular import MISSING_TOKEN

    name = col["name"]
    if col["type"] == "numeric":
        args = number_field(col)
        return st.number_input(name, key=key, help=f"From {args['min_value']:g} to {args['max_value']:g} in the "
                               f"training data.", **args)
    options = [c for c in col.get("categories", []) if c != MISSING_TOKEN] or [col.get("default", "")]
    default = col.get("default")
    index = options.index(default) if default in options else 0
    return st.selectbox(name, options, index=index, key=key, help="The categories seen in the training data.")


def table_view(predictor: Any, tag: str) -> None:
    mode = st.segmented_control("Input", ["One row", "A file of rows"], default="One row",
                                key="predict_table_mode", label_visibility="collapsed") or "One row"
    if mode == "One row":
        row_form(predictor, tag)
    else:
        rows_file(predictor, tag)


def row_form(predictor: Any, tag: str) -> None:
    info = predictor.info
    columns = info.extra["columns"]
    last_key = f"predict_row_{tag}"
    with st.form(f"predict_row_form_{tag}", border=True):
        st.caption("Fill in one row; the ranges and categories are those of the training data.")
        per_row = 3
        values: dict[str, Any] = {}
        for start in range(0, len(columns), per_row):
            cells = st.columns(per_row)
            for cell, col in zip(cells, columns[start:start + per_row]):
                with cell:
                    values[col["name"]] = _field(col, f"predict_col_{tag}_{col['input']}")
        if st.form_submit_button("Predict", type="primary", icon=":material/online_prediction:"):
            st.session_state[last_key] = values
    row = st.session_state.get(last_key)
    if row is None:
        st.info("Fill in the form and press **Predict**.", icon=":material/edit_note:")
        return
    with errors.guard():
        res = predictor.predict_rows([row])[0]
        target = info.extra.get("target", "target")
        with st.container(border=True):
            if info.task == "classification":
                _class_result(res, len(info.class_names), "predict_row_probs", label=f"Predicted {md(target)}")
            else:
                st.metric(f"Predicted {md(target)}", f"{res['value']:,.4g}", help="In the units of the training data.")
            if st.toggle("Show which values mattered", key="predict_explain_row",
                         help="Sets one value at a time to the typical one of the training data and measures how the "
                              "prediction changes."):
                from layerlab.explain import row_effects

                with st.spinner("Trying the typical value of each column…"):
                    views.row_explanation(row_effects(predictor, row), target, key="predict_row_effects")


def append_predictions(df: pd.DataFrame, results: list[dict[str, Any]], info: Any) -> pd.DataFrame:
    """The uploaded rows with the predictions appended (new column names never clash with old ones)."""
    out = df.copy()

    def free(name: str) -> str:
        while name in out.columns:
            name = f"{name}_"
        return name

    target = info.extra.get("target", "target")
    if info.task == "classification":
        out[free(f"predicted_{target}")] = [r["label"] for r in results]
        out[free("confidence")] = [r["confidence"] for r in results]
        for c in info.class_names:
            out[free(f"p({c})")] = [r["probabilities"][c] for r in results]
    else:
        out[free(f"predicted_{target}")] = [r["value"] for r in results]
    return out


def check_batch_rows(count: int, name: str, what: str = "rows") -> None:
    """Refuse a batch upload with more rows (or texts) than LAYERLAB_PREDICT_ROWS, before predicting any.

    Raises:
        DataError: saying how many were given, the cap, and what to do.
    """
    from layerlab.settings import limits

    cap = limits().predict_rows
    if count > cap:
        raise DataError(f"{name} holds {count:,} {what}; the Predict page takes at most {cap:,} {what} at a time.",
                        f"Split it into files of {cap:,} {what} or fewer, or predict it all on the command line "
                        "(`python -m layerlab predict RUN_DIR FILE`); whoever runs this server can raise the cap "
                        "with LAYERLAB_PREDICT_ROWS.")


def rows_file(predictor: Any, tag: str) -> None:
    from layerlab.data.tables import read_table, to_safe_csv

    info = predictor.info
    names = [c["name"] for c in info.extra["columns"]]
    file = st.file_uploader("A file of rows", type=TABLE_TYPES, key=f"predict_table_file_{tag}",
                            help="CSV, TSV, Excel, Parquet or JSON Lines with the columns the model was trained on; "
                                 "other columns are kept and passed through.")
    st.caption("Columns needed: " + ", ".join(f"`{n}`" for n in names) + ".")
    if file is None:
        st.info("Upload a table to get a prediction for every row, as a CSV to download.", icon=":material/upload:")
        return
    with errors.guard():
        df = read_table(file.getvalue(), file.name).frame
        check_batch_rows(len(df), file.name)
        missing = [n for n in names if n not in df.columns]
        if missing:
            raise DataError(f"{file.name} has no column {', '.join(f'`{m}`' for m in missing[:5])}"
                            f"{' and more' if len(missing) > 5 else ''}.",
                            f"The model needs the columns it was trained on: {', '.join(names)}.")
        results = [r for i in range(0, len(df), CHUNK_ROWS) for r in predictor.predict_rows(df.iloc[i:i + CHUNK_ROWS])]
        out = append_predictions(df, results, info)
        st.caption(f"{len(out):,} rows predicted.")
        st.dataframe(out.head(SHOWN_ROWS), width="stretch", hide_index=True, key="predict_table_result")
        if len(out) > SHOWN_ROWS:
            st.caption(f"The first {SHOWN_ROWS} of {len(out):,} rows; the download has them all.")
        st.download_button("Download the rows with predictions (CSV)", to_safe_csv(out),
                           file_name=f"{Path(file.name).stem}_predictions.csv", mime="text/csv",
                           icon=":material/download:", key="predict_table_download", on_click="ignore",
                           type="primary")


# ---- series ---------------------------------------------------------------------------------------------


def future_steps(last: Any, freq: str | None, horizon: int, previous: Any = None) -> list[Any]:
    """The `horizon` time points after `last`: dates at `freq` (or at the last step's spacing), else step numbers."""
    try:
        when = pd.Timestamp(last)
    except (ValueError, TypeError):
        when = None
    if when is not None and not pd.isna(when) and not _is_number(last):
        if freq:
            try:
                return list(pd.date_range(start=when, periods=horizon + 1, freq=freq)[1:])
            except (ValueError, TypeError):
                pass
        if previous is not None:
            try:
                step = when - pd.Timestamp(previous)
                if step > pd.Timedelta(0):
                    return [when + step * (k + 1) for k in range(horizon)]
            except (ValueError, TypeError):
                pass
    if _is_number(last):
        return [int(float(last)) + k + 1 for k in range(horizon)]
    return [f"+{k + 1}" for k in range(horizon)]


def time_labels(values: list[Any]) -> list[Any]:
    """Future time points for a table: years alone for yearly steps, dates without 00:00:00, else as they are."""
    stamps = [v for v in values if isinstance(v, pd.Timestamp)]
    if not stamps or len(stamps) != len(values):
        return list(values)
    if all(v == v.normalize() for v in stamps):
        if all((v.month, v.day) == (1, 1) for v in stamps):
            return [str(v.year) for v in stamps]
        return [v.date().isoformat() for v in stamps]
    return [v.isoformat(sep=" ") for v in stamps]


def _is_number(value: Any) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def forecast_figure(history_x: list[Any], history: dict[str, list[float]], future_x: list[Any],
                    forecast: dict[str, list[float]], window_start: Any = None) -> go.Figure:
    """History lines, then each forecast (dashed, joined to the last known value)."""
    fig = go.Figure()
    palette = [HISTORY, "#7C3AED", "#B45309", "#0369A1"]
    for i, (name, ys) in enumerate(history.items()):
        fig.add_trace(go.Scatter(x=history_x, y=ys, mode="lines", name=f"{name} (history)",
                                 line={"color": palette[i % len(palette)], "width": 1.6},
                                 hovertemplate="%{x}: %{y:.4g}<extra>" + str(name)[:40] + "</extra>"))
    for i, (name, ys) in enumerate(forecast.items()):
        joined_x = ([history_x[-1]] if history_x and name in history else []) + list(future_x)
        joined_y = ([history[name][-1]] if history_x and name in history else []) + list(ys)
        fig.add_trace(go.Scatter(x=joined_x, y=joined_y, mode="lines+markers", name=f"{name} (forecast)",
                                 line={"color": FORECAST if i == 0 else palette[(i + 1) % len(palette)], "width": 2.4,
                                       "dash": "dash"},
                                 marker={"size": 7}, hovertemplate="%{x}: %{y:.4g}<extra>forecast</extra>"))
    if window_start is not None and history_x:
        fig.add_vrect(x0=window_start, x1=history_x[-1], fillcolor="#E2E8F0", opacity=0.5, line_width=0, layer="below",
                      annotation_text="window the model reads", annotation_position="top left")
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10}, hovermode="x unified",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}, uirevision="forecast")
    fig.update_yaxes(title="value")
    return fig


def _window_of_upload(name: str, data: bytes, info: Any) -> tuple[np.ndarray, list[Any]]:
    """The value columns of an uploaded table as a float array, and its dates (or row numbers)."""
    from layerlab.data.tables import read_table

    ex = info.extra
    df = read_table(data, name).frame
    missing = [c for c in ex["features"] if c not in df.columns]
    if missing:
        raise DataError(f"{name} has no column {', '.join(f'`{m}`' for m in missing)}.",
                        f"A window needs the value columns {', '.join(f'`{c}`' for c in ex['features'])}"
                        f"{' (and, optionally, the date column `' + ex['date'] + '`)' if ex.get('date') else ''}.")
    for c in ex["features"]:
        s = df[c]
        num = pd.to_numeric(s, errors="coerce")
        bad = s.notna() & num.isna()
        if bad.any():
            raise DataError(f"The column `{c}` should hold numbers, but has {s[bad].iloc[0]!r}.", "Fix or remove that value.")
        df[c] = num
    dates: list[Any]
    date = ex.get("date")
    if date and date in df.columns:
        from layerlab.data.series import parse_dates

        parsed = parse_dates(df[date], date)
        order = np.argsort(parsed.to_numpy(), kind="stable")
        df = df.iloc[order].reset_index(drop=True)
        dates = list(parsed.iloc[order])
    else:
        dates = list(range(1, len(df) + 1))
    return df[ex["features"]].to_numpy(dtype="float32"), dates


def series_view(predictor: Any, tag: str) -> None:
    from components.series_view import frequency_words
    from layerlab.data.tables import to_safe_csv

    info = predictor.info
    ex = info.extra
    window, horizon = int(ex["window"]), int(ex["horizon"])
    mode = st.segmented_control("Forecast from", ["The end of the data", "A window I upload"],
                                default="The end of the data", key="predict_series_mode",
                                label_visibility="collapsed") or "The end of the data"
    values: np.ndarray | None
    if mode == "The end of the data":
        values = np.asarray(ex["last_window"], dtype="float32")
        dates: list[Any] = list(ex.get("last_dates") or range(1, len(values) + 1))
        if ex.get("date"):
            dates = [pd.Timestamp(d) if not _is_number(d) else d for d in dates]
        st.caption(f"The last {window} steps of the training data, then the next {horizon}.")
    else:
        need = ", ".join(f"`{c}`" for c in ex["features"])
        file = st.file_uploader("A window of recent values", type=TABLE_TYPES, key=f"predict_series_file_{tag}",
                                help=f"A table with at least {window} rows of {need}"
                                     f"{' and the date column `' + ex['date'] + '`' if ex.get('date') else ''}, "
                                     "oldest first (rows are sorted by date when there is one).")
        st.caption(f"Needs at least {window} rows of {need}; the last {window} are used.")
        if file is None:
            st.info("Upload recent values to forecast what comes after them.", icon=":material/upload:")
            return
        values, dates = None, []
        with errors.guard():
            values, dates = _window_of_upload(file.name, file.getvalue(), info)
        if values is None:
            return
    with errors.guard():
        result = predictor.forecast(values)
        targets = ex["targets"]
        idx = [ex["features"].index(t) for t in targets]
        future = future_steps(dates[-1], ex.get("freq"), horizon, dates[-2] if len(dates) > 1 else None)
        shown = min(len(values), window * 4)
        hx = dates[-shown:]
        history = {t: values[-shown:, i].astype("float64").tolist() for t, i in zip(targets, idx)}
        fc = np.asarray(result["forecast"], dtype="float64")
        forecast = {t: fc[:, j].tolist() for j, t in enumerate(targets)}
        start = dates[-window] if len(dates) > window else None
        st.plotly_chart(forecast_figure(hx, history, future, forecast, window_start=start), width="stretch",
                        key="predict_forecast_chart")
        if ex.get("freq"):
            st.caption(f"Time steps: {frequency_words(ex['freq'])}.")
        label = ex.get("date") or "step"
        table = pd.DataFrame({label: time_labels(future), **{t: forecast[t] for t in targets}})
        st.dataframe(table, hide_index=True, width="content", key="predict_forecast_table")
        st.download_button("Download the forecast (CSV)", to_safe_csv(table), file_name="forecast.csv", mime="text/csv",
                           icon=":material/download:", key="predict_forecast_download", on_click="ignore")


# ---- a .keras model made elsewhere ------------------------------------------------------------------

_MAX_MEMBERS = 10_000  # a .keras archive holds three files
_MAX_CONFIG = 16 * 1024 ** 2  # a model's config.json is kilobytes; read whole, so bounded
_MODEL_OVERHEAD = 1024 ** 2  # config.json, metadata.json and the HDF5 file's own structure


def model_file_caps() -> tuple[int, int]:
    """(largest .keras file, largest unzipped content) in bytes that a model within LAYERLAB_MODEL_PARAMS needs.

    Its weights take 4 bytes a parameter (float32) in the file, up to 8 unzipped (float64); the file is also
    one upload, so LAYERLAB_UPLOAD_MB bounds it too. With the defaults: about 192 MB.
    """
    from layerlab.settings import limits

    lim = limits()
    params = max(0, lim.model_params)
    return (min(lim.upload_mb * 1024 ** 2, 4 * params + _MODEL_OVERHEAD),
            8 * params + 16 * _MODEL_OVERHEAD)


def max_model_mb() -> int:
    """The largest .keras file, in whole MB (for the uploader)."""
    return max(1, math.ceil(model_file_caps()[0] / 1024 ** 2))


def check_model_params(model: Any, name: str = "the model") -> None:
    """Refuse a loaded model with more parameters than LAYERLAB_MODEL_PARAMS (its file may hold fewer bytes).

    Raises:
        LayerlabError: with the count, the limit and what to do.
    """
    from layerlab.settings import limits

    limit, count = limits().model_params, int(model.count_params())
    if count > limit:
        raise LayerlabError(f"{name} has {count:,} parameters; models up to {limit:,} parameters can be tried here.",
                            "Try a smaller model; whoever runs this server can raise the limit with "
                            "LAYERLAB_MODEL_PARAMS.")


def check_keras_file(data: bytes, name: str = "the file") -> None:
    """Refuse what is not a Keras 3 `.keras` archive, or what would run code when loaded.

    Checks before anything is loaded: the size, that it is a zip with Keras' config.json
    (member count and unzipped size bounded), and that no layer is a `Lambda` (its Python
    code would run; safe mode refuses it too, with a less clear message).

    Raises:
        LayerlabError: naming what is wrong.
    """
    import io
    import json
    import zipfile
    import zlib

    from layerlab.settings import limits

    max_file, max_unzipped = model_file_caps()
    if len(data) > max_file:
        raise LayerlabError(f"{name} is {len(data) / 2**20:,.1f} MB; models up to {max_file / 2**20:,.1f} MB can be "
                            f"tried here (up to {limits().model_params:,} parameters).",
                            "Try a smaller model; whoever runs this server can raise the limit with "
                            "LAYERLAB_MODEL_PARAMS (and LAYERLAB_UPLOAD_MB).")
    hint = "Save the model with Keras 3: `model.save('model.keras')`. Older .h5 files and pickles are not accepted."
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise LayerlabError(f"{name} is not a Keras model file: a .keras file is a zip archive, and this one is not.", hint)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
            unzipped = sum(m.file_size for m in members)
            if (len(members) > _MAX_MEMBERS or unzipped > max_unzipped
                    or (unzipped > 10 * 2**20 and unzipped / max(1, len(data)) > limits().zip_ratio)):
                raise LayerlabError(f"{name} unpacks to too many or too large files to be a model.", hint)
            if "config.json" not in zf.namelist():
                raise LayerlabError(f"{name} is a zip archive but not a Keras model: it has no config.json.", hint)
            if zf.getinfo("config.json").file_size > _MAX_CONFIG:
                raise LayerlabError(f"{name} has a model description (config.json) too large to be a model's.", hint)
            config = json.loads(zf.read("config.json").decode("utf-8"))
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, RecursionError, OSError, zlib.error,
            EOFError, NotImplementedError) as exc:
        raise LayerlabError(f"{name} is damaged: its model description cannot be read ({type(exc).__name__}).", hint) from None
    lam = _find_lambda(config)
    if lam is not None:
        raise LayerlabError(f"The model has a Lambda layer (`{lam}`): it holds Python code that would run when the "
                            "model is loaded, so Layerlab refuses it (Keras safe mode).",
                            "Rebuild the model with built-in layers (or registered custom layers) instead of Lambda, "
                            "and save it again.")


def _find_lambda(node: Any) -> str | None:
    if isinstance(node, dict):
        if node.get("class_name") == "Lambda":
            cfg = node.get("config") if isinstance(node.get("config"), dict) else {}
            return str(cfg.get("name") or "lambda")
        for v in node.values():
            found = _find_lambda(v)
            if found:
                return found
    elif isinstance(node, list):
        for v in node:
            found = _find_lambda(v)
            if found:
                return found
    return None


@st.cache_resource(max_entries=2, ttl=1800, show_spinner="Loading the model…")
def _own_model(digest: str, _data: bytes, name: str) -> tuple[Any, Any]:
    """(model, lock) for an uploaded .keras file, loaded in safe mode; shared by its SHA-256."""
    import tempfile
    import threading

    from layerlab.predict import load_model_file

    check_keras_file(_data, name)
    with tempfile.TemporaryDirectory(prefix="layerlab-model-") as tmp:
        path = Path(tmp) / "uploaded.keras"
        path.write_bytes(_data)
        try:
            model = load_model_file(path)
        except LayerlabError as exc:
            if "Lambda" in exc.message or "safe_mode" in exc.message:
                raise LayerlabError(f"{name} holds code that would run when loaded (a Lambda layer or a Python "
                                    "function), so Layerlab refuses it (Keras safe mode).",
                                    "Rebuild the model without Lambda layers and save it again.") from None
            raise LayerlabError(exc.message.replace("uploaded.keras", name),
                                "Custom layers must be Keras built-ins or Layerlab's own; save the model with Keras 3.") from None
    return model, threading.Lock()


SCALES = {"0–255 (as read)": (1.0, 0.0), "0–1 (divided by 255)": (1 / 255.0, 0.0), "−1–1": (1 / 127.5, -1.0)}


def raw_output_figure(values: np.ndarray, names: list[str]) -> go.Figure:
    """Bars of the (up to 10) largest raw outputs, highest at the top."""
    order = np.argsort(-values)[:10][::-1]
    fig = go.Figure(go.Bar(x=values[order], y=[names[i] for i in order], orientation="h",
                           marker_color=[charts.MUTED] * (len(order) - 1) + [charts.ACCENT],
                           hovertemplate="%{y}: %{x:.4g}<extra></extra>"))
    fig.update_layout(height=70 + 32 * len(order), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis={"title": "output"}, yaxis={"type": "category"}, showlegend=False)
    return fig


def own_model_view() -> None:
    """Upload a .keras model made elsewhere and try it: on an image, rows of numbers, texts, or a window."""
    import hashlib

    file = st.file_uploader("A Keras model (.keras)", type=["keras"], key="predict_own_model",
                            max_upload_size=max_model_mb(),
                            help=f"A Keras 3 model saved with `model.save('model.keras')`, up to {max_model_mb()} MB. "
                                 "Loaded in safe mode: models with Lambda layers are refused.")
    if file is None:
        st.caption("Image, table (rows of numbers), text (string input) and sequence models with one input: "
                   "the page reads what to ask for from the model's input.")
        return
    with errors.guard():
        data = file.getvalue()
        check_keras_file(data, file.name)  # again outside the cache: the limits are read now, per run
        model, lock = _own_model(hashlib.sha256(data).hexdigest(), data, file.name)
        check_model_params(model, file.name)
        shape = model.input_shape
        st.caption(f"Input {shape} → output {model.output_shape} · {model.count_params():,} parameters.")
        kind = own_input_kind(model)
        if kind is None:
            st.info("Only models with one input can be tried here: an image (batch × height × width × channels), "
                    "rows of numbers (batch × features), texts (a string input) or sequences "
                    "(batch × steps × features).", icon=":material/info:")
            return
        names_text = st.text_input("Output names (optional)", key="predict_own_names", placeholder="cat, dog, …",
                                   help="Comma-separated, in the model's output order.")
        names = [n.strip() for n in names_text.split(",") if n.strip()]
        {"image": _own_image, "rows": _own_rows, "text": _own_texts, "window": _own_window}[kind](model, lock, names)


def own_input_kind(model: Any) -> str | None:
    """What a foreign model takes, from its single input: image, rows, text or window (None: not one of those)."""
    shape = model.input_shape
    if isinstance(shape, (list, dict)) or len(getattr(model, "inputs", []) or [None]) != 1:
        return None
    dtype = str(getattr(model.inputs[0], "dtype", "float32"))
    if "string" in dtype:
        return "text" if len(shape) in (1, 2) else None
    if len(shape) == 4:
        return "image" if (shape[3] or 3) in (1, 3) else None
    if len(shape) == 2 and shape[1]:
        return "rows"
    if len(shape) == 3 and shape[2]:
        return "window"
    return None


def _run_own(model: Any, lock: Any, x: np.ndarray) -> np.ndarray:
    with lock:
        out = np.asarray(model(x, training=False), dtype="float64")
    return out.reshape(len(out), -1)


def _output_names(names: list[str], n: int) -> list[str]:
    return names if len(names) == n else [str(i) for i in range(n)]


def _own_output(vec: np.ndarray, names: list[str], key: str) -> None:
    """One output vector: a value, or the top output with its probabilities (or raw values)."""
    names = _output_names(names, len(vec))
    if len(vec) == 1:
        st.metric("Output", f"{vec[0]:.4g}", help="The model's single output value.")
    else:
        k = int(np.argmax(vec))
        probs = bool(np.all(vec >= 0) and abs(vec.sum() - 1) < 1e-3)
        st.metric("Top class", names[k], help="The output with the highest value.")
        st.caption(f"{'probability' if probs else 'output'} {vec[k]:.4g} · output {k} of {len(vec)}")
        if probs:
            st.plotly_chart(charts.probability_figure(dict(zip(names, vec.tolist())), 5), width="stretch", key=key)
        else:
            st.plotly_chart(raw_output_figure(vec, names), width="stretch", key=f"{key}_raw")
    with st.expander("Raw output"):
        st.dataframe(pd.DataFrame({"output": names[:1000], "value": vec[:1000]}), hide_index=True, width="content")


def _own_outputs_table(out: np.ndarray, names: list[str], inputs: list[str]) -> None:
    """Many outputs (one per row or text): a table with the top output per input, downloadable."""
    names = _output_names(names, out.shape[1])
    df = pd.DataFrame(out, columns=names)
    if out.shape[1] > 1:
        df.insert(0, "top", [names[i] for i in out.argmax(axis=1)])
    df.insert(0, "input", inputs)
    st.dataframe(df.head(1000), hide_index=True, width="stretch")
    st.download_button("Download as CSV", df.to_csv(index=False).encode("utf-8"), "predictions.csv", "text/csv",
                       key="predict_own_download", icon=":material/download:")


def _own_image(model: Any, lock: Any, names: list[str]) -> None:
    _, h, w, c = model.input_shape
    c = c or 3
    cols = st.columns(2)
    if h is None or w is None:
        h = cols[0].number_input("Height", 4, 1024, 224, key="predict_own_h", help="The model takes any size.")
        w = cols[0].number_input("Width", 4, 1024, 224, key="predict_own_w")
    scale = cols[1].radio("Pixel values", list(SCALES), key="predict_own_scale",
                          help="What the model expects; Layerlab's own models take 0–255.")
    image = st.file_uploader("An image", type=IMAGE_TYPES, key="predict_own_image")
    if image is None:
        st.info("Upload an image to see the model's output.", icon=":material/upload:")
        return
    img = _decode_for(image.getvalue(), int(h), int(w), int(c), image.name)
    factor, offset = SCALES[scale]
    vec = _run_own(model, lock, img[None].astype("float32") * factor + offset)[0]
    with st.container(border=True):
        left, right = st.columns([1, 3], vertical_alignment="center")
        with left:
            st.image(display_image(img, DISPLAY_PX), caption=f"{image.name} — as the model sees it ({w}×{h})")
        with right:
            _own_output(vec, names, "predict_own_probs")


def _numbers(lines: list[str], width: int, what: str) -> np.ndarray:
    """Rows of `width` numbers from text lines (commas, semicolons, tabs or spaces), or a DataError."""
    import re

    rows = []
    for i, line in enumerate(lines, 1):
        cells = [c for c in re.split(r"[,;\t ]+", line.strip()) if c]
        try:
            values = [float(c) for c in cells]
        except ValueError:
            bad = next(c for c in cells if not _is_number(c))
            raise DataError(f"{what} {i} holds {bad!r}, which is not a number.",
                            f"Give {width} numbers per line, separated by commas.") from None
        if len(values) != width:
            raise DataError(f"{what} {i} has {len(values)} number(s); the model takes {width}.",
                            f"Give {width} numbers per line, in the order the model was trained on.")
        rows.append(values)
    return np.asarray(rows, dtype="float32")


def _own_rows(model: Any, lock: Any, names: list[str]) -> None:
    width = int(model.input_shape[1])
    raw = st.text_area(f"Rows of {width} numbers, one row per line", key="predict_own_rows", height=140,
                       placeholder=", ".join(["0"] * min(width, 8)) + (", …" if width > 8 else ""),
                       help="Commas, semicolons, tabs or spaces between the numbers; scaled as the model expects.")
    lines = [ln for ln in raw.splitlines() if ln.strip()]
    if not lines:
        st.info(f"Type or paste rows of {width} numbers to see the model's output.", icon=":material/edit_note:")
        return
    check_batch_rows(len(lines), "The pasted rows")
    x = _numbers(lines, width, "Row")
    out = _run_own(model, lock, x)
    if len(out) == 1:
        with st.container(border=True):
            _own_output(out[0], names, "predict_own_probs")
    else:
        _own_outputs_table(out, names, [ln.strip()[:80] for ln in lines])


def _own_texts(model: Any, lock: Any, names: list[str]) -> None:
    raw = st.text_area("Texts, one per line", key="predict_own_texts", height=140, placeholder="Type or paste a text…")
    texts = [ln.strip() for ln in raw.splitlines() if ln.strip()]
    if not texts:
        st.info("Type or paste texts, one per line, to see the model's output.", icon=":material/edit_note:")
        return
    check_batch_rows(len(texts), "The pasted text", "texts")
    from layerlab.prep.tf_pipeline import as_model_inputs  # string tensors: a string input is TensorFlow's

    x = np.array(texts, dtype=object)
    if len(model.input_shape) == 2:
        x = x.reshape(-1, 1)
    out = _run_own(model, lock, as_model_inputs(x))
    if len(out) == 1:
        with st.container(border=True):
            _own_output(out[0], names, "predict_own_probs")
    else:
        _own_outputs_table(out, names, [t[:80] for t in texts])


def _own_window(model: Any, lock: Any, names: list[str]) -> None:
    _, steps, width = model.input_shape
    need = f"{steps} lines" if steps else "one line per step"
    raw = st.text_area(f"One sequence: {need} of {width} number(s), oldest first", key="predict_own_window",
                       height=180, help="Commas, semicolons, tabs or spaces between the numbers of a step.")
    lines = [ln for ln in raw.splitlines() if ln.strip()]
    if not lines:
        st.info(f"Type or paste a sequence ({need} of {width} number(s)) to see the model's output.",
                icon=":material/edit_note:")
        return
    if steps and len(lines) != steps:
        raise DataError(f"The sequence has {len(lines)} step(s); the model takes {steps}.",
                        f"Give exactly {steps} lines, the oldest first.")
    x = _numbers(lines, int(width), "Step")
    vec = _run_own(model, lock, x[None])[0]
    with st.container(border=True):
        _own_output(vec, names, "predict_own_probs")


def _decode_for(data: bytes, h: int, w: int, c: int, name: str) -> np.ndarray:
    """An uploaded image as uint8 (h, w, c), or a DataError naming the file."""
    from PIL import Image

    from layerlab.data.images import decode_image

    try:
        arr = decode_image(data)
    except DataError as exc:
        raise DataError(f"{name}: {exc.message}", "Upload a PNG, JPEG, BMP, GIF or WebP image.") from None
    im = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    im = im.convert("L" if c == 1 else "RGB").resize((w, h), Image.Resampling.BILINEAR)
    out = np.asarray(im, dtype=np.uint8)
    return out[..., None] if out.ndim == 2 else out
