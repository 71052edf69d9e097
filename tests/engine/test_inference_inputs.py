"""layerlab.inference.inputs: raw inputs of every kind, good and bad, with the messages every client shows."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from layerlab.errors import DataError
from layerlab.inference import inputs
from layerlab.spec import ImagePrep

COLUMNS = [
    {"name": "bill", "input": "in_0_bill", "type": "numeric", "min": 30.0, "max": 60.0, "default": 44.0},
    {"name": "island", "input": "in_1_island", "type": "categorical", "categories": ["[missing]", "Biscoe", "Dream"],
     "default": "Biscoe"},
]
SERIES = {"window": 3, "features": ["temp", "rain"], "date": "day"}


def _png(size: tuple[int, int] = (20, 10), mode: str = "RGB", fmt: str = "PNG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, color=200 if mode == "L" else (200, 10, 10)).save(buf, format=fmt)
    return buf.getvalue()


# ---- images -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF", "WEBP"])
def test_image_bytes_of_every_accepted_format_become_the_models_input(fmt: str):
    prep = ImagePrep(height=8, width=8, color="grayscale")
    img = inputs.image(_png(fmt=fmt), prep, "photo")
    assert img.shape == (8, 8, 1) and img.dtype == np.uint8


@pytest.mark.parametrize("data, words", [
    (b"\x89PNG\r\n\x1a\nnot an image", "photo.png: "),
    (b"", "photo.png: "),
    ("aGVsbG8=", "photo.png should be an image file's bytes; received str"),
])
def test_bad_image_bytes_name_the_file(data, words: str):
    with pytest.raises(DataError) as err:
        inputs.image(data, ImagePrep(height=8, width=8), "photo.png")
    assert err.value.message.startswith(words)
    assert "Traceback" not in str(err.value)


def test_an_image_over_the_pixel_limit_is_refused(monkeypatch):
    monkeypatch.setenv("LAYERLAB_IMAGE_PIXELS", "100")
    with pytest.raises(DataError, match=r"big.png: the image (is 20×10 pixels, over|has more pixels than) the limit of 100"):
        inputs.image(_png(), ImagePrep(height=8, width=8), "big.png")


def test_a_drawing_becomes_a_centred_gray_image():
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)
    rgba[2:10, 2:6] = [255, 255, 255, 255]  # ink in a corner
    img = inputs.drawing(rgba.tolist(), ImagePrep(height=8, width=8, color="grayscale"))  # plain lists, as JSON gives
    assert img.shape == (8, 8, 1)
    assert img[3:5, 3:5].max() > 100, "the ink is centred"


@pytest.mark.parametrize("pixels, words", [
    (np.zeros((8, 8, 4), dtype=np.uint8), "The drawing is empty."),
    (np.zeros((8, 8, 2)), "The drawing has an unexpected shape (8, 8, 2)."),
    ([["a", "b"]], "The drawing should be an array of pixel values"),
])
def test_a_bad_drawing_says_what_is_wrong(pixels, words: str):
    with pytest.raises(DataError) as err:
        inputs.drawing(pixels, ImagePrep(height=8, width=8, color="grayscale"))
    assert err.value.message.startswith(words)


# ---- texts ----------------------------------------------------------------------------------------------


def test_text_lines_drop_blank_lines():
    assert inputs.text_lines("  good film \n\n bad film\n   \n") == ["good film", "bad film"]


def test_texts_must_be_strings_and_not_none():
    assert inputs.texts(["a", "b"]) == ["a", "b"]
    with pytest.raises(DataError, match="The request: text 2 should be a string; received 3"):
        inputs.texts(["a", 3])
    with pytest.raises(DataError, match="The request holds no texts"):
        inputs.texts([])
    with pytest.raises(DataError, match="should be a list of texts"):
        inputs.texts("one text")


def test_texts_of_a_file_by_column_or_line(monkeypatch):
    csv = b"review,stars\ngreat,5\n,1\nawful,1\n"
    assert inputs.texts_of_file("r.csv", csv, "review") == ["great", "", "awful"]
    assert inputs.texts_of_file("r.txt", b"one\n\ntwo\n", "review") == ["one", "two"]
    with pytest.raises(DataError, match="r.csv has no `text` column with the texts") as err:
        inputs.texts_of_file("r.csv", csv, "text")
    assert "review, stars" in err.value.hint
    with pytest.raises(DataError, match="e.txt holds no texts"):
        inputs.texts_of_file("e.txt", b"\n \n", "text")
    monkeypatch.setenv("LAYERLAB_PREDICT_ROWS", "1")
    with pytest.raises(DataError, match="r.txt holds 2 texts; the Predict page takes at most 1 texts"):
        inputs.texts_of_file("r.txt", b"one\ntwo\n", "review")


# ---- rows -----------------------------------------------------------------------------------------------


def test_rows_by_column_become_the_models_named_inputs():
    x = inputs.rows([{"bill": 41.5, "island": "Dream", "extra": "ignored"}, {"bill": "39", "island": None},
                     {"bill": None, "island": "Biscoe"}], COLUMNS)
    assert set(x) == {"in_0_bill", "in_1_island"}
    assert x["in_0_bill"][:2, 0].tolist() == [41.5, 39.0] and np.isnan(x["in_0_bill"][2, 0]), "None is missing"
    assert x["in_1_island"][:, 0].tolist() == ["Dream", "", "Biscoe"], "a missing category is '' (filled as trained)"
    one = inputs.rows({"bill": 40, "island": "Dream"}, COLUMNS)
    assert one["in_0_bill"].shape == (1, 1)


@pytest.mark.parametrize("records, words", [
    ([{"island": "Dream"}], "The request has no column `bill`."),
    ([{"bill": "long", "island": "Dream"}], "The request: the column `bill` should hold numbers, but row 1 has 'long'."),
    ([{"bill": 1, "island": "Dream"}, {"bill": "x", "island": "Dream"}], "but row 2 has 'x'"),
    ([[40, "Dream"]], "Row 1 should be an object of column values; received list."),
    ([{"bill": [1, 2], "island": "Dream"}], "Row 1: the column `bill` should hold one value"),
    ("bill=40", "The request should be a list of rows"),
])
def test_bad_rows_name_the_row_and_column(records, words: str):
    with pytest.raises(DataError) as err:
        inputs.rows(records, COLUMNS)
    assert words in err.value.message


def test_the_form_offers_the_training_categories_but_not_the_missing_token():
    assert inputs.choices(COLUMNS[1]) == ["Biscoe", "Dream"]
    assert inputs.choices({"categories": ["[missing]"], "default": "[missing]"}) == ["[missing]"]


def test_a_file_of_rows_is_capped_and_checked_before_predicting(monkeypatch):
    csv = pd.DataFrame({"bill": [40, 41, 42], "island": ["Dream"] * 3, "id": [1, 2, 3]}).to_csv(index=False).encode()
    df = inputs.rows_of_file("birds.csv", csv, COLUMNS)
    assert list(df.columns) == ["bill", "island", "id"], "other columns pass through"
    with pytest.raises(DataError, match="birds.csv has no column `island`"):
        inputs.rows_of_file("birds.csv", b"bill\n40\n", COLUMNS)
    monkeypatch.setenv("LAYERLAB_PREDICT_ROWS", "2")
    with pytest.raises(DataError) as err:
        inputs.rows_of_file("birds.csv", csv, COLUMNS)
    assert err.value.message == "birds.csv holds 3 rows; the Predict page takes at most 2 rows at a time."
    assert "LAYERLAB_PREDICT_ROWS" in err.value.hint


# ---- series ---------------------------------------------------------------------------------------------


def test_a_window_of_recent_values_keeps_the_last_rows():
    w = inputs.window([[1, 10], [2, 20], [3, 30], [4, 40]], SERIES)
    assert w.tolist() == [[2, 20], [3, 30], [4, 40]] and w.dtype == np.float32
    one = inputs.window([5, 6, 7, 8], {"window": 3, "features": ["temp"]})
    assert one.shape == (3, 1), "one value column: a flat list of values"


@pytest.mark.parametrize("values, words", [
    ([[1, 10], [2, 20]], "The window needs at least 3 rows; it has 2."),
    ([[1], [2], [3]], "The window must have 2 value column(s) (temp, rain); it has shape (3, 1)."),
    ([[1, 10], [2, "x"], [3, 30]],
     "The window should hold numbers, one row per step with 2 value(s) (temp, rain), but has 'x'."),
    ([[1, 10], [2, None], [3, 30]], "The window has missing values."),
    ([[1, 10], [2, float("nan")], [3, 30]], "The window has missing values."),
    ([[1, 10], [2, float("inf")], [3, 30]], "The window has infinite values."),
])
def test_a_bad_window_says_what_is_wrong(values, words: str):
    with pytest.raises(DataError) as err:
        inputs.window(values, SERIES)
    assert err.value.message == words


def test_a_window_file_is_sorted_by_date_and_checked():
    csv = b"day,temp,rain\n2024-01-03,3,30\n2024-01-01,1,10\n2024-01-02,2,20\n"
    values, dates = inputs.window_of_file("w.csv", csv, SERIES)
    assert values.tolist() == [[1, 10], [2, 20], [3, 30]]
    assert [d.day for d in dates] == [1, 2, 3]
    with pytest.raises(DataError, match="w.csv has no column `rain`"):
        inputs.window_of_file("w.csv", b"day,temp\n2024-01-01,1\n", SERIES)
    with pytest.raises(DataError, match="The column `rain` should hold numbers, but has 'lots'"):
        inputs.window_of_file("w.csv", b"day,temp,rain\n2024-01-01,1,lots\n", SERIES)


def test_the_batch_cap_follows_the_setting(monkeypatch):
    inputs.check_batch_rows(100_000, "big.csv")
    monkeypatch.setenv("LAYERLAB_PREDICT_ROWS", "5")
    with pytest.raises(DataError, match="The pasted text holds 6 texts; the Predict page takes at most 5 texts"):
        inputs.check_batch_rows(6, "The pasted text", "texts")


def test_the_batch_cap_is_the_pages_and_servers_not_the_command_lines(monkeypatch):
    """LAYERLAB_PREDICT_ROWS caps what a page or a request sends; `python -m layerlab predict` reads files whole."""
    from layerlab.inference import inputs as parse

    monkeypatch.setenv("LAYERLAB_PREDICT_ROWS", "2")
    data = b"first\nsecond\nthird\n"
    with pytest.raises(DataError, match="3"):
        parse.texts_of_file("three.txt", data, "text")
    assert parse.texts_of_file("three.txt", data, "text", cap=False) == ["first", "second", "third"]
    table = b"x\n1\n2\n3\n"
    with pytest.raises(DataError, match="3"):
        parse.rows_of_file("three.csv", table, [{"name": "x", "type": "numeric"}])
    assert len(parse.rows_of_file("three.csv", table, [{"name": "x", "type": "numeric"}], cap=False)) == 3
