"""Settings shared by every test layer (engine, AppTest pages, Playwright e2e)."""

from __future__ import annotations

import fcntl
import importlib.abc
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Set before any test module is imported: Keras reads KERAS_BACKEND and TensorFlow reads
# TF_CPP_MIN_LOG_LEVEL once, at import time, which happens during collection.
# PYTHONHASHSEED only reaches subprocesses (training workers, the e2e server); this process
# already has its seed. No pretrained weights are downloaded, nor their host asked whether it answers
# (a new photo project asks): tests behave the same with or without internet and send nothing off the machine.
TEST_ENV = {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0",
            "LAYERLAB_WEIGHTS_DOWNLOAD": "0"}
for _name, _value in TEST_ENV.items():
    os.environ.setdefault(_name, _value)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session", autouse=True)
def layerlab_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point LAYERLAB_HOME at a fresh folder for this test session (one per xdist worker).

    Set in ``os.environ`` so worker subprocesses started by the engine inherit it; nothing
    touches the real ``~/.layerlab``. Restored when the session ends.
    """
    home = tmp_path_factory.mktemp("layerlab-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAYERLAB_HOME", str(home))
        mp.delenv("LAYERLAB_RUNS_DIR", raising=False)
        for name, value in TEST_ENV.items():
            mp.setenv(name, value)
        yield home


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch Debian's Chromium instead of a Playwright-downloaded browser.

    Overrides pytest-playwright's fixture of the same name and keeps its options
    (``--headed``, ``--slowmo``, ``--browser-channel``).
    """
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Groups for `-n 2 --dist loadgroup` (the default, see pyproject.toml), and `solo` tests last.

    A test file's tests stay in one worker, so module-scoped fixtures (real training runs) are made
    once; the browser tests all run in one worker, one after another. The `solo` tests (load and
    soak) form their own group, collected last so that the scheduler hands it out last; the lock in
    `pytest_runtest_protocol` then keeps every other test off the machine while one of them runs.
    """
    for item in items:
        if item.get_closest_marker("solo"):
            group = "solo"
        elif item.get_closest_marker("e2e"):
            group = "browser"
        else:
            group = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: item.get_closest_marker("solo") is not None)  # stable: order kept otherwise


def _lock_paths() -> tuple[Path, Path] | None:
    """The turnstile and the lock shared by this run's xdist workers; None outside xdist (nothing beside us)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        return None
    base = Path(tempfile.gettempdir()) / f"layerlab-tests-{run}"
    return base.with_suffix(".turnstile"), base.with_suffix(".lock")


@contextmanager
def _machine_turn(solo: bool) -> Iterator[None]:
    """Hold the machine shared (every test) or alone (a `solo` test) across xdist workers.

    flock on two files: a solo test takes the turnstile and keeps it while it waits for the lock, so
    other tests cannot keep slipping in ahead of it; every other test passes through the turnstile
    and then shares the lock. The kernel drops both when a worker process dies, so a crash or a
    pytest-timeout kill never leaves the others waiting.
    """
    paths = _lock_paths()
    if paths is None:
        yield
        return
    with open(paths[0], "a") as turnstile, open(paths[1], "a") as lock:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        if not solo:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        fcntl.flock(lock, fcntl.LOCK_EX if solo else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            fcntl.flock(turnstile, fcntl.LOCK_UN)


_running: list[pytest.Item] = []  # the test whose setup, call or teardown runs now (for the fit guard below)


def _timeout_s(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is not None:
        return float(marker.args[0] if marker.args else marker.kwargs["timeout"])
    return float(item.config.getini("timeout") or 0)


@pytest.hookimpl(tryfirst=True, wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Run a `solo` test with no other test beside it (see `_machine_turn`); note the running test for the fit guard.

    Outermost wrapper (tryfirst), so the wait for a turn does not count against pytest-timeout's limit.
    A solo test's timeout goes into its report for the duration summary below.
    """
    solo = item.get_closest_marker("solo") is not None
    if solo:
        item.user_properties.append(("timeout_s", _timeout_s(item)))
    with _machine_turn(solo):
        _running.append(item)
        try:
            return (yield)
        finally:
            _running.pop()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print each `solo` test's duration against its timeout, and what it recorded, on every run.

    These tests check time and memory under load; a creeping slowdown shows here long before one of
    them reaches its timeout. Works under xdist: the reports carry keywords and user_properties.
    """
    durations: dict[str, float] = {}
    properties: dict[str, list[tuple[str, object]]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) is None or "solo" not in getattr(report, "keywords", {}):
                continue
            durations[report.nodeid] = durations.get(report.nodeid, 0.0) + report.duration
            properties[report.nodeid] = list(report.user_properties)
    if not durations:
        return
    terminalreporter.section("solo tests: duration against timeout")
    for nodeid, seconds in durations.items():
        props = dict(properties[nodeid])
        limit = float(props.pop("timeout_s", 0) or 0)
        share = f" of {limit:.0f} s ({seconds / limit:.0%})" if limit else ""
        warn = "  <-- over a third of its timeout: size it down or find the slowdown" if limit and seconds > limit / 3 else ""
        terminalreporter.write_line(f"{nodeid}: {seconds:.0f} s{share}{warn}")
        for name, value in props.items():
            terminalreporter.write_line(f"    {name}: {value}")


# ---- the fast loop stays fast: a test that trains must be marked slow --------------------------------

_FIT_MODULE = "keras.src.backend.tensorflow.trainer"  # where Keras 3 on TensorFlow defines Model.fit


def _refuse_unmarked_fit(module: Any) -> None:
    """Wrap Model.fit so that a test not marked slow that trains fails at once, saying so."""
    fit = module.TensorFlowTrainer.fit

    def guarded_fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _running and _running[-1].get_closest_marker("slow") is None:
            pytest.fail(f"{_running[-1].nodeid} trains a model (Keras fit) but is not marked slow: add "
                        "@pytest.mark.slow (pyproject.toml: the fast loop is -m 'not slow and not e2e').",
                        pytrace=False)
        return fit(self, *args, **kwargs)

    module.TensorFlowTrainer.fit = guarded_fit


class _FitGuardFinder(importlib.abc.MetaPathFinder):
    """Wraps Model.fit when Keras is first imported, whichever test imports it (TensorFlow stays lazy)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != _FIT_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_guard(module: Any) -> None:
            exec_module(module)
            _refuse_unmarked_fit(module)

        spec.loader.exec_module = exec_and_guard  # type: ignore[method-assign]
        return spec


if _FIT_MODULE in sys.modules:
    _refuse_unmarked_fit(sys.modules[_FIT_MODULE])
else:
    sys.meta_path.insert(0, _FitGuardFinder())


@pytest.fixture(autouse=True)
def _pillow_pixel_limit() -> Iterator[None]:
    """Put Pillow's process-wide pixel limit back after each test.

    Layerlab sets ``PIL.Image.MAX_IMAGE_PIXELS`` from its LAYERLAB_IMAGE_PIXELS setting when it decodes;
    a test that lowers the setting must not leave later tests in the same worker (e.g. ``st.image``
    re-reading a thumbnail) under its limit.
    """
    from PIL import Image

    before = Image.MAX_IMAGE_PIXELS
    yield
    Image.MAX_IMAGE_PIXELS = before
