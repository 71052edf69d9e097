"""Export and import on the Predict page: model downloads (.keras, SavedModel, checked TFLite), the
project and its training script; opening a project file; trying a .keras model made elsewhere."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from layerlab.runs.store import RunStore
from tests.pages.test_predict_kinds import downloads, error_text, open_page, train  # noqa: F401 - fixture
from tests.pages.trained import (
    OWNER,
    digit_png,
    shared_home,  # noqa: F401 - this module's "home" fixture
    train_digits,
)

PAGE = "pages/predict.py"


@pytest.fixture(scope="module")
def digits(home):
    return train_digits(RunStore(), OWNER, epochs=2)


@pytest.fixture(scope="module")
def penguins(home):
    from layerlab.project import new_project

    return train(new_project("sample:penguins").edit(**{"train.epochs": 2}))


def click(at, key: str):
    return at.button(key=key).click().run()


# ---- export ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_keras_file_downloads_as_it_is_and_loads_in_safe_mode(app, digits, downloads, tmp_path: Path):
    at = open_page(app, digits)

    assert not at.exception
    assert digits.id not in digits.file_stem  # #15 item 9: named after the project and run, not the run id
    data = downloads(f"{digits.file_stem}.keras")
    assert data == (digits.path / "model.keras").read_bytes()
    from layerlab.inference.predictor import load_model_file

    (tmp_path / "m.keras").write_bytes(data)
    assert load_model_file(tmp_path / "m.keras").output_shape == (None, 10)
    # Conversions wait for a click.
    assert at.button(key="predict_export_savedmodel_convert").label == "Prepare the SavedModel"
    assert at.button(key="predict_export_tflite_convert").label == "Convert to TFLite"
    assert "predict_export_tflite_download" not in [b.key for b in at.download_button]


@pytest.mark.slow
def test_the_savedmodel_is_zipped_in_the_serving_layout_with_its_signature(app, digits, downloads):
    at = click(open_page(app, digits), "predict_export_savedmodel_convert")

    assert not at.exception and not at.error
    names = zipfile.ZipFile(io.BytesIO(downloads(f"{digits.file_stem}_savedmodel.zip"))).namelist()
    assert "model/1/saved_model.pb" in names
    signature = at.code[0].value
    assert "serving_default" in signature and "pixels" in signature and "(None, 8, 8, 1)" in signature
    # The converted bytes stay for the rest of the session: no second click needed.
    at.run()
    assert "predict_export_savedmodel_convert" not in [b.key for b in at.button]
    assert "predict_export_savedmodel_download" in [b.key for b in at.download_button]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
def test_the_tflite_file_is_checked_and_runs_in_the_interpreter(app, digits, downloads):
    import tensorflow as tf

    from layerlab.inference.predictor import load_predictor

    at = click(open_page(app, digits), "predict_export_tflite_convert")

    assert not at.exception and not at.error
    assert "top class agrees on every input" in at.success[0].value
    interp = tf.lite.Interpreter(model_content=downloads(f"{digits.file_stem}_model.tflite"))
    interp.allocate_tensors()
    pred = load_predictor(digits.path)
    img = pred.prepare_image(digit_png(4))
    interp.set_tensor(interp.get_input_details()[0]["index"], img[None].astype("float32"))
    interp.invoke()
    got = interp.get_tensor(interp.get_output_details()[0]["index"])[0]
    assert str(int(np.argmax(got))) == pred.predict_images([img])[0]["label"]


@pytest.mark.slow
def test_a_model_that_cannot_convert_gets_the_message_naming_the_problem(app, penguins):
    at = click(open_page(app, penguins), "predict_export_tflite_convert")

    assert not at.exception
    assert "TensorFlow Lite export is not available for table models" in error_text(at)
    assert "predict_export_tflite_download" not in [b.key for b in at.download_button]


@pytest.mark.slow
def test_the_project_and_a_standalone_training_script_download(app, digits, downloads):
    from layerlab.spec import load_spec

    at = open_page(app, digits)

    assert not at.exception
    spec = load_spec(downloads("Handwritten_digits.json").decode("utf-8"))
    assert spec.data.source == "sample:digits" and spec.train.epochs == 2
    script = downloads("train_Handwritten_digits.py").decode("utf-8")
    compile(script, "train.py", "exec")
    assert "def build_model(input_shape" in script and "digits.csv.gz" in script


# ---- import: a project file ---------------------------------------------------------------------------


def _upload_project(at, name: str, data: bytes):
    return at.file_uploader(key="predict_project_file").set_value((name, data, "application/json")).run()


@pytest.mark.slow
def test_a_project_file_becomes_this_sessions_project(app, digits):
    at = _upload_project(open_page(app, digits), "p.json", (digits.path / "project.json").read_bytes())

    assert not at.exception and not at.error
    assert "Opened the project **Handwritten digits**" in at.success[0].value
    assert at.session_state["project"].data.source == "sample:digits"
    assert {p.proto.label for p in at.get("page_link")} >= {"Look at the model", "Train it"}


def test_a_project_without_any_run_can_be_opened_too(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from layerlab.project import new_project

    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path / "no-runs"))
    spec = new_project("sample:penguins")
    at = app(PAGE, state={"pid": OWNER})
    assert "No finished run yet" in at.info[0].value
    at = _upload_project(at, "penguins.json", spec.to_json().encode())

    assert not at.exception and not at.error
    assert at.session_state["project"].data.target == "species"


@pytest.mark.slow
@pytest.mark.parametrize("data, message", [
    (b'{"data": {"kind": "images", "source": "sample:digits"}, "train": {"epochs": 0}}', "train.epochs"),
    (b'{"data": {"kind": "pictures", "source": "sample:digits"}}', "data.kind"),
    (b'{"data": {"source": "sample:digits"}, "trian": {}}', "trian"),
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not a text file"),
])
@pytest.mark.slow
def test_a_bad_project_file_is_refused_naming_the_field(app, digits, data: bytes, message: str):
    at = _upload_project(open_page(app, digits, project=None), "bad.json", data)

    assert not at.exception
    assert message in error_text(at)
    assert not at.success
    assert at.session_state["project"] is None  # nothing was replaced
    at.run()  # the message stays while the refused file is in the uploader
    assert message in error_text(at)


# ---- import: a .keras model made elsewhere ---------------------------------------------------------


def _save(model, path: Path) -> bytes:
    model.save(path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    import keras

    folder = tmp_path_factory.mktemp("models")
    plain = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    lam = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Lambda(lambda x: x * 2.0), keras.layers.Flatten(),
                            keras.layers.Dense(2, activation="softmax")])
    table = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    classes = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    window = keras.Sequential([keras.Input((4, 2)), keras.layers.GRU(3), keras.layers.Dense(1)])
    vectorize = keras.layers.TextVectorization(max_tokens=50, output_sequence_length=4)
    vectorize.adapt(["a lovely day", "a dreadful night"])
    words = keras.Input((1,), dtype="string")
    x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(50, 4)(vectorize(words)))
    text = keras.Model(words, keras.layers.Dense(2, activation="softmax")(x))
    a, b = keras.Input((2,)), keras.Input((3,))
    two = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
    models = {"plain": plain, "lambda": lam, "table": table, "classes": classes, "window": window, "text": text,
              "two": two}
    return {name: _save(m, folder / f"{name}.keras") for name, m in models.items()}


def _upload_model(at, name: str, data: bytes):
    return at.file_uploader(key="predict_own_model").set_value((name, data, "application/octet-stream")).run()


@pytest.mark.slow
def test_an_image_model_from_elsewhere_predicts_an_upload(app, digits, keras_files):
    at = _upload_model(open_page(app, digits), "mine.keras", keras_files["plain"])
    assert not at.exception and not at.error
    assert "Input (None, 16, 16, 3)" in "\n".join(c.value for c in at.caption)

    at.text_input(key="predict_own_names").input("cat, dog, bird")
    at.file_uploader(key="predict_own_image").set_value(("d.png", digit_png(5, mode="RGB"), "image/png")).run()

    assert not at.exception and not at.error
    top = next(m for m in at.metric if m.label == "Top class")
    assert top.value in ("cat", "dog", "bird")
    assert any("as the model sees it (16×16)" in i.caption for image in at.image for i in image.proto.imgs)


@pytest.mark.slow
def test_a_model_with_a_lambda_layer_is_refused(app, digits, keras_files):
    at = _upload_model(open_page(app, digits), "lam.keras", keras_files["lambda"])

    assert not at.exception
    assert "Lambda layer" in error_text(at) and "refuses" in error_text(at)


@pytest.mark.slow
def test_safe_mode_itself_refuses_lambda_when_the_precheck_misses_it(app, digits, keras_files, monkeypatch):
    """The server's precheck is fooled here; the model host checks the file again before Keras loads it, and
    Keras' safe mode would refuse it even then (the host's own path: tests/engine/test_model_host.py)."""
    import layerlab.inference.outside as views

    monkeypatch.setattr(views, "find_lambda", lambda config: None)
    at = _upload_model(open_page(app, digits), "sneaky.keras", keras_files["lambda"])

    assert not at.exception
    assert "Lambda layer" in error_text(at) and "Layerlab refuses it (Keras safe mode)" in error_text(at)


@pytest.mark.slow
@pytest.mark.parametrize("data, message", [
    (np.random.default_rng(0).bytes(4096), "is not a Keras model file"),
    (b"", "is not a Keras model file"),
])
@pytest.mark.slow
def test_random_bytes_named_keras_get_a_clear_message(app, digits, data: bytes, message: str):
    at = _upload_model(open_page(app, digits), "random.keras", data)

    assert not at.exception
    assert f"random.keras {message}" in error_text(at)


@pytest.mark.slow
def test_a_zip_that_is_not_a_model_and_a_non_image_model(app, digits, keras_files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.txt", "hello")
    at = _upload_model(open_page(app, digits), "notes.keras", buf.getvalue())
    assert "has no config.json" in error_text(at)

    at = _upload_model(open_page(app, digits), "two.keras", keras_files["two"])
    assert not at.exception and not at.error
    assert any("Only models with one input" in i.value for i in at.info)


def _own_model(name: str, data: bytes):
    import keras

    path = Path(tempfile.mkdtemp()) / f"{name}.keras"
    path.write_bytes(data)
    return keras.saving.load_model(path)


@pytest.mark.slow
def test_a_table_model_from_elsewhere_predicts_typed_rows(app, digits, keras_files):
    at = _upload_model(open_page(app, digits), "table.keras", keras_files["table"])
    assert not at.exception and not at.error
    at.text_area(key="predict_own_rows").input("1, 2, 3, 4, 5").run()

    assert not at.exception and not at.error
    want = float(_own_model("table", keras_files["table"]).predict(np.array([[1, 2, 3, 4, 5]], "float32"))[0, 0])
    assert float(next(m for m in at.metric if m.label == "Output").value) == pytest.approx(want, rel=1e-3)

    at.text_area(key="predict_own_rows").input("1, 2, 3, 4, 5\n0;0;0;0;0\n1 1 1 1 1").run()
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["input"]) == ["1, 2, 3, 4, 5", "0;0;0;0;0", "1 1 1 1 1"]

    at.text_area(key="predict_own_rows").input("1, 2, 3\n4, x, 5, 6, 7").run()
    assert not at.exception
    assert "Row 1 has 3 number(s); the model takes 5" in error_text(at)
    at.text_area(key="predict_own_rows").input("4, x, 5, 6, 7").run()
    assert "Row 1 holds 'x', which is not a number" in error_text(at)


@pytest.mark.slow
def test_a_classifier_of_rows_shows_its_top_class_with_the_given_names(app, digits, keras_files):
    at = _upload_model(open_page(app, digits), "classes.keras", keras_files["classes"])
    at.text_input(key="predict_own_names").input("low, high")
    at.text_area(key="predict_own_rows").input("0.5, -1, 2").run()

    assert not at.exception and not at.error
    probs = _own_model("classes", keras_files["classes"]).predict(np.array([[0.5, -1, 2]], "float32"))[0]
    assert next(m for m in at.metric if m.label == "Top class").value == ["low", "high"][int(np.argmax(probs))]


@pytest.mark.slow
def test_a_text_model_from_elsewhere_classifies_typed_texts(app, digits, keras_files):
    at = _upload_model(open_page(app, digits), "text.keras", keras_files["text"])
    assert not at.exception and not at.error
    at.text_area(key="predict_own_texts").input("a lovely day").run()

    assert not at.exception and not at.error
    assert next(m for m in at.metric if m.label == "Top class").value in ("0", "1")
    at.text_area(key="predict_own_texts").input("a lovely day\na dreadful night").run()
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["input"]) == ["a lovely day", "a dreadful night"]


@pytest.mark.slow
def test_a_sequence_model_from_elsewhere_takes_a_typed_window(app, digits, keras_files):
    at = _upload_model(open_page(app, digits), "window.keras", keras_files["window"])
    assert not at.exception and not at.error
    at.text_area(key="predict_own_window").input("1,2\n3,4\n5,6").run()
    assert "The sequence has 3 step(s); the model takes 4" in error_text(at)

    at.text_area(key="predict_own_window").input("1,2\n3,4\n5,6\n7,8").run()
    assert not at.exception and not at.error
    x = np.array([[[1, 2], [3, 4], [5, 6], [7, 8]]], "float32")
    want = float(_own_model("window", keras_files["window"]).predict(x)[0, 0])
    assert float(next(m for m in at.metric if m.label == "Output").value) == pytest.approx(want, rel=1e-3)
