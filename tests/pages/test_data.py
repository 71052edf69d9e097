"""Data page: bundled samples, zip uploads (good and refused), and what the data holds."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from layerlab.project import new_project
from layerlab.samples import SAMPLES
from tests.pages.markdown import plain

pytestmark = pytest.mark.usefixtures("home")  # a fresh LAYERLAB_HOME per test (tests/pages/conftest.py)


def _png(colour: tuple[int, int, int], size: int = 12) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buf, format="PNG")
    return buf.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def shapes_zip() -> bytes:
    """Three classes (red 5, green 4, blue 3 images) plus two files that are skipped."""
    files = {}
    for cls, colour, n in (("red", (220, 30, 30), 5), ("green", (30, 200, 30), 4), ("blue", (30, 30, 220), 3)):
        for i in range(n):
            files[f"shapes/{cls}/{i}.png"] = _png(colour)
    files["shapes/README.txt"] = b"not an image"
    files["shapes/red/notes.txt"] = b"not an image either"
    return _zip(files)


def _upload(at, name: str, data: bytes):
    at.file_uploader(key="data.upload").set_value((name, data, "application/zip"))
    return at.run()


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _errors(at) -> str:
    return plain(" ".join(e.value for e in at.error))


# ---- the page ---------------------------------------------------------------------------------


def test_data_page_lists_bundled_samples_with_their_source(app):
    at = app("pages/data.py")

    assert not at.exception
    assert at.title[0].value == "Data"
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    digits = SAMPLES["digits"]
    assert digits.title in text and digits.description in text
    assert f"Source: {digits.source}" in text
    assert "scikit-learn's copy of the UCI" in text
    from layerlab.project import kind_of_file

    assert "one folder of images per class, or a table: CSV, TSV, Excel (.xlsx), Parquet or JSON Lines" in \
        at.file_uploader(key="data.upload").help, "the accepted files are named (the page refuses others in words)"
    assert {kind_of_file(f"x{ext}") for ext in (".csv", ".tsv", ".xlsx", ".parquet", ".jsonl")} == {"table"}
    assert kind_of_file("x.ZIP") == "images"
    assert "No data chosen yet" in " ".join(i.value for i in at.info)


def test_choosing_the_digits_sample_shows_counts_examples_and_chart(app):
    at = app("pages/data.py")
    at.button(key="data.sample.digits").click().run()

    assert not at.exception and not at.error
    assert at.session_state["project"].data.source == "sample:digits"
    assert _metrics(at) == {"Images": "1,797", "Classes": "10", "Skipped files": "0"}
    # one row of examples per class, each a few images upscaled from 8×8
    rows = at.get("image")
    assert len(rows) == 10 and all(len(r.proto.imgs) == 6 for r in rows)
    captions = [c.value for c in at.caption]
    assert "178 images" in captions  # digit 0
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    bar = chart["data"][0]
    assert bar["type"] == "bar" and list(bar["x"]) == [str(d) for d in range(10)]
    assert sum(bar["y"]) == 1797
    assert "Skipped files (0)" in [e.label for e in at.expander]
    assert any(p.proto.label == "Next: Prepare" for p in at.get("page_link"))
    assert any("In use" in m.value for m in at.markdown)


def test_uploading_a_zip_of_class_folders_makes_the_project(app, home: Path):
    at = app("pages/data.py")
    _upload(at, "shapes.zip", shapes_zip())

    assert not at.exception, at.exception
    spec = at.session_state["project"]
    assert spec.name == "shapes"
    assert spec.data.kind == "images" and spec.data.source.endswith(".zip")
    assert Path(spec.data.source).parent == home / "uploads" / at.session_state["pid"]
    assert _metrics(at) == {"Images": "12", "Classes": "3", "Skipped files": "2"}
    assert at.header[0].value == "shapes"
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert dict(zip(chart["x"], chart["y"])) == {"blue": 3, "green": 4, "red": 5}
    assert "Skipped files (2)" in [e.label for e in at.expander]
    assert "Your uploaded files (1)" in [e.label for e in at.expander]  # the user can delete it
    skipped = at.dataframe[0].value
    assert set(skipped["File"]) == {"README.txt", "red/notes.txt"}
    assert any("not inside a class folder" in r for r in skipped["Why it was skipped"])
    # few images per class: a plain-words warning
    assert "fewer than 10 images" in " ".join(w.value for w in at.warning)


def test_a_refused_upload_keeps_the_earlier_project(app, home: Path):
    at = app("pages/data.py", state={"project": new_project("sample:digits")})
    _upload(at, "holiday.zip", b"these bytes are not a zip")

    assert not at.exception
    assert "holiday.zip is not a readable zip file" in _errors(at)
    assert "Compress" in _errors(at)  # the hint: what to do
    assert at.session_state["project"].data.source == "sample:digits"
    assert "still in use" in " ".join(c.value for c in at.caption)
    assert _metrics(at)["Images"] == "1,797"
    assert not list((home / "uploads").rglob("*.zip")), "a refused upload is not kept"
    # the message stays while the refused file is still in the uploader
    at.run()
    assert "holiday.zip is not a readable zip file" in _errors(at)


def test_a_zip_with_one_class_is_refused_in_plain_words(app):
    at = app("pages/data.py")
    _upload(at, "cats.zip", _zip({"cats/a.png": _png((1, 2, 3)), "cats/b.png": _png((4, 5, 6))}))

    assert not at.exception
    assert "Only one class was found (`cats`)" in _errors(at)
    assert "Add a folder of images for each other class" in _errors(at)
    assert "project" not in at.session_state or at.session_state["project"] is None
    assert "No data chosen yet" in " ".join(i.value for i in at.info)


@pytest.mark.parametrize(("name", "why"), [
    ("cat.png", "cat.png is a single image, but Layerlab learns from many images sorted into classes"),
    ("report.docx", "Layerlab cannot read .docx files such as report.docx"),
    ("data", "data has no file extension"),
])
def test_a_file_of_the_wrong_type_gets_words(app, name, why):
    """#15 item 7: the uploader takes any file (a type filter only turns the chip red, without words) and
    the page says which files are accepted and why this one is not."""
    at = app("pages/data.py", state={"project": new_project("sample:digits")})
    assert not at.file_uploader(key="data.upload").proto.type, "no type filter that refuses without words"
    _upload(at, name, _png((1, 2, 3)))

    assert not at.exception
    assert why in _errors(at).replace("`", "")
    assert "Upload a .zip holding one folder of images per class, or a table: CSV, TSV, Excel" in _errors(at)
    assert at.session_state["project"].data.source == "sample:digits"


def test_a_zip_without_images_is_refused(app):
    at = app("pages/data.py")
    _upload(at, "docs.zip", _zip({"a/readme.txt": b"x", "b/notes.txt": b"y"}))

    assert not at.exception
    assert "No images found" in _errors(at)
