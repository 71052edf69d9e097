"""Every CSV a page offers for download neutralises spreadsheet formulas (issue #20, finding 4).

A class name or an input row such as `=HYPERLINK("http://…")` must reach the file as text ('=…), so
Excel or LibreOffice shows it instead of running it. The downloads are read back from the bytes the
page handed to Streamlit.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
RISKY = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bytes of every file a script run hands to a download button."""
    seen: list[bytes] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        if isinstance(path_or_data, bytes):
            seen.append(path_or_data)
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return seen


def _outside_table() -> None:
    import numpy as np

    from components.predict.outside import _own_outputs

    _own_outputs(np.array([[0.2, 0.8], [0.9, 0.1]]), ["=cmd|' /C calc'!A0", "@SUM(A1:A9)"],
                 ['=HYPERLINK("http://127.0.0.1:9/x","click")', "+1+2"])


def test_outside_model_table_download_neutralises_formulas(downloads):
    at = AppTest.from_function(_outside_table, default_timeout=30).run()
    assert not at.exception, at.exception
    assert len(downloads) == 1
    rows = list(csv.reader(io.StringIO(downloads[0].decode("utf-8"))))
    cells = [c for row in rows for c in row]
    assert "'=cmd|' /C calc'!A0" in rows[0] and "'@SUM(A1:A9)" in rows[0], rows[0]
    assert "'+1+2" in cells and any(c.startswith("'=HYPERLINK") for c in cells), cells
    assert not [c for c in cells if c.startswith(RISKY)], cells


def test_pages_write_csv_only_through_the_safe_writer():
    """One way to write a CSV download: `to_safe_csv`; a bare `DataFrame.to_csv` in a page is a finding."""
    offenders = [f"{p.relative_to(REPO)}:{n}" for folder in ("pages", "components") for p in (REPO / folder).rglob("*.py")
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if ".to_csv(" in line]
    assert not offenders, offenders
