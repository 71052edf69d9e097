"""Import libraries in the background, once per server process, so that no page switch waits on an import.

The first visit to the Data page otherwise pays ~1.5 s for numpy, pandas and pyarrow: a daemon thread
imports them shortly after the server starts, while the user reads the Home page. TensorFlow is never
imported by the server: models run in the model host process (`layerlab.inference.remote`).
"""

from __future__ import annotations

import importlib
import threading
import time

# Only what the first Data visit needs. scikit-learn and statsmodels stay with the sample that needs them:
# a page importing scipy at the same moment as this thread is one more chance for two threads to wait on
# each other's half-initialised C extensions.
MODULES = ("numpy", "pandas", "pyarrow", "pyarrow.csv", "plotly.graph_objects", "plotly.express")

_lock = threading.Lock()
_threads: dict[str, threading.Thread] = {}


def _import_all(modules: tuple[str, ...], delay_s: float) -> None:
    time.sleep(delay_s)  # let the first page render before competing for the interpreter
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing optional library is the page's to report
            continue


def start(modules: tuple[str, ...] = MODULES, delay_s: float = 1.0, group: str = "data") -> bool:
    """Start the warm-up thread of `group` unless it already ran in this process; True if this call started it."""
    with _lock:
        if group in _threads:
            return False
        thread = threading.Thread(target=_import_all, args=(modules, delay_s), name=f"layerlab-warmup-{group}",
                                  daemon=True)
        _threads[group] = thread
        thread.start()
        return True


def join(timeout: float | None = None, group: str = "data") -> None:
    """Wait for a warm-up (tests)."""
    thread = _threads.get(group)
    if thread is not None:
        thread.join(timeout)


def done(group: str = "data") -> bool:
    """True once the warm-up of `group` has run to its end in this process."""
    thread = _threads.get(group)
    return thread is not None and not thread.is_alive()
