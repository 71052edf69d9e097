"""Take a trained run away: .keras, a zipped TF-Serving SavedModel, the folder layout TensorFlow Serving
loads (`tfserving`: DIR/NAME/<version>/), or a checked TFLite file."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from layerlab.errors import LayerlabError

FORMATS = ("keras", "savedmodel", "tflite", "tfserving")


def _check_inputs(pred: Any, n: int = 5) -> list[Any]:
    """A few real test inputs, already at the model's input size, to compare conversions on."""
    from layerlab.runs.files import RunFiles

    info = pred.info
    if info.kind == "images":
        from layerlab.data.images import open_images

        ev = RunFiles(pred.run_dir).evaluation()
        src = open_images(pred.spec.data.source)
        return [pred.prepare_image_array(src.decode(i)).astype("float32") for i in ev.get("test_source_indices", ev["test_indices"])[:n]]
    if info.kind == "series":
        return [np.asarray(info.extra["last_window"], dtype="float32")]
    why = ("it takes raw strings and splits them into words itself (TextVectorization), and TensorFlow Lite has "
           "no string operations for that" if info.kind == "text" else
           "it takes a row of named raw columns and encodes and scales them itself (category lookups on strings "
           "among them), which TensorFlow Lite cannot run")
    raise LayerlabError(f"TensorFlow Lite export is not available for {info.kind} models: {why}.",
                        "Download the .keras file or the SavedModel instead: both take raw inputs.")


def model_name(pred: Any) -> str:
    """The name a run's model goes by in a TF-Serving layout: its project's name, made safe for a folder."""
    from layerlab.runs.store import slug

    return slug(pred.spec.name) or "model"


def export_run(run_dir: str | Path, fmt: str, out: str | Path, name: str | None = None) -> dict[str, Any]:
    """Write the run's model in `fmt` to `out`; returns what was written and how it was checked.

    `tfserving`: `out` is TensorFlow Serving's model base folder; the model goes to `out/<name>/<n>/`, `n`
    one more than the versions already there, `name` by default the project's (`model_name`).
    """
    from layerlab.inference.predictor import load_predictor
    from layerlab.runs.store import slug

    if fmt not in FORMATS:
        raise LayerlabError(f"Unknown export format `{fmt}`.", f"Use one of: {', '.join(FORMATS)}.")
    if name is not None and slug(name) != name:
        raise LayerlabError(f"Invalid model name {name!r}: TensorFlow Serving loads it from a folder of that name.",
                            "Use letters, digits, `_`, `-` and `.` only.")
    run_dir, out = Path(run_dir), Path(out)
    pred = load_predictor(run_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "keras":
        shutil.copyfile(run_dir / "model.keras", out)
        return {"format": fmt, "path": str(out)}
    from layerlab import tf_export

    if fmt == "tfserving":
        folder, signature = tf_export.export_tfserving(pred.model, pred.info, out / (name or model_name(pred)))
        return {"format": fmt, "path": str(folder), "name": folder.parent.name, "version": int(folder.name),
                "signature": signature}
    if fmt == "savedmodel":
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "model" / "1"  # TF Serving layout: <name>/<version>/
            signature = tf_export.export_savedmodel(pred.model, pred.info, folder)
            base = str(out.with_suffix("")) if out.suffix == ".zip" else str(out)
            made = shutil.make_archive(base, "zip", Path(tmp))
        return {"format": fmt, "path": made, "signature": signature}
    check = _check_inputs(pred)
    try:
        report = tf_export.export_tflite(pred.model, pred.info, out, check)
    except RuntimeError as exc:
        raise LayerlabError(f"The model could not be converted to TensorFlow Lite: {exc}.",
                            "Download the .keras file or the SavedModel instead.") from None
    if not report["same_top_class"] and pred.info.task == "classification":
        raise LayerlabError("The TensorFlow Lite model disagrees with the Keras model on test inputs.",
                            "Use the .keras file or the SavedModel instead.")
    return {"format": fmt, "path": str(out), **report}
