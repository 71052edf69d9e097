"""Template: reading the project's table file with pandas."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

# ---- the script starts here ----


def read_table(path: str) -> pd.DataFrame:
    """Read a CSV/TSV, Excel, Parquet or JSON Lines file with pandas (Layerlab sniffs more carefully)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".xlsx":
        return pd.read_excel(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".jsonl", ".ndjson"):
        return pd.read_json(path, lines=True)
    if suffix == ".json":
        try:
            return pd.read_json(path, lines=True)
        except ValueError:
            return pd.read_json(path)
    if suffix in (".tsv", ".tab"):
        return pd.read_csv(path, sep="\t", encoding_errors="replace")
    return pd.read_csv(path, sep=None, engine="python", encoding_errors="replace")


def load_data(source: str) -> pd.DataFrame:
    """The project's table file."""
    return read_table(source)
