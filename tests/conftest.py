"""Settings shared by every test layer (engine, AppTest pages, Playwright e2e)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Set before any test module is imported: Keras reads KERAS_BACKEND and TensorFlow reads
# TF_CPP_MIN_LOG_LEVEL once, at import time, which happens during collection.
# PYTHONHASHSEED only reaches subprocesses (training workers, the e2e server); this process
# already has its seed.
TEST_ENV = {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}
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
    """Groups for `-n 2 --dist loadgroup` (the default, see pyproject.toml).

    A test file's tests stay in one worker, so module-scoped fixtures (real training runs) are made
    once; the browser tests all run in one worker, one after another, so the load and soak tests
    never overlap each other. The other worker meanwhile runs engine and page tests.
    """
    for item in items:
        group = "browser" if item.get_closest_marker("e2e") else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))


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
