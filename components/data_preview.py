"""Looking at image data: a grid of examples per class and the class-count bar chart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from components.errors import guard
from components.markup import md, plot_text
from layerlab.spec import ProjectSpec
from layerlab.workspace import source_stamp

THUMB = 64
MAX_CLASSES_SHOWN = 30
PER_CLASS = 6
FEW_IMAGES = 10


def display_image(img: np.ndarray, size: int = THUMB) -> np.ndarray:
    """A uint8 image whose longest side is `size` pixels, for a uniform grid.

    Tiny images (8×8 digits) are blown up with nearest-neighbour so their pixels stay
    sharp; big ones are shrunk so the page does not ship megabytes;
    a single channel is squeezed to 2-D (st.image reads (H, W) as grayscale). Show the
    result at its own size (st.image's default width), so the aspect ratio is kept.
    """
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    h, w = arr.shape[:2]
    longest = max(h, w, 1)
    if longest != size:
        from PIL import Image

        scale = size / longest
        new = (max(1, round(w * scale)), max(1, round(h * scale)))
        # Nearest-neighbour when enlarging keeps tiny pixels sharp; Lanczos when shrinking.
        resample = Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS
        arr = np.asarray(Image.fromarray(arr).resize(new, resample))
    return arr


def class_count_figure(counts: Mapping[str, int]) -> go.Figure:
    """Bar chart of images per class (horizontal when there are many classes)."""
    names = [plot_text(n) for n in counts]
    values = [int(v) for v in counts.values()]
    many = len(names) > 12
    bar = go.Bar(x=values, y=names, orientation="h") if many else go.Bar(x=names, y=values)
    bar.update(text=values, textposition="outside", textangle=0, cliponaxis=False, marker_color="#4C78A8",
               hovertemplate="%{y}: %{x} images<extra></extra>" if many else "%{x}: %{y} images<extra></extra>")
    fig = go.Figure(bar)
    fig.update_layout(
        title="Images per class",
        height=max(320, 22 * len(names) + 120) if many else 340,
        margin=dict(l=10, r=10, t=50, b=10),
        showlegend=False,
    )
    if many:
        fig.update_yaxes(title="class", type="category", autorange="reversed")
        fig.update_xaxes(title="images")
    else:
        fig.update_xaxes(title="class", type="category")
        fig.update_yaxes(title="images")
    return fig


def class_count_chart(counts: Mapping[str, int], key: str) -> None:
    st.plotly_chart(class_count_figure(counts), width="stretch", key=key)


def example_grid(examples: Mapping[str, Sequence[tuple[int, np.ndarray]]], counts: Mapping[str, int] | None = None,
                 size: int = THUMB) -> None:
    """One row per class: its name (and count), then a few of its images."""
    names = list(examples)
    for name in names[:MAX_CLASSES_SHOWN]:
        label, pics = st.columns([1, 5], vertical_alignment="center")
        with label:
            st.markdown(f"**{md(name)}**")
            if counts is not None:
                st.caption(f"{counts.get(name, 0):,} images")
        with pics:
            imgs = [display_image(img, size) for _, img in examples[name]]
            if imgs:
                st.image(imgs, output_format="PNG")
            else:
                st.caption("No readable image in this class.")
    if len(names) > MAX_CLASSES_SHOWN:
        st.caption(f"… and {len(names) - MAX_CLASSES_SHOWN} more classes (see the chart for all of them).")


def image_rows(rows: Sequence[Sequence[np.ndarray]], captions: Sequence[str] | None = None,
               size: int = THUMB, head: str | None = None) -> None:
    """A grid: each row a list of images (e.g. an original followed by its variants)."""
    if head:
        st.caption(head)
    for i, row in enumerate(rows):
        imgs = [display_image(img, size) for img in row]
        cap: Any = None
        if captions is not None and i < len(captions):
            cap = [captions[i]] + [""] * (len(imgs) - 1)
        st.image(imgs, caption=cap, output_format="PNG")



@st.cache_data(max_entries=16, show_spinner=False)
def image_overview(source: str, stamp: tuple[float, int], per_class: int = PER_CLASS) -> dict[str, Any]:
    """`layerlab.preview.image_overview`, cached; `stamp` (mtime, size) renews it for a changed file."""
    from layerlab.preview import image_overview as overview

    return overview(source, per_class)


def images_view(spec: ProjectSpec) -> bool:
    """The Data page for images: counts, small classes, examples, class chart and skipped files.
    False when the images could not be read (the error is shown)."""
    import pandas as pd

    ov = None
    with guard(), st.spinner("Reading the data…"):
        ov = image_overview(spec.data.source, source_stamp(spec.data.source))
    if ov is None:
        st.caption("Choose other data above, or fix the files and upload them again.")
        return False

    if ov["description"]:
        st.caption(ov["description"])
    counts = ov["counts"]
    m1, m2, m3 = st.columns(3)
    m1.metric("Images", f"{ov['images']:,}")
    m2.metric("Classes", len(ov["classes"]))
    m3.metric("Skipped files", len(ov["skipped"]), help="Files that are not images we can read (listed below).")

    small = [c for c, n in counts.items() if n < FEW_IMAGES]
    if small:
        st.warning(f"{len(small)} class{'es have' if len(small) > 1 else ' has'} fewer than {FEW_IMAGES} images "
                   f"({', '.join(md(c) for c in small[:8])}{'…' if len(small) > 8 else ''}). The model will have little to learn "
                   "from there, and the test split may not contain them. Add more images if you can.",
                   icon=":material/warning:")

    grid, chart = st.columns([3, 2])
    with grid:
        st.subheader("Examples")
        example_grid(ov["examples"], counts)
    with chart:
        class_count_chart(counts, key="data.class_counts")

    skipped = ov["skipped"]
    with st.expander(f"Skipped files ({len(skipped)})", icon=":material/block:"):
        if skipped:
            st.dataframe(pd.DataFrame(skipped, columns=["File", "Why it was skipped"]), hide_index=True,
                         key="data.skipped")
        else:
            st.caption("No files were skipped: every file is an image inside a class folder.")
    return True
