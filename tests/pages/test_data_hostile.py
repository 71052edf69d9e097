"""Data page against hostile uploads (issue #7): zip bombs, escaping paths, links, nested and encrypted
zips, thousands of files, image bombs, fake images, huge tables and HTML in column names.

Each refusal must be a plain message with what to do, never a traceback; the earlier project stays;
nothing is written outside Layerlab's own folders.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerlab.project import new_project
from tests.pages.markdown import plain
from tests.engine.hostile import parquet_bomb, xlsx_bomb
from tests.engine.imagezips import (bomb_zip, class_image, class_zip_bytes, encode, lie_about_sizes, mark_encrypted,
                                    symlink_entry, zip_bytes)

pytestmark = pytest.mark.usefixtures("home")  # a fresh LAYERLAB_HOME per test (tests/pages/conftest.py)

PAGE = "pages/data.py"


def _upload(at, name: str, data: bytes, mime: str = "application/zip"):
    at.file_uploader(key="data.upload").set_value((name, data, mime))
    return at.run()


def _text(elements) -> str:
    return plain(" ".join(e.value for e in elements))


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _with_digits(app):
    """The Data page with the digits sample as the current project."""
    return app(PAGE, state={"project": new_project("sample:digits")})


def _refused_and_kept(at, home: Path, *words: str) -> str:
    """The upload was refused in words (no traceback, no 'bug' message) and the digits project stays."""
    assert not at.exception, at.exception
    errors = _text(at.error)
    for w in words:
        assert w in errors, errors
    assert "Something unexpected" not in errors and "Traceback" not in errors
    assert at.session_state["project"].data.source == "sample:digits"
    assert "still in use" in _text(at.caption)
    assert _metrics(at)["Images"] == "1,797", "the earlier project's page still renders"
    assert not [p for p in (home / "uploads").rglob("*") if p.is_file()], "a refused upload is not kept"
    assert not [p for p in (home / "extracted").rglob("*") if p.is_file()], "nothing of it was unpacked"
    return errors


def _skipped(at) -> dict[str, str]:
    table = next(d.value for d in at.dataframe if list(d.value.columns) == ["File", "Why it was skipped"])
    return dict(zip(table["File"], table["Why it was skipped"]))


def _files_outside(root: Path, allowed: list[Path]) -> list[Path]:
    return [p for p in root.rglob("*") if (p.is_file() or p.is_symlink())
            and not any(p.is_relative_to(a) for a in allowed)]


# ---- zips ------------------------------------------------------------------------------------------------


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(app, home: Path):
    bomb = bomb_zip(64)  # 64 MB of zeros in about 64 kB
    at = _upload(_with_digits(app), "holiday.zip", bomb)

    errors = _refused_and_kept(at, home, "looks like a zip bomb")
    assert "ordinary zip" in errors  # what to do
    at.run()
    assert "looks like a zip bomb" in _text(at.error), "the message stays while the file is in the uploader"


def test_a_zip_over_the_unpacked_size_limit_is_refused(app, home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAYERLAB_EXTRACTED_MB", "2")
    noise = np.random.default_rng(0).bytes(3 << 20)  # does not compress: no bomb, just too big
    at = _upload(_with_digits(app), "big.zip", zip_bytes({"a/1.png": noise, "b/2.png": b"x"}))

    errors = _refused_and_kept(at, home, "would unpack to 3 MB; the limit is 2 MB")
    assert "fewer or smaller images" in errors


@pytest.mark.parametrize("damage", ["sizes that lie", "damaged data"])
def test_a_zip_whose_contents_do_not_match_its_directory_is_refused_as_damaged(app, home: Path, damage: str):
    if damage == "sizes that lie":  # a bomb that hides its size: the directory claims 100 bytes
        data = lie_about_sizes(zip_bytes({"a/x.png": np.random.default_rng(1).bytes(3 << 20), "b/y.png": b"y"}))
    else:
        raw = bytearray(zip_bytes({"a/x.png": b"hello world " * 20_000, "b/y.png": b"y"}))
        raw[200:240] = b"\xff" * 40
        data = bytes(raw)
    at = _upload(_with_digits(app), "odd.zip", data)

    errors = _refused_and_kept(at, home, "odd.zip is damaged")
    assert "a/x.png" in errors and "Zip the folders again" in errors


def test_entries_that_point_outside_the_zip_are_skipped_and_listed(app, home: Path, tmp_path: Path):
    token = uuid.uuid4().hex[:8]
    evil = {
        f"../escape-{token}.png": b"x",
        f"../../../../../../../../tmp/escape-{token}.png": b"x",
        f"/tmp/abs-{token}.png": b"x",
        f"..\\..\\win-{token}.png": b"x",
        f"class_0/../../up-{token}.png": b"x",
    }
    at = _upload(app(PAGE), "evil.zip", class_zip_bytes(tmp_path, extras=evil))

    assert not at.exception, at.exception
    assert not at.error, _text(at.error)
    assert _metrics(at) == {"Images": "8", "Classes": "2", "Skipped files": "5"}
    skipped = _skipped(at)
    assert set(skipped) == set(evil)
    assert all(why == "its path points outside the zip's folder" for why in skipped.values())
    # Nothing landed outside Layerlab's folders: not beside the home, not in /tmp, not at the root.
    assert not _files_outside(tmp_path, [home / "uploads", home / "extracted", home / "projects", home / "runs",
                                         tmp_path / "classes.zip"])
    assert not list(Path("/tmp").glob(f"*{token}*")) and not list(Path("/").glob(f"*{token}*"))


def test_links_and_zips_inside_the_zip_are_skipped_and_listed(app, home: Path, tmp_path: Path):
    inner = class_zip_bytes(tmp_path)
    extras = {"class_0/inner.zip": inner, symlink_entry("class_1/passwd.png"): b"/etc/passwd",
              symlink_entry("class_1/up"): b"../../.."}
    data = zip_bytes({**{n: d for n, d in _class_files().items()}, **extras})
    at = _upload(app(PAGE), "links.zip", data)

    assert not at.exception, at.exception
    assert not at.error, _text(at.error)
    skipped = _skipped(at)
    assert skipped["class_0/inner.zip"] == "zips inside the zip are not opened"
    assert skipped["class_1/passwd.png"] == skipped["class_1/up"] == "it is a symbolic link"
    assert not [p for p in home.rglob("*") if p.is_symlink()], "no link was made"
    assert _metrics(at)["Images"] == "8"


def test_a_password_protected_zip_is_refused(app, home: Path, tmp_path: Path):
    at = _upload(_with_digits(app), "secret.zip", mark_encrypted(class_zip_bytes(tmp_path)))

    errors = _refused_and_kept(at, home, "The zip is password-protected")
    assert "without a password" in errors


def test_a_zip_of_too_many_files_is_refused_at_once(app, home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAYERLAB_ZIP_MEMBERS", "1000")
    many = zip_bytes({f"c{i % 2}/{i}.png": b"" for i in range(3000)}, compression=0)
    start = time.perf_counter()
    at = _upload(_with_digits(app), "many.zip", many)

    errors = _refused_and_kept(at, home, "The zip holds 3,000 entries; the limit is 1,000")
    assert "Split it into smaller zips" in errors
    assert time.perf_counter() - start < 10


def test_thousands_of_tiny_images_open_in_seconds(app, home: Path):
    png = encode(class_image(0, np.random.default_rng(0), 8), "PNG")
    many = zip_bytes({f"tiny/{'ab'[i % 2]}/{i:05d}.png": png for i in range(4000)})
    start = time.perf_counter()
    at = _upload(app(PAGE), "tiny.zip", many)

    assert not at.exception and not at.error, _text(at.error)
    assert _metrics(at) == {"Images": "4,000", "Classes": "2", "Skipped files": "0"}
    assert time.perf_counter() - start < 30


# ---- images inside a zip ----------------------------------------------------------------------------------


def _class_files(per_class: int = 4) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    return {f"class_{k}/img_{i}.png": encode(class_image(k, rng, 16), "PNG") for k in range(2) for i in range(per_class)}


def test_an_image_bomb_and_fake_images_are_skipped_and_counted(app, monkeypatch: pytest.MonkeyPatch):
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # the page sets Pillow's limit: put it back
    monkeypatch.setenv("LAYERLAB_IMAGE_PIXELS", "1000000")
    bomb = encode(np.zeros((2000, 2000, 3), np.uint8), "PNG")  # 4 million pixels in a few kB
    real = _class_files()["class_0/img_0.png"]
    files = {**_class_files(), "class_0/huge.png": bomb, "class_0/fake.jpg": b"\xff\xd8\xff this is not a JPEG",
             "class_1/cut.png": real[: len(real) // 2]}
    at = _upload(app(PAGE), "mixed.zip", zip_bytes(files))

    assert not at.exception, at.exception
    assert not at.error, _text(at.error)
    assert _metrics(at) == {"Images": "8", "Classes": "2", "Skipped files": "3"}
    skipped = _skipped(at)
    assert "limit of 1,000,000" in skipped["class_0/huge.png"]
    assert "not an image we can read" in skipped["class_0/fake.jpg"]
    assert "damaged or truncated" in skipped["class_1/cut.png"]
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert dict(zip(chart["x"], chart["y"])) == {"class_0": 4, "class_1": 4}, "the readable images per class"


def test_an_animated_gif_shows_its_first_frame(app):
    from PIL import Image

    import io

    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    files = {**_class_files(), "class_0/anim.gif": buf.getvalue()}
    at = _upload(app(PAGE), "gifs.zip", zip_bytes(files))

    assert not at.exception and not at.error, _text(at.error)
    assert _metrics(at)["Images"] == "9" and _metrics(at)["Skipped files"] == "0"


# ---- tables ------------------------------------------------------------------------------------------------


def test_a_table_of_twenty_thousand_columns_is_refused_quickly(app, home: Path):
    header = ",".join(f"c{i}" for i in range(20_000)) + "\n"
    data = (header + (",".join(["1"] * 20_000) + "\n") * 50).encode()
    start = time.perf_counter()
    at = _upload(_with_digits(app), "wide.csv", data, "text/csv")

    errors = _refused_and_kept(at, home, "20,000 columns; the limit is 2,000")
    assert "LAYERLAB_COLUMNS" in errors
    assert time.perf_counter() - start < 15


def test_a_single_line_of_100_mb_is_refused(app, home: Path):
    data = b"x," * (50 << 20) + b"\n1,2\n"
    start = time.perf_counter()
    at = _upload(_with_digits(app), "line.csv", data, "text/csv")
    del data

    _refused_and_kept(at, home, "first line", "longer than 4 MB")
    assert time.perf_counter() - start < 20


def test_compressed_tables_that_unpack_to_gigabytes_are_refused_before_reading(app, home: Path):
    at = _with_digits(app)
    start = time.perf_counter()
    at = _upload(at, "sheet.xlsx", xlsx_bomb(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    errors = _refused_and_kept(at, home, "sheet.xlsx unpacks", "looks like a zip bomb")
    assert "Save the sheet as CSV" in errors

    at = _upload(at, "zeros.parquet", parquet_bomb(), "application/octet-stream")
    errors = _refused_and_kept(at, home, "zeros.parquet holds 510,000 rows × 200 columns")
    assert "LAYERLAB_CELLS" in errors
    assert time.perf_counter() - start < 20


@pytest.mark.parametrize(("name", "data", "words"), [
    ("photo.csv", encode(np.zeros((4, 4, 3), np.uint8), "PNG"), "PNG image, not a table"),
    ("nul.csv", b"a,b\n1,\x00\x00\x00\x002\n" + bytes(range(256)) * 20, "does not look like a text table"),
    ("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "Excel"),
], ids=["png", "nul-bytes", "old-excel"])
def test_binary_bytes_named_as_a_table_are_refused(app, home: Path, name: str, data: bytes, words: str):
    at = _upload(_with_digits(app), name, data, "text/csv")

    _refused_and_kept(at, home, words)


HOSTILE_NAMES = ["<script>alert('x')</script>", "<img src=x onerror=alert(1)>", "<b>size</b>",
                 "=HYPERLINK(\"http://evil\")"]


def _hostile_csv() -> bytes:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([*HOSTILE_NAMES, "label"])
    writer.writerows([i, i % 7, (i * 3) % 11, i % 5, "<i>yes</i>" if i % 2 else "no"] for i in range(60))
    return buf.getvalue().encode()


def _strings(node: Any):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def _all_elements(node: Any):
    for child in getattr(node, "children", {}).values():
        yield child
        yield from _all_elements(child)


def assert_shown_as_text(at, needles: list[str]) -> None:
    """No element may render HTML, and every chart shows user strings escaped, never as markup."""
    for el in _all_elements(at._tree):
        proto = getattr(el, "proto", None)
        if proto is None:
            continue
        assert el.type not in ("html", "iframe"), f"{el.type} element on the page"
        for field in ("allow_html", "unsafe_allow_html"):
            if field in proto.DESCRIPTOR.fields_by_name:
                assert not getattr(proto, field), f"{el.type} allows HTML"
    markup = [n for n in needles if n.startswith("<")]
    for chart in at.get("plotly_chart"):
        for text in _strings(json.loads(chart.proto.spec)):
            assert not any(n in text for n in markup), f"{text!r} reaches a chart as markup"


def test_html_and_script_in_column_names_and_cells_are_shown_as_text(app):
    at = _upload(app(PAGE), "hostile.csv", _hostile_csv(), "text/csv")

    assert not at.exception, at.exception
    assert not at.error, _text(at.error)
    preview = at.dataframe[0].value
    assert list(preview.columns) == [*HOSTILE_NAMES, "label"]
    assert "<i>yes</i>" in set(preview["label"])
    assert_shown_as_text(at, [*HOSTILE_NAMES, "<i>yes</i>"])
    # Every numeric column's histogram, each named in its title, escaped.
    for name in HOSTILE_NAMES[:3]:
        at.selectbox(key="data.histogram").set_value(name).run()
        assert not at.exception
        assert_shown_as_text(at, HOSTILE_NAMES)
        titles = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]
        assert any(t.startswith("Distribution of &lt;") for t in titles), titles


# ---- Markdown in names (issue #7): shown as typed, never as formatting, links or HTML ------------------------

MARKDOWN_NEEDLES = ["**bold**", "[x](javascript:alert(1))", "<b>", "_a_*b*", ":red[", "$x$"]


def _bodies(at) -> list[str]:
    """Every Markdown body on the page, as sent to the browser (escapes included)."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success")
    return [e.value for kind in kinds for e in getattr(at, kind)]


def assert_markdown_escaped(at, *shown: str) -> list[str]:
    """No Markdown body holds a needle as typed outside a code span; each of `shown` appears escaped or as
    code (components.markup)."""
    from components.markup import code, md
    from tests.pages.markdown import outside_code

    bodies = _bodies(at)
    raw = [(n, b) for b in bodies for n in MARKDOWN_NEEDLES if n in outside_code(b)]
    assert not raw, raw
    for text in shown:
        assert any(md(text) in b or code(text) in b for b in bodies), (text, bodies)
    return bodies


def test_markdown_in_class_and_file_names_is_escaped(app, home: Path):
    classes = ["**bold** $x$", "_a_*b* [x](javascript:alert(1))"]
    rng = np.random.default_rng(0)
    data = zip_bytes({f"{c}/img_{i}.png": encode(class_image(k, rng, 16), "PNG")
                      for k, c in enumerate(classes) for i in range(4)})
    name = "**bold** [x](javascript:alert(1)) <b>"
    at = _upload(app(PAGE), f"{name}.zip", data)

    assert not at.exception, at.exception
    assert not at.error, _text(at.error)
    assert at.session_state["project"].name == name
    bodies = assert_markdown_escaped(at, *classes)
    assert any(b.startswith("**") and "\\*\\*bold\\*\\* \\$x\\$" in b for b in bodies), "a class name in bold"

    # A refused upload names the file in the error and the kept project in a caption, both escaped.
    bad = "_a_*b* :red[oops]"
    at = _upload(at, f"{bad}.zip", b"not a zip at all")
    assert not at.exception, at.exception
    assert f"{bad}.zip" in _text(at.error), "the message names the file as the user typed it"
    assert_markdown_escaped(at, f"{bad}.zip", name)
    assert "still in use" in _text(at.caption)


def _markdown_csv() -> bytes:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["_a_*b*", "[x](javascript:alert(1))", "**label** :red[x]"])
    writer.writerows([i, (i * 3) % 11, "**yes**" if i % 2 else "<b>no</b>"] for i in range(60))
    return buf.getvalue().encode()


def test_markdown_in_column_names_and_labels_is_escaped(app):
    at = _upload(app(PAGE), "table.csv", _markdown_csv(), "text/csv")

    assert not at.exception, at.exception
    spec = at.session_state["project"]
    assert spec.data.target == "**label** :red[x]"
    assert_markdown_escaped(at, "**label** :red[x]", "**yes**", "<b>no</b>")
