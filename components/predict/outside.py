"""Try a `.keras` model made elsewhere: upload it, then give it an image, rows of numbers, texts or a window.

The checks and loading are `layerlab.inference.outside`; this module only lays out the inputs and outputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import charts, errors, model_cache
from components.data_preview import display_image
from components.markup import plot_text
from components.predict.shared import DISPLAY_PX
from layerlab.inference import inputs, outside
from layerlab.inference.remote import OwnModel, own_model


@st.cache_resource(max_entries=2, ttl=1800, show_spinner="Loading the model…")
def _own_model(digest: str, _data: bytes, name: str) -> OwnModel:
    """An uploaded .keras file, checked and loaded (safe mode) in the model host; shared by its SHA-256."""
    return own_model(_data, name)


def raw_output_figure(values: np.ndarray, names: list[str]) -> go.Figure:
    """Bars of the (up to 10) largest raw outputs, highest at the top."""
    order = np.argsort(-values)[:10][::-1]
    fig = go.Figure(go.Bar(x=values[order], y=[plot_text(names[i]) for i in order], orientation="h",
                           marker_color=[charts.MUTED] * (len(order) - 1) + [charts.ACCENT],
                           hovertemplate="%{y}: %{x:.4g}<extra></extra>"))
    fig.update_layout(height=70 + 32 * len(order), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis={"title": "output"}, yaxis={"type": "category"}, showlegend=False)
    return fig


def own_model_view() -> None:
    """Upload a .keras model made elsewhere and try it: on an image, rows of numbers, texts, or a window."""
    import hashlib

    max_mb = outside.max_model_mb()
    file = st.file_uploader("A Keras model (.keras)", type=["keras"], key="predict_own_model", max_upload_size=max_mb,
                            help=f"A Keras 3 model saved with `model.save('model.keras')`, up to {max_mb} MB. "
                                 "Loaded in safe mode: models with Lambda layers are refused.")
    if file is None:
        st.caption("Image, table (rows of numbers), text (string input) and sequence models with one input: "
                   "the page reads what to ask for from the model's input.")
        return
    with errors.guard():
        data = file.getvalue()
        outside.check_keras_file(data, file.name)  # again outside the cache: the limits are read now, per run
        model_cache.wait_for_host()
        model = _own_model(hashlib.sha256(data).hexdigest(), data, file.name)
        outside.check_model_params(model.params, file.name)  # again outside the cache: the limit is read now
        st.caption(f"Input {model.input_shape} → output {model.output_shape} · {model.params:,} parameters.")
        kind = model.kind
        if kind is None:
            st.info("Only models with one input can be tried here: an image (batch × height × width × channels), "
                    "rows of numbers (batch × features), texts (a string input) or sequences "
                    "(batch × steps × features).", icon=":material/info:")
            return
        names_text = st.text_input("Output names (optional)", key="predict_own_names", placeholder="cat, dog, …",
                                   help="Comma-separated, in the model's output order.")
        names = [n.strip() for n in names_text.split(",") if n.strip()]
        {"image": _own_image, "rows": _own_rows, "text": _own_texts, "window": _own_window}[kind](model, names)


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


def _own_outputs(out: np.ndarray, names: list[str], inputs_shown: list[str]) -> None:
    """One output in a box; many (one per row or text) as a table with the top output per input, downloadable."""
    if len(out) == 1:
        with st.container(border=True):
            _own_output(out[0], names, "predict_own_probs")
        return
    names = _output_names(names, out.shape[1])
    df = pd.DataFrame(out, columns=names)
    if out.shape[1] > 1:
        df.insert(0, "top", [names[i] for i in out.argmax(axis=1)])
    df.insert(0, "input", inputs_shown)
    from layerlab.data.tables import to_safe_csv

    st.dataframe(df.head(1000), hide_index=True, width="stretch")
    # The inputs and output names are the user's (a row's text, a class name): a cell such as
    # `=HYPERLINK(…)` must not run as a formula when the file is opened in a spreadsheet.
    st.download_button("Download as CSV", to_safe_csv(df), "predictions.csv", "text/csv",
                       key="predict_own_download", icon=":material/download:")


def _own_image(model: OwnModel, names: list[str]) -> None:
    _, h, w, c = model.input_shape
    c = c or 3
    cols = st.columns(2)
    if h is None or w is None:
        h = cols[0].number_input("Height", 4, 1024, 224, key="predict_own_h", help="The model takes any size.")
        w = cols[0].number_input("Width", 4, 1024, 224, key="predict_own_w")
    scale = cols[1].radio("Pixel values", list(outside.SCALES), key="predict_own_scale",
                          help="What the model expects; Layerlab's own models take 0–255.")
    image = st.file_uploader("An image", type=inputs.IMAGE_TYPES, key="predict_own_image")
    if image is None:
        st.info("Upload an image to see the model's output.", icon=":material/upload:")
        return
    img = outside.image_for(image.getvalue(), int(h), int(w), int(c), image.name)
    factor, offset = outside.SCALES[scale]
    vec = model.run(img[None].astype("float32") * factor + offset)[0]
    with st.container(border=True):
        left, right = st.columns([1, 3], vertical_alignment="center")
        with left:
            st.image(display_image(img, DISPLAY_PX), caption=f"{image.name} — as the model sees it ({w}×{h})")
        with right:
            _own_output(vec, names, "predict_own_probs")


def _own_rows(model: OwnModel, names: list[str]) -> None:
    width = int(model.input_shape[1])
    raw = st.text_area(f"Rows of {width} numbers, one row per line", key="predict_own_rows", height=140,
                       placeholder=", ".join(["0"] * min(width, 8)) + (", …" if width > 8 else ""),
                       help="Commas, semicolons, tabs or spaces between the numbers; scaled as the model expects.")
    lines = [ln for ln in raw.splitlines() if ln.strip()]
    if not lines:
        st.info(f"Type or paste rows of {width} numbers to see the model's output.", icon=":material/edit_note:")
        return
    inputs.check_batch_rows(len(lines), "The pasted rows")
    out = model.run(outside.number_rows(lines, width, "Row"))
    _own_outputs(out, names, [ln.strip()[:80] for ln in lines])


def _own_texts(model: OwnModel, names: list[str]) -> None:
    raw = st.text_area("Texts, one per line", key="predict_own_texts", height=140, placeholder="Type or paste a text…")
    texts = inputs.text_lines(raw)
    if not texts:
        st.info("Type or paste texts, one per line, to see the model's output.", icon=":material/edit_note:")
        return
    inputs.check_batch_rows(len(texts), "The pasted text", "texts")
    out = model.run(texts, texts=True)
    _own_outputs(out, names, [t[:80] for t in texts])


def _own_window(model: OwnModel, names: list[str]) -> None:
    _, steps, width = model.input_shape
    need = f"{steps} lines" if steps else "one line per step"
    raw = st.text_area(f"One sequence: {need} of {width} number(s), oldest first", key="predict_own_window",
                       height=180, help="Commas, semicolons, tabs or spaces between the numbers of a step.")
    lines = [ln for ln in raw.splitlines() if ln.strip()]
    if not lines:
        st.info(f"Type or paste a sequence ({need} of {width} number(s)) to see the model's output.",
                icon=":material/edit_note:")
        return
    x = outside.window_rows(lines, steps, int(width))
    with st.container(border=True):
        _own_output(model.run(x[None])[0], names, "predict_own_probs")
