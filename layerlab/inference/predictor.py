"""Use a trained run on new inputs, through its saved end-to-end model."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from layerlab.data.info import DataInfo
from layerlab.errors import DataError, LayerlabError
from layerlab.spec import ProjectSpec, load_spec


@dataclass
class Predictor:
    """A loaded run: its inference model, data facts and spec. `predict` is thread-safe."""

    run_dir: Path
    model: Any
    info: DataInfo
    spec: ProjectSpec
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _outputs(self, batch: Any) -> np.ndarray:
        if self.info.kind in ("table", "text"):
            from layerlab.prep.tf_pipeline import as_model_inputs

            batch = as_model_inputs(batch)
        with self.lock:
            return np.asarray(self.model(batch, training=False))

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
        import pandas as pd

        from layerlab.prep.tabular import raw_inputs

        df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
        if df.empty:
            return []
        return self._classes_or_values(self._outputs(raw_inputs(df, self.info.extra["columns"])))

    def predict_texts(self, texts: list[str]) -> list[dict[str, Any]]:
        """Class probabilities for raw strings."""
        texts = [str(t) for t in texts]
        if not texts:
            return []
        return self._classes_or_values(self._outputs(np.array(texts, dtype=object).reshape(-1, 1)))

    def forecast(self, window: Any = None) -> dict[str, Any]:
        """The next `horizon` steps after `window` (rows × value columns, raw units); default: the data's end."""
        ex = self.info.extra
        w = np.asarray(ex["last_window"] if window is None else window, dtype="float32")
        need = (ex["window"], len(ex["features"]))
        if w.ndim != 2 or w.shape[1] != need[1]:
            raise DataError(f"The window must have {need[1]} value column(s) ({', '.join(ex['features'])}); "
                            f"it has shape {w.shape}.")
        if len(w) < need[0]:
            raise DataError(f"The window needs at least {need[0]} rows; it has {len(w)}.", "Provide more history.")
        if np.isnan(w).any():
            raise DataError("The window has missing values.", "Fill them before forecasting.")
        out = self._outputs(w[-need[0]:][None])[0].reshape(ex["horizon"], -1)
        return {"targets": ex["targets"], "forecast": out.tolist(), "horizon": ex["horizon"]}

    def predict_images(self, images: list[np.ndarray]) -> list[dict[str, Any]]:
        """Class probabilities for uint8 images already at the model's size and colour."""
        if not images:
            return []
        return self._classes_or_values(self._outputs(np.stack(images).astype("float32")))

    def prepare_image_array(self, img: np.ndarray) -> np.ndarray:
        """A decoded uint8 image resized/converted as the model's training data was."""
        from layerlab.data.images import _resize_array

        return _resize_array(np.asarray(img, dtype=np.uint8), self.spec.prepare.image)

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
        """Table/text/series predictions for one file; a file that cannot be used gives one `error` result."""
        try:
            if self.info.kind == "text" and path.suffix.lower() == ".txt":
                lines = [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
                return [{"input": ln[:200], **r} for ln, r in zip(lines, self.predict_texts(lines))]
            from layerlab.data.tables import read_table

            df = read_table(path).frame
            if self.info.kind == "text":
                col = self.info.extra["text"]
                if col not in df.columns:
                    raise DataError(f"The file has no `{col}` column with the texts.")
                texts = df[col].astype(str).tolist()
                return [{"input": t[:200], **r} for t, r in zip(texts, self.predict_texts(texts))]
            if self.info.kind == "table":
                return [{"input": f"{path.name} row {i + 1}", **r} for i, r in enumerate(self.predict_rows(df))]
            missing = [c for c in self.info.extra["features"] if c not in df.columns]
            if missing:
                raise DataError(f"The file has no `{missing[0]}` column.",
                                f"A window needs the columns {', '.join(self.info.extra['features'])}.")
            return [{"input": str(path), **self.forecast(df[self.info.extra["features"]].to_numpy(dtype="float32"))}]
        except LayerlabError as exc:
            return [{"input": str(path), "error": f"{path.name}: {exc}"}]
        except OSError as exc:
            return [{"input": str(path), "error": f"{path.name}: cannot be opened ({exc.strerror})."}]


def load_model_file(path: str | Path) -> Any:
    """Load a .keras file with safe mode on (no Lambda layers or arbitrary code)."""
    import os

    # In the web server too: never take all GPU memory away from training workers.
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    import keras

    import layerlab.models.blocks  # noqa: F401 - registers Layerlab's own serializable layers
    import layerlab.prep.layers  # noqa: F401

    path = Path(path)
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - translated for the user
        raise LayerlabError(f"The model file {path.name} could not be loaded ({type(exc).__name__}: {str(exc)[:200]}).",
                            "Train the run again, or pick another run.") from None


def load_predictor(run_dir: str | Path) -> Predictor:
    run_dir = Path(run_dir)
    model_path = run_dir / "model.keras"
    if not model_path.exists():
        raise LayerlabError(f"The run folder {run_dir} holds no trained model (model.keras).",
                            "Pick a run that has finished, stopped or been interrupted after its first epoch.")
    spec = load_spec(run_dir / "project.json")
    info = DataInfo.load(run_dir / "info.json")
    return Predictor(run_dir, load_model_file(model_path), info, spec)

