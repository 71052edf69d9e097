"""What a served model takes and gives, described from its run: the JSON schema of one input (for
`/openapi.json`, so `/docs` shows the real columns, a text, an image or a window) and TensorFlow Serving's
`/metadata` answer."""

from __future__ import annotations

from typing import Any

from layerlab.inference.inputs import choices

_DT = {"numeric": "DT_FLOAT"}


def input_schema(info: Any, prep: Any = None) -> dict[str, Any]:
    """The JSON schema of one input (one entry of `instances`) of a run with DataInfo `info`."""
    ex = info.extra
    if info.kind == "table":
        props = {}
        for c in ex["columns"]:
            if c["type"] == "numeric":
                props[c["name"]] = {"type": ["number", "null"], "description": "a number (null: missing)"}
            else:
                cats = choices(c)
                props[c["name"]] = {"type": ["string", "number", "null"], "description":
                                    "one of: " + ", ".join(map(str, cats[:30])) + (" …" if len(cats) > 30 else "")
                                    + " (null: missing)"}
        return {"type": "object", "title": "A row", "properties": props, "required": [c["name"] for c in ex["columns"]],
                "description": "One row by column name, with raw values as in the training data."}
    if info.kind == "text":
        return {"type": "string", "title": "A text", "description": "The raw text to classify."}
    if info.kind == "images":
        size = f" (resized to {prep.width}×{prep.height})" if prep is not None else ""
        return {"type": "object", "title": "An image", "required": ["b64"],
                "properties": {"b64": {"type": "string", "contentEncoding": "base64",
                                       "description": f"The image file (PNG, JPEG, BMP, GIF or WebP) in base64{size}."}}}
    features, need = list(ex["features"]), int(ex["window"])
    row: dict[str, Any] = {"type": "number"} if len(features) == 1 else {
        "type": "array", "items": {"type": "number"}, "minItems": len(features), "maxItems": len(features)}
    return {"type": "array", "title": "Recent values", "items": row, "minItems": need,
            "description": f"The last {need} (or more) values of {', '.join(features)}, oldest first"
                           + ("" if len(features) == 1 else ", one row per step") + "."}


def request_schema(info: Any, prep: Any = None) -> dict[str, Any]:
    """The `:predict` / `:classify` body: TensorFlow Serving's row format (`instances`) or columnar (`inputs`)."""
    one = input_schema(info, prep)
    return {"oneOf": [
        {"type": "object", "title": "Row format", "required": ["instances"],
         "properties": {"instances": {"type": "array", "items": one, "minItems": 1}}},
        {"type": "object", "title": "Columnar format", "required": ["inputs"],
         "properties": {"inputs": {"type": ["array", "object"], "description":
                                   "A list of inputs, or (tables) an object of equally long lists by column name."}}},
    ]}


def metadata(name: str, version: int, info: Any, prep: Any = None) -> dict[str, Any]:
    """TensorFlow Serving's `GET /v1/models/{name}/metadata` answer, plus what Layerlab knows (`layerlab`)."""
    ex = info.extra

    def tensor(dtype: str, *dims: int) -> dict[str, Any]:
        return {"dtype": dtype, "tensor_shape": {"dim": [{"size": str(d), "name": ""} for d in (-1, *dims)],
                                                 "unknown_rank": False}}

    if info.kind == "table":
        ins = {c["name"]: {**tensor(_DT.get(c["type"], "DT_STRING"), 1), "name": c["name"]} for c in ex["columns"]}
    elif info.kind == "text":
        ins = {"text": {**tensor("DT_STRING", 1), "name": "text"}}
    elif info.kind == "images":
        ins = {"image": {**tensor("DT_STRING"), "name": "image", "encoding": "b64"}}
    else:
        ins = {"window": {**tensor("DT_FLOAT", int(ex["window"]), len(ex["features"])), "name": "window"}}
    n_out = int(info.outputs or 1)
    outs = {"output": {**tensor("DT_FLOAT", n_out), "name": "output"}}
    facts = {"kind": info.kind, "task": info.task, "input": input_schema(info, prep)}
    if info.task == "classification":
        facts["class_names"] = list(info.class_names)
    if info.kind == "series":
        facts.update(window=ex["window"], features=ex["features"], targets=ex["targets"], horizon=ex["horizon"])
    if info.task == "regression":
        facts["target"] = ex.get("target")
    return {"model_spec": {"name": name, "signature_name": "", "version": str(version)},
            "metadata": {"signature_def": {"signature_def": {"serving_default": {
                "inputs": ins, "outputs": outs, "method_name": "tensorflow/serving/predict"}}}},
            "layerlab": facts}
