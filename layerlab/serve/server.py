"""`python -m layerlab serve`: load the runs, bind the socket, print the ready lines, serve until SIGTERM.

The socket is bound before the models load, so a port in use fails at once (exit 2), and `--port 0` gets a
free port whose number the ready lines print. Those lines are the contract with whoever started the server
(the Serve page waits for `ready URL`): one `model NAME versions 1,2 URL` per model, then `ready URL`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerlab.errors import LayerlabError


@dataclass(frozen=True)
class ServeOptions:
    """How to serve: where to listen and how to batch (defaults from `layerlab.settings`)."""

    host: str = "127.0.0.1"
    port: int = 8500
    workers: int = 1  # copies of each model, each answering on its own inference thread
    api_key: str | None = None
    max_batch: int | None = None
    batch_timeout_ms: int | None = None
    runs_dir: str | None = None


def api_key(key_file: str | None) -> str | None:
    """The API key from `--api-key-file`, else LAYERLAB_API_KEY; None when neither is set (no key needed)."""
    if key_file:
        try:
            key = Path(key_file).expanduser().read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise LayerlabError(f"The API key file {key_file} cannot be read ({getattr(exc, 'strerror', None) or exc}).",
                                "Give a text file holding the key.") from None
        if not key:
            raise LayerlabError(f"The API key file {key_file} is empty.", "Write the key into it.")
        return key
    return os.environ.get("LAYERLAB_API_KEY", "").strip() or None


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on host:port (port 0: a free one); LayerlabError when it cannot be had."""
    if not 0 <= port <= 65535:
        raise LayerlabError(f"--port must be between 0 and 65535; received {port}.", "Use 0 for any free port.")
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        return _listener(family, address)
    except socket.gaierror:
        raise LayerlabError(f"The host {host!r} is not an address of this machine.",
                            "Use 127.0.0.1 (this machine only) or 0.0.0.0 (every network).") from None
    except OSError as exc:
        if exc.errno == 98 or "in use" in str(exc):
            raise LayerlabError(f"The port {port} on {host} is already in use.",
                                "Pick another with --port, or --port 0 for any free port.") from None
        raise LayerlabError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
                            "Pick another --host or --port.") from None


def _listener(family: int, address: Any) -> socket.socket:
    """A listening socket whose protocol is IPPROTO_TCP, not 0 as `socket.create_server` makes it.

    asyncio sets TCP_NODELAY only on accepted sockets whose `proto` is IPPROTO_TCP, and an accepted socket
    inherits the listener's. With proto 0 Nagle stays on, uvicorn's separate header and body writes wait for the
    client's delayed ACK, and every answer took ~40 ms longer than its work (found by the serve bench).
    """
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket, host: str) -> str:
    port = sock.getsockname()[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(runs: list[str], opts: ServeOptions) -> int:
    """Serve `runs` (ids or folders) until SIGTERM or Ctrl-C; returns the exit status (0)."""
    import uvicorn

    from layerlab.serve.app import build_app
    from layerlab.serve.catalog import find_run, load_models
    from layerlab.serve.examples import example_request
    from layerlab.settings import limits

    for sig in (signal.SIGTERM, signal.SIGINT):  # a clean stop is exit 0, not a traceback or 130
        signal.signal(sig, _exit_cleanly)
    _log_to_stderr()
    refs = [find_run(r, opts.runs_dir) for r in runs]
    sock = bind(opts.host, opts.port)
    models = load_models(refs, copies=opts.workers)
    examples: dict[str, Any] = {}
    for name, model in models.items():
        try:
            examples[name] = example_request(model.latest.ref.run_dir)
        except (LayerlabError, OSError) as exc:
            logging.getLogger("layerlab.serve").warning("no example request for %s: %s", name, exc)
        for version in model.versions.values():
            warm_up(version)
    lim = limits()
    max_batch = opts.max_batch if opts.max_batch is not None else lim.serve_max_batch
    wait_ms = opts.batch_timeout_ms if opts.batch_timeout_ms is not None else lim.serve_batch_timeout_ms
    app = build_app(models, api_key=opts.api_key, max_batch=max_batch, wait_s=wait_ms / 1000,
                    timeout_s=lim.serve_timeout_s, body_bytes=lim.upload_mb * 2**20, examples=examples)
    url = url_of(sock, opts.host)
    lines = [f"model {m.name} versions {','.join(map(str, sorted(m.versions)))} {url}/v1/models/{m.name}"
             for m in models.values()] + [f"ready {url}"]
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    asyncio.run(_serve(uvicorn.Server(config), sock, lines))
    return 0


def warm_up(version: Any) -> None:
    """Answer the run's example once per model copy, so the first real request is not the slow one (Keras builds
    its call path and TensorFlow its kernels on the first call)."""
    from layerlab.serve.examples import example_input
    from layerlab.serve.payload import model_batch

    try:
        batch = model_batch(version.predictor, [example_input(version.ref.run_dir)] * 2, "instances")
    except (LayerlabError, OSError):
        return
    for predictor in version.predictors:
        predictor.outputs(batch)


async def _serve(server: Any, sock: socket.socket, lines: list[str]) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        print("\n".join(lines), flush=True)
    await task


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _log_to_stderr() -> None:
    """Access log lines (JSON) and warnings to stderr; stdout keeps only the ready lines."""
    log = logging.getLogger("layerlab.serve")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
