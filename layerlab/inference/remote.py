"""Run models in the model host (`layerlab.inference.host`), so the app server never imports TensorFlow.

`model_host()` is the server's one host process, started on first need; `remote_predictor(run_dir)` is a
Predictor whose inputs are parsed here (the same parsers and messages as everywhere) and whose model runs
there; `own_model(data, name)` does the same for a `.keras` file made elsewhere; `run_in_host(name, …)` runs
one of the engine's TensorFlow functions there (Build's check). A host that dies (killed,
out of memory) is started again by the next request; the request that saw it die says so in plain words.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from layerlab.errors import DataError, LayerlabError
from layerlab.inference.predictor import Predictor
from layerlab.runs.files import RunFiles

START_TIMEOUT_S = 600.0  # TensorFlow's import while training runs fill the cores can take minutes
CALL_TIMEOUT_S = 600.0  # the longest answer (a heat map of a large image is hundreds of predictions)


class ModelHost:
    """A handle on one host process. Requests from the server's threads are answered one after another."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Connection | None = None
        self._ready = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start the process unless it runs (returns at once: it imports TensorFlow in the background)."""
        with self._lock:
            self._start_locked()

    def ready(self) -> bool:
        """True once the host has TensorFlow loaded and answers; never waits (a page polls it)."""
        if self._ready and self._proc is not None and self._proc.poll() is None:
            return True
        if not self._lock.acquire(blocking=False):
            return False  # another thread is starting it or talking to it
        try:
            self._start_locked()
            return self._await_ready_locked(0)
        finally:
            self._lock.release()

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        with self._lock:
            self._started_locked(timeout)

    def call(self, op: str, *args: Any, timeout: float = CALL_TIMEOUT_S) -> Any:
        """The host's answer to one request; its LayerlabErrors are raised here as they were there."""
        with self._lock:
            self._started_locked(START_TIMEOUT_S)
            assert self._conn is not None
            try:
                self._conn.send((op, args, _settings()))
                if not self._conn.poll(timeout):
                    self._stop_locked()
                    raise LayerlabError(f"The model took more than {timeout:.0f} s to answer, so it was stopped.",
                                        "Try fewer or smaller inputs.")
                reply = self._conn.recv()
            except (EOFError, OSError):
                self._stop_locked()
                raise LayerlabError("The process that runs the models stopped (it may have run out of memory).",
                                    "Try again: it starts again by itself.") from None
        if reply[0] == "ok":
            return reply[1]
        _, kind, message, hint = reply
        if kind == "data":
            raise DataError(message, hint)
        if kind == "missing":
            raise KeyError(message)
        if kind == "internal":
            raise LayerlabError(f"The model could not answer ({message}).",
                                "The details are in the server's model-host log.")
        raise LayerlabError(message, hint)

    def stop(self) -> None:
        with self._lock:
            self._stop_locked()

    def _started_locked(self, timeout: float) -> None:
        """Start the host if needed and wait until it is ready; LayerlabError when it is not within `timeout`."""
        self._start_locked()
        if not self._await_ready_locked(timeout):
            self._stop_locked()
            raise LayerlabError("The model process did not start in time.",
                                "The machine may be very busy: try again when fewer runs are training.")

    def _start_locked(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self._stop_locked()
        from layerlab.runs.runner import popen
        from layerlab.workspace import model_host_log

        ours, theirs = socket.socketpair()
        try:
            self._proc = popen("layerlab.inference.host", str(theirs.fileno()), log=model_host_log(),
                               pass_fds=(theirs.fileno(),))
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        self._ready = False

    def _await_ready_locked(self, timeout: float) -> bool:
        if self._ready:
            return True
        assert self._conn is not None
        end = time.monotonic() + timeout
        while True:
            try:
                if self._conn.poll(min(1.0, max(0.0, end - time.monotonic()))):
                    self._ready = self._conn.recv()[0] == "ready"
                    return self._ready
            except (EOFError, OSError):
                self._stop_locked()
                raise LayerlabError("The process that runs the models could not start.",
                                    "The details are in the server's model-host log.") from None
            if self._proc.poll() is not None:
                self._stop_locked()
                raise LayerlabError("The process that runs the models could not start.",
                                    "The details are in the server's model-host log.")
            if time.monotonic() >= end:
                return False

    def _stop_locked(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()  # reaped: no zombie is left
            self._proc = None
        self._ready = False


def _settings() -> dict[str, str]:
    """The server's LAYERLAB_* settings and KERAS_HOME (where Keras keeps weights), sent with every request: the
    host answers as the server would now."""
    return {k: v for k, v in os.environ.items() if k.startswith("LAYERLAB_") or k == "KERAS_HOME"}


_HOST = ModelHost()


def model_host() -> ModelHost:
    """This server's model host (one per process)."""
    return _HOST


def run_in_host(name: str, *args: Any, **kwargs: Any) -> Any:
    """An engine function that needs TensorFlow (`host.CALLS`), run in the model host: the same result and the
    same LayerlabErrors as calling it here, without TensorFlow in this process."""
    return model_host().call("call", name, args, kwargs)


@dataclass
class RemotePredictor(Predictor):
    """A Predictor whose model runs in the model host: parsing, answers and messages stay the same."""

    mtime: float = 0.0
    host: ModelHost | None = None

    def outputs(self, batch: Any) -> np.ndarray:
        host = self.host or model_host()
        return np.asarray(host.call("outputs", str(self.run_dir), self.mtime, batch))


def remote_predictor(run_dir: str | Path, host: ModelHost | None = None) -> RemotePredictor:
    """The run's predictor, its model loaded in the host; LayerlabError when it has none or it cannot be loaded."""
    files = RunFiles(Path(run_dir))
    if not files.has_model:
        raise LayerlabError(f"The run folder {files.root.name} holds no trained model (model.keras).",
                            "Pick a run that has finished, or train it again.")
    predictor = RemotePredictor(files.root, None, files.info(), files.spec(),
                                mtime=files.model_path.stat().st_mtime, host=host)
    (host or model_host()).call("load", str(predictor.run_dir), predictor.mtime)
    return predictor


@dataclass(frozen=True)
class OwnModel:
    """A `.keras` file made elsewhere, loaded (checked, safe mode) in the model host."""

    digest: str
    name: str
    input_shape: Any
    output_shape: Any
    params: int
    kind: str | None
    data: bytes

    def run(self, x: Any, texts: bool = False) -> np.ndarray:
        """Outputs for a batch (`texts`: a list of strings, for a string input), one flat row per input."""
        try:
            return model_host().call("own_run", self.digest, x, texts)
        except KeyError:  # the host forgot it (a newer upload, or it started again): load it once more
            model_host().call("own_load", self.digest, self.data, self.name)
            return model_host().call("own_run", self.digest, x, texts)


def own_model(data: bytes, name: str) -> OwnModel:
    """Load an uploaded `.keras` file in the model host; LayerlabError (plain words) when it cannot be used."""
    import hashlib

    from layerlab.inference.outside import check_keras_file

    check_keras_file(data, name)  # here first: a refused file never reaches the host
    digest = hashlib.sha256(data).hexdigest()
    about = model_host().call("own_load", digest, data, name)
    return OwnModel(digest, name, about["input_shape"], about["output_shape"], about["params"], about["kind"], data)
