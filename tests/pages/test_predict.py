"""Predict page: upload images, see each one as the model sees it, its class and probabilities."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerlab.train.store import RunStore
from tests.pages.trained import OWNER, digit_png, digits_spec, module_home, page_links, plotly_figure, train_digits

PAGE = "pages/predict.py"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    with module_home(tmp_path_factory, "predict-home") as path:
        yield path


@pytest.fixture(scope="module")
def finished(home):
    return train_digits(RunStore(), OWNER)


@pytest.fixture(scope="module")
def predictor(finished):
    from layerlab.predict import load_predictor

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


def test_before_an_upload_it_says_what_the_model_takes(app, finished):
    at = _open(app, run_id=finished.id)

    assert not at.exception
    assert at.selectbox(key="predict_run").value == finished.id
    assert "images are resized to 8×8 grayscale" in at.caption[0].value
    assert "`0`, `1`" in at.caption[0].value
    assert "Upload one or more images" in at.info[0].value
    assert not at.metric


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


def test_an_unreadable_file_gets_its_own_message(app, finished):
    files = [("broken.png", b"\x89PNG\r\n\x1a\nnot an image at all", "image/png"),
             ("ok.png", digit_png(1), "image/png")]
    at = _open(app, run_id=finished.id)
    at.file_uploader(key="predict_files").set_value(files).run()

    assert not at.exception
    assert len(at.warning) == 1
    assert "broken.png" in at.warning[0].value and "not an image we can read" in at.warning[0].value
    assert len(at.metric) == 1 and len(at.get("plotly_chart")) == 1


def test_only_unreadable_files_show_no_prediction(app, finished):
    at = _open(app, run_id=finished.id)
    at.file_uploader(key="predict_files").set_value([("empty.gif", b"", "image/gif")]).run()

    assert not at.exception
    assert "empty.gif" in at.warning[0].value
    assert not at.metric and not at.get("plotly_chart")
