"""Showing problems in plain words: never a traceback on a page.

`show_error(exc)` renders what went wrong and what to do; `guard()` wraps a block of
page code so a LayerlabError (or an unexpected bug) becomes such a message and the rest
of the page still renders. `edit(flag, **changes)` applies a validated spec change from
a widget callback and keeps a refusal to show next to the widget that caused it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from components import state
from layerlab.errors import LayerlabError

_LOG = logging.getLogger("layerlab.ui")


def message_of(exc: BaseException) -> tuple[str, str]:
    """(what went wrong, what to do) for any exception, in words for a page."""
    if isinstance(exc, LayerlabError):
        # pydantic's validator messages arrive as "Value error, …" inside the spec's message.
        return exc.message.replace("Value error, ", ""), exc.hint
    return (f"Something unexpected went wrong: {type(exc).__name__}: {exc}",
            "This is a bug in Layerlab, not in your data. Try the step again; if it keeps happening, report it.")


def show_error(exc: BaseException, where: Any = None) -> None:
    """Render `exc` as an error box: the message in bold, the hint below it."""
    message, hint = message_of(exc)
    text = f"**{_capitalise(message.strip())}**"
    if hint:
        text += f"\n\n{hint}"
    (where or st).error(text, icon=":material/error:")


def _capitalise(text: str) -> str:
    """Upper-case a leading plain word ("the layer…" → "The layer…"); leave `field.paths:` alone."""
    first = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if first.isalpha() and first.islower() else text


@contextmanager
def guard(where: Any = None) -> Iterator[None]:
    """Run a block; a LayerlabError (or a bug) is shown as a message instead of a traceback.

    Streamlit's own control flow (st.stop, st.rerun, st.switch_page) derives from
    BaseException and passes through untouched.
    """
    try:
        yield
    except LayerlabError as exc:
        show_error(exc, where)
    except Exception as exc:  # noqa: BLE001 - a page must never show a traceback
        _LOG.exception("unexpected error on a page")
        show_error(exc, where)


def edit(flag: str, **changes: Any) -> bool:
    """Apply dotted-path changes to the project (validated); for use in widget callbacks.

    On refusal the old project is kept and the error is stored under `flag` for
    `show_flagged(flag)` to render beside the widgets (a callback's own output would
    land at the top of the page). Returns True when the change was saved.
    """
    spec = state.project()
    if spec is None:
        return False
    try:
        new = spec.edit(**changes)
    except LayerlabError as exc:
        st.session_state[flag] = exc
        return False
    st.session_state.pop(flag, None)
    state.set_project(new)
    return True


def flag(flag: str, exc: BaseException) -> None:
    """Keep an error to show on the next run (from a callback)."""
    st.session_state[flag] = exc


def show_flagged(flag: str, where: Any = None) -> bool:
    """Render (once) the error stored under `flag`; True if there was one."""
    exc = st.session_state.pop(flag, None)
    if exc is None:
        return False
    show_error(exc, where)
    return True
