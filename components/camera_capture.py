"""Images from the camera (the Data page): name the classes, take pictures of each, use them as the data.

The pictures wait in the session (`PICTURES`: class name → picture bytes, in the order the classes were
named) until **Use these pictures** hands them to `layerlab.data.camera`, which names the classes, checks
the pictures and keeps them in the session's uploads as a zip of class folders: from then on they are an
uploaded zip.

The camera widget's key carries a counter (`SHOT`): each picture taken moves it on, so the next run draws an
empty camera, ready for the next picture, instead of the one just taken.
"""

from __future__ import annotations

import streamlit as st

from components import state
from components.errors import guard, show_error
from components.markup import md
from layerlab.data import camera
from layerlab.errors import LayerlabError
from layerlab.project import new_project

PICTURES = "data.camera.pictures"
ACTIVE = "data.camera.class"
SHOT = "data.camera.shot"
_REFUSED = "data.camera.refused"  # a refusal met in a callback or before a rerun, shown on the next run
PROJECT_NAME = "Camera pictures"
PER_ROW = 4


def _pictures() -> dict[str, list[bytes]]:
    return st.session_state.setdefault(PICTURES, {})


def _add_class() -> None:
    try:
        name = camera.add_class(_pictures(), st.session_state.get("data.camera.new_name", ""))
    except LayerlabError as exc:
        st.session_state[_REFUSED] = exc
        return
    st.session_state[ACTIVE] = name  # the class just named is the one to photograph


def _remove_class(name: str) -> None:
    _pictures().pop(name, None)


def _remove_picture(name: str, index: int) -> None:
    shots = _pictures().get(name, [])
    if 0 <= index < len(shots):
        del shots[index]


def _take(name: str) -> None:
    """The camera for `name`: a picture taken is checked, kept, and the camera made ready for the next."""
    n = st.session_state.setdefault(SHOT, 0)
    shot = st.camera_input(f"Take a picture of {md(name)}", key=f"{SHOT}.{n}",
                           help="Each picture is added to the class; the camera is then ready for the next one.")
    if shot is None:
        return
    try:
        camera.add_picture(_pictures(), name, shot.getvalue())
    except LayerlabError as exc:
        st.session_state[_REFUSED] = exc
    st.session_state[SHOT] = n + 1
    st.rerun()


def _thumbnails(i: int, name: str, shots: list[bytes]) -> None:
    """One class: its count, its pictures (each with a Remove button) and a button removing the class."""
    with st.container(border=True):
        head, button = st.columns([3, 2], vertical_alignment="center")
        head.markdown(f"**{md(name)}** · {len(shots)} picture{'' if len(shots) == 1 else 's'}")
        button.button("Remove class", key=f"data.camera.drop.{i}", icon=":material/delete:", on_click=_remove_class,
                      args=(name,), help="Remove this class and its pictures.", width="stretch")
        for start in range(0, len(shots), PER_ROW):
            for j, column in enumerate(st.columns(PER_ROW), start=start):
                if j >= len(shots):
                    break
                with column:
                    st.image(shots[j], width="stretch")
                    st.button("Remove", key=f"data.camera.remove.{i}.{j}", icon=":material/close:", width="stretch",
                              on_click=_remove_picture, args=(name, j), help="Remove this picture.")


def _use(pictures: dict[str, list[bytes]]) -> None:
    """The pictures become the project's data, as an uploaded zip would."""
    with guard():
        with st.spinner("Making a data set of the pictures…"):
            source = camera.save_pictures(state.owner(), pictures)
            spec = new_project(str(source), name=PROJECT_NAME)
        state.set_project(spec)
        st.rerun()


def camera_capture() -> None:
    """Name classes, take pictures of each with this device's camera, and use them as the project's data."""
    pictures = _pictures()
    st.markdown("Name a class for each kind of object, take pictures of each with this device's camera — a few "
                "dozen per class, from different sides and distances, teach the model best — then use them as the "
                "data. The class names become the model's answers.")
    with st.form("data.camera.name_form", clear_on_submit=True, border=False):
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        left.text_input("Name a class", key="data.camera.new_name", placeholder="e.g. mug",
                        max_chars=camera.MAX_NAME_CHARS)
        right.form_submit_button("Add class", icon=":material/add:", on_click=_add_class)
    refused = st.session_state.pop(_REFUSED, None)
    if refused is not None:
        show_error(refused)
    if not pictures:
        st.info("Name at least two classes, e.g. the objects on your desk; the camera opens once a class is named.",
                icon=":material/photo_camera:")
        return
    names = list(pictures)
    if st.session_state.get(ACTIVE) not in names:
        st.session_state[ACTIVE] = names[-1]
    shoot, held = st.columns([2, 3], gap="large")
    with shoot:
        active = st.radio("Taking pictures of", names, key=ACTIVE, format_func=md, horizontal=True)
        _take(active)
    with held:
        for i, name in enumerate(names):
            _thumbnails(i, name, pictures[name])
    total = sum(len(shots) for shots in pictures.values())
    if st.button("Use these pictures", key="data.camera.use", type="primary", icon=":material/check:",
                 disabled=total == 0, help="Make them the project's data: one folder of images per class."):
        _use(pictures)
