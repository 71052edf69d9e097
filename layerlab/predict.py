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

    def _outputs(self, batch: np.ndarray) -> np.ndarray:
        with self.lock:
            return np.asarray(self.model(batch, training=False))

    def predict_images(self, images: list[np.ndarray]) -> list[dict[str, Any]]:
        """Class probabilities for uint8 images already at the model's size and colour."""
        from layerlab.models.build import probabilities

        if not images:
            return []
        batch = np.stack(images).astype("float32")
        probs = probabilities(self._outputs(batch), self.info)
        names = self.info.class_names
        out = []
        for p in probs:
            k = int(p.argmax())
            out.append({"label": names[k], "confidence": float(p[k]),
                        "probabilities": {n: float(v) for n, v in zip(names, p)}})
        return out

    def prepare_image(self, file: Any) -> np.ndarray:
        """Decode an image file (path, bytes, file object) as the model saw its training data."""
        from layerlab.data.images import decode_image

        return decode_image(file, self.spec.prepare.image)

    def predict_files(self, files: list[str | Path]) -> list[dict[str, Any]]:
        """One result per file, in order; a file that cannot be read gets an `error` instead."""
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


def load_model_file(path: str | Path) -> Any:
    """Load a .keras file with safe mode on (no Lambda layers or arbitrary code)."""
    import keras

    import layerlab.models.blocks  # noqa: F401 - registers Layerlab's own serializable layers

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
