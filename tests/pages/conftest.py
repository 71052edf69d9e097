"""AppTest harness for page tests: run the real entrypoint, then switch to the page under test.

    def test_data_page_lists_samples(app):
        at = app("pages/data.py", state={"project": project})
        assert not at.exception
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 60  # AppTest's own default is 3 s, too short for a first import of pandas/plotly/keras.

OpenApp = Callable[..., AppTest]


def app_script() -> Path:
    """The entrypoint under test: ``$LAYERLAB_APP`` or ``app.py``, relative to the repo root."""
    path = Path(os.environ.get("LAYERLAB_APP") or "app.py")
    return path if path.is_absolute() else REPO_ROOT / path


def _check_entrypoint_ran(at: AppTest, page_file: str | None) -> None:
    # AppTest re-reads "is there a pages/ folder beside the entrypoint?" before every run. If there
    # is, the run goes through Streamlit's legacy multipage mode: a switched-to page script runs
    # directly and the entrypoint (st.navigation, shared session-state defaults) never runs.
    # st.navigation clears the flag when it is called, so a flag still set means it was not.
    if PagesManager.uses_pages_directory:
        pytest.fail(
            f"The entrypoint did not run for {page_file or 'the main page'}: Streamlit ran the page in its legacy "
            "pages/ mode because a folder named 'pages' sits beside it. Rename that folder (e.g. app_pages/).",
            pytrace=False,
        )


@pytest.fixture
def app() -> OpenApp:
    """Open the app in AppTest, optionally on a page: ``app(page_file=None, state=None, *, query_params=None)``.

    ``page_file`` is relative to the entrypoint's folder (e.g. ``"pages/train.py"``). ``state`` pre-fills
    ``st.session_state`` and ``query_params`` ``st.query_params`` before the first run (the entrypoint's
    ``setdefault`` calls keep them). The entrypoint runs once first, as ``switch_page`` needs a first run
    to know the pages that ``st.navigation`` registered. Returns the AppTest after the page's run; call
    ``.run()`` again after interacting. Exceptions are in ``at.exception``, not raised.
    """

    def open_app(
        page_file: str | None = None,
        state: Mapping[str, Any] | None = None,
        *,
        query_params: Mapping[str, str] | None = None,
        timeout: float = RUN_TIMEOUT_S,
    ) -> AppTest:
        at = AppTest.from_file(str(app_script()), default_timeout=timeout)
        for key, value in (state or {}).items():
            at.session_state[key] = value
        at.query_params.update(query_params or {})
        at.run()
        _check_entrypoint_ran(at, None)
        if page_file is not None:
            at.switch_page(page_file).run()
            _check_entrypoint_ran(at, page_file)
        return at

    return open_app


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh LAYERLAB_HOME for one test, so projects, uploads and runs do not leak between tests.

    Files use it with ``pytestmark = pytest.mark.usefixtures("home")``; a module that shares real
    training runs between its tests overrides it with a module-scoped one (tests/pages/trained.py).
    """
    path = tmp_path / "layerlab-home"
    monkeypatch.setenv("LAYERLAB_HOME", str(path))
    monkeypatch.delenv("LAYERLAB_RUNS_DIR", raising=False)
    return path


@pytest.fixture(scope="session")
def keras_loaded() -> None:
    """The model host started (TensorFlow loaded there), as on a server after the Build page's first visit: the
    page then checks the model in the same run instead of waiting for it (tests/pages/test_build_first_visit.py
    covers the visit before). Keras is imported here too, for tests that make models themselves."""
    import keras  # noqa: F401

    from layerlab.inference.remote import model_host

    model_host().wait_ready()
