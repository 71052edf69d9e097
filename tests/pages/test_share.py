"""Issue #20: a run id alone shows nothing; the Share button's view link shows one run read-only.

Two sessions: ALICE owns a trained run; the other session is a fresh AppTest (its own owner secret).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from layerlab import sharing
from layerlab.runs.store import RunStore
from tests.pages.markdown import plain
from tests.pages.trained import OWNER as ALICE
from tests.pages.trained import (
    digits_spec,
    shared_home,  # noqa: F401 - this module's "home" fixture
    train_digits,
)

pytestmark = pytest.mark.slow  # a real (one-epoch) run serves the module
PAGES = ("pages/evaluate.py", "pages/predict.py", "pages/train.py", "pages/runs.py")
NAME = "alice's digits"


@pytest.fixture(scope="module")
def run(home):
    return train_digits(RunStore(), ALICE, name=NAME)


def _texts(at) -> str:
    kinds = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success", "code")
    return plain("\n".join(str(e.value) for kind in kinds for e in getattr(at, kind)))


def _shows_nothing_of(at, run) -> None:
    assert not at.exception
    assert NAME not in _texts(at) + "\n".join(str(s.options) for s in at.selectbox)
    assert all(NAME not in d.value.to_csv() for d in at.dataframe)
    assert not at.get("plotly_chart") and not at.get("download_button")
    assert at.session_state["pid"] != ALICE and "run_id" not in at.session_state


@pytest.mark.parametrize("page", PAGES)
def test_a_run_id_in_the_url_shows_nothing_of_another_sessions_run(app, run, page):
    """Finding 2: another session adding `&run=<id>` to its own URL saw Evaluate with test-set rows. (`p=` was
    that session's own key in the URL then; it is ignored now.)"""
    at = app(page, state={"project": digits_spec()}, query_params={"p": "1111111111111111", "run": run.id})

    _shows_nothing_of(at, run)
    assert "not yours and was not shared with you" in _texts(at)
    assert "run" not in at.query_params


def _make_link(app, run, **options: bool) -> str:
    at = app("pages/runs.py", state={"project": digits_spec(), "pid": ALICE, "runs_selected": [run.id]})
    for key, on in options.items():
        if on:
            at.checkbox(key=f"share_{key}").check()
    next(b for b in at.button if b.label == "Create link").click().run()
    assert not at.exception
    link = at.code[0].value
    assert "Copy the link now" in _texts(at)
    return parse_qs(urlsplit(link).query)["share"][0]


def test_a_view_link_shows_the_run_read_only_without_the_test_rows(app, run):
    token = _make_link(app, run, allow_model=True)

    at = app(query_params={"share": token})

    assert not at.exception
    assert at.title[0].value.startswith("Shared run: ") and NAME in _texts(at)
    assert "Confusion matrix" in _texts(at)  # metrics
    assert at.get("plotly_chart")  # curves and the confusion matrix
    assert "Most confident mistakes" not in _texts(at)  # no rows of the test set unless allowed
    assert at.download_button(key="shared_download").proto.label == "Download model.keras"
    keys = {b.key for b in at.button}
    assert not keys & {"runs_delete", "runs_stop", "runs_make_current", "train_continue"}
    assert not [t for t in at.text_input if (t.key or "").startswith("runs_name")]
    assert not at.get("page_link") and "_pages" not in at.session_state  # no way into the other pages


def test_test_rows_and_the_model_only_when_the_owner_allowed_them(app, run):
    token = _make_link(app, run, allow_rows=True)

    at = app(query_params={"share": token})

    assert not at.exception
    assert "Most confident mistakes" in _texts(at)
    assert not [d for d in at.get("download_button") if d.key == "shared_download"]


def test_a_revoked_link_shows_nothing(app, run):
    token = _make_link(app, run)
    share = sharing.check(RunStore(), token)
    at = app("pages/runs.py", state={"project": digits_spec(), "pid": ALICE, "runs_selected": [run.id]})
    at.button(key=f"share_revoke_{share.id}").click().run()
    assert not at.exception and sharing.check(RunStore(), token) is None
    assert "revoked" in _texts(at)

    at = app(query_params={"share": token})

    assert "revoked, it expired, or it was never made" in _texts(at)
    assert NAME not in _texts(at) and not at.get("plotly_chart")


def test_a_made_up_token_shows_nothing(app, run):
    at = app(query_params={"share": "x" * 43, "run": run.id})

    assert "revoked, it expired, or it was never made" in _texts(at)
    assert NAME not in _texts(at) and not at.get("plotly_chart")
