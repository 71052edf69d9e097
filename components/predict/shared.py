"""Result views the Predict page's kinds share: a class with its probabilities, an image with its answer
(and heat map), a table of predictions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from components import charts, errors
from components.data_preview import display_image
from layerlab.errors import LayerlabError

TABLE_TYPES = ["csv", "tsv", "txt", "xlsx", "parquet", "jsonl", "json"]
DISPLAY_PX = 160
SHOWN_ROWS = 200
CHUNK_ROWS = 10_000
EXPLAIN_IMAGES = 12  # heat maps for at most this many images: each costs dozens of predictions


def class_result(res: dict[str, Any], n_classes: int, key: str, label: str = "Predicted class") -> None:
    k = min(5, n_classes)
    st.metric(label, res["label"], help="The class with the highest probability.")
    st.caption(f"{res['confidence']:.1%} confident · the top {k} classes:")
    st.plotly_chart(charts.probability_figure(res["probabilities"], k), width="stretch", key=key)


def image_result(name: str, img: np.ndarray, res: dict[str, Any], n_classes: int, key: str,
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
            class_result(res, n_classes, key)


def explain_images_toggle(key: str, value: bool = False) -> bool:
    return st.toggle("Show what the model looked at", value=value, key=key,
                     help="Covers one patch of the image at a time: red marks where hiding the picture lowers the "
                          f"predicted class's probability most (the first {EXPLAIN_IMAGES} images).")


def heat(predictor: Any, img: np.ndarray) -> np.ndarray | None:
    """The occlusion heat map of one image, or None (said once) when the model cannot be explained."""
    from layerlab.explain import image_occlusion

    try:
        return image_occlusion(predictor, img)["heat"]
    except Exception as exc:  # noqa: BLE001 - the plain image is shown instead
        errors.show_error(LayerlabError(f"The model could not explain this image ({type(exc).__name__}).",
                                        "The plain image is shown instead."))
        return None


def show_table(df: pd.DataFrame, key: str, classes: list[str]) -> None:
    config: dict[str, Any] = {}
    if "confidence" in df.columns:
        config["confidence"] = st.column_config.ProgressColumn("confidence", format="percent", min_value=0, max_value=1)
        for c in classes:
            config[f"p({c})"] = st.column_config.NumberColumn(f"p({c})", format="%.3f")
    st.dataframe(df.head(SHOWN_ROWS), width="stretch", hide_index=True, column_config=config, key=key)
    if len(df) > SHOWN_ROWS:
        st.caption(f"The first {SHOWN_ROWS} of {len(df):,} rows; the download has them all.")
