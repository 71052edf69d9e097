"""The Build page's layer editor: a card per body layer between the locked input and head.

Every action (edit a setting, move, duplicate, delete, add) is a callback that writes the
new layer list into the project through validation; the page then re-checks the model.
Which cards are open is plain session state that the callbacks keep in step with moves.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import state
from components.errors import edit, show_error
from components.param_widgets import entry_widgets
from components.weights_upload import block_caption
from layerlab.data.info import DataInfo
from layerlab.errors import LayerlabError
from layerlab.models.backbones import BACKBONE
from layerlab.models.layers import LAYERS
from layerlab.spec import ProjectSpec

FLAG = "build.error"
OPEN = "build.open"


# ---- state changes (callbacks) --------------------------------------------------------------


def _layers() -> list[dict[str, Any]]:
    spec = state.project()
    return [layer.model_dump(mode="json") for layer in spec.model.layers] if spec else []


def _open() -> set[int]:
    return set(st.session_state.get(OPEN, set()))


def _save(layers: list[dict[str, Any]], opened: set[int] | None = None) -> bool:
    ok = edit(FLAG, **{"model.layers": layers})
    if ok and opened is not None:
        st.session_state[OPEN] = opened
    return ok


def toggle(i: int) -> None:
    opened = _open()
    opened ^= {i}
    st.session_state[OPEN] = opened


def move(i: int, step: int) -> None:
    layers = _layers()
    j = i + step
    if not (0 <= i < len(layers) and 0 <= j < len(layers)):
        return
    layers[i], layers[j] = layers[j], layers[i]
    opened = _open()
    a, b = i in opened, j in opened
    opened -= {i, j}
    opened |= ({j} if a else set()) | ({i} if b else set())
    _save(layers, opened)


def duplicate(i: int) -> None:
    layers = _layers()
    if not 0 <= i < len(layers):
        return
    copy = {**layers[i], "params": dict(layers[i]["params"]), "name": None}
    layers.insert(i + 1, copy)
    opened = {k + 1 if k > i else k for k in _open()} | {i + 1}
    _save(layers, opened)


def delete(i: int) -> None:
    layers = _layers()
    if not 0 <= i < len(layers):
        return
    del layers[i]
    opened = {k - 1 if k > i else k for k in _open() if k != i}
    _save(layers, opened)


def set_param(i: int, name: str, value: Any) -> None:
    layers = _layers()
    if 0 <= i < len(layers):
        layers[i]["params"][name] = value
        _save(layers)


def add(layer_type: str, position: int) -> None:
    layers = _layers()
    entry = LAYERS.get(layer_type)
    position = max(0, min(position, len(layers)))
    layers.insert(position, {"type": layer_type, "params": entry.defaults(), "name": None})
    opened = {k + 1 if k >= position else k for k in _open()} | {position}
    _save(layers, opened)


def _add_clicked() -> None:
    group = st.session_state.get("build.add_group")
    layer_type = st.session_state.get(f"build.add_type.{group}")
    position = st.session_state.get("build.add_position")
    if layer_type:
        add(layer_type, len(_layers()) if position is None else int(position))


# ---- drawing ----------------------------------------------------------------------------------


def _shape_text(row: dict[str, Any] | None, pending: bool = False) -> str:
    if row is None:
        return "shape and size once checked" if pending else "not built"
    return f"{row['output_shape']} · {row['params']:,} params"


def _input_text(info: DataInfo) -> str:
    shape = tuple(info.input_shape)
    if info.kind == "images" and len(shape) == 3:
        kind = "grayscale" if shape[2] == 1 else "colour"
        return f"{kind} images of {shape[0]} × {shape[1]} pixels, shape ({shape[0]}, {shape[1]}, {shape[2]})"
    return f"shape {shape}"


def _head_text(info: DataInfo) -> str:
    if info.task == "classification":
        if info.n_classes == 2:
            return "Dense with 1 unit and sigmoid: the probability of the second class"
        return f"Dense with {info.n_classes} units and softmax: one probability per class"
    return f"Dense with {info.outputs} unit{'s' if info.outputs != 1 else ''}: the predicted value"


def layer_card(i: int, spec_layer: Any, row: dict[str, Any] | None, count: int, opened: bool,
               error: tuple[str, str] | None, pending: bool = False) -> None:
    entry = LAYERS.get(spec_layer.type)
    with st.container(border=True, key=f"build.card.{i}"):
        head, buttons = st.columns([4, 2], vertical_alignment="center")
        with head:
            mark = ":red[:material/error:] " if error else ""
            st.markdown(f"{mark}**{i + 1}. {spec_layer.type}** :gray[· {_shape_text(row, pending)}]")
            if spec_layer.type == BACKBONE and not pending:  # one block: its network, size, frozen or not
                block_caption(spec_layer, row)
        with buttons, st.container(horizontal=True, horizontal_alignment="right", gap="xsmall"):
            st.button("", key=f"build.l{i}.toggle", on_click=toggle, args=(i,),
                      icon=":material/expand_less:" if opened else ":material/tune:",
                      help="Hide the settings" if opened else "Change this layer's settings", type="tertiary")
            st.button("", key=f"build.l{i}.up", on_click=move, args=(i, -1), disabled=i == 0,
                      icon=":material/arrow_upward:", help="Move up", type="tertiary")
            st.button("", key=f"build.l{i}.down", on_click=move, args=(i, 1), disabled=i == count - 1,
                      icon=":material/arrow_downward:", help="Move down", type="tertiary")
            st.button("", key=f"build.l{i}.dup", on_click=duplicate, args=(i,),
                      icon=":material/content_copy:", help="Duplicate: add a copy right below", type="tertiary")
            st.button("", key=f"build.l{i}.delete", on_click=delete, args=(i,),
                      icon=":material/delete:", help="Delete this layer", type="tertiary")
        if error:
            show_error(LayerlabError(*error))
        if opened or error:
            st.caption(entry.help)
            entry_widgets(entry, spec_layer.params, f"build.l{i}.{spec_layer.type}",
                          on_change=lambda name, value, i=i: set_param(i, name, value))


def locked_row(title: str, text: str, note: str) -> None:
    with st.container(border=True):
        st.markdown(f":gray[:material/lock:] **{title}** — {text}")
        st.caption(note)


def add_layer_form(count: int) -> None:
    groups = LAYERS.groups()
    with st.container(border=True):
        st.markdown("**Add a layer**")
        c1, c2, c3 = st.columns([2, 3, 3])
        with c1:
            group = st.selectbox("Group", list(groups), key="build.add_group")
        entries = groups[group]
        with c2:
            layer_type = st.selectbox("Layer", [e.name for e in entries], key=f"build.add_type.{group}")
        with c3:
            positions = list(range(count, -1, -1))
            st.selectbox("Where", positions, key="build.add_position",
                         format_func=lambda p: "At the end" if p == count else f"Before layer {p + 1}",
                         help="Where the new layer goes; the output layer always stays last.")
        st.caption(LAYERS.get(layer_type).help)
        st.button("Add layer", key="build.add", icon=":material/add:", on_click=_add_clicked, type="primary")


def layer_editor(spec: ProjectSpec, info: DataInfo, report: Any) -> None:
    """The locked input, a card per body layer, the locked head, and the add-layer form (`report` None: the
    model check has not run yet, so the cards show no shapes)."""
    rows = {r["index"]: r for r in report.rows if r.get("index") is not None} if report is not None else {}
    layers = spec.model.layers
    opened = _open()
    error_at = report.error_index if report is not None and not report.ok else None
    locked_row("Input", _input_text(info), "Set on the Prepare page; the model always starts here.")
    if not layers:
        st.info("The model has no layers yet: add some below, or apply a template above.")
    for i, layer in enumerate(layers):
        error = (report.error, report.hint) if error_at == i else None
        layer_card(i, layer, rows.get(i), len(layers), i in opened, error, pending=report is None)
    locked_row("Output", _head_text(info), "Added for you to match the data; not editable.")
    add_layer_form(len(layers))


# ---- diagram ----------------------------------------------------------------------------------


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def report_dot(report: Any, spec: ProjectSpec | None = None) -> str:
    """A vertical chain of boxes "position. type / output shape / parameters" from a BuildReport's rows.

    When the build stopped at a layer, that layer follows in red with the problem.
    """
    lines = ["digraph model {", '  graph [rankdir=TB, nodesep=0.2, ranksep=0.25, bgcolor="transparent"];',
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, '
             'fillcolor="#eef3fb", color="#4C78A8"];', '  edge [color="#888888"];']
    names = []
    for k, row in enumerate(report.rows):
        locked = row.get("index") is None
        if locked:
            title = "Input" if row["name"] == "input" else f"Output · {row['type']}"
        else:
            title = f"{row['index'] + 1}. {row['type']}"
        parts = [title, str(row["output_shape"])] + ([f"{row['params']:,} params"] if row["params"] else [])
        label = "\\n".join(_dot_text(p) for p in parts)
        fill = ', fillcolor="#eeeeee", color="#999999"' if locked else ""
        lines.append(f'  n{k} [label="{label}"{fill}];')
        names.append(f"n{k}")
    if not report.ok:
        where = report.error_index
        title = "Output"
        built = any(row.get("index") == where for row in report.rows)
        if where is not None and not built and spec is not None and where < len(spec.model.layers):
            title = f"layer {where + 1}: {spec.model.layers[where].type}"
        lines.append(f'  bad [label="{_dot_text(title)}\\ncannot be built", fillcolor="#fde2e1", color="#d62728"];')
        names.append("bad")
    for a, b in zip(names, names[1:]):
        lines.append(f"  {a} -> {b};")
    lines.append("}")
    return "\n".join(lines)
