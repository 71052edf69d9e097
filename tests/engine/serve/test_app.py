"""The server's application in-process, on a toy series model that needs no TensorFlow: batching, the
per-request timeout (504), NaN outputs, the API key, errors as {"error": …} and /metrics. The real server on
real runs is tested in test_server.py."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerlab.data.info import DataInfo
from layerlab.inference.predictor import Predictor
from layerlab.serve.app import build_app
from layerlab.serve.catalog import Model, RunRef, Version
from layerlab.spec import load_spec

WINDOW, HORIZON = 4, 2


class ToyModel:
    """Forecasts the window's last value for every step; a window holding 13 gives NaN; sleeps `delay` s."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay, self.calls, self.threads = delay, [], set()

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.calls.append(len(x))
        self.threads.add(threading.get_ident())
        time.sleep(self.delay)
        out = np.repeat(x[:, -1, :1], HORIZON, axis=1)
        out[(x == 13).any(axis=(1, 2))] = np.nan
        return out


def _app(tmp_path: Path, model: ToyModel, *copies: ToyModel, **options: Any) -> Any:
    info = DataInfo("series", "forecasting", (WINDOW, 1), outputs=HORIZON,
                    extra={"window": WINDOW, "features": ["level"], "targets": ["level"], "horizon": HORIZON})
    spec = load_spec({"data": {"kind": "series", "source": "sample:test", "task": "forecasting"}})
    ref = RunRef("run-1", "toy #1", "toy", 0.0, tmp_path)
    predictors = [Predictor(tmp_path, m, info, spec) for m in (model, *copies)]
    toy = Model("toy", {1: Version(1, ref, predictors, "series", "forecasting")})
    return build_app({"toy": toy}, **options)


def _requests(app: Any, calls: list[tuple[str, str, Any]], headers: dict[str, str] | None = None) -> list[Any]:
    """Send `calls` ((method, path, json body or raw bytes)) at once, with the app's lifespan around them."""
    import httpx

    async def go() -> list[Any]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as client:
                def one(method: str, path: str, body: Any) -> Any:
                    if isinstance(body, bytes):
                        return client.request(method, path, content=body)
                    return client.request(method, path, json=body)
                return await asyncio.gather(*(one(*c) for c in calls))

    # In a thread of its own: a worker that ran a browser test before has Playwright's loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def _window(*values: float) -> list[float]:
    return [0.0] * (WINDOW - len(values)) + list(values)


def test_concurrent_requests_are_answered_in_one_model_call_each_with_its_own_answer(tmp_path):
    model = ToyModel(delay=0.02)
    app = _app(tmp_path, model, max_batch=32, wait_s=0.01)
    calls = [("POST", "/v1/models/toy:predict", {"instances": [_window(100 + i)]}) for i in range(20)]
    answers = _requests(app, calls)
    for i, r in enumerate(answers):
        assert r.status_code == 200 and r.json() == {"predictions": [[100.0 + i] * HORIZON]}
    assert max(model.calls) > 1 and sum(model.calls) == 20  # every input once, several per call
    (metrics,) = _requests(app, [("GET", "/metrics", None)])
    assert f'layerlab_batch_size_count{{model="toy"}} {len(model.calls)}' in metrics.text
    assert len(model.threads) == 1  # one inference thread per model copy: predict is not thread-safe


def test_max_batch_one_turns_batching_off(tmp_path):
    model = ToyModel()
    app = _app(tmp_path, model, max_batch=1, wait_s=0.0)
    answers = _requests(app, [("POST", "/v1/models/toy:predict", {"instances": [_window(i)]}) for i in range(6)])
    assert [r.status_code for r in answers] == [200] * 6 and model.calls == [1] * 6


def test_a_request_slower_than_the_timeout_gets_504_and_the_server_goes_on(tmp_path):
    app = _app(tmp_path, ToyModel(delay=0.3), timeout_s=0.05)
    slow, health = _requests(app, [("POST", "/v1/models/toy:predict", {"instances": [_window(1)]}),
                                   ("GET", "/v2/health/ready", None)])
    assert slow.status_code == 504 and "did not answer within" in slow.json()["error"]
    assert health.status_code == 200


def test_nan_outputs_come_back_as_null_so_the_json_stays_valid(tmp_path):
    import json

    app = _app(tmp_path, ToyModel())
    raw, friendly = _requests(app, [("POST", "/v1/models/toy:predict", {"instances": [_window(13), _window(2)]}),
                                    ("POST", "/v1/models/toy:classify", {"instances": [_window(13)]})])
    assert json.loads(raw.text) == {"predictions": [[None, None], [2.0, 2.0]]}
    assert friendly.json()["results"][0]["forecast"] == [[None], [None]]
    assert "NaN" not in raw.text + friendly.text


def test_an_api_key_guards_every_route_but_health(tmp_path):
    app = _app(tmp_path, ToyModel(), api_key="s3cret")
    body = {"instances": [_window(1)]}
    calls = [("POST", "/v1/models/toy:predict", body), ("GET", "/v1/models", None), ("GET", "/metrics", None),
             ("GET", "/openapi.json", None), ("GET", "/v2/health/live", None), ("GET", "/v2/health/ready", None)]
    without = _requests(app, calls)
    assert [r.status_code for r in without] == [401, 401, 401, 401, 200, 200]
    assert "Authorization: Bearer" in without[0].json()["error"]
    wrong = _requests(app, calls[:1], headers={"Authorization": "Bearer s3creT"})
    right = _requests(app, calls[:1], headers={"Authorization": "Bearer s3cret"})
    assert wrong[0].status_code == 401 and right[0].status_code == 200


def test_fastapi_validation_and_unknown_routes_answer_as_json_errors(tmp_path):
    app = _app(tmp_path, ToyModel())
    answers = _requests(app, [("GET", "/nowhere", None), ("DELETE", "/v1/models", None),
                              ("GET", "/v1/models/toy:predict", None), ("GET", "/v1/models/other", None)])
    assert [r.status_code for r in answers] == [404, 405, 404, 404]
    assert all(set(r.json()) == {"error"} for r in answers)
    assert "`toy`" in answers[3].json()["error"]


@pytest.mark.parametrize("body, words", [
    (b'{"instances": [[0, 0, 1, NaN]]}', ["instances[0]", "missing values"]),
    (b'{"instances": [[1, 2, Infinity, 4]]}', ["Infinity"]),
    ({"instances": [[1, 2]]}, ["instances[0]", f"at least {WINDOW} rows"]),
    ({"instances": [["a", "b", "c", "d"]]}, ["instances[0]", "numbers"]),
    ({"instances": [{"other": [1, 2, 3, 4]}]}, ["instances[0]", "`level`"]),
    ({"inputs": {"level": [[1, 2, 3, 4]], "x": [1, 2]}}, ["lengths differ"]),
    ({"instances": []}, ["`instances` is empty"]),
    ({"instances": {"level": 1}}, ["`instances` should be a list"]),
])
def test_bad_series_inputs_name_the_field(tmp_path, body, words):
    (r,) = _requests(_app(tmp_path, ToyModel()), [("POST", "/v1/models/toy:predict", body)])
    assert r.status_code == 400, r.text
    assert all(w in r.json()["error"] for w in words), r.json()


def test_series_inputs_by_column_and_columnar(tmp_path):
    app = _app(tmp_path, ToyModel())
    a, b = _requests(app, [("POST", "/v1/models/toy:predict", {"instances": [{"level": _window(5)}]}),
                           ("POST", "/v1/models/toy:predict", {"inputs": [_window(5), _window(6)]})])
    assert a.json() == {"predictions": [[5.0, 5.0]]}
    assert b.json() == {"outputs": [[5.0, 5.0], [6.0, 6.0]]}


def test_metrics_count_requests_errors_latency_and_batch_sizes_by_model(tmp_path):
    app = _app(tmp_path, ToyModel())
    _requests(app, [("POST", "/v1/models/toy:predict", {"instances": [_window(1)]}),
                    ("POST", "/v1/models/toy:predict", {"instances": []})])
    (metrics,) = _requests(app, [("GET", "/metrics", None)])
    assert metrics.headers["content-type"].startswith("text/plain")
    for line in ('layerlab_requests_total{model="toy",route="predict",code="200"} 1',
                 'layerlab_requests_total{model="toy",route="predict",code="400"} 1',
                 'layerlab_request_errors_total{model="toy"} 1',
                 'layerlab_request_duration_seconds_count{model="toy"} 2',
                 'layerlab_batch_size_bucket{model="toy",le="1"} 1'):
        assert line in metrics.text.splitlines(), line


def test_a_lone_request_never_waits_for_a_batch_to_fill(tmp_path):
    app = _app(tmp_path, ToyModel(), wait_s=1.0)
    started = time.perf_counter()
    (r,) = _requests(app, [("POST", "/v1/models/toy:predict", {"instances": [_window(1)]})])
    assert r.status_code == 200 and time.perf_counter() - started < 0.8


def test_each_copy_of_a_model_answers_on_its_own_thread(tmp_path):
    first, second = ToyModel(delay=0.05), ToyModel(delay=0.05)
    app = _app(tmp_path, first, second, max_batch=1)
    answers = _requests(app, [("POST", "/v1/models/toy:predict", {"instances": [_window(i)]}) for i in range(8)])
    assert [r.status_code for r in answers] == [200] * 8
    assert first.calls and second.calls and first.threads != second.threads  # `serve --workers 2`
