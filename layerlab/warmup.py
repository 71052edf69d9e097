"""Import the libraries the pages need in the background, once per server process.

The first visit to the Data page otherwise pays ~1.5 s for numpy, pandas and pyarrow. A
daemon thread imports them shortly after the server starts, while the user reads the Home
page. TensorFlow is not on the list: a server that only shows data never pays for it.
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
_thread: threading.Thread | None = None


def _import_all(modules: tuple[str, ...], delay_s: float) -> None:
    time.sleep(delay_s)  # let the first page render before competing for the interpreter
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing optional library is the page's to report
            continue


def start(modules: tuple[str, ...] = MODULES, delay_s: float = 1.0) -> bool:
    """Start the warm-up thread unless it already ran in this process; True if this call started it."""
    global _thread
    with _lock:
        if _thread is not None:
            return False
        _thread = threading.Thread(target=_import_all, args=(modules, delay_s), name="layerlab-warmup", daemon=True)
        _thread.start()
        return True


def join(timeout: float | None = None) -> None:
    """Wait for the warm-up (tests)."""
    if _thread is not None:
        _thread.join(timeout)
