"""Predict page's Import section against hostile files (issue #7): project files with wrong types, absurd
values, unknown fields or data paths that are not the user's; .keras files that are not models, hide
their size, or would run code. No trained run is needed: the Import section shows without one.

Each refusal names what is wrong in words, never a traceback, and replaces nothing.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.engine.imagezips import lie_about_sizes, zip_bytes
from tests.pages.markdown import plain
from tests.pages.trained import OWNER

pytestmark = pytest.mark.usefixtures("home", "keras_loaded")  # a fresh LAYERLAB_HOME per test (tests/pages/conftest.py)

PAGE = "pages/predict.py"
DIGITS = {"data": {"kind": "images", "source": "sample:digits"}}


def _page(app):
    at = app(PAGE, state={"pid": OWNER})
    assert "No finished run yet" in at.info[0].value
    return at


def _errors(at) -> str:
    return plain("\n".join(e.value for e in at.error))


def _upload_project(at, data: bytes, name: str = "project.json"):
    return at.file_uploader(key="predict_project_file").set_value((name, data, "application/json")).run()


def _upload_model(at, data: bytes, name: str = "model.keras"):
    return at.file_uploader(key="predict_own_model").set_value((name, data, "application/octet-stream")).run()


def _project(at):
    return at.session_state["project"] if "project" in at.session_state else None


def _refused(at, *words: str) -> str:
    assert not at.exception, at.exception
    errors = _errors(at)
    for w in words:
        assert w in errors, errors
    assert "Something unexpected" not in errors and "Traceback" not in errors
    assert len(errors) < 2000, "the message stays readable, however long the bad value"
    return errors


# ---- project files -------------------------------------------------------------------------------------


def _doc(**parts) -> bytes:
    return json.dumps({**DIGITS, **parts}).encode()


@pytest.mark.parametrize(("data", "field", "words"), [
    (_doc(train={"epochs": 10**9}), "train.epochs", "less than or equal to 1000"),
    (_doc(train={"epochs": "many"}), "train.epochs", "integer"),
    (_doc(train={"learning_rate": float("nan")}), "train.learning_rate", "nan"),
    (_doc(model={"layers": [{"type": "Dense", "params": {"units": 10**6}}]}), "model.layers[0].params.units",
     "between 1 and 8192"),
    (_doc(model={"layers": [{"type": "Dense", "params": {"units": True}}]}), "model.layers[0].params.units",
     "integer"),
    (_doc(model={"layers": "Dense"}), "model.layers", "valid list"),
    (_doc(model={"layers": [{"type": "Dense"}] * 5000}), "model.layers", "at most 200"),
    (_doc(prepare={"image": {"height": 10**5, "width": 8}}), "prepare.image.height", "less than or equal"),
    (_doc(surprise={"x": 1}), "surprise", "unknown field"),
    (_doc(name="x" * 1_000_000), "name", "at most 100 characters"),
    (b'{"data": [1, 2]}', "data", "valid dictionary"),
    (b"[1, 2, 3]", "", "must be a JSON object"),
    (b"null", "", "must be a JSON object"),
], ids=["epochs-1e9", "epochs-text", "lr-nan", "units-1e6", "units-bool", "layers-text", "5000-layers",
        "height-1e5", "unknown-field", "long-name", "data-list", "array", "null"])
def test_a_bad_project_file_is_refused_naming_the_field(app, data: bytes, field: str, words: str):
    at = _upload_project(_page(app), data)

    errors = _refused(at, words)
    if field:
        assert f"{field}:" in errors
    assert not at.success
    assert _project(at) is None, "nothing was replaced"


def test_a_deeply_nested_project_file_is_refused(app):
    data = b'{"data": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    at = _upload_project(_page(app), data)

    _refused(at, "project")
    assert _project(at) is None


@pytest.mark.parametrize("where", ["outside", "other-session"])
def test_a_project_pointing_at_a_file_that_is_not_the_users_is_refused(app, home: Path, tmp_path: Path, where: str):
    secret = tmp_path / "secret.csv" if where == "outside" else home / "uploads" / "fedcba9876543210" / "theirs.csv"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("user,password\n" + "".join(f"u{i},hunter{i}\n" for i in range(30)))
    doc = {"data": {"kind": "table", "source": str(secret), "target": "user"}}
    at = _upload_project(_page(app), json.dumps(doc).encode())

    _refused(at, "data.source:", "upload")
    assert _project(at) is None
    at.switch_page("pages/data.py").run()
    assert not at.exception
    shown = json.dumps([str(getattr(e, "value", "")) for e in at.main], default=str)
    assert "hunter" not in shown, "the file's contents never reach the page"


def test_a_project_on_this_sessions_own_upload_is_opened(app, home: Path):
    own = home / "uploads" / OWNER / "mine-0123456789.csv"
    own.parent.mkdir(parents=True)
    own.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{'xy'[i % 2]}\n" for i in range(40)))
    doc = {"data": {"kind": "table", "source": str(own), "target": "label"}}
    at = _upload_project(_page(app), json.dumps(doc).encode())

    assert not at.exception and not at.error, _errors(at)
    assert at.session_state["project"].data.source == str(own)


# ---- .keras files made elsewhere -------------------------------------------------------------------------


def _keras_zip(config: dict, extra: dict[str, bytes] | None = None) -> bytes:
    return zip_bytes({"metadata.json": json.dumps({"keras_version": "3.15.1"}).encode(),
                      "config.json": json.dumps(config).encode(), **(extra or {})})


def _dense_config(**layer) -> dict:
    dense = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 2},
             "registered_name": None, **layer}
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "s", "layers": [{"module": "keras.layers", "class_name": "InputLayer",
                                                "config": {"batch_shape": [None, 4], "name": "in"},
                                                "registered_name": None}, dense]}}


@pytest.mark.parametrize(("data", "words"), [
    (b"\x89HDF\r\n\x1a\n" + b"\0" * 2000, "is not a Keras model file"),
    (b"\x80\x04\x95" + b"\0" * 200 + b".", "is not a Keras model file"),  # a pickle
    (zip_bytes({"config.json": b"\xff\xfe not text"}), "is damaged"),
    (lie_about_sizes(zip_bytes({"config.json": b"{}", "model.weights.h5": b"x"}), size=3_000_000_000), "too large"),
    (zip_bytes({"config.json": b"{}" + b" " * (40 << 20), "metadata.json": b"{}"}), "too large"),
    (_keras_zip(_dense_config(module="os", class_name="system", config={"command": "touch /tmp/pwned"})),
     "could not be loaded"),
    (_keras_zip(_dense_config(class_name="Backdoor", registered_name="evil>Backdoor")), "could not be loaded"),
], ids=["hdf5", "pickle", "binary-config", "lying-sizes", "deflate-bomb", "os-system", "unknown-class"])
def test_a_keras_file_that_is_not_a_safe_model_is_refused(app, data: bytes, words: str):
    marker = Path("/tmp/pwned")
    marker.unlink(missing_ok=True)
    at = _upload_model(_page(app), data)

    _refused(at, words)
    assert not marker.exists(), "nothing named in the file ran"
    assert not _has(at, "predict_own_image"), "no way to predict with it"


def _has(at, key: str) -> bool:
    return any(getattr(w, "key", None) == key for w in at.file_uploader)


# ---- the configured model limit (issue #7): LAYERLAB_MODEL_PARAMS, not numbers of its own ---------------


def _small_model_file(tmp_path: Path) -> tuple[bytes, int]:
    import keras

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
                              keras.layers.Dense(3)])
    path = tmp_path / "small.keras"
    model.save(path)
    return path.read_bytes(), model.count_params()


def test_a_model_over_the_configured_parameter_limit_is_refused(app, tmp_path: Path, monkeypatch):
    data, params = _small_model_file(tmp_path)
    at = _upload_model(_page(app), data, "small.keras")
    assert not at.exception and not at.error, "within the default limit it loads"
    assert f"{params:,} parameters" in " ".join(c.value for c in at.caption)

    monkeypatch.setenv("LAYERLAB_MODEL_PARAMS", str(params - 1))
    at = _upload_model(_page(app), data, "small.keras")  # the same file, now cached: the limit still holds
    _refused(at, f"small.keras has {params:,} parameters; models up to {params - 1:,} parameters can be tried here.",
             "LAYERLAB_MODEL_PARAMS")
    assert not _has(at, "predict_own_image")


def test_the_model_file_size_cap_follows_the_parameter_limit(app, monkeypatch):
    import layerlab.inference.outside as views

    big = zip_bytes({"config.json": b"{}", "model.weights.h5": np.random.default_rng(0).bytes(3 << 20)},
                    compression=zipfile.ZIP_STORED)
    assert views.model_file_caps()[0] == 4 * 50_000_000 + 2**20, "the default: 50 million float32 parameters"
    at = _upload_model(_page(app), big, "big.keras")
    assert "MB; models up to" not in _errors(at), "3 MB is within the default cap"

    monkeypatch.setenv("LAYERLAB_MODEL_PARAMS", "100000")  # 0.4 MB of float32 weights
    assert views.model_file_caps() == (400_000 + 2**20, 800_000 + 16 * 2**20)
    assert views.max_model_mb() == 2
    at = _upload_model(_page(app), big, "big.keras")
    _refused(at, "big.keras is 3.0 MB; models up to 1.4 MB can be tried here (up to 100,000 parameters).",
             "LAYERLAB_MODEL_PARAMS")
    assert at.file_uploader(key="predict_own_model").proto.max_upload_size_mb == 2
