"""Model servers started for a session (the Serve page): start, find again, watch, test and stop them.

Each server is its own `python -m layerlab serve` process (started with `runs.runner.launch`, so a
Streamlit rerun, a page switch or a closed browser never ends it), bound to 127.0.0.1 on a free port.
What the app knows about it is a record in the workspace's servers folder (`servers/<id>.json`,
its output beside it in `<id>.log`), so a reloaded page finds its session's servers by owner.
Only the owner may stop a server; housekeeping stops those whose session is gone.
"""

from __future__ import annotations

import json
import os
import pprint
import re
import signal
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from layerlab.errors import LayerlabError
from layerlab.settings import limits

HOST = "127.0.0.1"
_READY = re.compile(r"^ready (http://\S+)\s*$", re.MULTILINE)
_MODEL = re.compile(r"^model (\S+) versions (\S+) (http://\S+)\s*$", re.MULTILINE)
_ID = re.compile(r"^[a-f0-9]{12}$")
STOP_GRACE_S = 10.0  # after SIGTERM, how long a server may take to finish before SIGKILL


@dataclass
class Server:
    """One server's record, plus what its process and log say now (`alive`, `ready`, `problem`)."""

    id: str
    owner: str
    pid: int
    runs: list[dict[str, str]]  # {"id", "dir", "name"} of each run it serves
    started: float
    url: str | None = None
    models: list[dict[str, Any]] = field(default_factory=list)  # {"name", "versions", "url"} from its ready lines
    alive: bool = True
    problem: str | None = None  # why it is not serving (failed to start, ended), from its log

    @property
    def ready(self) -> bool:
        return self.alive and self.url is not None

    @property
    def docs_url(self) -> str | None:
        return f"{self.url}/docs" if self.url else None


def _folder(folder: Path | None) -> Path:
    if folder is not None:
        return folder
    from layerlab.workspace import servers_dir

    return servers_dir()


def _record(folder: Path, server_id: str) -> Path:
    return folder / f"{server_id}.json"


def log_path(server: Server, folder: Path | None = None) -> Path:
    return _folder(folder) / f"{server.id}.log"


def _save(server: Server, folder: Path) -> None:
    keep = {k: v for k, v in asdict(server).items() if k not in ("alive", "problem")}
    tmp = _record(folder, server.id).with_suffix(".part")
    tmp.write_text(json.dumps(keep), encoding="utf-8")
    tmp.replace(_record(folder, server.id))


FRESH_S = 30.0  # a server this young is trusted by its pid alone (its command line may not be readable yet)


def _serving(pid: int, fresh: bool = False) -> bool:
    """True while `pid` is a live `layerlab serve` process: not gone, not a zombie, and (once past its first
    seconds) still running our command, so a pid the system reused for another program is never signalled."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, IndexError):
        return False
    if state == "Z":
        return False
    return fresh or (b"layerlab" in cmd and b"serve" in cmd)


def _reason(log: str) -> str:
    """What went wrong, from a server's output: its `error: …` line, else its last lines."""
    errors = [ln[len("error: "):] for ln in log.splitlines() if ln.startswith("error: ")]
    if errors:
        return errors[-1].strip()
    tail = [ln for ln in log.splitlines() if ln.strip()][-3:]
    return " / ".join(tail)[-400:] if tail else "it wrote nothing"


def _refresh(server: Server, folder: Path) -> Server:
    """Read the log for its ready lines (once) and check the process."""
    server.alive = _serving(server.pid, fresh=time.time() - server.started < FRESH_S)
    if server.url is None or not server.alive:
        try:
            log = log_path(server, folder).read_text(encoding="utf-8", errors="replace")
        except OSError:
            log = ""
        ready = _READY.search(log)
        if server.url is None and ready:
            server.url = ready.group(1)
            server.models = [{"name": m[0], "versions": [int(v) for v in m[1].split(",") if v.isdigit()], "url": m[2]}
                             for m in _MODEL.findall(log)]
            _save(server, folder)
        if not server.alive:
            server.problem = _reason(log)
    return server


def _load(path: Path, folder: Path) -> Server | None:
    try:
        return _refresh(Server(**json.loads(path.read_text(encoding="utf-8"))), folder)
    except (OSError, ValueError, TypeError):
        return None


def all_servers(folder: Path | None = None) -> list[Server]:
    """Every recorded server, oldest first (for housekeeping)."""
    folder = _folder(folder)
    if not folder.is_dir():
        return []
    found = (_load(p, folder) for p in folder.glob("*.json"))
    return sorted((s for s in found if s is not None), key=lambda s: s.started)


def list_servers(owner: str, folder: Path | None = None) -> list[Server]:
    """This owner's servers, oldest first, each with its state now."""
    return [s for s in all_servers(folder) if s.owner == owner]


def get_server(server_id: str, owner: str, folder: Path | None = None) -> Server:
    """One of this owner's servers; another session's server is refused as if it did not exist."""
    folder = _folder(folder)
    server = _load(_record(folder, server_id), folder) if _ID.match(server_id or "") else None
    if server is None or server.owner != owner:
        raise LayerlabError("That server is not one of this session's.",
                            "Only the session that started a server can see or stop it.")
    return server


def start_server(runs: list[Any], owner: str, folder: Path | None = None) -> Server:
    """Start `python -m layerlab serve` for these finished runs (store `Run`s), on 127.0.0.1 and a free port.

    Returns at once with the server recorded (not yet ready): `wait_ready` waits for it.
    """
    if not runs:
        raise LayerlabError("No run chosen to serve.", "Pick at least one finished run.")
    missing = [r.name for r in runs if not r.has_model]
    if missing:
        raise LayerlabError(f"{', '.join(missing)} has no saved model to serve.", "Pick runs that finished training.")
    folder = _folder(folder)
    running = [s for s in list_servers(owner, folder) if s.alive]
    if len(running) >= limits().servers:
        raise LayerlabError(f"This session already runs {len(running)} model server(s), the most it may "
                            f"(LAYERLAB_SERVERS={limits().servers}).", "Stop one before starting another.")
    from layerlab.runs.runner import launch

    server_id = uuid.uuid4().hex[:12]
    log = folder / f"{server_id}.log"
    pid = launch("layerlab", "serve", *[str(r.path) for r in runs], "--host", HOST, "--port", "0", log=log)
    server = Server(server_id, owner, pid, [{"id": r.id, "dir": str(r.path), "name": r.name} for r in runs],
                    time.time())
    _save(server, folder)
    return server


def wait_ready(server: Server, timeout: float | None = None, folder: Path | None = None) -> Server:
    """Block until the server printed its `ready` line; a server that ended or took too long raises a
    LayerlabError saying why (from its log), and one that took too long is stopped."""
    folder = _folder(folder)
    timeout = float(limits().serve_start_s if timeout is None else timeout)
    deadline = time.monotonic() + timeout
    while True:
        server = _refresh(server, folder)
        if server.ready:
            return server
        if not server.alive:
            _end(server.pid)
            _forget(server, folder)
            raise LayerlabError(f"The model server did not start: {server.problem}",
                                "Check that the runs finished training; the server's reason is above.")
        if time.monotonic() > deadline:
            _end(server.pid)
            _forget(server, folder)
            raise LayerlabError(f"The model server was not ready after {timeout:.0f} s, so it was stopped.",
                                "The machine may be busy: try again, or raise LAYERLAB_SERVE_START_S.")
        time.sleep(0.2)


def _end(pid: int) -> None:
    """SIGTERM the server's process group, then SIGKILL if it is still there after STOP_GRACE_S."""
    if not _serving(pid):
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)  # our own child: collect it, or it lingers as a zombie
        except ChildProcessError:
            pass
        if not _serving(pid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, PermissionError, ChildProcessError):
        pass


def _forget(server: Server, folder: Path) -> None:
    _record(folder, server.id).unlink(missing_ok=True)
    log_path(server, folder).unlink(missing_ok=True)


def stop_server(server_id: str, owner: str, folder: Path | None = None) -> None:
    """Stop one of this owner's servers (SIGTERM, then SIGKILL) and forget it; another session's is refused."""
    folder = _folder(folder)
    server = get_server(server_id, owner, folder)
    _end(server.pid)
    _forget(server, folder)


def stop_abandoned(owners_gone: set[str] | None, folder: Path | None = None) -> list[str]:
    """Stop the servers whose owner is in `owners_gone` and forget those that already ended; returns their
    ids. For housekeeping, which decides which sessions are gone."""
    folder = _folder(folder)
    stopped = []
    for server in all_servers(folder):
        if not server.alive or (owners_gone is not None and server.owner in owners_gone):
            _end(server.pid)
            _forget(server, folder)
            stopped.append(server.id)
    return stopped


# --------------------------------------------------------------------------- talking to a server


def _http(url: str, body: dict | None = None, timeout: float = 10.0) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:  # a 4xx/5xx still has a body worth showing
        return exc.code, exc.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        raise LayerlabError(f"The model server at {url} did not answer: {getattr(exc, 'reason', exc)}.",
                            "It may have stopped: look at its state above, or start it again.") from None


def _ready_url(server: Server) -> str:
    if not server.ready:
        raise LayerlabError("The model server is not ready.", "Wait until it says Ready, or start it again.")
    return server.url  # type: ignore[return-value]


def example_for(server: Server, model: str) -> dict[str, Any]:
    """A real request body for `model` (its newest version's run), from that run's test set."""
    from layerlab.serve.examples import example_request

    found = next((m for m in server.models if m["name"] == model), None)
    if found is None:
        raise LayerlabError(f"This server serves no model named {model!r}.",
                            f"It serves: {', '.join(m['name'] for m in server.models) or 'nothing yet'}.")
    status, text = _http(f"{_ready_url(server)}/v1/models", timeout=5.0)
    listed = json.loads(text).get("models", []) if status == 200 else []
    versions = next((m["versions"] for m in listed if m.get("name") == model), [])
    run_id = max(versions, key=lambda v: v["version"])["run_id"] if versions else None
    run_dir = next((r["dir"] for r in server.runs if r["id"] == run_id), server.runs[0]["dir"])
    return example_request(run_dir)


def predict_url(server: Server, model: str) -> str:
    return f"{_ready_url(server)}/v1/models/{model}:predict"


def send_test_request(server: Server, model: str) -> dict[str, Any]:
    """Post a real test input to `model`'s predict route; returns {"url", "request", "status", "response"}
    (the JSON that came back, or its text when it was not JSON)."""
    body = example_for(server, model)
    url = predict_url(server, model)
    status, text = _http(url, body)
    try:
        answer: Any = json.loads(text)
    except ValueError:
        answer = text
    return {"url": url, "request": body, "status": status, "response": answer}


def snippets(url: str, body: dict[str, Any]) -> dict[str, str]:
    """Copy-ready `curl` and Python `requests` calls posting `body` to `url`."""
    payload = json.dumps(body)
    curl = (f"curl -s -X POST {url} \\\n  -H 'Content-Type: application/json' \\\n"
            f"  -d '{payload.replace(chr(39), chr(39) + chr(92) + chr(39) + chr(39))}'")
    python = (f"import requests\n\nbody = {pprint.pformat(body, sort_dicts=False, width=110)}\n"
              f"answer = requests.post({url!r}, json=body, timeout=30)\nprint(answer.json())")
    return {"curl": curl, "python": python}


# --------------------------------------------------------------------------- live figures from /metrics


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?\s*$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text: str) -> list[tuple[str, dict[str, str], float]]:
    """The samples of a Prometheus text exposition: (name, labels, value); comments and bad lines skipped."""
    samples = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            continue
        name, labels, raw = match.groups()
        try:
            value = float(raw)
        except ValueError:
            continue
        found = {k: v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                 for k, v in _LABEL.findall(labels or "")}
        samples.append((name, found, value))
    return samples


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile: `q` of a histogram given as cumulative (upper bound, count) buckets,
    interpolated linearly inside the bucket it falls in; None when nothing was counted."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if upper == float("inf"):
                return lower  # beyond the last finite bound: its bound is the best estimate
            return lower + (upper - lower) * ((rank - below) / (count - below) if count > below else 1.0)
        lower, below = upper, count
    return lower


def summarize(samples: list[tuple[str, dict[str, str], float]]) -> dict[str, Any]:
    """Requests, errors and p50/p95 latency (ms) over every model, from parsed /metrics samples.

    Only requests to a model count: not the server's own routes (`/metrics` itself, read by whoever watches
    these figures, `/docs`, health), which would make the count climb on its own.
    """
    requests = sum(v for n, labels, v in samples if n == "layerlab_requests_total" and labels.get("model"))
    errors = sum(v for n, labels, v in samples if n == "layerlab_request_errors_total" and labels.get("model"))
    merged: dict[float, float] = {}
    for name, labels, value in samples:
        if name == "layerlab_request_duration_seconds_bucket" and "le" in labels:
            bound = float("inf") if labels["le"] in ("+Inf", "Inf") else float(labels["le"])
            merged[bound] = merged.get(bound, 0.0) + value
    buckets = list(merged.items())
    p50, p95 = quantile(0.5, buckets), quantile(0.95, buckets)
    return {"requests": int(requests), "errors": int(errors),
            "p50_ms": None if p50 is None else p50 * 1000, "p95_ms": None if p95 is None else p95 * 1000}


def live_figures(server: Server) -> dict[str, Any]:
    """The server's requests, errors and p50/p95 latency now, read from its /metrics."""
    status, text = _http(f"{_ready_url(server)}/metrics", timeout=3.0)
    if status != 200:
        raise LayerlabError(f"The model server's /metrics answered {status}.", "Try again in a moment.")
    return summarize(parse_prometheus(text))
