"""Texts whatever their bytes held give a model that saves, loads, predicts and exports (issue #15, item 1).

Keras writes a TextVectorization's vocabulary one term per line and reads it back with Python's line
splitting: a token holding U+0085 (Windows-1252's "…" read as Latin-1), U+2028 or \\v split in two and the
saved model did not load ("The passed vocabulary has at least one repeated term").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerlab.project import new_project
from layerlab.runs.store import RunStore
from layerlab.samples import get_sample
from layerlab.train.trainer import run_training

pytestmark = pytest.mark.slow

# Every character Python counts as a line break, other controls, and no-break spaces.
BREAKS = ["\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x7f", "\x9d", "\u00a0", "\u202f"]


def _tweets(n: int = 900) -> Any:
    frame = get_sample("tweets").load()
    return frame.groupby("sentiment").head(n // 3).reset_index(drop=True)[["text", "sentiment"]]


def _cp1252_bytes(text: str) -> bytes:
    """Windows-1252 bytes of `text`, with U+0081 written as the unused byte 0x81."""
    return b"".join(b"\x81" if ch == "\x81" else ch.encode("cp1252") for ch in text)


def _write_cp1252(tmp_path: Path) -> Path:
    frame = _tweets()
    frame["text"] = [f"{t}… it’s {w}…" for t, w in zip(frame["text"], ["so", "quite", "really"] * len(frame))]
    frame.loc[0, "text"] = frame.loc[0, "text"] + " \x81"
    path = tmp_path / "tweets-1252.csv"
    path.write_bytes(_cp1252_bytes(frame.to_csv(index=False)))
    return path


def _write_stray_characters(tmp_path: Path) -> Path:
    frame = _tweets()
    # stray: one row in four (a file full of control bytes is refused as binary, rightly)
    frame["text"] = [f"{t}{BREAKS[i % len(BREAKS)]}word{i % 7}{BREAKS[(i + 5) % len(BREAKS)]}end" if i % 4 == 0 else t
                     for i, t in enumerate(frame["text"])]
    path = tmp_path / "tweets-stray.csv"
    path.write_bytes(frame.to_csv(index=False).encode("utf-8"))
    return path


@pytest.mark.parametrize("write", [_write_cp1252, _write_stray_characters], ids=["windows-1252", "stray-characters"])
def test_a_text_model_of_any_bytes_saves_loads_predicts_and_exports(write, tmp_path: Path):
    from layerlab.export import export_run
    from layerlab.inference.predictor import load_predictor

    path = write(tmp_path)
    spec = new_project(str(path), text="text", target="sentiment")
    spec = spec.edit(**{"train.epochs": 1, "prepare.text.vocab_size": 3000})
    store = RunStore(tmp_path / "runs")
    run = run_training(store, store.create(spec, owner="t").id)
    assert run.status == "completed", run.message
    pred = load_predictor(run.path)  # the saved model loads: this is where it failed
    words = _vocabulary(pred.model)
    assert len(words) > 100 and not any(len(w.splitlines()) > 1 or w != w.strip() for w in words)
    out = pred.predict_texts(["great flight… thanks\x85", "worst\u2028service ever", "ok\x0b"])
    assert len(out) == 3 and all(np.isclose(sum(r["probabilities"].values()), 1.0, atol=1e-4) for r in out)
    made = export_run(run.path, "savedmodel", tmp_path / "model.zip")
    assert Path(made["path"]).exists()


def _vocabulary(model: Any) -> list[str]:
    import keras

    layers = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.TextVectorization)]
    assert len(layers) == 1
    return [w for w in layers[0].get_vocabulary() if w]
