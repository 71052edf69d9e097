"""Data: pick a bundled sample or upload a zip of class folders, then look at what it holds."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from components import nav, state
from components.data_preview import class_count_chart, example_grid
from components.errors import guard, show_error
from layerlab.errors import DataError, LayerlabError
from layerlab.project import new_project
from layerlab.samples import SAMPLES
from layerlab.settings import limits

nav.ensure_app()  # a deep link in Streamlit's legacy pages/ mode goes through app.py first

PER_CLASS = 6
FEW_IMAGES = 10


@st.cache_data(max_entries=16, show_spinner=False)
def _overview(source: str, stamp: tuple[float, int], per_class: int = PER_CLASS) -> dict[str, Any]:
    """What the Data page shows about a source; `stamp` (mtime, size) renews the cache for files."""
    from layerlab.data.images import open_images

    src = open_images(source)
    return {
        "name": src.name,
        "description": src.description,
        "images": len(src),
        "classes": list(src.class_names),
        "counts": src.counts(),
        "examples": src.examples(per_class=per_class),
        "skipped": list(src.skipped),
    }


def _stamp(source: str) -> tuple[float, int]:
    path = Path(source)
    if source.startswith("sample:") or not path.exists():
        return (0.0, 0)
    st_ = path.stat()
    return (st_.st_mtime, st_.st_size)


def _use_sample(name: str) -> None:
    with guard():
        with st.spinner(f"Opening {SAMPLES[name].title.lower()}…"):
            spec = new_project(f"sample:{name}")
        state.set_project(spec)
        st.rerun()


def _save_upload(upload: Any) -> Path:
    """Write the uploaded zip under this session's uploads folder, named by its content."""
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:10]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(upload.name).stem).strip("._") or "upload"
    path = state.uploads_dir() / f"{stem[:60]}-{digest}.zip"
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def _handle_upload(upload: Any) -> None:
    """Turn a new upload into the project; a refusal keeps the earlier project."""
    seen = st.session_state.get("data.upload_seen")
    if seen and seen[0] == upload.file_id:
        if seen[1] is not None:
            show_error(seen[1])
        return
    error, path = None, None
    try:
        if not upload.name.lower().endswith(".zip"):
            raise DataError(f"{upload.name} is not a zip file.",
                            "Upload a .zip holding one folder per class (e.g. cats/…, dogs/…).")
        with st.spinner(f"Unpacking and checking {upload.name}…"):
            path = _save_upload(upload)
            spec = new_project(str(path), name=Path(upload.name).stem)
        state.set_project(spec)
    except LayerlabError as exc:
        # Speak of the file the user uploaded, not of our stored copy.
        error = LayerlabError(exc.message.replace(path.name, upload.name), exc.hint) if path else exc
    except Exception as exc:  # noqa: BLE001 - shown in words below, the old project stays
        error = exc
    if error is not None and path is not None:
        current = state.project()
        if current is None or Path(current.data.source) != path.resolve():
            path.unlink(missing_ok=True)
    st.session_state["data.upload_seen"] = (upload.file_id, error)
    if error is None:
        st.rerun()
    show_error(error)
    if state.project() is not None:
        st.caption(f"Your earlier data (**{state.project().name}**) is still in use.")


st.title("Data")
st.markdown("Choose what the model learns from: a bundled sample, or your own images.")

spec = state.project()
tab_sample, tab_upload = st.tabs([":material/inventory_2: Bundled samples", ":material/upload: Upload your images"])

with tab_sample:
    samples = [s for s in SAMPLES.values() if s.kind == "images"]
    if not samples:
        st.info("No bundled image samples are installed.")
    for sample in samples:
        in_use = spec is not None and spec.data.source == f"sample:{sample.name}"
        with st.container(border=True):
            text, action = st.columns([4, 1], vertical_alignment="center")
            with text:
                st.markdown(f"**{sample.title}** — {sample.description}")
                st.caption(f"Source: {sample.source}")
            with action:
                if in_use:
                    st.markdown(":green[:material/check_circle: In use]")
                elif st.button("Use this sample", key=f"data.sample.{sample.name}", type="primary"):
                    _use_sample(sample.name)

with tab_upload:
    st.markdown(
        "Upload a **.zip** with one folder per class; the folder names become the class names:\n\n"
        "```\nmy-images.zip\n├── cats/   cat001.jpg, cat002.png, …\n└── dogs/   dog001.jpg, …\n```\n"
        "PNG, JPEG, BMP, GIF and WebP images are read; anything else is skipped and listed below."
    )
    upload = st.file_uploader("A .zip of class folders", type="zip", key="data.upload",
                              max_upload_size=limits().upload_mb,
                              help="Each class needs its own folder of images inside the zip.")
    if upload is not None:
        _handle_upload(upload)

spec = state.project()
if spec is None:
    st.info("No data chosen yet: pick a sample above, or upload a zip of your images.")
    st.stop()

st.divider()
st.header(spec.name)
if spec.data.kind != "images":
    st.info(f"This project holds {spec.data.kind} data; this page shows image data only.")
    nav.link("Prepare", "Next: Prepare")
    st.stop()

overview = None
with guard():
    with st.spinner("Reading the data…"):
        overview = _overview(spec.data.source, _stamp(spec.data.source))
if overview is None:
    st.caption("Choose other data above, or fix the files and upload them again.")
    st.stop()

if overview["description"]:
    st.caption(overview["description"])
counts = overview["counts"]
m1, m2, m3 = st.columns(3)
m1.metric("Images", f"{overview['images']:,}")
m2.metric("Classes", len(overview["classes"]))
m3.metric("Skipped files", len(overview["skipped"]), help="Files that are not images we can read (listed below).")

small = [c for c, n in counts.items() if n < FEW_IMAGES]
if small:
    st.warning(f"{len(small)} class{'es have' if len(small) > 1 else ' has'} fewer than {FEW_IMAGES} images "
               f"({', '.join(small[:8])}{'…' if len(small) > 8 else ''}). The model will have little to learn "
               "from there, and the test split may not contain them. Add more images if you can.",
               icon=":material/warning:")

grid, chart = st.columns([3, 2])
with grid:
    st.subheader("Examples")
    example_grid(overview["examples"], counts)
with chart:
    class_count_chart(counts, key="data.class_counts")

skipped = overview["skipped"]
with st.expander(f"Skipped files ({len(skipped)})", icon=":material/block:"):
    if skipped:
        st.dataframe(pd.DataFrame(skipped, columns=["File", "Why it was skipped"]), hide_index=True,
                     key="data.skipped")
    else:
        st.caption("No files were skipped: every file is an image inside a class folder.")

nav.link("Prepare", "Next: Prepare")
