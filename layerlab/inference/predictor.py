"""Use a trained run on new inputs, through its saved end-to-end model.

`load_predictor(run_dir)` reads the run through `RunFiles`; the Predictor's methods take inputs
already parsed by `layerlab.inference.inputs` (or raw ones they pass through it), so the page, the
CLI and the model server give the same answers and the same messages.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from layerlab.data.info import DataInfo
from layerlab.errors import DataError, LayerlabError
from layerlab.inference import inputs
from layerlab.runs.files import RunFiles
from layerlab.spec import ProjectSpec


@dataclass
class Predictor:
    """A loaded run: its inference model, data facts and spec. `predict` is thread-safe."""

    run_dir: Path
    model: Any
    info: DataInfo
    spec: ProjectSpec
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def outputs(self, batch: Any) -> np.ndarray:
        """The model's raw outputs for a batch of parsed inputs (what `layerlab.inference.inputs` returns, stacked)."""
        if self.info.kind in ("table", "text"):
            from layerlab.prep.tf_pipeline import as_model_inputs

            batch = as_model_inputs(batch)
        with self.lock:
            return np.asarray(self.model(batch, training=False))

    def answers(self, out: np.ndarray) -> list[dict[str, Any]]:
        """Raw outputs as answers for people, one per input: label and probabilities by class name, a value in
        the target's units, or a forecast (what `predict`, the Predict page and the server's `:classify` show)."""
        if self.info.kind == "series":
            ex = self.info.extra
            return [{"targets": ex["targets"], "forecast": o.reshape(ex["horizon"], -1).tolist(),
                     "horizon": ex["horizon"]} for o in out]
        return self._classes_or_values(out)

    def _classes_or_values(self, out: np.ndarray) -> list[dict[str, Any]]:
        from layerlab.models.build import probabilities

        if self.info.task != "classification":
            return [{"value": float(v)} for v in out.reshape(len(out), -1)[:, 0]]
        names = self.info.class_names
        results = []
        for p in probabilities(out, self.info):
            k = int(p.argmax())
            results.append({"label": names[k], "confidence": float(p[k]),
                            "probabilities": {n: float(v) for n, v in zip(names, p)}})
        return results

    def predict_rows(self, rows: Any) -> list[dict[str, Any]]:
        """Predictions for raw table rows (a DataFrame or a list of {column: value})."""
        if len(rows) == 0:
            return []
        return self._classes_or_values(self.outputs(inputs.rows(rows, self.info.extra["columns"])))

    def predict_texts(self, texts: list[str]) -> list[dict[str, Any]]:
        """Class probabilities for raw strings."""
        texts = [str(t) for t in texts]
        if not texts:
            return []
        return self._classes_or_values(self.outputs(np.array(texts, dtype=object).reshape(-1, 1)))

    def forecast(self, window: Any = None) -> dict[str, Any]:
        """The next `horizon` steps after `window` (rows × value columns, raw units); default: the data's end."""
        ex = self.info.extra
        w = inputs.window(ex["last_window"] if window is None else window, ex)
        return self.answers(self.outputs(w[None]))[0]

    def predict_images(self, images: list[np.ndarray]) -> list[dict[str, Any]]:
        """Class probabilities for uint8 images already at the model's size and colour."""
        if not images:
            return []
        return self._classes_or_values(self.outputs(np.stack(images).astype("float32")))

    def prepare_image_array(self, img: np.ndarray) -> np.ndarray:
        """A decoded uint8 image resized/converted as the model's training data was."""
        from layerlab.data.images import resize_array

        return resize_array(np.asarray(img, dtype=np.uint8), self.spec.prepare.image)

    def prepare_image(self, file: Any) -> np.ndarray:
        """Decode an image file (path, bytes, file object) as the model saw its training data."""
        from layerlab.data.images import decode_image

        return decode_image(file, self.spec.prepare.image)

    def predict_files(self, files: list[str | Path]) -> list[dict[str, Any]]:
        """Results for input files: one per image; one per row (tables) or line (texts); one forecast per file (series)."""
        if self.info.kind != "images":
            return [r for f in files for r in self._predict_file(Path(f))]
        results: list[dict[str, Any]] = []
        ok: list[tuple[int, np.ndarray]] = []
        for i, f in enumerate(files):
            results.append({"input": str(f)})
            try:
                ok.append((i, self.prepare_image(Path(f))))
            except DataError as exc:
                results[i]["error"] = f"{Path(f).name}: {exc.message}"
            except OSError as exc:
                results[i]["error"] = f"{Path(f).name}: cannot be opened ({exc.strerror})."
        for (i, _), pred in zip(ok, self.predict_images([a for _, a in ok])):
            results[i].update(pred)
        return results


    def _predict_file(self, path: Path) -> list[dict[str, Any]]:
        """Table/text/series predictions for one file, read by the same input parsers as the Predict page and the
        model server (no batch cap: the command line's batches are the user's own); a file that cannot be used
        gives one `error` result."""
        ex = self.info.extra
        try:
            data = path.read_bytes()
            if self.info.kind == "text":
                texts = inputs.texts_of_file(path.name, data, ex["text"], cap=False)
                return [{"input": t[:200], **r} for t, r in zip(texts, self.predict_texts(texts))]
            if self.info.kind == "table":
                df = inputs.rows_of_file(path.name, data, ex["columns"], cap=False)
                return [{"input": f"{path.name} row {i + 1}", **r} for i, r in enumerate(self.predict_rows(df))]
            values, _ = inputs.window_of_file(path.name, data, ex)
            return [{"input": str(path), **self.forecast(values)}]
        except LayerlabError as exc:
            return [{"input": str(path), "error": str(exc)}]
        except OSError as exc:
            return [{"input": str(path), "error": f"{path.name}: cannot be opened ({exc.strerror})."}]


def load_model_file(path: str | Path, name: str | None = None) -> Any:
    """Load a .keras file with safe mode on (no Lambda layers or arbitrary code).

    Raises:
        LayerlabError: in plain words, never Keras' own text: the file holds code (refused), or it
        cannot be read back as a Keras model (train again, or it is not a Keras model).
    """
    import os

    # In the web server too: never take all GPU memory away from training workers.
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    import keras

    import layerlab.models.blocks  # registers Layerlab's own serializable layers
    import layerlab.prep.layers  # noqa: F401

    path = Path(path)
    name = name or path.name
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - translated for the user, never shown raw
        raise unloadable(name, exc, path) from None


def unloadable(name: str, exc: BaseException, path: Path | None = None) -> LayerlabError:
    """The plain message for a model file Keras could not load (its text is logged, not shown)."""
    import logging

    logging.getLogger("layerlab.inference").warning("loading %s failed: %s: %s", name, type(exc).__name__, exc)
    text = str(exc).replace(str(path), "") if path else str(exc)  # the folder's own name must not decide
    if "Lambda" in text or "safe_mode" in text:
        return LayerlabError(f"{name} holds code that would run when loaded (a Lambda layer or a Python function), "
                             "so Layerlab refuses it (Keras safe mode).",
                             "Rebuild the model without Lambda layers and save it again.")
    return LayerlabError(f"The model file {name} could not be loaded: Keras could not read part of it back "
                         "(a layer, its vocabulary or its weights), or it is not a Keras model.",
                         "If a run made it, train the run again (or pick another run); a model made elsewhere must "
                         "be saved with Keras 3 using built-in layers or Layerlab's own.")


def load_predictor(run_dir: str | Path) -> Predictor:
    """The run's end-to-end model with its data facts and spec; LayerlabError when it has none or it cannot load."""
    files = RunFiles(Path(run_dir))
    if not files.has_model:
        raise LayerlabError(f"The run folder {files.root} holds no trained model (model.keras).",
                            "Pick a run that has finished, stopped or been interrupted after its first epoch.")
    spec = files.spec()
    info = files.info()
    return Predictor(files.root, load_model_file(files.model_path), info, spec)
