"""Predict page: upload images, see each one as the model sees it, its class and probabilities."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerlab.runs.store import RunStore
from tests.pages.markdown import plain
from tests.pages.trained import OWNER, digit_png, digits_spec, page_links, plotly_figure, train_digits
from tests.pages.trained import shared_home  # noqa: F401 - this module's "home" fixture

# TensorFlow in, as on a server that loaded a model before (the page otherwise waits for the background import).
pytestmark = pytest.mark.usefixtures("keras_loaded")

PAGE = "pages/predict.py"


@pytest.fixture(scope="module")
def finished(home):
    return train_digits(RunStore(), OWNER)


@pytest.fixture(scope="module")
def predictor(finished):
    from layerlab.inference.predictor import load_predictor

    return load_predictor(finished.run_dir)


def _open(app, **state):
    return app(PAGE, state={"project": digits_spec(), "pid": OWNER, **state})


def test_without_a_model_it_links_to_train(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path / "no-runs"))
    at = _open(app)

    assert not at.exception
    assert at.title[0].value == "Predict"
    assert "No finished run yet" in at.info[0].value
    assert page_links(at)["Go to Train"] == "train"


@pytest.mark.slow
def test_before_an_upload_it_says_what_the_model_takes(app, finished):
    at = _open(app, run_id=finished.id)

    assert not at.exception
    assert at.selectbox(key="predict_run").value == finished.id
    assert "images are resized to 8×8 grayscale" in at.caption[0].value
    assert "Classes: 0, 1, 2" in at.caption[0].value
    assert "Upload one or more images" in at.info[0].value
    assert not at.metric


@pytest.mark.slow
def test_each_upload_gets_its_class_and_probabilities(app, finished, predictor):
    files = [("three.png", digit_png(3), "image/png"),
             ("seven.jpg", digit_png(7, size=200, mode="RGB", fmt="JPEG"), "image/jpeg")]
    at = _open(app, run_id=finished.id)
    at.file_uploader(key="predict_files").set_value(files).run()

    assert not at.exception and not at.warning
    expected = predictor.predict_images([predictor.prepare_image(data) for _, data, _ in files])
    assert [m.value for m in at.metric] == [r["label"] for r in expected]
    captions = [img.caption for image in at.image for img in image.proto.imgs]
    assert captions == ["three.png — as the model sees it (8×8)", "seven.jpg — as the model sees it (8×8)"]

    for chart, result in zip(at.get("plotly_chart"), expected):
        bars = plotly_figure(chart).data[0]
        top = sorted(result["probabilities"].items(), key=lambda kv: -kv[1])[:5]
        assert list(bars.y)[::-1] == [name for name, _ in top]  # highest at the top
        assert list(bars.x)[::-1] == pytest.approx([p for _, p in top], abs=1e-6)
        assert list(bars.y)[-1] == result["label"]


@pytest.mark.slow
def test_what_the_model_looked_at_is_laid_over_each_upload(app, finished, predictor):
    from layerlab.explain import image_occlusion, overlay

    files = [("three.png", digit_png(3), "image/png"), ("seven.png", digit_png(7), "image/png")]
    at = _open(app, run_id=finished.id)
    at.file_uploader(key="predict_files").set_value(files).run()
    at.toggle(key="predict_explain_images").set_value(True).run()

    assert not at.exception and not at.error
    captions = [img.caption for image in at.image for img in image.proto.imgs]
    labels = [m.value for m in at.metric]
    assert captions == [f"three.png — red: what made the model say {labels[0]}",
                        f"seven.png — red: what made the model say {labels[1]}"]
    img = predictor.prepare_image(files[0][1])
    shown = overlay(img, image_occlusion(predictor, img)["heat"], alpha=0.75)
    assert shown.shape == (8, 8, 3) and (shown[..., 0] >= shown[..., 1]).all()  # red laid over the digit


@pytest.mark.slow
def test_an_unreadable_file_gets_its_own_message(app, finished):
    files = [("broken.png", b"\x89PNG\r\n\x1a\nnot an image at all", "image/png"),
             ("ok.png", digit_png(1), "image/png")]
    at = _open(app, run_id=finished.id)
    at.file_uploader(key="predict_files").set_value(files).run()

    assert not at.exception
    assert len(at.warning) == 1
    assert "broken.png" in plain(at.warning[0].value) and "not an image we can read" in plain(at.warning[0].value)
    assert len(at.metric) == 1 and len(at.get("plotly_chart")) == 1


@pytest.mark.slow
def test_only_unreadable_files_show_no_prediction(app, finished):
    at = _open(app, run_id=finished.id)
    at.file_uploader(key="predict_files").set_value([("empty.gif", b"", "image/gif")]).run()

    assert not at.exception
    assert "empty.gif" in plain(at.warning[0].value)
    assert not at.metric and not at.get("plotly_chart")


# ---- the camera -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_camera_picture_just_taken_gets_its_class_and_heat_map(app, finished, predictor):
    from layerlab.explain import image_occlusion

    at = _open(app, run_id=finished.id, predict_image_mode="Camera")
    assert not at.exception
    assert "Take a picture" in at.info[0].value and not at.metric
    picture = digit_png(4, size=240, mode="RGB", fmt="JPEG")  # what a webcam sends: a colour JPEG
    at.camera_input(key="predict_camera").set_value(("image.jpg", picture, "image/jpeg")).run()

    assert not at.exception and not at.error
    expected = predictor.predict_images([predictor.prepare_image(picture)])[0]
    assert at.metric[0].value == expected["label"]
    assert at.toggle(key="predict_explain_camera").value is True  # one picture: explained unasked
    assert at.image[0].proto.imgs[0].caption == f"your picture — red: what made the model say {expected['label']}"
    assert image_occlusion(predictor, predictor.prepare_image(picture))["heat"].shape == (8, 8)

    at.camera_input(key="predict_camera").set_value(("image.jpg", b"\xff\xd8 not a jpeg", "image/jpeg")).run()
    assert not at.exception and not at.metric
    assert "The picture: it is not an image we can read" in plain(at.error[0].value)


# ---- drawing (AppTest cannot drive the canvas: the page reads an injected drawing instead) -------------


def _drawing(label: int, size: int = 280, scale: int = 20, at: tuple[int, int] = (30, 60)) -> "np.ndarray":
    """A canvas-like RGBA drawing: a real digit enlarged, white ink on a transparent background."""
    import numpy as np
    from sklearn.datasets import load_digits

    d = load_digits()
    ink = np.round(d.images[int(np.flatnonzero(d.target == label)[0])] * 255 / 16).astype("uint8")
    ink = np.kron(ink, np.ones((scale, scale), dtype="uint8"))
    rgba = np.zeros((size, size, 4), dtype="uint8")
    y, x = at
    rgba[y:y + ink.shape[0], x:x + ink.shape[1], :3] = 255
    rgba[y:y + ink.shape[0], x:x + ink.shape[1], 3] = ink
    return rgba


@pytest.mark.slow
def test_draw_mode_shows_the_canvas_and_waits_for_a_drawing(app, finished):
    at = _open(app, run_id=finished.id, predict_image_mode="Draw")

    assert not at.exception
    assert "Draw something on the canvas" in at.info[0].value
    assert at.toggle(key="predict_draw_fit").value is True
    assert not at.get("file_uploader") or "predict_files" not in [f.key for f in at.file_uploader]


@pytest.mark.slow
@pytest.mark.parametrize("fit", [True, False])
def test_a_drawing_is_scaled_down_as_the_engine_does_and_classified(app, finished, predictor, fit: bool):
    from components.predict.images import DRAWING_KEY
    from layerlab.inference.inputs import drawing_to_gray, fit_to_frame

    drawing = _drawing(3)
    at = _open(app, run_id=finished.id, predict_image_mode="Draw", predict_draw_fit=fit, **{DRAWING_KEY: drawing})

    assert not at.exception and not at.error
    gray = drawing_to_gray(drawing)
    expected = predictor.predict_images([predictor.prepare_image_array(fit_to_frame(gray) if fit else gray)])[0]
    assert at.metric[0].value == expected["label"]
    assert at.image[0].proto.imgs[0].caption == "your drawing — as the model sees it (8×8)"
    bars = plotly_figure(at.get("plotly_chart")[0]).data[0]
    assert list(bars.x)[-1] == pytest.approx(expected["confidence"], abs=1e-6)


@pytest.mark.slow
def test_an_empty_canvas_asks_for_a_drawing(app, finished):
    import numpy as np

    from components.predict.images import DRAWING_KEY

    at = _open(app, run_id=finished.id, predict_image_mode="Draw",
               **{DRAWING_KEY: np.zeros((280, 280, 4), dtype="uint8")})

    assert not at.exception
    assert "The canvas is empty" in at.info[0].value and not at.metric


def test_drawing_to_gray_treats_transparency_as_the_black_background():
    import numpy as np

    from layerlab.inference.inputs import drawing_to_gray, fit_to_frame

    rgba = np.zeros((10, 10, 4), dtype="uint8")
    rgba[..., :3] = 255  # white everywhere, but only opaque in one block
    rgba[2:5, 6:8, 3] = 255
    gray = drawing_to_gray(rgba)
    assert gray.shape == (10, 10, 1) and gray.max() == 255 and gray.sum() == 255 * 6
    framed = fit_to_frame(gray, margin=0.5)
    assert framed.shape == (6, 6, 1) and framed.sum() == 255 * 6  # cropped to the ink, centred with a margin
    assert framed[1:4, 2:4, 0].min() == 255
    assert fit_to_frame(np.zeros((4, 4, 1), "uint8")).shape == (4, 4, 1)  # nothing drawn: unchanged


def test_a_small_colour_model_offers_no_canvas():
    from components.predict.images import can_draw
    from layerlab.data.info import DataInfo

    assert can_draw(DataInfo("images", "classification", (8, 8, 1), ["a", "b"]))
    assert not can_draw(DataInfo("images", "classification", (32, 32, 3), ["a", "b"]))
    assert not can_draw(DataInfo("images", "classification", (128, 128, 1), ["a", "b"]))


@pytest.mark.slow
def test_the_page_has_export_and_import_tabs(app, finished):
    at = _open(app, run_id=finished.id)

    assert not at.exception
    assert [t.label for t in at.tabs] == [":material/online_prediction: Predict", ":material/download: Export",
                                          ":material/upload: Import"]
    assert at.file_uploader(key="predict_own_model") and at.file_uploader(key="predict_project_file")


@pytest.mark.slow
def test_the_model_cache_shares_one_predictor_per_run_and_model_file(finished, tmp_path: Path):
    import os

    from components import model_cache
    from layerlab.errors import LayerlabError

    model_cache.clear()
    first = model_cache.get_predictor(finished.path)
    assert model_cache.get_predictor(str(finished.path)) is first
    model = finished.path / "model.keras"
    stat = model.stat()
    try:
        os.utime(model, (stat.st_atime, stat.st_mtime + 10))  # a newer model file loads afresh
        assert model_cache.get_predictor(finished.path) is not first
    finally:
        os.utime(model, (stat.st_atime, stat.st_mtime))
    with pytest.raises(LayerlabError, match="holds no trained model"):
        model_cache.get_predictor(tmp_path)


@pytest.mark.slow
def test_a_model_that_cannot_be_loaded_gets_a_plain_message_and_keeps_export(app, finished):
    """Issue #15 item 1: an unreadable vocabulary showed raw, cut exception text and lost the Export tab."""
    from components import model_cache
    from tests.engine.test_inference_outside import unloadable_vocabulary_model

    model = finished.path / "model.keras"
    saved = model.read_bytes()
    try:
        unloadable_vocabulary_model(model)
        at = _open(app, run_id=finished.id)
        assert not at.exception
        shown = " ".join(plain(e.value) for e in at.error)
        assert "The model file model.keras could not be loaded" in shown and "train the run again" in shown
        for raw in ("ValueError", "repeated term", "objects could not be loaded"):
            assert raw not in shown
        assert [t.label for t in at.tabs][1:] == [":material/download: Export", ":material/upload: Import"]
        assert at.file_uploader(key="predict_project_file"), "the Import tab still works"
    finally:
        model.write_bytes(saved)
        model_cache.clear()
