"""Generated hostile table files for tests: compressed tables that unpack to far more than they weigh.

The zip builders (bombs, links, escaping paths, encrypted flags) are in tests/engine/imagezips.py.
"""

from __future__ import annotations

import io
import zipfile

_XLSX_PARTS = {
    "[Content_Types].xml":
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels":
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>',
    "xl/workbook.xml":
        '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels":
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/></Relationships>',
}


def xlsx_bomb(rows: int = 60_000, columns: int = 50) -> bytes:
    """A valid .xlsx whose one sheet is `rows` × `columns` zeros: about 60 MB of XML in about 0.2 MB.

    Its <dimension> claims A1:B2, as a hostile file may: only the zip's own directory tells the truth.
    Reading it whole would take openpyxl minutes of CPU.
    """
    header = "".join(f'<c t="inlineStr"><is><t>h{i}</t></is></c>' for i in range(columns))
    row = ("<row>" + '<c t="n"><v>0</v></c>' * columns + "</row>").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in _XLSX_PARTS.items():
            z.writestr(name, text)
        with z.open("xl/worksheets/sheet1.xml", "w") as f:
            f.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    b'<dimension ref="A1:B2"/><sheetData>')
            f.write(f"<row>{header}</row>".encode())
            for _ in range(rows):
                f.write(row)
            f.write(b"</sheetData></worksheet>")
    return buf.getvalue()


def parquet_bomb(columns: int = 200, rows: int = 510_000, block: int = 10_000) -> bytes:
    """A Parquet file of `rows` × `columns` zeros (over 100 million values, 800 MB in memory) in about 2 MB."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({f"c{i}": np.zeros(block, dtype="int64") for i in range(columns)})
    buf = io.BytesIO()
    with pq.ParquetWriter(buf, table.schema, compression="zstd") as writer:
        for _ in range(rows // block):
            writer.write_table(table)
        if rows % block:
            writer.write_table(table.slice(0, rows % block))
    return buf.getvalue()
