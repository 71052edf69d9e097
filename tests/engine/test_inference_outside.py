"""layerlab.inference.outside and the loader: .keras files checked before loading, unloadable ones explained
in plain words (issue #15 item 1), raw inputs for a model made elsewhere."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from layerlab.errors import DataError, LayerlabError
from layerlab.inference import outside


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def unloadable_vocabulary_model(path: Path) -> Path:
    """A text model whose saved vocabulary repeats a term, as a U+0085 split it (issue #15 item 1)."""
    import keras

    tv = keras.layers.TextVectorization(max_tokens=20)
    tv.adapt(np.array(["good film", "bad film"]))
    model = keras.Sequential([keras.Input((1,), dtype="string"), tv, keras.layers.Embedding(20, 2),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2)])
    good = path.with_name("good.keras")
    model.save(good)
    with zipfile.ZipFile(good) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    for name in members:
        if name.endswith("vocabulary.txt"):
            members[name] += b"\nfilm\nfilm"
    path.write_bytes(_zip(members))
    return path


def test_a_model_whose_vocabulary_cannot_be_read_back_gets_a_plain_message(tmp_path: Path):
    from layerlab.inference.predictor import load_model_file

    path = unloadable_vocabulary_model(tmp_path / "model.keras")
    with pytest.raises(LayerlabError) as err:
        load_model_file(path)
    text = str(err.value)
    assert err.value.message.startswith("The model file model.keras could not be loaded: Keras could not read part")
    assert "train the run again" in err.value.hint and "not a Keras model" in err.value.message
    for raw in ("ValueError", "repeated term", "objects could not be loaded", "<", "**"):
        assert raw not in text, f"no exception text: {raw!r}"

    outside.check_keras_file(path.read_bytes(), "upload.keras")  # a well-formed archive: the loader refuses it
    with pytest.raises(LayerlabError, match="The model file upload.keras could not be loaded"):
        outside.load(path.read_bytes(), "upload.keras")


def test_a_lambda_layer_is_refused_before_loading_and_by_safe_mode(tmp_path: Path, monkeypatch):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2.0, name="sneaky"),
                              keras.layers.Dense(1)])
    model.save(tmp_path / "lam.keras")
    data = (tmp_path / "lam.keras").read_bytes()
    with pytest.raises(LayerlabError, match=r"The model has a Lambda layer \(`sneaky`\)"):
        outside.check_keras_file(data, "lam.keras")
    monkeypatch.setattr(outside, "find_lambda", lambda config: None)
    with pytest.raises(LayerlabError, match="lam.keras holds code that would run when loaded"):
        outside.load(data, "lam.keras")


def test_a_small_model_made_elsewhere_loads_and_says_what_it_takes(tmp_path: Path):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.save(tmp_path / "rows.keras")
    loaded = outside.load((tmp_path / "rows.keras").read_bytes(), "rows.keras")
    assert outside.input_kind(loaded) == "rows"

    out = outside.run(loaded, outside.number_rows(["1, 2, 3", "4;5;6"], 3, "Row"))
    assert out.shape == (2, 2) and np.allclose(out.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("data, words", [
    (b"\x89HDF\r\n\x1a\n" + b"\0" * 200, "m.keras is not a Keras model file"),
    (_zip({"model.weights.h5": b"x"}), "m.keras is a zip archive but not a Keras model: it has no config.json."),
    (_zip({"config.json": b"\xff\xfe"}), "m.keras is damaged: its model description cannot be read"),
], ids=["hdf5", "no-config", "bad-config"])  # ids: the zips hold the time, and xdist workers must collect the same names
def test_what_is_not_a_keras_archive_is_refused_before_loading(data: bytes, words: str):
    with pytest.raises(LayerlabError) as err:
        outside.check_keras_file(data, "m.keras")
    assert err.value.message.startswith(words)


def test_the_caps_follow_the_parameter_limit(monkeypatch):
    monkeypatch.setenv("LAYERLAB_MODEL_PARAMS", "100000")
    assert outside.model_file_caps() == (400_000 + 2**20, 800_000 + 16 * 2**20)
    assert outside.max_model_mb() == 2


def test_check_keras_file_refuses_oversized_uploads(monkeypatch):
    monkeypatch.setenv("LAYERLAB_MODEL_PARAMS", "0")  # the cap follows the configured parameter limit
    with pytest.raises(LayerlabError, match="up to 1.0 MB"):
        outside.check_keras_file(b"PK" + b"\0" * (2 << 20), "big.keras")


def test_config_lambda_search_finds_nested_layers():
    config = {"class_name": "Functional", "config": {"layers": [
        {"class_name": "Dense", "config": {"name": "d"}},
        {"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "sneaky"}}]}},
    ]}}
    assert outside.find_lambda(config) == "sneaky"
    assert outside.find_lambda(json.loads('{"class_name": "Dense"}')) is None


@pytest.mark.parametrize("lines, words", [
    (["1, 2", "3, x"], "Row 2 holds 'x', which is not a number."),
    (["1, 2, 3"], "Row 1 has 3 number(s); the model takes 2."),
])
def test_number_rows_name_the_line(lines: list[str], words: str):
    with pytest.raises(DataError, match=words.replace("(", r"\(").replace(")", r"\)")):
        outside.number_rows(lines, 2, "Row")


def test_a_sequence_needs_the_models_steps():
    assert outside.window_rows(["1 2", "3 4"], 2, 2).shape == (2, 2)
    with pytest.raises(DataError, match=r"The sequence has 1 step\(s\); the model takes 2."):
        outside.window_rows(["1 2"], 2, 2)


def test_an_image_for_a_model_made_elsewhere_is_resized_and_named_when_broken():
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 200, 10)).save(buf, format="PNG")
    assert outside.image_for(buf.getvalue(), 8, 6, 1, "a.png").shape == (8, 6, 1)
    with pytest.raises(DataError, match="^b.png: "):
        outside.image_for(b"not an image", 8, 8, 3, "b.png")
