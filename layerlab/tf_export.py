"""SavedModel and TFLite export of an end-to-end model (TensorFlow itself, not just Keras)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from layerlab.data.info import DataInfo


def _signature(model: Any, info: DataInfo, fixed_batch: bool = False) -> list[Any]:
    """Input specs for export: images at the model's own size (TFLite needs static sizes)."""
    batch = 1 if fixed_batch else None
    if info.kind == "images":
        return [tf.TensorSpec((batch, *info.input_shape), tf.float32, name="pixels")]
    if info.kind == "text":
        return [tf.TensorSpec((batch, 1), tf.string, name="text")]
    if info.kind == "series":
        return [tf.TensorSpec((batch, *info.input_shape[:1], len(info.extra["features"])), tf.float32, name="window")]
    return [{k: tf.TensorSpec((batch, 1), t.dtype, name=k) for k, t in model.input.items()}]


def export_savedmodel(model: Any, info: DataInfo, dest: str | Path) -> str:
    """A TF-Serving SavedModel (`serve` endpoint); returns a description of its signature."""
    import keras

    dest = Path(dest)
    # Not `model.export(...)`: its endpoint calls the model with `training` unset, and the traced SavedModel
    # then ran its dropout and augmentation layers, so the same input got a different answer each time.
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: model(x, training=False), input_signature=_signature(model, info))
    archive.write_out(str(dest), verbose=False)
    loaded = tf.saved_model.load(str(dest))
    fn = loaded.signatures["serving_default"]
    ins = {k: f"{v.dtype.name} {v.shape}" for k, v in fn.structured_input_signature[1].items()}
    outs = {k: f"{v.dtype.name} {v.shape}" for k, v in fn.structured_outputs.items()}
    return f"signature 'serving_default': inputs {ins}; outputs {outs}"


def next_version(base: str | Path) -> int:
    """The next integer version folder under a TF-Serving model folder `base` (1 when there is none)."""
    base = Path(base)
    taken = [int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit()] if base.is_dir() else []
    return max(taken, default=0) + 1


def export_tfserving(model: Any, info: DataInfo, base: str | Path) -> tuple[Path, str]:
    """Write the model as the next version of the TF-Serving model folder `base` (`base/<n>/saved_model.pb` +
    `variables/`); returns the version folder and its signature's description.

    It is written beside the versions first and renamed into place, so a TF Serving that watches `base`
    never loads a half-written version (it ignores folders whose name is not an integer).
    """
    import shutil

    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    folder = base / str(next_version(base))
    part = base / f".{folder.name}.part"
    shutil.rmtree(part, ignore_errors=True)
    signature = export_savedmodel(model, info, part)
    part.rename(folder)
    return folder, signature


def export_tflite(model: Any, info: DataInfo, dest: str | Path, check: Any) -> dict[str, Any]:
    """Convert to TensorFlow Lite and check it against the Keras model on `check` inputs.

    Returns {"max_abs_diff", "same_top_class"}; raises RuntimeError naming the failing op/layer.
    """
    dest = Path(dest)
    try:
        model.export(str(dest), format="litert", input_signature=_signature(model, info, fixed_batch=True), verbose=False)
    except Exception as exc:  # noqa: BLE001 - translated for the user
        text = str(exc)
        culprit = next((ln.strip() for ln in text.splitlines() if "op" in ln.lower() and ("not supported" in ln.lower()
                        or "failed" in ln.lower())), text.splitlines()[0] if text else type(exc).__name__)
        raise RuntimeError(culprit[:300]) from None
    interp = tf.lite.Interpreter(model_path=str(dest))
    interp.allocate_tensors()
    in_details = interp.get_input_details()
    out_index = interp.get_output_details()[0]["index"]
    diffs, same = [], []
    for example in check:
        want = np.asarray(model(example[None] if not isinstance(example, dict) else example, training=False))
        if isinstance(example, dict):
            for d in in_details:
                key = next(k for k in example if d["name"].endswith(k) or k in d["name"])
                interp.set_tensor(d["index"], np.asarray(example[key], dtype=d["dtype"]))
        else:
            interp.set_tensor(in_details[0]["index"], np.asarray(example[None], dtype=in_details[0]["dtype"]))
        interp.invoke()
        got = interp.get_tensor(out_index)
        diffs.append(float(np.max(np.abs(got - want))))
        same.append(bool(np.argmax(got) == np.argmax(want)))
    return {"max_abs_diff": max(diffs) if diffs else 0.0, "same_top_class": all(same)}
