"""Import libraries in the background, once per server process, so that no page switch waits on an import.

The first visit to the Data page otherwise pays ~1.5 s for numpy, pandas and pyarrow: a daemon thread
imports them shortly after the server starts, while the user reads the Home page. TensorFlow (5–6 s on
a quiet 2-core machine) is not on that list, as a server that only shows data never pays for it: the
Build page starts its own preload (`preload_models`) on its first visit, shows its editor at once, and
checks the model when `models_ready()` says the import is done.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time

# Only what the first Data visit needs. scikit-learn and statsmodels stay with the sample that needs them:
# a page importing scipy at the same moment as this thread is one more chance for two threads to wait on
# each other's half-initialised C extensions.
MODULES = ("numpy", "pandas", "pyarrow", "pyarrow.csv", "plotly.graph_objects", "plotly.express")
# What the model check (`layerlab.models.build.check_model`) needs; the rest of it takes 0.1 s once these are in.
MODEL_MODULES = ("tensorflow", "keras")

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
    """Wait for a warm-up (tests; Predict's model once the rest of its page is drawn)."""
    thread = _threads.get(group)
    if thread is not None:
        thread.join(timeout)


def loaded(name: str) -> bool:
    """True when module `name` is wholly imported: not merely begun by another thread, which a script run
    touching it would wait for (`sys.modules` holds a module from the start of its import)."""
    module = sys.modules.get(name)
    return module is not None and not getattr(getattr(module, "__spec__", None), "_initializing", False)


def preload_models() -> bool:
    """Import what the model check needs in the background, at once (a page asks for it when it needs it)."""
    return start(MODEL_MODULES, delay_s=0, group="models")


def models_ready() -> bool:
    """True once the model check can run without waiting on an import, or when the preload ended without
    the modules (the check then raises, and the page says why, rather than waiting for ever)."""
    thread = _threads.get("models")
    return all(loaded(m) for m in MODEL_MODULES) or (thread is not None and not thread.is_alive())
