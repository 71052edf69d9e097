"""The model server's HTTP application: TensorFlow Serving's REST routes, a friendly `:classify`, KServe's
health routes, `/metrics`, and an OpenAPI schema built from each served model's real inputs.

Routes are added per served model (`/v1/models/penguins:predict`, …) so that `/docs` shows each model's own
input with a real example; any other model name reaches a catch-all that answers 404 naming the served models.
Every answer is JSON (`{"error": …}` for errors, never a traceback or a NaN).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException

from layerlab.errors import LayerlabError
from layerlab.serve import payload
from layerlab.serve.batching import Batcher
from layerlab.serve.catalog import Model, Version
from layerlab.serve.metrics import Metrics
from layerlab.serve.schema import metadata, request_schema

ACCESS = logging.getLogger("layerlab.serve.access")
LOG = logging.getLogger("layerlab.serve")
HEALTH = "/v2/health/"


class ServeError(Exception):
    """An answer other than 200, with its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def build_app(models: dict[str, Model], *, api_key: str | None = None, max_batch: int = 32,
              wait_s: float = 0.002, timeout_s: float = 30.0, body_bytes: int = 200 * 2**20,
              examples: dict[str, Any] | None = None) -> FastAPI:
    """The application serving `models` (already loaded).

    Args:
        api_key: when set, every route but `/v2/health/*` needs `Authorization: Bearer <key>`.
        max_batch, wait_s: batching (see `layerlab.serve.batching`); max_batch 1 turns it off.
        timeout_s: a request still unanswered after this gets 504.
        body_bytes: larger request bodies get 413.
        examples: {model name: example request body} for `/docs`.
    """
    metrics = Metrics()
    batchers = {(m.name, v.number): Batcher(v.predictors, max_batch, wait_s,
                                            lambda n, name=m.name: metrics.batch.observe(name, n))
                for m in models.values() for v in m.versions.values()}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        for b in batchers.values():
            b.start()
        yield
        for b in batchers.values():
            await b.stop()

    app = FastAPI(title="Layerlab model server", lifespan=lifespan,
                  description="Models trained in Layerlab, served with TensorFlow Serving's REST API. "
                              "Models: " + ", ".join(models) + ".")
    app.add_middleware(Operations, metrics=metrics, api_key=api_key)

    @app.exception_handler(ServeError)
    async def _serve_error(request: Request, exc: ServeError) -> JSONResponse:
        return error(exc.status, exc.message)

    @app.exception_handler(LayerlabError)
    async def _user_error(request: Request, exc: LayerlabError) -> JSONResponse:
        return error(400, str(exc))

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error(404, f"There is no route {request.method} {request.url.path[:200]}; see /docs.")
        if exc.status_code == 405:
            return error(405, f"{request.url.path[:200]} does not take {request.method}; see /docs.")
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in exc.errors()[:5]]
        return error(422, "The request is not valid: " + "; ".join(parts) + ".")

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        LOG.exception("unexpected error answering %s %s", request.method, request.url.path)
        return error(500, "The server failed to answer this request; its log says why.")

    # ---- health and listing ----------------------------------------------------------------------

    @app.get("/v2/health/live", tags=["health"], summary="The server is running")
    async def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready", tags=["health"], summary="Every model is loaded and answering")
    async def ready() -> dict[str, bool]:
        return {"ready": True}

    @app.get("/v1/models", tags=["models"], summary="The served models and their versions (Layerlab)")
    async def listing(request: Request) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        return {"models": [{"name": m.name, "url": f"{base}/v1/models/{m.name}",
                            "versions": [v.describe() for v in m.versions.values()]} for m in models.values()]}

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.text(), media_type="text/plain; version=0.0.4")

    # ---- each model ------------------------------------------------------------------------------

    for model in models.values():
        _model_routes(app, model, batchers, timeout_s, body_bytes, (examples or {}).get(model.name))

    served = ", ".join(f"`{n}`" for n in models)

    @app.api_route("/v1/models/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
    @app.api_route("/v2/models/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
    async def unknown(request: Request, rest: str) -> JSONResponse:
        name = rest.split("/", 1)[0].split(":", 1)[0][:80]
        if name in models:
            return error(404, f"There is no route {request.method} {request.url.path[:200]}; see /docs.")
        return error(404, f"There is no model {name!r} on this server; it serves {served}.")

    return app


def _model_routes(app: FastAPI, model: Model, batchers: dict[tuple[str, int], Batcher], timeout_s: float,
                  body_bytes: int, example: Any) -> None:
    """TensorFlow Serving's and Layerlab's routes for one model, with and without `/versions/{version}`."""
    name = model.name
    info, prep = model.latest.predictor.info, model.latest.predictor.spec.prepare.image
    content: dict[str, Any] = {"schema": request_schema(info, prep)}
    if example is not None:
        content["example"] = example
    body = {"requestBody": {"required": True, "content": {"application/json": content}}}

    def version_of(request: Request, raw: str | None) -> Version:
        _note(request, model=name)
        try:
            return model.version(raw)
        except LayerlabError as exc:
            raise ServeError(404, str(exc)) from None

    async def answer(request: Request, version: Version) -> tuple[Version, list[Any], Any, str]:
        """Parse the body into the version's batch, run it (batched), and time it out."""
        raw = await _read_body(request, body_bytes)
        items, fmt = payload.instances(payload.read_json(raw))
        field = "instances" if fmt == "row" else "inputs"
        # Parsed off the event loop: decoding a large image must not hold up other requests.
        batch = await asyncio.to_thread(payload.model_batch, version.predictor, items, field)
        _note(request, rows=len(items))
        try:
            out = await asyncio.wait_for(batchers[(name, version.number)].outputs(batch, len(items)), timeout_s)
        except TimeoutError:
            raise ServeError(504, f"The model `{name}` did not answer within {timeout_s:g} s; try fewer inputs "
                                  "per request, or again later.") from None
        return version, items, out, fmt

    async def status(request: Request, version: str | None = None) -> dict[str, Any]:
        _note(request, route="status")
        chosen = [version_of(request, version)] if version is not None else list(model.versions.values())
        return {"model_version_status": [{"version": str(v.number), "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}} for v in chosen]}

    async def meta(request: Request, version: str | None = None) -> dict[str, Any]:
        _note(request, route="metadata")
        v = version_of(request, version)
        return metadata(name, v.number, v.predictor.info, v.predictor.spec.prepare.image)

    async def predict(request: Request, version: str | None = None) -> dict[str, Any]:
        _note(request, route="predict")
        _, _, out, fmt = await answer(request, version_of(request, version))
        return {"predictions" if fmt == "row" else "outputs": payload.plain(out)}

    async def classify(request: Request, version: str | None = None) -> dict[str, Any]:
        _note(request, route="classify")
        v, _, out, _ = await answer(request, version_of(request, version))
        return {"results": payload.finite(v.predictor.answers(out))}

    async def model_ready(request: Request) -> dict[str, Any]:
        _note(request, model=name, route="ready")
        return {"name": name, "ready": True}

    doc = {"tags": [name], "openapi_extra": body}
    for prefix, summary in ((f"/v1/models/{name}", ""), (f"/v1/models/{name}/versions/{{version}}", " (a version)")):
        app.add_api_route(prefix, status, methods=["GET"], tags=[name], summary=f"Status{summary}")
        app.add_api_route(f"{prefix}/metadata", meta, methods=["GET"], tags=[name],
                          summary=f"Inputs, outputs and classes{summary}")
        app.add_api_route(f"{prefix}:predict", predict, methods=["POST"], **doc,
                          summary=f"Raw model outputs (TensorFlow Serving){summary}")
        app.add_api_route(f"{prefix}:classify", classify, methods=["POST"], **doc,
                          summary=f"Answers for people: label and probabilities, value or forecast{summary}")
    app.add_api_route(f"/v2/models/{name}/ready", model_ready, methods=["GET"], tags=[name], summary="Ready")


def _note(request: Request, **facts: Any) -> None:
    """What the access log and /metrics say about this request (its model, route, rows)."""
    request.scope.setdefault("layerlab", {}).update(facts)


async def _read_body(request: Request, cap: int) -> bytes:
    """The body, refused (413) once it passes `cap` bytes, before reading the rest."""
    declared = request.headers.get("content-length")
    too_big = ServeError(413, f"The request body is larger than {cap / 2**20:g} MB, the most this server takes "
                              "(LAYERLAB_UPLOAD_MB); send fewer inputs per request.")
    if declared and declared.isdigit() and int(declared) > cap:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


class Operations:
    """ASGI middleware around every request: the API key, `/metrics`' counters and the JSON access log line.

    Plain ASGI rather than Starlette's BaseHTTPMiddleware, which costs a task and a stream per request.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], metrics: Metrics, api_key: str | None) -> None:
        self.app, self.metrics = app, metrics
        self.key = api_key.encode() if api_key else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, code = time.perf_counter(), [500]
        facts = scope.setdefault("layerlab", {})

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                code[0] = message["status"]
            await send(message)

        try:
            if self.key and not scope["path"].startswith(HEALTH) and not self._authorized(scope):
                await error(401, "This server needs an API key: send `Authorization: Bearer <key>`.")(
                    scope, receive, sending)
                return
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - start
            model = facts.get("model", "")
            route = facts.get("route") or _route_of(scope["path"])
            self.metrics.request(model, route, code[0], seconds)
            ACCESS.info(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
                                    "method": scope["method"], "path": scope["path"][:300], "model": model or None,
                                    "status": code[0], "ms": round(seconds * 1000, 2), "rows": facts.get("rows")}))

    def _authorized(self, scope: dict[str, Any]) -> bool:
        for key, value in scope["headers"]:
            if key == b"authorization":
                scheme, _, token = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.key or b"")
        return False


def _route_of(path: str) -> str:
    """A request's route label for a path no handler named (few values, whatever the path)."""
    if path.startswith(HEALTH):
        return "health"
    return {"/metrics": "metrics", "/v1/models": "models", "/docs": "docs", "/openapi.json": "openapi"}.get(
        path, "other")
