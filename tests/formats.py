"""A table written in each file format and encoding Layerlab reads, as users' tools export them.

Shared by the engine tests (CLI init → train → predict) and the Data page tests (upload).
"""

from __future__ import annotations

import io

import pandas as pd

# name → (file suffix, what the Data page says about how it was read, or None)
FORMATS: dict[str, tuple[str, str | None]] = {
    "tsv": (".tsv", "separated by tabs"),
    "pipes": (".csv", "separated by pipes"),
    "utf8_bom": (".csv", None),
    "utf16": (".csv", "UTF-16"),
    "latin1": (".csv", "Windows-1252"),
    "xlsx": (".xlsx", None),
    "parquet": (".parquet", None),
    "jsonl": (".jsonl", None),
}


def table_bytes(df: pd.DataFrame, fmt: str) -> bytes:
    """The bytes of `df` saved as `fmt` (a key of FORMATS)."""
    if fmt == "tsv":
        return df.to_csv(sep="\t", index=False).encode("utf-8")
    if fmt == "pipes":
        return df.to_csv(sep="|", index=False).encode("utf-8")
    if fmt == "utf8_bom":
        return df.to_csv(index=False).encode("utf-8-sig")
    if fmt == "utf16":
        return df.to_csv(index=False).encode("utf-16")  # with its BOM, as Excel's "Unicode text" writes
    if fmt == "latin1":
        return df.to_csv(sep=";", index=False).encode("cp1252")
    buf = io.BytesIO()
    if fmt == "xlsx":
        df.to_excel(buf, index=False)
    elif fmt == "parquet":
        df.to_parquet(buf, index=False)
    elif fmt == "jsonl":
        buf.write(df.to_json(orient="records", lines=True, force_ascii=False).encode("utf-8"))
    else:
        raise ValueError(f"unknown format {fmt}")
    return buf.getvalue()


def accented(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """`df` with non-ASCII letters in one text column, so an encoding that is read wrongly shows."""
    out = df.copy()
    out[column] = out[column].astype("string").map(
        lambda v: v if pd.isna(v) else v.replace("e", "é").replace("o", "ö"), na_action="ignore")
    return out
