"""Ingest: a generated CSV through read_table + profile in a fresh process (`ingest`; the measure is bench/ingest.py)."""

from __future__ import annotations

from typing import Any

import ingest as ingest_script
from harness import benchmark, fig
from harness.measure import ratio


@benchmark("ingest", "ingest", "Ingest: 1,000,000 × 20 CSV read + profile (bench/ingest.py)")
def ingest(quick: bool) -> dict[str, Any]:
    rows = 100_000 if quick else 1_000_000
    out = ingest_script.main(rows)
    secs, peak, size = out.get("ingest_seconds"), out.get("ingest_peak_mb"), out.get("file_mb")
    scale = rows / 1_000_000
    return {"figures": [
        fig("ingest.seconds", secs, "s", "< 10" if not quick else None, f"read_table + profile, {rows:,} rows × 20"),
        fig("ingest.peak_extra_mb", peak, "MB"),
        fig("ingest.file_mb", size, "MB"),
        fig("ingest.peak_vs_file", ratio(peak, size), "×", "< 3", "peak extra memory ÷ CSV size"),
    ], "details": {"rows": rows, "returned": out, "scale": scale}}
