"""Benchmark (not a test): read_table + profile on a generated 1,000,000 × 20 CSV.

    python bench/ingest.py [--rows 1000000]

Writes a CSV of mixed columns (10 decimals, 4 integers, 6 colour labels) in a temporary
folder, then reads and profiles it in a fresh Python process and measures that process's
peak resident memory (VmHWM in /proc/self/status) before and after, which also counts
pyarrow's allocations (tracemalloc does not). Goal on the 2-core dev machine: under 10 s
and under 3× the file size in extra memory.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from harness.machine import python_child, tail

_CHILD = r"""
import json, sys, time

def peak_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")

import pandas, pyarrow, pyarrow.csv  # imports are not part of the measure
from layerlab.data.profile import profile
from layerlab.data.tables import read_table

before = peak_mb()
start = time.perf_counter()
read = read_table(sys.argv[1])
read_s = time.perf_counter() - start
prof = profile(read.frame)
total_s = time.perf_counter() - start
print(json.dumps({"read_s": read_s, "profile_s": total_s - read_s, "seconds": total_s,
                  "peak_mb": peak_mb() - before, "rows": prof.rows, "columns": prof.columns}))
"""


def make_csv(path: Path, rows: int = 1_000_000, seed: int = 0) -> Path:
    """A mixed numeric/categorical CSV of `rows` × 20 columns."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {}
    for i in range(10):
        cols[f"x{i}"] = np.round(rng.normal(100, 30, rows), 4)
    for i in range(4):
        cols[f"n{i}"] = rng.integers(0, 10_000, rows)
    colours = np.array(["red", "green", "blue", "yellow", "black", "white", "purple", "orange"])
    for i in range(6):
        cols[f"c{i}"] = colours[rng.integers(0, len(colours), rows)]
    pacsv.write_csv(pa.table(cols), str(path))
    return path


def measure(path: Path) -> dict:
    out = python_child(["-c", _CHILD, str(path)], timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"the ingest child failed:\n{tail(out.stderr)}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(rows: int = 1_000_000) -> dict:
    with tempfile.TemporaryDirectory(prefix="layerlab-bench-") as tmp:
        path = make_csv(Path(tmp) / "ingest.csv", rows)
        file_mb = path.stat().st_size / 1e6
        m = measure(path)
    figures = {"ingest_seconds": round(m["seconds"], 2), "ingest_peak_mb": round(m["peak_mb"], 1),
               "file_mb": round(file_mb, 1)}
    print(f"ingest: {m['rows']:,} rows × {m['columns']} columns, {file_mb:,.0f} MB CSV")
    print(f"  read_table {m['read_s']:.2f} s + profile {m['profile_s']:.2f} s = {m['seconds']:.2f} s (goal < 10 s)")
    print(f"  peak extra memory {m['peak_mb']:,.0f} MB = {m['peak_mb'] / file_mb:.1f}× the file (goal < 3×)")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    main(parser.parse_args().rows)
