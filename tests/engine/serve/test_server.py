"""A real `python -m layerlab serve` process on a free local port, serving a tiny run of every data kind (and two
runs of one project as two versions), with an API key and small limits, asked over real HTTP: answers equal
`layerlab predict`'s, both request formats, metadata and OpenAPI, health, /metrics, every bad request, and 8
concurrent clients."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from layerlab.serve.examples import example_input, example_request

pytestmark = pytest.mark.slow  # trains a tiny run of each kind once for the module

ROOT = Path(__file__).resolve().parents[3]
KEY = "test-key-0123456789"
LIMITS = {"LAYERLAB_UPLOAD_MB": "1", "LAYERLAB_PREDICT_ROWS": "64", "LAYERLAB_IMAGE_PIXELS": "250000"}
TEXTS = [("what a lovely smooth flight, great crew", "positive"), ("awful delay and rude staff again", "negative"),
         ("the plane left at noon", "neutral")] * 14


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Any]:
    """{name: Run}: digits (images), penguins twice (table, versions 1 and 2), a tiny text CSV, sunspots (series)."""
    import pandas as pd

    from layerlab.project import new_project
    from layerlab.runs.store import RunStore
    from layerlab.train.trainer import run_training

    root = tmp_path_factory.mktemp("serve")
    store = RunStore(root / "runs")
    texts = root / "reviews.csv"
    pd.DataFrame(TEXTS, columns=["review", "mood"]).to_csv(texts, index=False)
    specs = {"digits": new_project("sample:digits"), "penguins": new_project("sample:penguins"),
             "penguins2": new_project("sample:penguins").edit(**{"train.learning_rate": 0.01}),
             "reviews": new_project(str(texts), target="mood", text="review", name="Reviews"),
             "sunspots": new_project("sample:sunspots")}
    out = {}
    for name, spec in specs.items():
        run = run_training(store, store.create(spec.edit(**{"train.epochs": 1})).id)
        assert run.status == "completed", run.message
        out[name] = run
    return out


@pytest.fixture(scope="module")
def server(runs) -> Any:
    """The server's base URL; it is stopped with SIGTERM (and must exit 0) even when a test fails."""
    store_dir = str(runs["digits"].path.parent)
    args = [runs["digits"].id, runs["penguins"].id, str(runs["penguins2"].path), runs["reviews"].id,
            runs["sunspots"].id]
    env = {**os.environ, **LIMITS, "LAYERLAB_API_KEY": KEY}
    proc = subprocess.Popen([sys.executable, "-m", "layerlab", "serve", *args, "--port", "0", "--runs-dir", store_dir],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    err: list[str] = []
    threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True).start()  # never let the pipe fill
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("ready "):
                break
        assert lines and lines[-1].startswith("ready http://127.0.0.1:"), "".join(err)[-3000:]
        yield {"url": lines[-1].split()[1], "lines": lines, "log": err}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        assert rc == 0, "".join(err)[-3000:]


AUTH = {"Authorization": f"Bearer {KEY}"}
NAMES = {"digits": "Handwritten_digits", "penguins": "Palmer_penguins", "reviews": "Reviews",
         "sunspots": "Sunspots_per_year"}


def _post(server, path: str, body: Any = None, *, raw: bytes | None = None, headers=AUTH) -> requests.Response:
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(server["url"] + path, data=data, headers={**headers, "Content-Type": "application/json"},
                         timeout=60)


def _get(server, path: str, headers=AUTH) -> requests.Response:
    return requests.get(server["url"] + path, headers=headers, timeout=60)


def _close(a: Any, b: Any, tol: float = 1e-5) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return abs(a - b) <= tol
    return a == b


def _png(arr: np.ndarray, fmt: str = "PNG", size: int | None = None) -> bytes:
    from PIL import Image

    im = Image.fromarray(np.asarray(arr, dtype=np.uint8))
    if size:
        im = im.convert("RGB").resize((size, size))
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def _inputs_and_files(kind: str, run: Any, folder: Path) -> tuple[list[Any], list[Path]]:
    """Request instances of `kind` and the files `layerlab predict` reads for the same inputs."""
    import pandas as pd

    first = example_input(run.path)
    if kind == "images":
        png = base64.b64decode(first["b64"])
        from PIL import Image

        big = _png(np.asarray(Image.open(io.BytesIO(png))), "JPEG", size=40)  # another format and size
        files = [folder / "a.png", folder / "b.jpg"]
        for f, data in zip(files, (png, big)):
            f.write_bytes(data)
        return [{"b64": base64.b64encode(d).decode()} for d in (png, big)], files
    if kind == "table":
        second = {**first, "bill_length_mm": None, "sex": None}  # missing values, filled as in training
        pd.DataFrame([first, second]).to_csv(folder / "rows.csv", index=False)
        return [first, second], [folder / "rows.csv"]
    if kind == "text":
        texts = [first.replace("\n", " "), "nothing to say about this one"]
        (folder / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
        return texts, [folder / "texts.txt"]
    second = [v * 1.1 for v in first]
    files = [folder / "w1.csv", folder / "w2.csv"]
    for f, w in zip(files, (first, second)):
        pd.DataFrame({"sunspots": w}).to_csv(f, index=False)
    return [first, second], files


KINDS = {"images": "digits", "table": "penguins", "text": "reviews", "series": "sunspots"}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_answers_as_layerlab_predict_does_in_both_formats(server, runs, kind, tmp_path):
    from layerlab.inference.predictor import load_predictor

    run_key = KINDS[kind]
    run = runs["penguins2" if kind == "table" else run_key]  # the latest version answers by default
    name = NAMES[run_key]
    items, files = _inputs_and_files(kind, run, tmp_path)
    want = [{k: v for k, v in r.items() if k != "input"} for r in load_predictor(run.path).predict_files(files)]
    friendly = _post(server, f"/v1/models/{name}:classify", {"instances": items})
    assert friendly.status_code == 200, friendly.text
    assert _close(friendly.json()["results"], want), (friendly.json(), want)
    rows = _post(server, f"/v1/models/{name}:predict", {"instances": items})
    assert rows.status_code == 200, rows.text
    raw = rows.json()["predictions"]
    expected = [w["forecast"] if kind == "series" else list(w["probabilities"].values()) for w in want]
    assert _close(raw, expected)
    if kind == "table":
        columnar = {"inputs": {c: [row[c] for row in items] for c in items[0]}}
    elif kind == "images":
        columnar = {"inputs": {"b64": [i["b64"] for i in items]}}
    else:
        columnar = {"inputs": items}
    cols = _post(server, f"/v1/models/{name}:predict", columnar)
    assert cols.status_code == 200 and _close(cols.json()["outputs"], raw), cols.text


def test_ready_lines_and_the_model_list_show_names_versions_and_urls(server, runs):
    url = server["url"]
    assert f"model Palmer_penguins versions 1,2 {url}/v1/models/Palmer_penguins" in server["lines"]
    assert f"model Reviews versions 1 {url}/v1/models/Reviews" in server["lines"]
    listing = _get(server, "/v1/models").json()["models"]
    by_name = {m["name"]: m for m in listing}
    assert set(by_name) == set(NAMES.values())
    assert by_name["Palmer_penguins"]["url"] == f"{url}/v1/models/Palmer_penguins"
    assert [(v["version"], v["run_id"]) for v in by_name["Palmer_penguins"]["versions"]] == [
        (1, runs["penguins"].id), (2, runs["penguins2"].id)]
    assert by_name["Sunspots_per_year"]["versions"][0] | {"run_name": None} == {
        "version": 1, "run_id": runs["sunspots"].id, "run_name": None, "kind": "series", "task": "forecasting"}


def test_each_version_answers_with_its_own_run(server, runs):
    from layerlab.inference.predictor import load_predictor

    body = example_request(runs["penguins"].path)
    for number, key in ((1, "penguins"), (2, "penguins2")):
        got = _post(server, f"/v1/models/Palmer_penguins/versions/{number}:classify", body).json()["results"]
        assert _close(got, load_predictor(runs[key].path).predict_rows(body["instances"]))
    status = _get(server, "/v1/models/Palmer_penguins").json()["model_version_status"]
    assert [(s["version"], s["state"]) for s in status] == [("1", "AVAILABLE"), ("2", "AVAILABLE")]
    assert _get(server, "/v1/models/Palmer_penguins/versions/1").json()["model_version_status"][0]["version"] == "1"


def test_metadata_and_openapi_describe_each_models_real_input(server, runs):
    meta = _get(server, "/v1/models/Palmer_penguins/metadata").json()
    inputs = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]
    assert {"bill_length_mm", "island", "sex"} <= set(inputs) and inputs["bill_length_mm"]["dtype"] == "DT_FLOAT"
    assert inputs["island"]["dtype"] == "DT_STRING"
    assert meta["layerlab"]["class_names"] == ["Adelie", "Chinstrap", "Gentoo"]
    series = _get(server, "/v1/models/Sunspots_per_year/versions/1/metadata").json()["layerlab"]
    assert series["window"] == 30 and series["horizon"] == 5
    spec = _get(server, "/openapi.json").json()
    for key, name in NAMES.items():
        op = spec["paths"][f"/v1/models/{name}:predict"]["post"]["requestBody"]["content"]["application/json"]
        one = op["schema"]["oneOf"][0]["properties"]["instances"]["items"]
        run = runs["penguins2" if key == "penguins" else key]
        assert op["example"] == example_request(run.path)
        if key == "penguins":
            assert one["properties"]["bill_length_mm"]["type"] == ["number", "null"] and "island" in one["required"]
        elif key == "reviews":
            assert one["type"] == "string"
        elif key == "digits":
            assert one["required"] == ["b64"]
        else:
            assert one["minItems"] == 30 and "sunspots" in one["description"]
    assert _get(server, "/docs").status_code == 200


def test_health_is_open_and_everything_else_needs_the_key(server):
    for path in ("/v2/health/live", "/v2/health/ready"):
        assert _get(server, path, headers={}).status_code == 200
    assert _get(server, "/v2/models/Reviews/ready").json() == {"name": "Reviews", "ready": True}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        assert _get(server, "/v1/models", headers=headers).status_code == 401
        assert _post(server, "/v1/models/Reviews:predict", {"instances": ["hi"]}, headers=headers).status_code == 401
    assert KEY not in "".join(server["log"])


def _digit(size: int = 8, fmt: str = "PNG") -> dict[str, str]:
    return {"b64": base64.b64encode(_png(np.full((size, size), 200), fmt)).decode()}


PENGUIN = {"island": "Dream", "bill_length_mm": 39.5, "bill_depth_mm": 17.0, "flipper_length_mm": 190,
           "body_mass_g": 3500, "sex": "male", "year": 2008}
BAD = [  # (what, path, body or raw bytes, status, words in the error)
    ("bad JSON", "Palmer_penguins:predict", b'{"instances": [', 400, ["not valid JSON"]),
    ("no instances", "Palmer_penguins:predict", {"rows": []}, 400, ["`instances` or `inputs`"]),
    ("a missing column", "Palmer_penguins:predict", {"instances": [{"island": "Dream"}]}, 400,
     ["no column", "`bill_length_mm`"]),
    ("a word in a number column", "Palmer_penguins:classify", {"instances": [PENGUIN, {**PENGUIN, "bill_depth_mm": "deep"}]},
     400, ["`bill_depth_mm` should hold numbers", "row 2", "'deep'"]),
    ("a row that is not an object", "Palmer_penguins:predict", {"instances": [[1, 2]]}, 400,
     ["Row 1 should be an object"]),
    ("too many rows", "Palmer_penguins:predict", {"instances": [{}] * 65}, 400, ["65 inputs", "at most 64"]),
    ("a text that is not a string", "Reviews:predict", {"instances": ["fine", 5]}, 400,
     ["text 2 should be a string"]),
    ("an image that is not b64", "Handwritten_digits:predict", {"instances": ["abc"]}, 400,
     ["instances[0]", '{"b64"']),
    ("invalid base64", "Handwritten_digits:predict", {"instances": [{"b64": "@@not base64@@"}]}, 400,
     ["instances[0].b64 is not valid base64"]),
    ("not an image", "Handwritten_digits:predict",
     {"instances": [{"b64": base64.b64encode(b"hello, world").decode()}]}, 400, ["instances[0].b64", "not an image"]),
    ("too many pixels", "Handwritten_digits:predict", {"instances": [_digit(600)]}, 400,
     ["instances[0].b64", "more pixels than the limit of 250,000"]),
    ("a window too short", "Sunspots_per_year:predict", {"instances": [[1.0, 2.0]]}, 400,
     ["instances[0]", "at least 30 rows"]),
    ("a NaN in a window", "Sunspots_per_year:predict", b'{"instances": [[' + b"1," * 29 + b"NaN]]}", 400,
     ["instances[0]", "missing values"]),
    ("Infinity", "Sunspots_per_year:predict", b'{"inputs": [[' + b"1," * 29 + b"Infinity]]}", 400, ["Infinity"]),
    ("an unknown model", "nobody:predict", {"instances": [1]}, 404, ["no model 'nobody'", "`Reviews`"]),
    ("an unknown version", "Reviews/versions/3:predict", {"instances": ["x"]}, 404, ["no version '3'", "1"]),
    ("a version that is not a number", "Reviews/versions/latest:predict", {"instances": ["x"]}, 404,
     ["no version 'latest'"]),
    ("a body too big", "Reviews:predict", {"instances": ["x" * (2**20 + 10)]}, 413, ["larger than 1 MB"]),
]


@pytest.mark.parametrize("what, path, body, status, words", BAD, ids=[b[0] for b in BAD])
def test_every_bad_request_gets_a_4xx_naming_the_field(server, what, path, body, status, words):
    r = _post(server, f"/v1/models/{path}", raw=body if isinstance(body, bytes) else None,
              body=None if isinstance(body, bytes) else body)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"} and all(w in r.json()["error"] for w in words), r.json()
    assert "Traceback" not in r.text


def test_the_server_is_still_ready_after_the_bad_requests(server):
    # Runs after the table above (file order): nothing it sent broke the server.
    assert _get(server, "/v2/health/ready").json() == {"ready": True}
    assert _post(server, "/v1/models/Reviews:predict", {"instances": ["still here?"]}).status_code == 200
    assert not any("Traceback" in line for line in server["log"])


def _metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_eight_concurrent_clients_all_answered_and_batched(server, runs):
    body = example_request(runs["penguins2"].path)
    before = _get(server, "/metrics").text
    errors: list[str] = []
    answers: list[int] = []

    def client() -> None:
        with requests.Session() as s:
            for _ in range(200):
                r = s.post(server["url"] + "/v1/models/Palmer_penguins:predict", json=body, headers=AUTH, timeout=60)
                if r.status_code != 200 or len(r.json()["predictions"]) != 1:
                    errors.append(r.text[:200])
                answers.append(r.status_code)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(answers) == 1600
    after = _get(server, "/metrics").text
    labels = {"model": "Palmer_penguins", "route": "predict", "code": "200"}
    assert _metric(after, "layerlab_requests_total", **labels) - _metric(before, "layerlab_requests_total",
                                                                         **labels) == 1600
    calls = _metric(after, "layerlab_batch_size_count", model="Palmer_penguins")
    singles = _metric(after, "layerlab_batch_size_bucket", model="Palmer_penguins", le="1")
    inputs = _metric(after, "layerlab_batch_size_sum", model="Palmer_penguins")
    assert calls > singles, "no model call took more than one request"
    assert inputs >= 1600 and calls < inputs
    assert re.search(r'layerlab_request_duration_seconds_count\{model="Palmer_penguins"\} \d+', after)
