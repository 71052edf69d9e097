"""Model servers started for a session (layerlab.serve.manage): the parts that need no model first (reading
/metrics, the snippets, who may stop what, housekeeping, a server that fails to start), then a real
`layerlab serve` for a trained run: ready, listed, a test request, its figures, stopped."""

from __future__ import annotations

import ast
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from layerlab.errors import LayerlabError
from layerlab.serve import manage

ME, OTHER = "0123456789abcdef", "fedcba9876543210"

METRICS = """\
# HELP layerlab_requests_total Requests by model, route and status code.
# TYPE layerlab_requests_total counter
layerlab_requests_total{model="digits",route="predict",code="200"} 7
layerlab_requests_total{model="digits",route="predict",code="400"} 2
layerlab_requests_total{model="penguins",route="classify",code="200"} 1
layerlab_requests_total{model="",route="metrics",code="200"} 40
# TYPE layerlab_request_errors_total counter
layerlab_request_errors_total{model="digits"} 2
layerlab_request_errors_total{model=""} 3
# TYPE layerlab_request_duration_seconds histogram
layerlab_request_duration_seconds_bucket{model="digits",le="0.005"} 2
layerlab_request_duration_seconds_bucket{model="digits",le="0.01"} 6
layerlab_request_duration_seconds_bucket{model="digits",le="0.05"} 9
layerlab_request_duration_seconds_bucket{model="digits",le="+Inf"} 9
layerlab_request_duration_seconds_sum{model="digits"} 0.08
layerlab_request_duration_seconds_count{model="digits"} 9
layerlab_request_duration_seconds_bucket{model="penguins",le="0.005"} 0
layerlab_request_duration_seconds_bucket{model="penguins",le="0.01"} 1
layerlab_request_duration_seconds_bucket{model="penguins",le="0.05"} 1
layerlab_request_duration_seconds_bucket{model="penguins",le="+Inf"} 1
layerlab_batch_size_bucket{model="digits",le="1"} 9
a line that is not a sample
"""


def test_metrics_text_is_read_into_requests_errors_and_latency_quantiles():
    samples = manage.parse_prometheus(METRICS)
    assert ("layerlab_requests_total", {"model": "digits", "route": "predict", "code": "400"}, 2.0) in samples
    assert all(not name.startswith("#") for name, _, _ in samples)
    figures = manage.summarize(samples)
    assert figures["requests"] == 10 and figures["errors"] == 2  # requests to models only, not /metrics itself
    # 10 requests over both models: buckets 2, 7, 10 (le 5 ms, 10 ms, 50 ms). The 5th lies in (5, 10] ms
    # at (5 - 2) / (7 - 2) of it; the 9.5th in (10, 50] ms at (9.5 - 7) / (10 - 7).
    assert figures["p50_ms"] == pytest.approx(5 + 5 * 3 / 5)
    assert figures["p95_ms"] == pytest.approx(10 + 40 * 2.5 / 3)


def test_quantiles_of_an_empty_or_overflowing_histogram():
    assert manage.quantile(0.5, []) is None
    assert manage.quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None
    assert manage.quantile(0.95, [(0.1, 1.0), (float("inf"), 10.0)]) == 0.1  # beyond the last bound: that bound
    assert manage.summarize([])["p95_ms"] is None


def test_the_snippets_send_exactly_the_body_even_with_quotes_and_missing_values(monkeypatch):
    body = {"instances": [{"name": "O'Brien's \"pub\"", "x": 1.5, "gap": None, "flag": True}]}
    url = "http://127.0.0.1:8500/v1/models/m:predict"
    made = manage.snippets(url, body)
    words = shlex.split(made["curl"].replace("\\\n", " "))
    assert words[:4] == ["curl", "-s", "-X", "POST"] and url in words
    assert json.loads(words[words.index("-d") + 1]) == body
    posted = []
    answer = SimpleNamespace(json=lambda: {"predictions": []})
    monkeypatch.setitem(sys.modules, "requests", SimpleNamespace(post=lambda *a, **k: posted.append((a, k)) or answer))
    exec(made["python"], {})  # noqa: S102 - our own generated snippet, with a stand-in for requests
    assert posted == [((url,), {"json": body, "timeout": 30})]


def _fake_server(folder: Path, owner: str, *, ignore_term: bool = False) -> manage.Server:
    """A recorded server whose process is a sleeping Python that looks like `layerlab serve` to `_serving`."""
    code = "import signal, time\n" + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore_term else "") + \
        "time.sleep(120)"
    proc = subprocess.Popen([sys.executable, "-c", code, "layerlab", "serve"], start_new_session=True)
    folder.mkdir(parents=True, exist_ok=True)
    server_id = f"{proc.pid:012x}"[-12:]
    record = {"id": server_id, "owner": owner, "pid": proc.pid, "runs": [], "started": time.time(),
              "url": "http://127.0.0.1:1", "models": []}
    (folder / f"{server_id}.json").write_text(json.dumps(record))
    (folder / f"{server_id}.log").write_text("ready http://127.0.0.1:1\n")
    return manage.get_server(server_id, owner, folder)


def test_only_the_owner_sees_and_stops_its_server(tmp_path):
    folder = tmp_path / "servers"
    mine = _fake_server(folder, ME)
    assert mine.alive and mine.ready and [s.id for s in manage.list_servers(ME, folder)] == [mine.id]
    assert manage.list_servers(OTHER, folder) == []
    for attempt in (lambda: manage.stop_server(mine.id, OTHER, folder), lambda: manage.get_server(mine.id, OTHER, folder),
                    lambda: manage.stop_server("../../etc", ME, folder)):
        with pytest.raises(LayerlabError, match="not one of this session's"):
            attempt()
    assert manage.get_server(mine.id, ME, folder).alive  # still serving after the refusals
    manage.stop_server(mine.id, ME, folder)
    assert not manage._serving(mine.pid) and list(folder.iterdir()) == []


def test_a_server_that_ignores_sigterm_is_killed(tmp_path, monkeypatch):
    monkeypatch.setattr(manage, "STOP_GRACE_S", 0.5)
    stubborn = _fake_server(tmp_path / "servers", ME, ignore_term=True)
    time.sleep(0.3)  # let it install its SIGTERM handler
    manage.stop_server(stubborn.id, ME, tmp_path / "servers")
    assert not manage._serving(stubborn.pid)


def test_housekeeping_stops_the_servers_of_sessions_gone_and_forgets_ended_ones(tmp_path):
    import os

    from layerlab.housekeeping import sweep_servers, touch_session

    folder = tmp_path / "servers"
    gone, here = _fake_server(folder, OTHER), _fake_server(folder, ME)
    old = time.time() - 3 * 86400
    os.utime(folder / f"{gone.id}.json", (old, old))  # started long ago, its session never seen since
    os.utime(folder / f"{here.id}.json", (old, old))
    touch_session(ME, root=tmp_path)  # ME is still using the app: its server's record is marked seen
    ended = _fake_server(folder, ME)
    os.killpg(ended.pid, 9)
    os.waitpid(ended.pid, 0)
    assert set(sweep_servers(24, root=tmp_path)) == {gone.id, ended.id}
    assert not manage._serving(gone.pid) and manage._serving(here.pid)
    assert [s.id for s in manage.all_servers(folder)] == [here.id]
    manage.stop_server(here.id, ME, folder)


def test_a_server_that_cannot_start_says_why_and_is_forgotten(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path))
    empty = tmp_path / "not-a-run"
    empty.mkdir()
    run = SimpleNamespace(id="x", name="not a run", path=empty, has_model=True)
    server = manage.start_server([run], ME)
    with pytest.raises(LayerlabError, match=r"^The model server did not start: \S") as caught:
        manage.wait_ready(server, timeout=60)
    assert "Traceback" not in str(caught.value)
    assert manage.list_servers(ME) == []
    with pytest.raises(LayerlabError, match="has no saved model"):
        manage.start_server([SimpleNamespace(id="y", name="half", path=empty, has_model=False)], ME)


# --------------------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def served(digits_run, tmp_path_factory):
    """One real `layerlab serve` of a trained digits run for this module, started as the Serve page does."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAYERLAB_HOME", str(tmp_path_factory.mktemp("serve-home")))
        server = manage.start_server([digits_run], ME)
        try:
            yield manage.wait_ready(server, timeout=180)
        finally:
            manage._end(server.pid)


@pytest.mark.slow
def test_a_started_server_is_ready_on_loopback_and_listed_for_its_owner(served, digits_run):
    assert served.url.startswith("http://127.0.0.1:") and served.docs_url == served.url + "/docs"
    (model,) = served.models
    assert model["versions"] == [1] and model["url"] == f"{served.url}/v1/models/{model['name']}"
    (listed,) = manage.list_servers(ME)
    assert listed.id == served.id and listed.ready and listed.runs[0]["id"] == digits_run.id
    assert manage.list_servers(OTHER) == []


@pytest.mark.slow
def test_the_test_request_answers_and_the_figures_count_it(served):
    from layerlab.inference.predictor import load_predictor

    name = served.models[0]["name"]
    before = manage.live_figures(served)
    sent = manage.send_test_request(served, name)
    assert sent["status"] == 200 and sent["url"] == f"{served.url}/v1/models/{name}:predict"
    (got,) = sent["response"]["predictions"]
    pred = load_predictor(served.runs[0]["dir"])
    assert len(got) == len(pred.info.class_names) and sum(got) == pytest.approx(1.0, abs=1e-4)
    status, _ = manage._http(f"{served.url}/v1/models/{name}:predict", {"instances": [{"b64": "not base64!"}]})
    assert status == 400
    after = manage.live_figures(served)
    assert after["requests"] >= before["requests"] + 2 and after["errors"] == before["errors"] + 1
    assert after["p50_ms"] is not None and 0 < after["p50_ms"] <= after["p95_ms"]


@pytest.mark.slow
def test_the_snippets_run_as_shown_against_the_server(served, capsys):
    name = served.models[0]["name"]
    made = manage.snippets(manage.predict_url(served, name), manage.example_for(served, name))
    curl = subprocess.run(["bash", "-c", made["curl"]], capture_output=True, text=True, timeout=60, check=False)
    assert curl.returncode == 0 and len(json.loads(curl.stdout)["predictions"]) == 1, curl.stderr
    exec(made["python"], {})  # noqa: S102 - our own generated snippet, with the real requests
    printed = capsys.readouterr().out
    assert printed.startswith("{'predictions': [[")
    assert ast.literal_eval(printed.strip())["predictions"] == json.loads(curl.stdout)["predictions"]


@pytest.mark.slow
def test_another_session_cannot_stop_it_and_its_owner_can(served):
    with pytest.raises(LayerlabError, match="not one of this session's"):
        manage.stop_server(served.id, OTHER)
    assert manage.get_server(served.id, ME).ready
    manage.stop_server(served.id, ME)
    assert not manage._serving(served.pid) and manage.list_servers(ME) == []
    with pytest.raises(LayerlabError, match="did not answer"):
        manage.live_figures(served)
