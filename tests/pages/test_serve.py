"""Serve page: no run yet → what to do; a finished run → start a real model server, see it ready, send the
test request, read the snippets and figures, find it again after a reload (not from another session), stop it."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from layerlab.runs.store import RunStore
from layerlab.serve import manage
from tests.pages.trained import (
    OWNER,
    digits_spec,
    page_links,
    shared_home,  # noqa: F401 - this module's "home" fixture
    train_digits,
)

PAGE = "pages/serve.py"
OTHER = "fedcba9876543210"


@pytest.fixture(scope="module")
def finished(home):
    return train_digits(RunStore(), OWNER)


def _open(app, owner: str = OWNER, **state):
    return app(PAGE, state={"project": digits_spec(), "pid": owner, **state}, timeout=120)


def test_without_a_finished_run_it_says_to_train_one(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path / "no-runs"))
    at = _open(app)

    assert not at.exception
    assert at.title[0].value == "Serve"
    assert "No finished run yet" in at.info[0].value
    assert page_links(at)["Go to Train"] == "train"
    assert not at.button  # nothing to start


@pytest.mark.slow
def test_a_refused_start_says_why(app, finished, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAYERLAB_SERVERS", "0")
    at = _open(app, run_id=finished.id)
    assert at.multiselect(key="serve_runs").value == [finished.id]
    at.button(key="serve_start").click().run()

    assert not at.exception
    assert "the most it may" in at.error[0].value and "Stop one before starting another" in at.error[0].value
    assert manage.list_servers(OWNER) == []


@pytest.mark.slow
def test_start_test_request_reload_and_stop(app, finished):
    at = _open(app, run_id=finished.id)
    at.button(key="serve_start").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    (server,) = manage.list_servers(OWNER)
    try:
        assert server.ready and server.url.startswith("http://127.0.0.1:")
        assert server.url in [c.value for c in at.code]
        assert any("Ready" in m.value for m in at.markdown)

        at.button(key=f"serve_test_{server.id}").click().run()
        assert not at.exception and "answered **200**" in at.success[0].value
        answer = json.loads(at.json[1].value)
        assert len(answer["predictions"]) == 1 and len(answer["predictions"][0]) == 10  # ten digit classes
        curl = next(c.value for c in at.code if c.value.startswith("curl"))
        body = json.loads(shlex.split(curl.replace("\\\n", " "))[-1])
        assert body == manage.example_for(server, server.models[0]["name"])
        assert f"{server.url}/v1/models/{server.models[0]['name']}:predict" in curl
        metrics = {m.label: m.value for m in at.metric}
        assert set(metrics) == {"Requests", "Errors", "p50 latency", "p95 latency"}

        again = _open(app, run_id=finished.id)  # a reload: a new session of the same owner finds it
        assert server.url in [c.value for c in again.code]
        assert int({m.label: m.value for m in again.metric}["Requests"]) >= 1
        stranger = _open(app, owner=OTHER)
        assert server.url not in [c.value for c in stranger.code] and not stranger.exception

        at.button(key=f"serve_stop_{server.id}").click().run()
        assert not at.exception
        assert manage.list_servers(OWNER) == [] and not manage._serving(server.pid)
        assert server.url not in [c.value for c in at.code]
    finally:
        for left in manage.list_servers(OWNER):
            manage.stop_server(left.id, OWNER)


@pytest.mark.slow
def test_a_page_opened_while_its_server_starts_shows_it_ready_once_it_is(app, finished):
    server = manage.start_server([RunStore().get(finished.id)], OWNER)
    try:
        at = _open(app, run_id=finished.id)  # e.g. a reload right after Start serving
        assert not at.exception
        assert any("Starting" in m.value for m in at.markdown) and "Loading its models…" in [c.value for c in at.caption]
        manage.wait_ready(server)
        at.run()  # the fragment's next look (AppTest runs timed fragments on run())
        assert any("Ready" in m.value for m in at.markdown) and not at.exception
        assert manage.get_server(server.id, OWNER).url in [c.value for c in at.code]
    finally:
        manage.stop_server(server.id, OWNER)
