"""A Streamlit session without a browser: the app's own WebSocket protocol, spoken from Python.

The load benchmark needs people who keep the server busy as a browser would (open a page, click a button,
re-run the live view's fragment every time the server asks for it) without drawing anything: in a class, each
pupil's browser renders on the pupil's own computer, not on the server's cores. This client sends what the
browser's frontend sends (`BackMsg.rerun_script` with the page's name, the query string, the widget states, and
for an auto-rerun the fragment's id) and reads every `ForwardMsg` the server writes, so the server does exactly
the work it does for a browser, and the client does none of the rendering.

Not a general client: it knows buttons (by label) and the fragments' `auto_rerun`, which is what the benchmark
clicks and what the live views use.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

_PROTOS: dict[str, Any] = {}


def _protos() -> dict[str, Any]:
    if not _PROTOS:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        _PROTOS.update(BackMsg=BackMsg, ForwardMsg=ForwardMsg, WidgetState=WidgetState)
    return _PROTOS


class SessionClient:
    """One browser tab's worth of a session: `open(page)`, `click(label)`, auto-reruns while it is open."""

    def __init__(self, url: str, cookies: dict[str, str]) -> None:
        from websockets.sync.client import connect

        _protos()  # imported here, in the caller's thread: importing streamlit from two threads deadlocks
        ws_url = re.sub(r"^http", "ws", url.rstrip("/")) + "/_stcore/stream"
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        # Entered as websockets 17 wants a connection used (a context manager); `close` leaves it.
        self._ws = connect(ws_url, subprotocols=["streamlit"], additional_headers={"Cookie": cookie, "Origin": url},
                           max_size=None, open_timeout=30).__enter__()
        self._lock = threading.Lock()
        self._page, self._query, self._page_hash = "", "", ""
        self._buttons: dict[str, str] = {}  # label -> widget id, from the page's last run
        self._fragments: dict[str, float] = {}  # fragment id -> seconds between its auto-reruns
        self._due: dict[str, float] = {}
        self.finished = 0  # script runs (whole page or fragment) the server reported finished
        self.sent = 0
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, name="session-client-read", daemon=True)
        self._reader.start()
        self._timer = threading.Thread(target=self._tick, name="session-client-rerun", daemon=True)
        self._timer.start()

    def open(self, page: str, query: str = "") -> None:
        """Run `page` (its URL path, e.g. "train") as a browser does when it loads `/page?query`."""
        with self._lock:
            self._page, self._query, self._page_hash = page, query, ""
            self._fragments.clear()
            self._due.clear()
        self._rerun()

    def click(self, label: str | re.Pattern[str], timeout_s: float = 60) -> None:
        """Press the button whose label matches, once the page has drawn it."""
        end = time.time() + timeout_s
        while time.time() < end:
            with self._lock:
                found = next((wid for text, wid in self._buttons.items()
                              if (label.search(text) if isinstance(label, re.Pattern) else text == label)), None)
            if found:
                WidgetState = _protos()["WidgetState"]
                with self._lock:
                    self._fragments.clear()
                    self._due.clear()
                self._rerun(widgets=[WidgetState(id=found, trigger_value=True)])
                return
            time.sleep(0.1)
        raise TimeoutError(f"no button {label!r} on {self._page!r} within {timeout_s} s")

    def close(self) -> None:
        self._closed.set()
        self._ws.close()

    # ---- what the frontend does ----------------------------------------------------------------

    def _rerun(self, widgets: list[Any] = (), fragment_id: str = "") -> None:
        msg = _protos()["BackMsg"]()
        state = msg.rerun_script
        with self._lock:
            state.query_string = self._query
            state.page_script_hash = self._page_hash
            state.page_name = self._page if not self._page_hash else ""
        state.widget_states.widgets.extend(widgets)
        if fragment_id:
            state.fragment_id = fragment_id
            state.is_auto_rerun = True
        try:
            self._ws.send(msg.SerializeToString())
            self.sent += 1
        except Exception:  # noqa: BLE001 - the server went away: the benchmark's own checks say so
            self._closed.set()

    def _tick(self) -> None:
        """The frontend's timers: one per fragment with `run_every`, firing whether or not a run is going on."""
        while not self._closed.wait(0.05):
            now = time.time()
            with self._lock:
                due = [f for f, t in self._due.items() if t <= now]
                for f in due:
                    self._due[f] = now + self._fragments[f]
            for f in due:
                self._rerun(fragment_id=f)

    def _read(self) -> None:
        ForwardMsg = _protos()["ForwardMsg"]
        while not self._closed.is_set():
            try:
                data = self._ws.recv()
            except Exception:  # noqa: BLE001 - closed
                self._closed.set()
                return
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            with self._lock:
                if kind == "navigation" and msg.navigation.page_script_hash:
                    # st.navigation's page (new_session's hash is app.py's, which would open the default page)
                    self._page_hash = msg.navigation.page_script_hash
                elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                    element = msg.delta.new_element
                    if element.WhichOneof("type") == "button":
                        self._buttons[element.button.label] = element.button.id
                elif kind == "auto_rerun":
                    fid, every = msg.auto_rerun.fragment_id, float(msg.auto_rerun.interval)
                    if self._fragments.get(fid) != every:
                        self._fragments[fid] = every
                        self._due[fid] = time.time() + every
                elif kind == "stop_auto_rerun":
                    for fid in msg.stop_auto_rerun.fragment_ids:
                        self._fragments.pop(fid, None)
                        self._due.pop(fid, None)
                elif kind == "script_finished":
                    self.finished += 1
