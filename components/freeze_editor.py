"""The Build page's frozen layers: a checkbox per body layer, and "freeze all but the last K".

A frozen layer (LayerSpec.trainable False) keeps its weights while training: the layers kept from an
earlier model, say, while a new head learns. The rule for "all but the last K" is the engine's
(`layerlab.models.start_from.freeze_layers`), the same as `init --freeze all-but-K`.
"""

from __future__ import annotations

import streamlit as st

from components import state
from components.errors import edit
from components.layer_editor import FLAG
from components.markup import md
from layerlab.spec import ProjectSpec

KEY = "build.frozen"


def _layers() -> list:
    spec = state.project()
    return list(spec.model.layers) if spec else []


def _set_frozen(i: int, key: str) -> None:
    layers = [layer.model_dump(mode="json") for layer in _layers()]
    if 0 <= i < len(layers):
        layers[i]["trainable"] = not st.session_state[key]
        edit(FLAG, **{"model.layers": layers})


def _all_but(key: str) -> None:
    from layerlab.models.start_from import freeze_layers

    k = int(st.session_state[key])
    edit(FLAG, **{"model.layers": [x.model_dump(mode="json") for x in freeze_layers(_layers(), f"all-but-{k}")]})


def freeze_editor(spec: ProjectSpec) -> None:
    """The checkboxes (one per body layer, in order) and the all-but-K shortcut."""
    layers = spec.model.layers
    if not layers:
        return
    frozen = sum(not layer.trainable for layer in layers)
    with st.expander(f"Frozen layers ({frozen} of {len(layers)})", expanded=bool(spec.model.start_from_run or frozen)):
        st.caption("A frozen layer keeps its weights while training: freeze what an earlier model learned, and "
                   "let the layers near the head learn your data.")
        for i, layer in enumerate(layers):
            # The state is part of the key: a change made elsewhere (all-but-K, a new start) redraws the box.
            key = f"{KEY}.{i}.{layer.type}.{layer.trainable}"
            name = f" · {md(layer.name)}" if layer.name else ""
            st.checkbox(f"{i + 1}. {layer.type}{name}", value=not layer.trainable, key=key,
                        on_change=_set_frozen, args=(i, key))
        c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
        c1.number_input("Last layers that learn", min_value=0, max_value=len(layers), value=min(1, len(layers)),
                        key=f"{KEY}.k")
        c2.button("Freeze all but these", key=f"{KEY}.apply", on_click=_all_but, args=(f"{KEY}.k",),
                  icon=":material/ac_unit:")
