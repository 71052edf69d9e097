"""Browser-test harness: a live `streamlit run` server and small named helpers around locators.

Tests import the helpers with ``from tests.e2e.conftest import goto_page, wait_idle, ...``.
The app under test is ``$LAYERLAB_APP`` (default ``app.py``, relative to the repo root).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

REPO_ROOT = Path(__file__).resolve().parents[2]
SHOTS_DIR = Path("/tmp/layerlab-shots")
STARTUP_TIMEOUT_S = 60
# A page may import pandas/plotly on first visit; give assertions room on a 2-core runner.
expect.set_options(timeout=30_000)

APP_IDLE = '[data-testid="stApp"][data-test-connection-state="CONNECTED"][data-test-script-state="notRunning"]'

# (title, url_path) of every page, in navigation order.
PAGES: list[tuple[str, str]] = [
    ("Home", ""),
    ("Data", "data"),
    ("Prepare", "prepare"),
    ("Build", "build"),
    ("Train", "train"),
    ("Tune", "tune"),
    ("Evaluate", "evaluate"),
    ("Predict", "predict"),
    ("Serve", "serve"),
    ("Runs", "runs"),
]

_SERVER_LOGS = pytest.StashKey[dict[str, Path]]()


# --------------------------------------------------------------------------- server


def app_script() -> Path:
    """The entrypoint under test: ``$LAYERLAB_APP`` or ``app.py``, relative to the repo root."""
    path = Path(os.environ.get("LAYERLAB_APP") or "app.py")
    return path if path.is_absolute() else REPO_ROOT / path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(log_path: Path, limit: int = 20_000) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError as exc:
        return f"(no server log at {log_path}: {exc})"
    return text if len(text) <= limit else "…\n" + text[-limit:]


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the server's process group (SIGTERM, then SIGKILL after 10 s)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextmanager
def serve_app(home: Path, log_path: Path, *, app: Path | None = None) -> Iterator[str]:
    """Run ``streamlit run <app>`` on a free port until the block ends; yields the base URL.

    The server runs from the repo root (so ``.streamlit/config.toml`` applies) with its own
    LAYERLAB_HOME, in its own process group, with stdout and stderr in ``log_path``.
    """
    app = app or app_script()
    if not app.is_file():
        raise FileNotFoundError(f"App entrypoint not found: {app} (set LAYERLAB_APP to override)")
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, "LAYERLAB_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, base_url, log_path)
        yield base_url
    finally:
        _stop(proc)


def _wait_healthy(proc: subprocess.Popen, base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with code {proc.returncode} before it was healthy.\n{_log_tail(log_path)}")
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(f"streamlit was not healthy within {STARTUP_TIMEOUT_S} s.\n{_log_tail(log_path)}")


def _start(request: pytest.FixtureRequest, root: Path) -> Iterator[str]:
    log_path = root / "streamlit.log"
    with serve_app(root / "layerlab-home", log_path) as base_url:
        request.config.stash.setdefault(_SERVER_LOGS, {})[base_url] = log_path
        yield base_url


@pytest.fixture(scope="session")
def app_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``) of one server shared by the session's e2e tests."""
    yield from _start(request, tmp_path_factory.mktemp("e2e-server"))


@pytest.fixture
def fresh_app_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Base URL of a server started for this test alone (for first-visit / restart behaviour)."""
    yield from _start(request, tmp_path)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the server log to a failed e2e test's report (pytest prints it with the failure)."""
    report = yield
    if not report.failed:
        return report
    logs = item.config.stash.get(_SERVER_LOGS, {})
    funcargs = getattr(item, "funcargs", {})
    for name in ("app_server", "fresh_app_server"):
        url = funcargs.get(name)
        if url in logs:
            report.sections.append((f"streamlit server log ({name}, {url})", _log_tail(logs[url])))
    return report


# --------------------------------------------------------------------------- helpers


def wait_idle(page: Page, *, timeout: float = 60_000) -> None:
    """Wait until the app is connected and no script run is in progress.

    A rerun started by a click may not have flipped the state yet, and a fresh page shows
    "notRunning" before its first run: follow with an ``expect`` on the new content.
    """
    page.wait_for_timeout(150)
    page.locator(APP_IDLE).wait_for(state="attached", timeout=timeout)


def set_epochs(page: Page, n: int) -> None:
    """Type `n` into the Train page's Epochs box and wait until the page has taken it."""
    box = page.get_by_role("spinbutton", name="Epochs", exact=True)
    box.fill(str(n))
    box.press("Enter")
    wait_idle(page)
    expect(box).to_have_value(str(n))


def start_training(page: Page) -> None:
    """Click the Train page's Start button and wait for the rerun."""
    page.get_by_role("button", name=re.compile("Start training")).click()
    wait_idle(page)


def nav_link(page: Page, title: str) -> Locator:
    """The sidebar navigation link labelled exactly ``title`` (an icon beside it does not matter)."""
    return page.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(title, exact=True))


def expect_active_page(page: Page, title: str) -> None:
    """Assert the sidebar marks ``title`` as the current page."""
    expect(nav_link(page, title)).to_have_attribute("aria-current", "page")


def open_page(page: Page, base: str, url_path: str = "") -> None:
    """Load ``base/url_path`` in the browser (a new session, like a reload) and wait for its run."""
    page.goto(f"{base.rstrip('/')}/{url_path}")
    wait_idle(page)
    expect(page.locator('[data-testid="stSidebarNavLink"][aria-current="page"]')).to_have_count(1)


def goto_page(page: Page, base: str, title: str) -> None:
    """Switch page by clicking its sidebar link (same session), opening the app first if needed."""
    if not page.url.startswith(base):
        open_page(page, base)
    wait_idle(page)  # a click that lands while a rerun (e.g. after Stop) replaces the page can be lost
    nav_link(page, title).click()
    try:
        expect(nav_link(page, title)).to_have_attribute("aria-current", "page", timeout=15_000)
    except AssertionError:
        wait_idle(page)
        nav_link(page, title).click()  # as a user would click again
        expect_active_page(page, title)
    wait_idle(page)


def upload(page: Page, path: str | Path | Sequence[str | Path], *, uploader: Locator | None = None) -> None:
    """Put file(s) into a file uploader (the first on the page unless ``uploader`` is given)."""
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    scope = uploader if uploader is not None else page.get_by_test_id("stFileUploader").first
    scope.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(paths)
    for p in paths:
        expect(scope.get_by_test_id("stFileChipName").filter(has_text=p.name).first).to_be_visible()
    wait_idle(page)


def assert_no_exception(page: Page) -> None:
    """Assert no uncaught exception box (``stException``) is on the page."""
    expect(page.get_by_test_id("stException")).to_have_count(0)


def main_heading(page: Page) -> Locator:
    """The page's ``st.title`` (the first h1 in the main area)."""
    return page.get_by_test_id("stMain").get_by_role("heading", level=1).first


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot to /tmp/layerlab-shots/<name>.png and return its path."""
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    path = SHOTS_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def server_memory_mb(base_url: str, field: str = "VmRSS") -> float:
    """A /proc/<pid>/status memory figure (VmRSS now, VmHWM peak) of the streamlit server at ``base_url``."""
    port = base_url.rsplit(":", 1)[1].encode()
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            if b"streamlit" in b" ".join(cmd) and port in cmd:
                for line in (proc / "status").read_text().splitlines():
                    if line.startswith(f"{field}:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            continue
    raise AssertionError(f"no streamlit server found for {base_url}")
