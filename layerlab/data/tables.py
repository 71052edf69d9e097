"""Tables users bring: CSV/TSV in any common delimiter and encoding, Excel, Parquet, JSON Lines.

`read_table` reads one file (a path or uploaded bytes) into a DataFrame and says in plain
words what it assumed (`TableRead.notes`). Everything a user can get wrong is a DataError
that says what is wrong and what to do. Limits are checked before the expensive part:
the header is read with a bounded read, so a 20,000-column file or a file that is one
gigantic line is refused at once, and rows are counted while the file streams in.

CSV is parsed by pyarrow's streaming reader (bounded memory, about twice the file size
at peak); anything it cannot stream falls back to pyarrow's whole-file reader.
Strings come back as pandas' Arrow-backed `str` columns: convert them explicitly
(`.to_numpy(dtype=object)`) before handing them to Keras.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from layerlab.data.memory import lean_arrow_memory
from layerlab.errors import DataError
from layerlab.settings import limits
from layerlab.workspace import Source

FORMATS = ("csv", "tsv", "xlsx", "parquet", "jsonl", "json")
DELIMITERS = (",", ";", "\t", "|")

_EXTENSIONS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}
_FORMAT_WORDS = {
    "csv": "CSV", "tsv": "TSV", "xlsx": "Excel", "parquet": "Parquet", "jsonl": "JSON Lines", "json": "JSON",
}
_PICK = "Pick a CSV, TSV, Excel (.xlsx), Parquet or JSON Lines file."
_ONE_OBJECT_PER_LINE = 'JSON Lines holds one object per line, like {"age": 31, "city": "Oslo"}.'
_DELIMITER_WORDS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes (|)"}

# The first line (the header) must end within this many bytes: a bounded read, so a file
# that is one gigantic line is refused without loading it.
HEADER_BYTES = 4 << 20
_SNIFF_CHARS = 1 << 20
_BLOCK_BYTES = 4 << 20
_JSON_ARRAY_MB = 50

_NOT_TABLES: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"ARROW1", "an Arrow/Feather file"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"BM", None),  # checked further below: BMP images start with BM and a size
]
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
]
_ENCODING_NOTES = {
    "utf-16": "Read as UTF-16 text (the file says so in its first bytes).",
    "utf-16-le": "Read as UTF-16 text (little-endian, guessed from the zero bytes between letters).",
    "utf-16-be": "Read as UTF-16 text (big-endian, guessed from the zero bytes between letters).",
    "utf-32": "Read as UTF-32 text (the file says so in its first bytes).",
    "layerlab_cp1252": "Read as Windows-1252 (Latin-1) text because it is not valid UTF-8: check accented letters.",
}
_LINE_BREAK = re.compile(r"\r\n|\n|\r")
_CONTROL_BYTES = (*range(0, 9), 11, 14, 15, *range(16, 27), *range(28, 32), 127)
_EU_NUMBER = re.compile(r"^\s*[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?\s*$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?%?$")


@dataclass
class TableRead:
    """A table read from a file, and what was assumed to read it.

    `format` is one of FORMATS ('sample' for a bundled sample); `encoding` and `delimiter`
    are None where they do not apply (Excel, Parquet). `notes` are plain-words remarks for
    the user ("Decimal commas recognised in 3 columns.").
    """

    frame: pd.DataFrame
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- the source


class _Source:
    """A file on disk or uploaded bytes, with a display name and size; opened lazily."""

    def __init__(self, source: str | Path | bytes | bytearray | memoryview, name: str | None) -> None:
        self.path: Path | None = None
        self.data: bytes | None = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.data = bytes(source)
            self.size = len(self.data)
            self.label = name or "the uploaded file"
            self.suffix = Path(name).suffix.lower() if name else ""
            return
        path = Path(source).expanduser()
        if not path.exists():
            raise DataError(f"There is no file at {path}.", "Check the path.")
        if path.is_dir():
            raise DataError(f"{path} is a folder, not a table file.", _PICK)
        self.path = path
        self.size = path.stat().st_size
        self.label = name or path.name
        self.suffix = Path(name).suffix.lower() if name else path.suffix.lower()

    def open(self) -> IO[bytes]:
        return io.BytesIO(self.data) if self.data is not None else open(self.path, "rb")  # type: ignore[arg-type]

    def head(self, n: int) -> bytes:
        if self.data is not None:
            return self.data[:n]
        with self.open() as f:
            return f.read(n)

    def chunks(self, size: int = 16 << 20) -> Iterator[bytes]:
        if self.data is not None:
            view = memoryview(self.data)
            for i in range(0, len(view), size):
                yield bytes(view[i:i + size])
            return
        with self.open() as f:
            while chunk := f.read(size):
                yield chunk

    def arrow_input(self) -> Any:
        """What pyarrow readers take: the path (memory-mapped reads) or a buffer."""
        if self.data is not None:
            import pyarrow as pa

            return pa.BufferReader(self.data)
        return str(self.path)


# --------------------------------------------------------------------------- public API


def read_table(source: str | Path | bytes, name: str | None = None) -> TableRead:
    """Read a CSV, TSV, Excel (.xlsx), Parquet or JSON Lines table into a DataFrame.

    Args:
        source: a path, the bytes of an uploaded file, or `sample:NAME` for a bundled
            (non-image) sample.
        name: the file's name as the user knows it (its extension picks the format);
            for bytes without a name the format is sniffed from the content.

    Returns:
        A TableRead with the frame and the format, encoding and delimiter used.

    Raises:
        DataError: empty file, header without rows, not a table (an image, random bytes…),
            ragged rows (with the first bad line number), or over the row, column or size limits.
    """
    if isinstance(source, str) and Source(source).is_sample:
        return _read_sample(Source(source).sample)
    lean_arrow_memory()
    src = _Source(source, name)
    lim = limits()
    if src.size == 0:
        raise DataError(f"{src.label} is empty (0 bytes).",
                        "Pick the file again; it may not have been saved or exported.")
    if src.size > lim.upload_mb * 1024 * 1024:
        raise DataError(f"{src.label} is {src.size / 1e6:,.0f} MB; the limit is {lim.upload_mb:,} MB.",
                        "Use a smaller extract (fewer rows or columns), or raise LAYERLAB_UPLOAD_MB.")
    head = src.head(HEADER_BYTES)
    wanted = _EXTENSIONS.get(src.suffix)
    notes: list[str] = []
    binary = _binary_kind(head, src)
    if binary in ("xlsx", "parquet"):
        if wanted not in (None, binary) and src.suffix:
            what = _FORMAT_WORDS[binary]
            notes.append(f"{src.label} is named {src.suffix} but holds {what} data; read it as {what}.")
        read = _read_excel(src) if binary == "xlsx" else _read_parquet(src)
        read.notes[:0] = notes
        return read
    if wanted in ("xlsx", "parquet"):
        what = _FORMAT_WORDS[wanted]
        raise DataError(f"{src.label} is named {src.suffix} but is not a real {what} file (it holds text).",
                        f"Export it again as {what}, or rename it to .csv if it is a CSV file.")
    declared = _head_encoding(head, src)
    text_head = _decode_head(head, declared or "utf-8")
    if not text_head.strip():
        raise DataError(f"{src.label} holds only blank lines.", "Pick the file again; it has no table in it.")
    first = text_head.lstrip()[:1]
    is_json = first in ("[", "{") and wanted in (None, "jsonl")
    if not is_json:
        if wanted == "jsonl":
            raise DataError(f"{src.label} is named {src.suffix} but its first line is not a JSON object.",
                            _ONE_OBJECT_PER_LINE + " Or save the table as CSV.")
        if _first_line_end(text_head) < 0 and src.size > HEADER_BYTES:
            raise DataError(f"The first line of {src.label} is longer than {HEADER_BYTES >> 20} MB, so it is not "
                            "the header row of a table (a table starts with a short line of column names).",
                            "Check that this is a CSV/TSV file with one row per line and column names "
                            "in the first line.")
    encoding = declared or _eight_bit_encoding(src)
    if encoding != (declared or "utf-8"):
        text_head = _decode_head(head, encoding)
    if encoding in _ENCODING_NOTES:
        notes.append(_ENCODING_NOTES[encoding])
    if first == "[" and is_json:
        read = _read_json_array(src, encoding)
    elif is_json:
        read = _read_jsonl(src, encoding, text_head)
    else:
        read = _read_delimited(src, encoding, text_head, prefer_tab=(wanted == "tsv"))
    read.notes[:0] = notes
    return read


def sanitize_csv_cell(value: Any) -> Any:
    """Neutralise a cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first).

    A single quote is put in front, so Excel and LibreOffice show the text instead of
    running it. Plain numbers written as text ("-3", "+1.5") and non-strings are unchanged.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value.strip()):
        return "'" + value
    return value


def to_safe_csv(df: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV bytes, with formula-like cells (and column names) neutralised."""
    out = df.copy(deep=False)
    out.columns = [sanitize_csv_cell(str(c)) for c in out.columns]
    for i in range(out.shape[1]):
        s = out.iloc[:, i]
        if not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object):
            continue
        if s.dtype == object:
            is_text = s.map(lambda v: isinstance(v, str), na_action="ignore").fillna(False).astype(bool)
        else:
            is_text = s.notna()
        text = s.where(is_text).astype("str")
        number = text.str.strip().str.fullmatch(_PLAIN_NUMBER.pattern)
        risky = (text.str.startswith(_FORMULA_START) & ~number).fillna(False).astype(bool).to_numpy()
        if risky.any():
            fixed = s.astype(object).to_numpy(copy=True)
            fixed[risky] = ["'" + v for v in text.to_numpy(dtype=object)[risky]]
            out.isetitem(i, pd.Series(fixed, index=s.index, dtype=object))
    return out.to_csv(index=False).encode("utf-8")


# --------------------------------------------------------------------------- sniffing


def _binary_kind(head: bytes, src: _Source) -> str | None:
    """'xlsx' or 'parquet' for binary tables we read; DataError for other binaries; None for text."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(src.open()) as z:
                names = set(z.namelist())
        except zipfile.BadZipFile:
            raise DataError(f"{src.label} is a damaged zip file, not a table.",
                            "Export the table again as CSV or Excel (.xlsx).") from None
        if "xl/workbook.xml" in names:
            return "xlsx"
        what = "a Word document" if "word/document.xml" in names else (
            "an OpenDocument file" if "mimetype" in names else "a zip archive")
        raise DataError(f"{src.label} is {what}, not a table.",
                        "Unzip it and pick the table file inside, or save the data as CSV, Excel (.xlsx), "
                        "Parquet or JSON Lines.")
    if head.startswith(_OLE2):
        raise DataError(f"{src.label} is an old-style Excel .xls (or other Office 97–2003) file, "
                        "which we do not read.",
                        "Open it in Excel or LibreOffice and save it as .xlsx or CSV.")
    for magic, what in _NOT_TABLES:
        if head.startswith(magic):
            if magic == b"BM":
                if len(head) >= 14 and int.from_bytes(head[2:6], "little") == src.size:
                    what = "a BMP image"
                else:
                    continue
            raise DataError(f"{src.label} is {what}, not a table.", _PICK)
    if head.startswith((b"RIFF",)) and head[8:12] in (b"WAVE", b"AVI ", b"WEBP"):
        raise DataError(f"{src.label} is a {head[8:12].decode().strip()} file, not a table.", _PICK)
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    sample = head[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _not_text(src: _Source) -> DataError:
    return DataError(f"{src.label} does not look like a text table: it holds binary data (control bytes), "
                     "as images, programs or damaged files do.",
                     _PICK + " If this was exported as text, export it again.")


def _head_encoding(head: bytes, src: _Source) -> str | None:
    """The encoding the first bytes declare (BOM) or show (UTF-16 zero bytes); None for plain 8-bit text.

    Raises DataError for binary data (zero or control bytes in plain text).
    """
    for bom, enc in _BOMS:
        if head.startswith(bom):
            return enc
    enc = _utf16_without_bom(head)
    if enc:
        return enc
    sample = head[: 1 << 16]
    controls = sum(sample.count(bytes([b])) for b in _CONTROL_BYTES)
    if b"\x00" in sample or controls > 0.01 * len(sample):
        raise _not_text(src)
    return None


def _eight_bit_encoding(src: _Source) -> str:
    """UTF-8 when the whole file is valid UTF-8, else Windows-1252.

    Windows-1252 whatever the bytes: its five unused bytes (0x81, 0x8D, 0x8F, 0x90, 0x9D) decode to
    the control characters of the same number, as browsers do (WHATWG). Falling back to Latin-1 for
    one such byte would turn every 0x85 ("…") and 0x92 ("’") of the file into C1 controls.
    """
    return "utf-8" if _decodes(src, "utf-8") else _CP1252


_CP1252 = "layerlab_cp1252"  # Python's cp1252 refuses the five unused bytes; this codec does not
_CP1252_TABLE = "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256))


class _Cp1252Decoder(codecs.IncrementalDecoder):
    def decode(self, data: bytes, final: bool = False) -> str:
        return codecs.charmap_decode(data, self.errors, _CP1252_TABLE)[0]


def _find_cp1252(name: str) -> codecs.CodecInfo | None:
    """The lenient Windows-1252 codec, by name for pyarrow and io (decoding only: Layerlab never writes it)."""
    if name != _CP1252:
        return None
    return codecs.CodecInfo(name=_CP1252, encode=codecs.lookup("cp1252").encode,
                            decode=lambda data, errors="strict": codecs.charmap_decode(data, errors, _CP1252_TABLE),
                            incrementaldecoder=_Cp1252Decoder, incrementalencoder=codecs.lookup("cp1252").incrementalencoder)


codecs.register(_find_cp1252)


def _decodes(src: _Source, encoding: str) -> bool:
    """Whether the whole file decodes, checked in chunks (no copy of the file in memory)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in src.chunks():
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _decode_head(head: bytes, encoding: str) -> str:
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)


def _first_line_end(text: str) -> int:
    """Index just past the first line (a line break inside quotes does not end it); -1 if none.

    Line breaks are \n, \r\n or a lone \r (old Mac files), as pyarrow reads them.
    """
    pos, quotes = 0, 0
    while True:
        m = _LINE_BREAK.search(text, pos)
        if m is None:
            return -1
        quotes += text.count('"', pos, m.start())
        if quotes % 2 == 0:
            return m.end()
        pos = m.end()


def _sniff_delimiter(sample: str, prefer_tab: bool) -> tuple[str, list[str]]:
    """The delimiter among , ; tab | that gives the most consistent rows, and the header fields."""
    lines = sample.splitlines(keepends=True)
    complete = "".join(lines[:-1]) if len(lines) > 1 and not sample.endswith(("\n", "\r")) else sample
    best: tuple[tuple, str, list[str]] | None = None
    for delim in DELIMITERS:
        try:
            records = [r for r in csv.reader(io.StringIO(complete, newline=None), delimiter=delim, quotechar='"') if r]
        except csv.Error:
            continue
        if not records:
            continue
        width = len(records[0])
        consistent = sum(len(r) == width for r in records) / len(records)
        score = (width > 1, consistent >= 0.9, prefer_tab and delim == "\t", consistent, width)
        if best is None or score > best[0]:
            best = (score, delim, records[0])
    if best is None:
        return ("\t" if prefer_tab else ","), [sample.splitlines()[0] if sample else ""]
    return best[1], best[2]


def _column_names(raw: list[str]) -> list[str]:
    """Header fields as pandas would name them: blanks become `Unnamed: i`, repeats get `.1`, `.2`."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, value in enumerate(raw):
        name = value.strip() or f"Unnamed: {i}"
        base = name
        while name in seen:
            seen[base] += 1
            name = f"{base}.{seen[base]}"
        seen.setdefault(name, 0)
        names.append(name)
    return names


def _check_columns(n: int, src: _Source) -> None:
    lim = limits().columns
    if n > lim:
        raise DataError(f"{src.label} has {n:,} columns; the limit is {lim:,}.",
                        "Keep only the columns you need before uploading, or raise LAYERLAB_COLUMNS.")


def _check_rows(n: int, src: _Source, at_least: bool = False) -> None:
    lim = limits().rows
    if n > lim:
        count = f"more than {lim:,}" if at_least else f"{n:,}"
        raise DataError(f"{src.label} has {count} rows; the limit is {lim:,}.",
                        "Use a sample of the rows, or raise LAYERLAB_ROWS.")


def _check_cells(rows: int, columns: int, src: _Source) -> None:
    """Rows × columns from a compressed file's own header (Parquet, Excel), before it is unpacked:
    a few megabytes of Parquet can hold billions of repeated values."""
    lim = limits().cells
    if rows * columns > lim:
        raise DataError(f"{src.label} holds {rows:,} rows × {columns:,} columns = {rows * columns:,} values; "
                        f"the limit is {lim:,}.",
                        "Keep only the rows and columns you need before uploading, or raise LAYERLAB_CELLS.")


def _no_rows(src: _Source, names: list[str]) -> DataError:
    # The count, not the names: a header-only "table" is often a file that is no table at all, and its
    # first line is not ours to repeat (the CLI may be pointed at any file; issue #20).
    return DataError(f"{src.label} has a header row ({len(names)} column{'s' if len(names) != 1 else ''}) but no "
                     "data rows.",
                     "Add the data rows below the header, or check that you exported the right file or sheet.")


# --------------------------------------------------------------------------- CSV / TSV


def _read_delimited(src: _Source, encoding: str, text_head: str, prefer_tab: bool) -> TableRead:
    end = _first_line_end(text_head)
    sniff = text_head[:_SNIFF_CHARS]
    if end > _SNIFF_CHARS:  # a long header: sniff on the header line alone
        sniff = text_head[:end]
    delimiter, raw_names = _sniff_delimiter(sniff, prefer_tab)
    _check_columns(len(raw_names), src)
    names = _column_names(raw_names)
    notes: list[str] = []
    if delimiter != ",":
        notes.append(f"Columns are separated by {_DELIMITER_WORDS[delimiter]}.")
    if src.size <= HEADER_BYTES and (end < 0 or not text_head[end:].strip()):
        raise _no_rows(src, names)
    header = text_head[:end]
    frame = _parse_csv(src, encoding, delimiter, names, quoted='"' in sniff, header_chars=len(header),
                       header_lines=len(_LINE_BREAK.findall(header)))
    if frame.shape[0] == 0:
        raise _no_rows(src, names)
    if header.count(delimiter) and header.count(delimiter + " ") == header.count(delimiter):
        # "a, b, c": the space after each separator is not part of the values.
        for i in range(frame.shape[1]):
            if pd.api.types.is_string_dtype(frame.iloc[:, i].dtype):
                frame.isetitem(i, frame.iloc[:, i].str.strip())
        notes.append("Spaces after the separators were ignored.")
    if delimiter != ",":
        converted = _decimal_commas(frame)
        if converted:
            plural = "s" if converted != 1 else ""
            notes.append(f"Decimal commas recognised in {converted} column{plural} (1,5 read as 1.5).")
    fmt = "tsv" if delimiter == "\t" else "csv"
    return TableRead(frame, fmt, _public_encoding(encoding), delimiter, notes)


def _public_encoding(encoding: str) -> str:
    return "utf-16" if encoding.startswith("utf-16") else "cp1252" if encoding == _CP1252 else encoding


def _parse_csv(src: _Source, encoding: str, delimiter: str, names: list[str], quoted: bool,
               header_chars: int, header_lines: int) -> pd.DataFrame:
    """Stream the rows after the header into a frame (the header was read already)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def options(threads: bool) -> dict[str, Any]:
        return {
            "read_options": pacsv.ReadOptions(
                # skip_rows counts lines, so a header with a quoted line break skips all of its lines
                column_names=names, skip_rows=max(1, header_lines), block_size=max(_BLOCK_BYTES, 8 * header_chars),
                use_threads=threads,
                encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding),
            "parse_options": pacsv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True,
                                                newlines_in_values=quoted, ignore_empty_lines=True),
            "convert_options": pacsv.ConvertOptions(strings_can_be_null=True, quoted_strings_can_be_null=True),
        }

    table = None
    try:
        reader = pacsv.open_csv(src.arrow_input(), **options(True))
        batches, rows = [], 0
        for batch in reader:
            rows += batch.num_rows
            _check_rows(rows, src, at_least=True)
            batches.append(batch)
        table = pa.Table.from_batches(batches, schema=reader.schema)
        del batches
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "Expected" in message and "columns" in message:
            raise _ragged(src, encoding, delimiter, len(names)) from None
        if "straddl" in message:
            raise DataError(f"A row of {src.label} is longer than {_BLOCK_BYTES >> 20} MB.",
                            "Check the quotes: an unclosed quote makes the rest of the file one cell. "
                            "Or split very long cells.") from None
        table = None  # a column changed type after the first block: read the whole file at once
    if table is None:
        try:
            table = pacsv.read_csv(src.arrow_input(), **options(True))
        except pa.ArrowInvalid as exc:
            if "Expected" in str(exc) and "columns" in str(exc):
                raise _ragged(src, encoding, delimiter, len(names)) from None
            raise DataError(f"{src.label} could not be read as a table: {exc}.",
                            "Check that it is a CSV/TSV file with one row per line.") from None
        _check_rows(table.num_rows, src)
    return _to_pandas(table)


def _to_pandas(table: Any) -> pd.DataFrame:
    names = list(table.column_names)
    frame = table.to_pandas(split_blocks=True, self_destruct=True, date_as_object=False)
    frame.columns = names
    return frame


def _ragged(src: _Source, encoding: str, delimiter: str, width: int) -> DataError:
    """Find the first line whose number of fields differs from the header's (slow path, errors only)."""
    line, count = _first_bad_line(src, encoding, delimiter, width)
    where = f"line {line}" if line else "a line"
    got = f" has {count} field{'s' if count != 1 else ''}" if count is not None else " cannot be split into fields"
    return DataError(f"Rows of {src.label} have different numbers of columns: {where}{got}, the header has {width}.",
                     f"Fix {where} (an extra or missing separator, or a quote that is not closed), then upload again.")


def _first_bad_line(src: _Source, encoding: str, delimiter: str, width: int) -> tuple[int | None, int | None]:
    stream = io.TextIOWrapper(src.open(), encoding=encoding, errors="replace", newline="")
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, _BLOCK_BYTES))
    try:
        reader = csv.reader(stream, delimiter=delimiter, quotechar='"')
        previous = 0
        try:
            for record in reader:
                start = previous + 1
                previous = reader.line_num
                if start == 1 or not record:
                    continue
                if len(record) != width:
                    return start, len(record)
        except csv.Error:
            return previous + 1, None
    finally:
        csv.field_size_limit(limit)
        stream.close()
    return None, None


def _decimal_commas(frame: pd.DataFrame) -> int:
    """Turn text columns such as '1,5' / '1.234,5' into numbers; returns how many were converted."""
    converted = 0
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        if not pd.api.types.is_string_dtype(s.dtype):
            continue
        values = s.dropna()
        if values.empty:
            continue
        probe = values.head(200)
        if not probe.str.match(_EU_NUMBER.pattern).all() or not probe.str.contains(r"[,.]", regex=True).any():
            continue
        if not values.str.match(_EU_NUMBER.pattern).all():
            continue
        numbers = pd.to_numeric(values.str.strip().str.replace(".", "", regex=False).str.replace(",", ".", regex=False),
                                errors="coerce")
        if numbers.isna().any():
            continue
        out = np.full(len(s), np.nan)
        out[s.notna().to_numpy()] = numbers.to_numpy(dtype="float64")
        frame.isetitem(i, pd.Series(out, index=s.index))
        converted += 1
    return converted


# --------------------------------------------------------------------------- JSON


def _utf8_stream(src: _Source, encoding: str) -> Any:
    """JSON must be UTF-8 for pyarrow: transcode other encodings in memory."""
    if encoding in ("utf-8",):
        return src.arrow_input()
    import pyarrow as pa

    data = b"".join(src.chunks()).decode(encoding, errors="replace").encode("utf-8")
    return pa.BufferReader(data)


def _read_jsonl(src: _Source, encoding: str, text_head: str) -> TableRead:
    import pyarrow as pa
    import pyarrow.json as pajson

    end = text_head.find("\n")
    if end < 0 and src.size > HEADER_BYTES:
        raise DataError(f"The first line of {src.label} is longer than {HEADER_BYTES >> 20} MB: "
                        "JSON Lines needs one record per line.",
                        "Check that the file holds one JSON object per line.")
    first = text_head[: end if end >= 0 else len(text_head)].strip()
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict):
        raise DataError(f"Line 1 of {src.label} is not one JSON object.", _ONE_OBJECT_PER_LINE)
    _check_columns(len(record), src)
    try:
        table = pajson.read_json(
            _utf8_stream(src, encoding), read_options=pajson.ReadOptions(block_size=_BLOCK_BYTES),
            parse_options=pajson.ParseOptions(newlines_in_values=False, unexpected_field_behavior="infer"))
        _check_columns(table.num_columns, src)
        _check_rows(table.num_rows, src)
        frame = _to_pandas(table)
    except pa.ArrowInvalid:
        bad = _first_bad_json_line(src, encoding)
        if bad is not None:
            raise DataError(f"Line {bad} of {src.label} is not a valid JSON object.",
                            f"Fix line {bad} (each line must be one complete object like {{\"a\": 1}}), "
                            "then upload again.") from None
        # Valid JSON whose values change type between lines: pandas reads those as mixed columns.
        data = b"".join(src.chunks()).decode(encoding, errors="replace").encode("utf-8")
        frame = pd.read_json(io.BytesIO(data), lines=True)
        _check_columns(frame.shape[1], src)
        _check_rows(frame.shape[0], src)
    if frame.shape[0] == 0:
        raise _no_rows(src, [str(c) for c in frame.columns])
    frame.columns = _column_names([str(c) for c in frame.columns])
    return TableRead(frame, "jsonl", _public_encoding(encoding), None, _nested_as_text(frame))


def _nested_as_text(frame: pd.DataFrame) -> list[str]:
    """Objects and lists inside cells become their JSON text (a model needs flat values)."""
    nested = []
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        if s.dtype != object:
            continue
        kinds = s.dropna().head(1000).map(lambda v: isinstance(v, (dict, list, tuple, np.ndarray)))
        if not kinds.any():
            continue
        as_json = s.map(lambda v: json.dumps(_plain(v), ensure_ascii=False, default=str), na_action="ignore")
        frame.isetitem(i, as_json.astype("str"))
        nested.append(str(frame.columns[i]))
    if not nested:
        return []
    return [f"Nested values in {', '.join(f'`{c}`' for c in nested)} are kept as JSON text."]


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _first_bad_json_line(src: _Source, encoding: str) -> int | None:
    with io.TextIOWrapper(src.open(), encoding=encoding, errors="replace") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                return number
            if not isinstance(value, dict):
                return number
    return None


def _read_json_array(src: _Source, encoding: str) -> TableRead:
    if src.size > _JSON_ARRAY_MB * 1024 * 1024:
        raise DataError(f"{src.label} is one JSON array of {src.size / 1e6:,.0f} MB; "
                        f"we read JSON arrays up to {_JSON_ARRAY_MB} MB.",
                        "Save it as JSON Lines (one object per line), CSV or Parquet.")
    text = b"".join(src.chunks()).decode(encoding, errors="replace")
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{src.label} is not valid JSON (line {exc.lineno}: {exc.msg}).",
                        "Fix that line, or save the table as CSV.") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records[:1000]):
        raise DataError(f"{src.label} is JSON but not a list of records.",
                        'A table in JSON is a list of objects: [{"age": 31, "city": "Oslo"}, …].')
    if not records:
        raise DataError(f"{src.label} holds an empty list: no rows.", "Export the data again with its rows.")
    _check_columns(len(records[0]), src)
    _check_rows(len(records), src)
    frame = pd.DataFrame.from_records(records)
    _check_columns(frame.shape[1], src)
    frame.columns = _column_names([str(c) for c in frame.columns])
    return TableRead(frame, "json", _public_encoding(encoding), None, _nested_as_text(frame))


# --------------------------------------------------------------------------- Excel and Parquet


def _read_excel(src: _Source) -> TableRead:
    from openpyxl import load_workbook

    from layerlab.data.zipsafe import check_archive

    notes: list[str] = []
    try:  # an .xlsx is a zip of XML: refuse a bomb before openpyxl unpacks it
        with src.open() as f, zipfile.ZipFile(f) as z:
            check_archive(z.infolist(), src.label, "Save the sheet as CSV and upload that")
    except zipfile.BadZipFile:
        pass  # damaged: openpyxl says so below
    try:
        with src.open() as f:
            wb = load_workbook(f, read_only=True, data_only=True)
            try:
                sheets = list(wb.sheetnames)
                dims = {s: (wb[s].max_row, wb[s].max_column) for s in sheets}
            finally:
                wb.close()
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for damaged files
        raise DataError(f"{src.label} is a damaged or unsupported Excel workbook ({type(exc).__name__}).",
                        "Open it in Excel or LibreOffice and save it again as .xlsx or CSV.") from None
    frame = None
    for sheet in sheets:
        rows, cols = dims[sheet]
        if cols:
            _check_columns(cols, src)
        if rows:
            _check_rows(rows - 1, src)
        if rows and cols:
            _check_cells(rows, cols, src)
        try:
            with src.open() as f:
                frame = pd.read_excel(f, sheet_name=sheet, engine="openpyxl")
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"The sheet `{sheet}` of {src.label} could not be read ({exc}).",
                            "Save the sheet as CSV and upload that.") from None
        if frame.shape[1] > 0:
            if sheet != sheets[0]:
                notes.append(f"The first sheet is empty; read the sheet `{sheet}`.")
            break
    if frame is None or frame.shape[1] == 0:
        raise DataError(f"{src.label} is an Excel workbook with no data in any sheet.",
                        "Check that you saved the workbook with its data.")
    if len(sheets) > 1:
        notes.append(f"The workbook has {len(sheets)} sheets; read `{sheet}` only.")
    _check_columns(frame.shape[1], src)
    _check_rows(frame.shape[0], src)
    frame.columns = _column_names([str(c) for c in frame.columns])
    if frame.shape[0] == 0:
        raise _no_rows(src, list(frame.columns))
    return TableRead(frame, "xlsx", None, None, notes)


def _read_parquet(src: _Source) -> TableRead:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(src.arrow_input())
        names = pf.schema_arrow.names
        _check_columns(len(names), src)
        _check_rows(pf.metadata.num_rows, src)
        _check_cells(pf.metadata.num_rows, len(names), src)
        table = pf.read()
    except DataError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{src.label} is a damaged Parquet file ({exc}).",
                        "Export it again, or save the table as CSV.") from None
    if table.num_columns == 0:
        raise DataError(f"{src.label} is a Parquet file with no columns.", "Export the table again with its columns.")
    frame = _to_pandas(table)
    frame.columns = _column_names([str(c) for c in frame.columns])
    if frame.shape[0] == 0:
        raise _no_rows(src, list(frame.columns))
    return TableRead(frame, "parquet", None, None, [])


def _read_sample(name: str) -> TableRead:
    from layerlab.samples import get_sample

    sample = get_sample(name)
    if sample.kind == "images":
        raise DataError(f"The sample `{name}` holds images, not a table.", "Pick a table, text or series sample.")
    frame = sample.load()
    return TableRead(frame, "sample", None, None, [f"Bundled sample: {sample.title}. Source: {sample.source}"])
