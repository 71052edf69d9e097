"""The Build page's check of the model: verdict, size, layer table, diagram, and the Keras code.

The figures are written out as text, not `st.metric`s: a metric cuts a long number off
("397,…") in a column as narrow as the Build page's check column, and text wraps instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from components import state
from components.errors import guard, show_error
from components.layer_editor import report_dot
from layerlab.errors import LayerlabError
from layerlab.models import backbones
from layerlab.spec import ProjectSpec, load_spec


@st.cache_data(max_entries=16, show_spinner=False)
def _code(spec_json: str, info_json: str) -> str:
    from layerlab.data.info import DataInfo
    from layerlab.inference.remote import run_in_host

    return run_in_host("model_code", load_spec(spec_json), DataInfo.from_dict(json.loads(info_json)))


def memory_text(mb: float) -> str:
    return f"{mb / 1024:,.1f} GB" if mb >= 1024 else (f"{mb:,.1f} MB" if mb >= 0.1 else "< 0.1 MB")


def figures_text(report: Any, batch_size: int) -> str:
    """The model's size in one wrapping paragraph, every number whole."""
    return (f"**{report.total_params:,}** parameters, **{report.trainable_params:,}** of them trainable, and about "
            f"**{memory_text(report.memory_mb)}** of memory to train with batches of {batch_size}.")


def _row_title(row: dict[str, Any]) -> str:
    if row.get("index") is None:
        return "Input" if row["name"] == "input" else f"Output ({row['type']})"
    return f"{row['index'] + 1}. {row['type']}"


def check_panel(spec: ProjectSpec, report: Any) -> None:
    st.subheader("Check")
    # Ready means Train would start it: the engine's own test (`require_weights`) for pretrained weights too.
    blocked = backbones.unavailable_weights(spec, state.owner()) if report.ok else []
    if blocked:
        names = " and ".join(m.file.architecture for m in blocked)
        st.warning(f"The model fits the data, but it cannot train yet: the ImageNet weights of {names} are "
                   "missing (see above: upload the file, or set the backbone's weights to 'none').",
                   icon=":material/block:")
    elif report.ok:
        st.success("The model fits the data and is ready to train.", icon=":material/check_circle:")
    else:
        show_error(LayerlabError(report.error or "the model cannot be built.", report.hint))
    st.markdown(figures_text(report, spec.train.batch_size))
    st.caption("Parameters are the numbers the model learns; trainable ones are changed by training (batch-norm "
               "statistics are not). The memory is a rough estimate: weights, optimizer state and activations.")
    summary, diagram = st.tabs([":material/table: Summary", ":material/account_tree: Diagram"])
    with summary:
        table = pd.DataFrame([{"Layer": _row_title(r), "Output shape": r["output_shape"], "Parameters": r["params"]}
                              for r in report.rows], columns=["Layer", "Output shape", "Parameters"])
        st.dataframe(table, hide_index=True, key="build.summary", height=min(35 * (len(table) + 1) + 3, 1200),
                     column_config={"Parameters": st.column_config.NumberColumn(format="localized")})
        if not report.ok:
            st.caption("The table stops where the model cannot be built.")
    with diagram:
        st.graphviz_chart(report_dot(report, spec), width="content")


@st.fragment(run_every=0.5)
def check_pending(ready: Callable[[], bool]) -> None:
    """The check's place while the libraries it needs are still loading; the whole page runs again, with the
    check, once `ready()` says they are in (a fragment's timer, so the editor beside it stays usable)."""
    if ready():
        st.rerun()
    st.subheader("Check")
    st.info("Loading TensorFlow to check the model (once after the server starts: a few seconds). You can edit "
            "the layers meanwhile.", icon=":material/hourglass_top:")


def code_panel(spec: ProjectSpec, info_json: str, report: Any) -> None:
    with st.expander("Show code", icon=":material/code:", key="build.show_code", on_change="rerun") as box:
        st.caption("The same model in plain Keras: a script you can run without Layerlab.")
        if not box.open:
            return
        if report is None or not report.ok:
            st.info("The code appears once the model can be built: fix the problem shown above first.")
            return
        code = None
        with guard():
            code = _code(spec.to_json(), info_json)
        if code:
            st.code(code, language="python")
            stem = re.sub(r"[^A-Za-z0-9_-]+", "_", spec.name).strip("_").lower() or "model"
            st.download_button("Download the script", code, file_name=f"{stem}_model.py", mime="text/x-python",
                               key="build.download", icon=":material/download:", on_click="ignore")
