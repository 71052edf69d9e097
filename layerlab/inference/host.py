"""The model host: the one process of an app server that imports TensorFlow and runs its models.

`python -m layerlab.inference.host FD` is started by `layerlab.inference.remote` with one end of a
socket pair as FD. Importing TensorFlow takes 5 s or more, and far longer while training runs fill the
cores; in the Streamlit server that import held the interpreter that draws every session's pages (a
page switch took 10–23 s under load, #20). Here it costs only this process's time.

Requests are `(op, args, LAYERLAB_* settings)` tuples, answers `("ok", value)` or `("error", kind, message, hint)`: the
same LayerlabError texts an in-process call would raise. The pair is private to the server and this
process (pickle is safe between them; nothing else can connect). The host exits when the server does
(its end of the pair closes).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections import OrderedDict
from multiprocessing.connection import Connection
from typing import Any

from layerlab.errors import DataError, LayerlabError

NICE = 10  # below the server's page scripts, level with the training workers (LAYERLAB_WORKER_NICE's default)
PREDICTORS = 4  # runs' models kept loaded (as the page's cache kept them before)
OWN_MODELS = 2  # models made elsewhere, uploaded on Predict → Import

_LOG = logging.getLogger("layerlab.inference.host")


class _Loaded(OrderedDict):
    """A small least-recently-used cache."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_or(self, key: Any, load: Any) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = load()
        self[key] = value
        while len(self) > self.size:
            self.popitem(last=False)
        return value


_predictors = _Loaded(PREDICTORS)
_own = _Loaded(OWN_MODELS)


def _predictor(run_dir: str, mtime: float) -> Any:
    """The run's Predictor, loaded once per (folder, model.keras time): a run trained again loads afresh."""
    from layerlab.inference.predictor import load_predictor

    return _predictors.get_or((run_dir, mtime), lambda: load_predictor(run_dir))


def load(run_dir: str, mtime: float) -> bool:
    """Load the run's model now, so a model that cannot be loaded says so before any input is given."""
    _predictor(run_dir, mtime)
    return True


def outputs(run_dir: str, mtime: float, batch: Any) -> Any:
    return _predictor(run_dir, mtime).outputs(batch)


def own_load(digest: str, data: bytes, name: str) -> dict[str, Any]:
    """Check and load an uploaded .keras file (safe mode); what the page needs to know of it."""
    from layerlab.inference import outside

    model = _own.get_or(digest, lambda: outside.load(data, name))
    return outside.describe(model)


def own_run(digest: str, x: Any, texts: bool = False) -> Any:
    """An uploaded model's outputs for a batch (`texts`: a list of strings, made into its string input here)."""
    from layerlab.inference import outside

    if digest not in _own:
        raise KeyError(digest)  # evicted or a new host: the client loads it again
    model = _own.get_or(digest, lambda: None)
    return outside.run(model, outside.text_batch(model, x) if texts else x)


# Engine functions that need TensorFlow, run here for the app server's pages (Build's check and code, starting
# from an earlier model); a request names one of these, never a module of its choosing.
CALLS = {
    "check_model": "layerlab.models.build:check_model",
    "model_code": "layerlab.codegen.model_code:model_code",
    "check_fit": "layerlab.models.start_from:check_fit",
    "store_model_file": "layerlab.models.keras_file:store",
    "cut_points": "layerlab.models.keras_file:cut_points",
    "start_from_file": "layerlab.models.keras_file:start_from_file",
    "save_weights_upload": "layerlab.models.backbones:save_weights_upload",
    "block_summary": "layerlab.models.backbones:block_summary",
}


def call(name: str, args: tuple, kwargs: dict) -> Any:
    import importlib

    module, function = CALLS[name].split(":")
    return getattr(importlib.import_module(module), function)(*args, **kwargs)


def settings(env: dict[str, str]) -> None:
    """Take the server's LAYERLAB_* settings and KERAS_HOME as they are now (its home, limits, Keras' weights): the
    host answers as the server would (a test, or an operator's change, may set them after the host started)."""
    for key in [k for k in os.environ if (k.startswith("LAYERLAB_") or k == "KERAS_HOME") and k not in env]:
        del os.environ[key]
    os.environ.update(env)


def forget() -> bool:
    _predictors.clear()
    _own.clear()
    return True


OPS = {"load": load, "outputs": outputs, "own_load": own_load, "own_run": own_run, "call": call, "forget": forget}


def handle(op: str, args: tuple, env: dict[str, str] | None = None) -> tuple:
    """One request's answer; a user's problem keeps its message and hint, anything else is logged."""
    try:
        if env is not None:
            settings(env)
        return ("ok", OPS[op](*args))
    except KeyError as exc:
        if op == "own_run":
            return ("error", "missing", str(exc), "")
        _LOG.error("request %s failed:\n%s", op, traceback.format_exc())
        return ("error", "internal", f"{type(exc).__name__}: {str(exc)[:200]}", "")
    except LayerlabError as exc:
        return ("error", "data" if isinstance(exc, DataError) else "user", exc.message, exc.hint)
    except Exception as exc:  # noqa: BLE001 - the server shows one plain message; the traceback goes to the log
        _LOG.error("request %s failed:\n%s", op, traceback.format_exc())
        return ("error", "internal", f"{type(exc).__name__}: {str(exc)[:200]}", "")


def serve(conn: Connection) -> int:
    """Import TensorFlow, say ready, then answer until the server closes its end."""
    import keras  # noqa: F401 - the import this process exists for

    import layerlab.models.blocks  # Layerlab's own layers, registered for loading
    import layerlab.prep.layers  # noqa: F401

    conn.send(("ready", os.getpid()))
    while True:
        try:
            op, args, env = conn.recv()
        except (EOFError, OSError):
            return 0
        conn.send(handle(op, args, env))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Started when a run starts, its TensorFlow import must not slow the pages people are switching between.
    os.nice(NICE)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return serve(Connection(int(argv[0])))


if __name__ == "__main__":
    sys.exit(main())
