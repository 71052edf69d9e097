"""Showing problems in plain words: never a traceback on a page.

`show_error(exc)` renders what went wrong and what to do; `guard()` wraps a block of
page code so a LayerlabError (or an unexpected bug) becomes such a message and the rest
of the page still renders. `edit(flag, **changes)` is the UI's one way to change the
project (through `ProjectSpec.edit`, the engine's one way): from a widget callback, it
keeps a refusal to show next to the widget that caused it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from components import state
from components import markup
from layerlab.errors import LayerlabError

_LOG = logging.getLogger("layerlab.ui")


_KEPT = "Runs that already finished are kept."


def _storage_message(exc: BaseException) -> tuple[str, str] | None:
    """A full or read-only disk, or a run database another process keeps locked: not a bug, say so."""
    import errno
    import sqlite3

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" ({exc.filename})" if exc.filename else ""
        return (f"The server's disk is full: Layerlab could not write{where}.",
                f"Delete runs you no longer need on the Runs page, or ask whoever runs this server to free "
                f"disk space, then try again. {_KEPT}")
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        where = f" {exc.filename}" if exc.filename else " its folder"
        return (f"Layerlab cannot write to{where}: {exc.strerror}.",
                f"The folder is read-only on this server: ask whoever runs it to make LAYERLAB_HOME (or "
                f"LAYERLAB_RUNS_DIR) writable, then try again. {_KEPT}")
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return ("The run database is busy: another process has kept it locked for too long.",
                    f"Try again in a moment. {_KEPT}")
        if any(w in text for w in ("readonly", "read-only", "unable to open", "disk is full", "disk i/o")):
            return (f"The run database cannot be written ({exc}).",
                    f"Ask whoever runs this server to check that the runs folder is writable and has free space. "
                    f"{_KEPT}")
    return None


def message_of(exc: BaseException) -> tuple[str, str]:
    """(what went wrong, what to do) for any exception, in words for a page."""
    if isinstance(exc, LayerlabError):
        # pydantic's validator messages arrive as "Value error, …" inside the spec's message.
        return exc.message.replace("Value error, ", ""), exc.hint
    storage = _storage_message(exc)
    if storage is not None:
        return storage
    return (f"Something unexpected went wrong: {type(exc).__name__}: {exc}",
            "This is a bug in Layerlab, not in your data. Try the step again; if it keeps happening, report it.")


def show_error(exc: BaseException, where: Any = None) -> None:
    """Render `exc` as an error box: the message in bold, the hint below it."""
    message, hint = message_of(exc)
    # Messages are plain text and often quote the user's own file, column or class names: escaped,
    # so a name like `**x** [y](javascript:…)` is shown as typed, never as Markdown.
    text = f"**{markup.message(_capitalise(message.strip()))}**"
    if hint:
        text += f"\n\n{markup.message(hint)}"
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


def edit(flag: str, check: Callable[[Any], Any] | None = None, **changes: Any) -> bool:
    """Apply dotted-path changes to the project (validated); for use in widget callbacks.

    `check(new_spec)` may refuse the change further (against the data, say) by raising a
    LayerlabError. On refusal the old project is kept and the error is stored under `flag`
    for `show_flagged(flag)` to render beside the widgets (a callback's own output would
    land at the top of the page). Returns True when the change was saved.
    """
    spec = state.project()
    if spec is None:
        return False
    try:
        new = spec.edit(**changes)
        if check is not None:
            check(new)
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
