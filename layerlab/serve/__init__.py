"""The model server: trained runs answering other programs over HTTP (`python -m layerlab serve`).

FastAPI on uvicorn, in one process. Starlette and uvicorn already come with Streamlit; FastAPI adds, on top of
Starlette, the OpenAPI schema and `/docs` that we fill with each served model's real inputs and an example
request, so a person can try a model in the browser before handing its address to anyone. uvicorn is a real
ASGI server (HTTP/1.1 keep-alive, graceful shutdown on SIGTERM).

- `catalog`: which runs are served, as models (a project's slug) with versions (its runs, oldest first).
- `payload`: TensorFlow Serving's request formats → the kind's input parser → model inputs; outputs → JSON.
- `batching`: concurrent requests gathered into one model call, one inference thread per model copy.
- `schema`: each model's input as JSON schema (OpenAPI) and TensorFlow Serving's metadata answer.
- `examples`: a ready request holding one real test input of a run.
- `metrics`: Prometheus counters and histograms for `/metrics`.
- `app`: the routes, errors as `{"error": …}`, the API key and the access log.
- `server`: binding, loading and the ready lines of the command line.
- `manage`: servers started for an app session (the Serve page): start, find again, test, figures, stop.
"""
