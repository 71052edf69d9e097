"""What a run leaves: the printed table, bench/results.json (merged), and the Markdown table for the README."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.machine import BENCH_DIR, now_iso
from harness.registry import BENCHMARKS

RESULTS = BENCH_DIR / "results.json"


def fmt(v: Any) -> str:
    """A figure's value as printed: yes/no, — for none, 3 significant-ish digits."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        a = abs(v)
        return f"{v:,.0f}" if a >= 1000 else f"{v:.1f}" if a >= 100 else f"{v:.2f}" if a >= 1 else f"{v:.3f}"
    return str(v)


def print_table(results: dict[str, dict[str, Any]]) -> None:
    rows = [("figure", "value", "unit", "goal", "met")]
    notes = []
    for name, r in results.items():
        if "figures" not in r:
            rows.append((f"[{name}]", "skipped" if "skipped" in r else "ERROR", "", "", ""))
            notes.append(f"{name}: {r.get('skipped') or r.get('error')}")
            continue
        for f in r["figures"]:
            met = {True: "✓", False: "✗ MISSED", None: ""}[f["met"]]
            rows.append((f["name"], fmt(f["value"]), f["unit"], f["goal"] or "", met))
            if f.get("note", "") and str(f["note"]).startswith("SKIPPED"):
                notes.append(f"{f['name']}: {f['note']}")
    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    for i, r in enumerate(rows):
        print("  ".join(str(c).ljust(w) if j != 1 else str(c).rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if notes:
        print("\nNotes:")
        for n in notes:
            print(f"  - {n}")


def save(results: dict[str, dict[str, Any]], machine: dict[str, Any], quick: bool, path: Path) -> None:
    """Merge into results.json: figures of the benchmarks run now replace their old ones."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or "figures" not in doc:
            raise ValueError
    except (OSError, ValueError):
        doc = {"figures": {}, "benchmarks": {}}
    date = now_iso()
    for name, r in results.items():
        doc["figures"] = {k: v for k, v in doc["figures"].items() if v.get("benchmark") != name}
        for f in r.get("figures", []):
            doc["figures"][f["name"]] = {"value": f["value"], "unit": f["unit"], "goal": f["goal"], "met": f["met"],
                                         "note": f.get("note"), "benchmark": name, "quick": quick, "date": date,
                                         "machine": machine}
        doc["benchmarks"][name] = {"title": BENCHMARKS[name].title, "date": date, "quick": quick,
                                   "seconds": round(r.get("seconds", 0.0), 1),
                                   **{k: r[k] for k in ("load_avg_1m", "skipped", "error", "details", "traceback", "log")
                                      if k in r}}
    doc["updated"] = date
    doc["machine"] = machine
    path.write_text(json.dumps(doc, indent=1, default=str, ensure_ascii=False), encoding="utf-8")


def markdown(path: Path, skip: tuple[str, ...] = ("tf_imports.", "gap.")) -> str:
    """The figures of a results file as a Markdown table (for bench/README.md)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    lines = ["| figure | value | unit | goal | met | date |", "|---|---:|---|---|---|---|"]
    order = {b: i for i, b in enumerate(BENCHMARKS)}
    for name, f in sorted(doc["figures"].items(), key=lambda kv: order.get(kv[1].get("benchmark"), len(order))):
        if name.startswith(skip):
            continue
        met = {True: "✓", False: "✗", None: ""}[f["met"]]
        lines.append(f"| `{name}` | {fmt(f['value'])} | {f['unit']} | {f['goal'] or ''} | {met} | {f['date'][:10]} |")
    return "\n".join(lines)
