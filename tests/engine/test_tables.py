"""read_table: every format and encoding round-trips; every bad input is a DataError that says what to do."""

from __future__ import annotations

import codecs
import io
import json
import time
import tracemalloc
import zipfile

import numpy as np
import pandas as pd
import pytest

from layerlab.data.tables import HEADER_BYTES, read_table, sanitize_csv_cell, to_safe_csv
from layerlab.errors import DataError

NAMES = ["Café", "Thé", "Crème brûlée", "Water"]
PRICES = [1.5, 2.25, 4.0, 0.75]
COUNTS = [3, 10, 7, 1]


def expected() -> pd.DataFrame:
    return pd.DataFrame({"name": NAMES, "price": PRICES, "count": COUNTS})


def lines(delimiter: str, decimal: str = ".") -> str:
    rows = [delimiter.join(["name", "price", "count"])]
    for n, p, c in zip(NAMES, PRICES, COUNTS, strict=True):
        rows.append(delimiter.join([n, str(p).replace(".", decimal), str(c)]))
    return "\n".join(rows) + "\n"


def assert_same(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == ["name", "price", "count"]
    assert frame["name"].tolist() == NAMES
    assert frame["price"].dtype.kind == "f" and frame["price"].tolist() == PRICES
    assert frame["count"].dtype.kind in "iu" and frame["count"].tolist() == COUNTS


# --------------------------------------------------------------------------- formats and encodings


@pytest.mark.parametrize(
    ("filename", "payload", "fmt", "encoding", "delimiter", "note"),
    [
        ("comma.csv", lines(",").encode("utf-8"), "csv", "utf-8", ",", None),
        ("semi.csv", lines(";", decimal=",").encode(), "csv", "utf-8", ";", "Decimal commas recognised in 1 column"),
        ("tabs.tsv", lines("\t").encode("utf-8"), "tsv", "utf-8", "\t", "separated by tabs"),
        ("pipes.txt", lines("|").encode("utf-8"), "csv", "utf-8", "|", "pipes"),
        ("wide.csv", lines(",").encode("utf-16"), "csv", "utf-16", ",", "UTF-16"),
        ("bom.csv", codecs.BOM_UTF8 + lines(",").encode("utf-8"), "csv", "utf-8-sig", ",", None),
        ("excel-fr.csv", lines(";", decimal=",").encode("cp1252"), "csv", "cp1252", ";", "Windows-1252"),
    ],
)
def test_delimited_round_trip(tmp_path, filename, payload, fmt, encoding, delimiter, note):
    path = tmp_path / filename
    path.write_bytes(payload)
    read = read_table(path)
    assert_same(read.frame)
    assert (read.format, read.encoding, read.delimiter) == (fmt, encoding, delimiter)
    if note:
        assert any(note in n for n in read.notes), read.notes
    if encoding == "cp1252":
        assert "check accented letters" in " ".join(read.notes)
    # The same bytes uploaded (no path) read the same way.
    again = read_table(payload, name=filename)
    pd.testing.assert_frame_equal(again.frame, read.frame)


def test_windows_1252_with_an_unused_byte_is_still_windows_1252(tmp_path):
    # One of Windows-1252's five unused bytes (0x81) used to send the whole file to Latin-1, where
    # 0x85 ("…") became U+0085, a line break to Python and to Keras' saved vocabulary.
    payload = b"text,label\nwait for it\x85 great,1\nit\x92s fine \x81x,0\n"
    path = tmp_path / "tweets.csv"
    path.write_bytes(payload)
    for source in (path, payload):  # a file and the same bytes uploaded
        read = read_table(source, name="tweets.csv")
        assert read.encoding == "cp1252"
        assert list(read.frame["text"]) == ["wait for it\u2026 great", "it\u2019s fine \x81x"]
        assert "check accented letters" in " ".join(read.notes)


def test_windows_1252_jsonl_with_an_unused_byte(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"text": "so\x85 \x9d", "label": 1}\n')
    read = read_table(path)
    assert read.encoding == "cp1252" and read.frame["text"][0] == "so\u2026 \x9d"


def test_binary_formats_round_trip(tmp_path):
    df = expected()
    df.to_excel(tmp_path / "t.xlsx", index=False)
    df.to_parquet(tmp_path / "t.parquet")
    (tmp_path / "t.jsonl").write_text(df.to_json(orient="records", lines=True, force_ascii=False), encoding="utf-8")
    for name, fmt in [("t.xlsx", "xlsx"), ("t.parquet", "parquet"), ("t.jsonl", "jsonl")]:
        read = read_table(tmp_path / name)
        assert read.format == fmt, name
        assert_same(read.frame)
        # uploaded bytes without a name: the format is sniffed from the content
        assert read_table((tmp_path / name).read_bytes()).format == fmt


def test_semicolons_with_thousands_and_decimal_commas():
    data = "Land;Einwohner;Fläche\nDeutschland;83.200.000;357.588,5\nÖsterreich;9.100.000;83.878,9\n".encode()
    read = read_table(data, "de.csv")
    assert read.frame["Einwohner"].tolist() == [83_200_000, 9_100_000]
    assert read.frame["Fläche"].tolist() == [357588.5, 83878.9]
    assert "Decimal commas recognised in 2 columns" in " ".join(read.notes)


def test_dates_quotes_blank_lines_and_repeated_names():
    data = b'when,a,a,\n2024-01-31,"x, with comma",1,\n\n2024-02-29,"two\nlines",2,\n'
    frame = read_table(data, "q.csv").frame
    assert list(frame.columns) == ["when", "a", "a.1", "Unnamed: 3"]
    assert pd.api.types.is_datetime64_any_dtype(frame["when"])
    assert frame["a"].tolist() == ["x, with comma", "two\nlines"]
    assert frame["Unnamed: 3"].isna().all()


def test_multi_line_header_spaces_after_separators_and_nested_json():
    frame = read_table(b'"first\nname",b\n1,2\n3,4\n', "m.csv").frame
    assert list(frame.columns) == ["first\nname", "b"] and frame["b"].tolist() == [2, 4]
    read = read_table(b"a, b, c\n1, 2.5, x\n3, 4, y\n", "s.csv")
    assert read.frame["c"].tolist() == ["x", "y"] and read.frame["b"].tolist() == [2.5, 4.0]
    assert "Spaces after the separators were ignored." in read.notes
    read = read_table(b'{"a": {"x": 1}, "b": [1, 2]}\n{"a": {"x": 2}, "b": [3]}\n', "n.jsonl")
    assert read.frame["a"].tolist() == ['{"x": 1}', '{"x": 2}'] and read.frame["b"].tolist() == ["[1, 2]", "[3]"]
    assert "Nested values in `a`, `b` are kept as JSON text." in read.notes


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_any_line_ending(newline):
    frame = read_table(lines(",").replace("\n", newline).encode(), "n.csv").frame
    assert_same(frame)


def test_strings_are_arrow_backed_and_convert_for_keras():
    frame = read_table(lines(",").encode(), "c.csv").frame
    arr = frame["name"].to_numpy(dtype=object)
    assert arr.dtype == object and arr.tolist() == NAMES


def test_html_and_script_names_are_plain_strings():
    data = b'"<script>alert(1)</script>","<b>bold</b>",=SUM(A1)\n1,2,3\n'
    frame = read_table(data, "x.csv").frame
    assert list(frame.columns) == ["<script>alert(1)</script>", "<b>bold</b>", "=SUM(A1)"]


def test_excel_skips_an_empty_first_sheet_and_says_so(tmp_path):
    with pd.ExcelWriter(tmp_path / "book.xlsx") as w:
        pd.DataFrame().to_excel(w, sheet_name="Cover")
        expected().to_excel(w, sheet_name="Data", index=False)
    read = read_table(tmp_path / "book.xlsx")
    assert_same(read.frame)
    assert any("`Data`" in n for n in read.notes)


def test_content_wins_over_a_wrong_extension(tmp_path):
    expected().to_parquet(tmp_path / "t.parquet")
    read = read_table((tmp_path / "t.parquet").read_bytes(), name="export.csv")
    assert read.format == "parquet" and "holds Parquet data" in read.notes[0]


def test_json_array_of_records():
    data = json.dumps(expected().to_dict(orient="records")).encode()
    read = read_table(data, "t.json")
    assert read.format == "json"
    assert_same(read.frame)


def test_type_change_after_the_first_block_falls_back_to_a_whole_file_read(tmp_path):
    path = tmp_path / "late.csv"
    with open(path, "w") as f:
        f.write("a,b\n")
        f.write("1,\n" * 1_500_000)  # ~4.5 MB: b is empty in the first block
        f.write("2,hello\n")
    frame = read_table(path).frame
    assert len(frame) == 1_500_001 and frame["b"].iloc[-1] == "hello" and frame["b"].isna().sum() == 1_500_000


def test_bundled_sample_source():
    read = read_table("sample:penguins")
    assert read.format == "sample" and "species" in read.frame.columns


# --------------------------------------------------------------------------- bad input


def refused(source, name=None) -> DataError:
    with pytest.raises(DataError) as info:
        read_table(source, name)
    return info.value


def test_empty_file(tmp_path):
    (tmp_path / "e.csv").write_bytes(b"")
    assert "empty" in refused(tmp_path / "e.csv").message
    assert "blank lines" in refused(b"\n\n  \n", "blank.csv").message


@pytest.mark.parametrize("payload", [b"a,b,c\n", b"a,b,c", b"a;b;c\r\n\r\n"])
def test_header_only(payload):
    err = refused(payload, "h.csv")
    assert "header row (3 columns)" in err.message and "no data rows" in err.message
    assert "a, b" not in err.message, "the file's first line is not repeated"


def test_header_only_excel(tmp_path):
    pd.DataFrame(columns=["a", "b"]).to_excel(tmp_path / "h.xlsx", index=False)
    assert "no data rows" in refused(tmp_path / "h.xlsx").message


def test_png_renamed_csv(tmp_path):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "PNG")
    (tmp_path / "photo.csv").write_bytes(buf.getvalue())
    err = refused(tmp_path / "photo.csv")
    assert "PNG image, not a table" in err.message and "CSV" in err.hint


def test_random_bytes_renamed_csv():
    data = np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    err = refused(data, "data.csv")
    assert "does not look like a text table" in err.message


def test_other_binaries_are_named():
    assert "old-style Excel .xls" in refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old.xls").message
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("cats/1.png", b"x")
    assert "zip archive" in refused(buf.getvalue(), "images.csv").message
    assert "not a real Excel" in refused(b"a,b\n1,2\n", "fake.xlsx").message
    assert "damaged Parquet" in refused(b"PAR1" + b"\0" * 100, "bad.parquet").message


@pytest.mark.parametrize(("payload", "line", "fields"), [
    (b"a,b,c\n1,2,3\n4,5,6\n7,8\n9,1,2\n", 4, 2),
    (b"a;b;c\n1;2;3\n\n\"x\ny\";5;6;7\n", 4, 4),
])
def test_ragged_rows_name_the_first_bad_line(payload, line, fields):
    err = refused(payload, "r.csv")
    assert f"line {line} has {fields} fields, the header has 3" in err.message
    assert f"Fix line {line}" in err.hint


def test_bad_json_line_is_named():
    data = b'{"a": 1}\n{"a": 2}\n{"a": \n'
    err = refused(data, "x.jsonl")
    assert "Line 3 of x.jsonl is not a valid JSON object" in err.message and "Fix line 3" in err.hint
    assert "first line is not a JSON object" in refused(b'"just text"\n', "x.jsonl").message
    assert "Line 1 of x.jsonl is not one JSON object" in refused(b"{1: 2}\n", "x.jsonl").message


def test_row_limit(monkeypatch, tmp_path):
    monkeypatch.setenv("LAYERLAB_ROWS", "3")
    err = refused(b"a\n1\n2\n3\n4\n", "rows.csv")
    assert "more than 3 rows" in err.message and "LAYERLAB_ROWS" in err.hint
    expected().to_parquet(tmp_path / "t.parquet")
    assert "has 4 rows; the limit is 3" in refused(tmp_path / "t.parquet").message
    read_table(b"a\n1\n2\n3\n", "ok.csv")  # exactly at the limit is fine


def test_upload_size_limit(monkeypatch):
    monkeypatch.setenv("LAYERLAB_UPLOAD_MB", "1")
    assert "the limit is 1 MB" in refused(b"a\n" + b"1\n" * 600_000, "big.csv").message


def test_twenty_thousand_columns_refused_quickly(tmp_path):
    path = tmp_path / "wide.csv"
    row = ",".join(["1"] * 20_000) + "\n"
    with open(path, "w") as f:
        f.write(",".join(f"c{i}" for i in range(20_000)) + "\n")
        f.write(row * 200)
    start = time.perf_counter()
    err = refused(path)
    assert time.perf_counter() - start < 3
    assert "20,000 columns; the limit is 2,000" in err.message and "LAYERLAB_COLUMNS" in err.hint


def test_one_gigantic_line_is_refused_with_a_bounded_read(tmp_path):
    path = tmp_path / "line.csv"
    chunk = b"x," * (1 << 19)  # 1 MiB
    with open(path, "wb") as f:
        for _ in range(100):
            f.write(chunk)
        f.write(b"\n1,2\n")
    tracemalloc.start()
    start = time.perf_counter()
    try:
        err = refused(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        path.unlink()  # 100 MB: do not keep it in pytest's kept temp folders
    assert time.perf_counter() - start < 3
    assert peak < 8 * HEADER_BYTES  # a few copies of the 4 MiB head at most, never the 100 MB line
    assert "first line" in err.message and "longer than 4 MB" in err.message


def test_missing_path_and_folder(tmp_path):
    assert "no file" in refused(tmp_path / "nope.csv").message
    assert "folder" in refused(tmp_path).message


# --------------------------------------------------------------------------- safe CSV export


def test_sanitize_csv_cell():
    assert sanitize_csv_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    for risky in ("+cmd", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "\rx"):
        assert sanitize_csv_cell(risky) == "'" + risky
    assert sanitize_csv_cell("-3.5") == "-3.5" and sanitize_csv_cell("+1") == "+1"
    assert sanitize_csv_cell(-3) == -3 and sanitize_csv_cell("hello") == "hello" and sanitize_csv_cell(None) is None


def test_to_safe_csv_neutralises_cells_and_names():
    df = pd.DataFrame({"=bad": ["=1+2", "ok", None], "n": [-1, 2, 3], "mixed": ["@x", 5, "-4"]})
    df["=bad"] = df["=bad"].astype("str")
    out = to_safe_csv(df).decode("utf-8")
    back = pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)
    assert list(back.columns) == ["'=bad", "n", "mixed"]
    assert back["'=bad"].tolist() == ["'=1+2", "ok", ""]
    assert back["n"].tolist() == ["-1", "2", "3"]
    assert back["mixed"].tolist() == ["'@x", "5", "-4"]
