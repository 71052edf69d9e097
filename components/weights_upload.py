"""Build: where a pretrained backbone's weights come from, and an uploader for a machine without internet.

The rules (which file, its hash, where it is looked for, whose a file is) are the engine's
(`layerlab.models.backbones`); this only shows them for this session's owner and hands an uploaded file to
`save_weights_upload`. A file that is not Keras' own is kept for this owner only.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import state
from components.errors import guard, show_error
from components.markup import code, message
from layerlab.inference.remote import model_host, run_in_host
from layerlab.kinds.images import photo_advice
from layerlab.models import backbones
from layerlab.spec import ProjectSpec


def weights_panel(spec: ProjectSpec) -> None:
    """For each pretrained backbone whose weights this server lacks: which file, where it goes, and an uploader;
    a word when the images are prepared much smaller than the backbone looks at, and for photos on a model
    trained from scratch, which template would help."""
    note = backbones.size_note(spec)
    if note:
        st.info(message(note), icon=":material/photo_size_select_large:")
        fix = backbones.size_fix(spec)
        if fix:
            side = fix["prepare.image.height"]
            st.button(f"Prepare the images at {side}×{side}", key="build.size_fix", on_click=_prepare_at, args=(fix,),
                      icon=":material/photo_size_select_large:")
    advice = photo_advice(spec, state.owner())
    if advice:
        st.info(message(advice), icon=":material/photo_camera:")
    blocked = {m.file.name: m for m in backbones.unavailable_weights(spec, state.owner())}
    for file in backbones.missing_weights(spec, owner=state.owner()):
        with st.container(border=True, key=f"build.weights.{file.architecture}"):
            if file.name in blocked:
                show_error(blocked[file.name])
            else:
                st.info(f"The ImageNet weights of {file.architecture} ({code(file.name)}) are not on this server "
                        "yet: Keras downloads them when training starts, with the progress in the run's log.",
                        icon=":material/download:")
            _uploader(file)


def _prepare_at(edits: dict[str, int]) -> None:
    state.set_project(state.project().edit(**edits))


def _uploader(file: backbones.WeightsFile) -> None:
    key = f"build.weights.{file.architecture}"
    upload = st.file_uploader(f"Upload {file.name}", type=["h5", "hdf5"], key=f"{key}.file",
                              help=f"The file Keras downloads from {file.url}; it is checked against Keras' hash.")
    anyway = st.checkbox("Use it even if it is not Keras' file (the model is then marked as using "
                         f"{backbones.GIVEN})", key=f"{key}.anyway",
                         help="For weights you made yourself. Such a file is used for your models only (Keras' own file, "
                         "once uploaded, serves everyone on this server); a file that does not fit the network is "
                         "refused.")
    if upload is None:
        return
    with guard():
        with st.spinner("Checking the file…"):
            found = run_in_host("save_weights_upload", file.architecture, upload.name, upload.getvalue(), anyway,
                                owner=state.owner())
        st.session_state["build.weights.saved"] = (found.describe(file.architecture), found.checked)
        st.rerun()


def saved_note() -> None:
    """After an upload: say once what was kept (the panel itself is gone, the weights are here)."""
    saved = st.session_state.pop("build.weights.saved", None)
    if saved:
        text, checked = saved
        (st.success if checked else st.warning)(message(text), icon=":material/check_circle:")


def block_caption(layer: Any, row: dict[str, Any] | None) -> None:
    """Under a Backbone's card: the network, its weights, its size in layers, frozen or trainable."""
    params = layer.params
    args = (params.get("architecture", backbones.DEFAULT), params.get("weights", backbones.IMAGENET), layer.trainable,
            row["params"] if row else None)
    if model_host().ready():  # counting its layers builds the network: in the model host, once it has started
        text = run_in_host("block_summary", *args, owner=state.owner())
    else:
        text = backbones.block_summary(*args, owner=state.owner(), count_layers=False)
    st.caption(message(text))
