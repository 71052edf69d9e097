"""Data: pick a bundled sample or upload your own (a zip of image class folders, or a table file),
then look at what it holds: images per class, or for tables, text and series the columns, their
roles, a health check and the views that suit the kind of data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from components import nav, state
from components.data_preview import class_count_chart, example_grid
from components.errors import guard, show_error
from components.health_report import health_view
from components.markup import md
from components.roles_editor import model_view, readings, roles_editor
from components.series_view import series_view
from components.table_view import (class_balance, columns_table, numeric_histograms, overview, preview, read_frame,
                                   shown_name)
from components.text_view import text_view
from components.uploads import uploads_manager
from layerlab.errors import LayerlabError
from layerlab.project import ACCEPTED_FILES, kind_of_file, new_project
from layerlab.roles import roles_of_columns
from layerlab.samples import SAMPLES
from layerlab.settings import limits
from layerlab.workspace import save_upload, source_stamp

nav.ensure_app()  # a deep link in Streamlit's legacy pages/ mode goes through app.py first

PER_CLASS = 6
FEW_IMAGES = 10
KIND_TITLES = {"images": "Images", "table": "Tables", "text": "Text", "series": "Time series"}
KIND_WORDS = {"images": "images", "table": "a table", "text": "text", "series": "a time series"}


@st.cache_data(max_entries=16, show_spinner=False)
def _overview(source: str, stamp: tuple[float, int], per_class: int = PER_CLASS) -> dict[str, Any]:
    """What the Data page shows about a source; `stamp` (mtime, size) renews the cache for files."""
    from layerlab.data.images import open_images

    src = open_images(source)
    unreadable: list[tuple[str, str]] = []  # fakes, truncated files, image bombs met while picking examples
    examples = src.examples(per_class=per_class, unreadable=unreadable)
    counts = src.counts()
    for name, _ in unreadable:
        counts[name.split("/", 1)[0]] -= 1
    return {
        "name": src.name,
        "description": src.description,
        "images": len(src) - len(unreadable),
        "classes": list(src.class_names),
        "counts": counts,
        "examples": examples,
        "skipped": list(src.skipped) + unreadable,
    }


def _use_sample(name: str) -> None:
    with guard():
        with st.spinner(f"Opening {SAMPLES[name].title.lower()}…"):
            spec = new_project(f"sample:{name}")
        state.set_project(spec)
        st.rerun()


def _unpack(path: Path) -> None:
    """Unpack a zip (once per content) with a progress bar: a zip of thousands of images takes a while."""
    from layerlab.data.images import unpack_images

    bar = st.empty()
    try:
        unpack_images(str(path), progress=lambda fraction, text: bar.progress(min(1.0, fraction), text=text))
    finally:
        bar.empty()


def _handle_upload(upload: Any) -> None:
    """Turn a new upload into the project; a refusal keeps the earlier project."""
    seen = st.session_state.get("data.upload_seen")
    if seen and seen[0] == upload.file_id:
        if seen[1] is not None:
            show_error(seen[1])
        return
    error, path = None, None
    try:
        kind = kind_of_file(upload.name)
        with st.spinner(f"{'Unpacking and checking' if kind == 'images' else 'Reading'} {md(upload.name)}…"):
            path = save_upload(state.owner(), upload.name, upload.getvalue())
            if kind == "images":
                _unpack(path)
                spec = new_project(str(path), name=Path(upload.name).stem)
            else:
                read = read_frame(str(path), source_stamp(str(path)))
                spec = new_project(str(path), name=Path(upload.name).stem, frame=read["frame"])
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
        st.caption(f"Your earlier data (**{md(state.project().name)}**) is still in use.")


def _is_upload(source: str) -> bool:
    return not source.startswith("sample:")


def _table_like(spec: Any) -> None:
    """Tables, text and series: reading notes, metrics, views per kind, roles, model view, health."""
    source = spec.data.source
    ov = None
    with guard():
        with st.spinner("Reading the data…"):
            ov = overview(source, source_stamp(source))
    if ov is None:
        st.caption("Choose other data above, or fix the file and upload it again.")
        return
    if not _is_upload(source):
        sample = SAMPLES.get(source.removeprefix("sample:"))
        if sample is not None:
            st.caption(sample.description)
    else:
        stored, shown = Path(source).name, shown_name(source)
        notes = [n.replace(stored, shown) for n in ov["notes"]]
        if notes:
            st.info(f"How {md(shown)} was read:\n" + "\n".join(f"- {md(n)}" for n in notes), icon=":material/info:")
    d = spec.data
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Rows", f"{ov['rows']:,}")
    m2.metric("Columns", f"{ov['columns']:,}")
    m3.metric("Kind", KIND_TITLES.get(d.kind, d.kind), help="Chosen from the column roles below.")
    m4.metric("Task", d.task.capitalize())
    with guard():
        readings(spec)

    roles = roles_of_columns(spec, ov["names"], ov["types"])
    numeric = ov["numeric"]
    names = ["Preview", "Columns"]
    if d.kind == "text":
        names.append("Texts")
    if d.kind == "series":
        names.append("Series")
    if d.task == "classification" and d.target in ov["names"]:
        names.append("Classes")
    names.append("Numbers")
    icons = {"Preview": "table_view", "Columns": "view_column", "Texts": "notes", "Series": "show_chart",
             "Classes": "bar_chart", "Numbers": "equalizer"}
    tabs = dict(zip(names, st.tabs([f":material/{icons[n]}: {n}" for n in names])))
    with tabs["Preview"]:
        preview(ov, "data.preview")
    with tabs["Columns"]:
        st.caption("What each column holds, as Layerlab reads it, and how many values are missing.")
        with guard():
            columns_table(ov, roles, "data.columns")
    if "Texts" in tabs:
        with tabs["Texts"], guard():
            text_view(spec, "data.text")
    if "Series" in tabs:
        with tabs["Series"], guard():
            targets = [c for c, r in roles.items() if r == "target"]
            values = targets + [c for c, r in roles.items() if r == "feature" and c in numeric]
            if values:
                series_view(spec, values, "data.series")
            else:
                st.info("No value column to plot: mark a numeric column as the target below.")
    if "Classes" in tabs:
        with tabs["Classes"], guard():
            class_balance(source, d.target, "data.classes")
    with tabs["Numbers"], guard():
        default = d.target if d.task != "classification" else None
        numeric_histograms(source, numeric, "data.histogram", default=default)

    st.subheader("Column roles")
    st.caption("What each column is for. Layerlab guessed these from the data; change them and apply.")
    with guard():
        roles_editor(spec, ov)
    spec = state.project() or spec
    model_col, health_col = st.columns(2, gap="large")
    with model_col:
        st.subheader("What the model will see")
        with guard():
            model_view(spec)
    with health_col:
        st.subheader("Health check")
        st.caption("Things to know or fix before training, most important first.")
        with guard():
            health_view(spec)


st.title("Data")
st.markdown("Choose what the model learns from: a bundled sample, or your own data — a zip of images, or a table "
            "of rows, texts with their labels, or values over time.")

spec = state.project()
tab_sample, tab_upload = st.tabs([":material/inventory_2: Bundled samples", ":material/upload: Upload your data"])

with tab_sample:
    if not SAMPLES:
        st.info("No bundled samples are installed.")
    kinds = [k for k in KIND_TITLES if any(s.kind == k for s in SAMPLES.values())]
    for kind, column in zip(kinds, st.columns(max(1, len(kinds)))):
        with column:
            st.subheader(KIND_TITLES[kind])
            for sample in (s for s in SAMPLES.values() if s.kind == kind):
                in_use = spec is not None and spec.data.source == f"sample:{sample.name}"
                with st.container(border=True):
                    st.markdown(f"**{sample.title}** — {sample.description}")
                    st.caption(f"Source: {sample.source}")
                    if in_use:
                        st.markdown(":green[:material/check_circle: In use]")
                    elif st.button("Use this sample", key=f"data.sample.{sample.name}", type="primary"):
                        _use_sample(sample.name)

with tab_upload:
    left, right = st.columns(2)
    with left:
        st.markdown(
            "**Images:** a **.zip** with one folder per class; the folder names become the class names:\n\n"
            "```\nmy-images.zip\n├── cats/   cat001.jpg, cat002.png, …\n└── dogs/   dog001.jpg, …\n```\n"
            "PNG, JPEG, BMP, GIF and WebP images are read; anything else is skipped and listed below."
        )
    with right:
        st.markdown(
            "**A table:** CSV or TSV (any common separator and encoding, decimal commas too), Excel **.xlsx**, "
            "**Parquet** or **JSON Lines**, with the column names in the first row. One row per example, "
            "or per time step for a series; a column of texts makes text data, a date column a time series. "
            "You can change what each column is for below."
        )
    # No `type=` filter: the browser would only turn a wrong file red; kind_of_file says why in words.
    upload = st.file_uploader("A .zip of class folders, or a table file", key="data.upload",
                              max_upload_size=limits().upload_mb,
                              help=f"Accepted: {ACCEPTED_FILES}. Tables: the first row holds the column names.")
    if upload is not None:
        _handle_upload(upload)
    uploads_manager()

spec = state.project()
if spec is None:
    st.info("No data chosen yet: pick a sample above, or upload a zip of your images or a table.")
    st.stop()

st.divider()
st.header(spec.name)
if spec.data.kind != "images":
    _table_like(spec)
    nav.link("Prepare", "Next: Prepare")
    st.stop()

overview = None
with guard():
    with st.spinner("Reading the data…"):
        overview = _overview(spec.data.source, source_stamp(spec.data.source))
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
               f"({', '.join(md(c) for c in small[:8])}{'…' if len(small) > 8 else ''}). The model will have little to learn "
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
