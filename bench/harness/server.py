"""The Streamlit server harness for page benchmarks: `streamlit run` in its own process group,
headless Chromium, and waiting for a page to be ready as a user sees it."""

from __future__ import annotations

import ast
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.machine import ROOT, child_env
from harness.registry import Skip

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


def app_pages() -> list[dict[str, str]]:
    """[{path, title, url, h1}] from the app's one page list (components/shell.PAGES) and each page's st.title
    (the page's title when its st.title is not a plain string)."""
    import sys

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from components.shell import PAGES

    pages = [{"path": p.file, "title": p.title, "url": p.url} for p in PAGES]
    for p in pages:
        p["h1"] = p["title"]
        try:
            src = ast.parse((ROOT / p["path"]).read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            continue
        for node in ast.walk(src):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "title"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                p["h1"] = node.args[0].value
                break
    return pages


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run APP` in its own process group, with a temporary LAYERLAB_HOME (app.py by default)."""

    def __init__(self, home: Path, log: Path, app: str = "app.py", args: Sequence[str] = (),
                 cwd: Path = ROOT) -> None:
        self.port = free_port()
        self.home = home
        self.log = open(log, "ab")  # noqa: SIM115 - open for the server's life, closed in stop()
        self.launched = time.time()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", app, "--server.headless", "true",
             "--server.port", str(self.port), "--browser.gatherUsageStats", "false", *args],
            cwd=str(cwd), env=child_env(LAYERLAB_HOME=str(home)), stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout: float = 60) -> float:
        """Poll /_stcore/health until it answers; the time it did."""
        import urllib.request

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        return time.time()
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("streamlit did not answer /_stcore/health in time")

    def has_tensorflow(self) -> bool:
        """Whether the server process has loaded TensorFlow's native library (read from /proc, no app change)."""
        try:
            maps = Path(f"/proc/{self.proc.pid}/maps").read_text()
        except OSError:
            return False
        return "_pywrap_tensorflow_internal" in maps or "libtensorflow_framework" in maps

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.log.close()


def session_with_project(browser: Any, server: Server, spec: Any, **context: Any) -> Any:
    """A new browser page that is one user (its own owner cookie) whose saved project is `spec`: what a
    person who chose the data earlier has after a reload. Only the owner id names the saved project."""
    ctx = browser.new_context(**context)
    ctx.add_cookies([{"name": name, "value": value, "url": server.url}
                     for name, value in owner_with_project(server, spec).items()])
    return ctx.new_page()


def owner_with_project(server: Server, spec: Any) -> dict[str, str]:
    """The cookies of a new anonymous owner whose saved project is `spec` (for a browser or a SessionClient)."""
    from layerlab import identity

    secret = identity.new_secret()
    (server.home / "projects").mkdir(parents=True, exist_ok=True)
    spec.save(server.home / "projects" / f"{identity.owner_of(secret)}.json")
    return {identity.COOKIE: secret}


def launch_browser(p: Any) -> Any:
    """Headless Chromium from a `sync_playwright()` handle; Skip when there is none.

    Run as root, Chromium raises its own browser and GPU processes to nice -8, above the app's server, which a
    user's browser cannot do: where that is so, the browser is started without the capability (CAP_SYS_NICE,
    dropped with util-linux `setpriv`), so it competes for the cores as it would on a user's machine."""
    if not Path(CHROMIUM).exists():
        raise Skip(f"no Chromium at {CHROMIUM}")
    return p.chromium.launch(executable_path=_as_a_user(), args=CHROMIUM_ARGS)


def _as_a_user() -> str:
    """CHROMIUM, or (as root, with setpriv) a wrapper that starts it without CAP_SYS_NICE."""
    import os
    import shutil
    import tempfile

    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return CHROMIUM
    wrapper = Path(tempfile.gettempdir()) / "layerlab-bench-chromium"
    wrapper.write_text(f'#!/bin/sh\nexec {setpriv} --bounding-set -sys_nice -- {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


_READY_JS = """([path, h1, oldH1]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (path !== null) {
    const last = location.pathname.replace(/\\/+$/, '').split('/').pop();
    if (last !== path) return false;
  }
  const live = [...document.querySelectorAll('h1')].filter(
      h => h.offsetParent !== null && !h.closest('[data-stale="true"]'));
  if (h1 !== null) return live.some(h => h.textContent.trim().startsWith(h1));
  return live.some(h => h.textContent.trim() !== oldH1);
}"""


def wait_ready(page: Any, path: str | None, h1: str | None, old_h1: str | None, timeout_s: float,
               settle_s: float = 0.3) -> float:
    """perf_counter time at which the page was first ready and then stayed ready for `settle_s`
    (a script run that ends and is rerun at once — e.g. a deep link routed through app.py — is not ready)."""
    deadline = time.perf_counter() + timeout_s
    while True:
        left = max(0.1, deadline - time.perf_counter())
        page.wait_for_function(_READY_JS, arg=[path, h1, old_h1], timeout=left * 1000, polling=20)
        ready = time.perf_counter()
        page.wait_for_timeout(settle_s * 1000)
        if page.evaluate(_READY_JS, [path, h1, old_h1]):
            return ready
        if time.perf_counter() > deadline:
            raise TimeoutError("the page did not settle")


def exception_text(page: Any) -> str | None:
    """The first exception the page shows (st.exception), cut to 300 characters."""
    loc = page.locator('[data-testid="stException"]')
    if loc.count():
        return loc.first.inner_text()[:300]
    return None


def h1_text(page: Any) -> str | None:
    return page.evaluate("() => { const h = [...document.querySelectorAll('h1')].find(h => h.offsetParent !== null);"
                         " return h ? h.textContent.trim() : null; }")


def require_playwright() -> None:
    """Skip a browser benchmark where Playwright or Chromium is missing."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        raise Skip("playwright is not installed") from None
    if not Path(CHROMIUM).exists():
        raise Skip(f"no Chromium at {CHROMIUM}")
