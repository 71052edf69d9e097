"""Test examples as a user recognises them: images in a grid, texts as cards, table rows as a table,
each with its true and predicted class; and the most confident mistakes.

User data reaches the page only through st.dataframe, st.text, st.image captions or escaped Markdown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from components.data_preview import display_image
from components.evaluate.examples import Examples
from components.evaluate.formatting import pair_caption
from components.markup import md, message

GALLERY_COLUMNS = 6
DISPLAY_PX = 112


def mistakes(ev: dict[str, Any], examples: Examples, heat: Callable | None = None) -> None:
    st.subheader("Most confident mistakes")
    items = ev.get("mistakes") or []
    if not items:
        st.success("No mistakes on the test set.")
        return
    if examples.kind in ("text", "table") and not any(examples.available(int(m["index"])) for m in items):
        st.caption("This run's evaluation keeps only the names of its mistakes; "
                   "train the run again to see them in full.")
        names = ev["class_names"]
        st.dataframe(pd.DataFrame([{"Example": m.get("name", ""), "True": names[m["true"]],
                                    "Predicted": names[m["pred"]], "Confidence": m["confidence"]} for m in items]),
                     hide_index=True, key="evaluate_mistakes", width="stretch",
                     column_config={"Confidence": st.column_config.NumberColumn(format="percent")})
        return
    gallery(items, ev["class_names"], examples, key="mistakes", heat=heat)
    st.caption("The test examples the model got wrong with the highest confidence"
               + (", shown as the model saw them." if examples.kind == "images" else "."))


def gallery(items: list[dict[str, Any]], names: list[str], examples: Examples, *, key: str,
            heat: Callable | None = None) -> None:
    """Images in a grid, texts as cards, table rows as a table — each with true, predicted and confidence."""
    if examples.kind == "images":
        _image_grid(items, names, examples, heat)
    elif examples.kind == "text":
        _text_cards(items, names, examples)
    else:
        _row_table(items, names, examples, key)


def _image_grid(items: list[dict[str, Any]], names: list[str], examples: Examples, heat: Callable | None) -> None:
    cols = st.columns(GALLERY_COLUMNS)
    for k, item in enumerate(items):
        with cols[k % GALLERY_COLUMNS]:
            img = examples.image(item) if examples.image else None
            caption = pair_caption(names, item)
            if img is None:
                st.caption(f"{md(item.get('name') or 'This image')}: the file is no longer in the data. {message(caption)}")
                continue
            if heat is not None:
                shown = heat(item, img)
                if shown is not None:
                    img = shown
            st.image(display_image(img, DISPLAY_PX), caption=caption)


def _text_cards(items: list[dict[str, Any]], names: list[str], examples: Examples) -> None:
    cols = st.columns(2)
    for k, item in enumerate(items):
        text = examples.texts.get(int(item["index"]))
        with cols[k % 2].container(border=True):
            st.caption(message(pair_caption(names, item)))
            st.text(text if text is not None else item.get("name", ""))


def _row_table(items: list[dict[str, Any]], names: list[str], examples: Examples, key: str) -> None:
    rows = [{"True": names[m["true"]], "Predicted": names[m["pred"]], "Confidence": m["confidence"],
             **examples.row(int(m["index"]))} for m in items]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key=f"evaluate_rows_{key}", width="stretch",
                 column_config={"Confidence": st.column_config.NumberColumn(format="percent")})
