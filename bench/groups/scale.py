"""Scale: data larger than comfortable, upload → first epoch in Chromium (`scale_images`, `scale_table`;
the measure is bench/scale.py)."""

from __future__ import annotations

import re
from typing import Any

import scale as scale_script
from harness import benchmark, fig, workdir
from harness.measure import ratio
from harness.server import require_playwright


def _scale(quick: bool, kind: str) -> dict[str, Any]:
    require_playwright()
    if kind == "images":
        n, batch = (6_000, 256) if quick else (60_000, 256)
        # Forced down the streaming path (decoded once to disk, read batch by batch): 60,000 28×28
        # images (47 MB decoded) would otherwise train from memory, under the 256 MB default.
        env = {"LAYERLAB_IMAGE_MEMORY_MB": "0"}
    else:
        n, batch, env = (200_000 if quick else 2_000_000), 1024, {}
    r = scale_script.measure(kind, n, batch, workdir(), env=env)
    key, size = f"scale_{kind}", r["file_mb"]
    switches = [v for k, v in r["marks"].items() if k.startswith("switch_to_")]
    texts = r["progress_texts"]
    figures = [
        fig(f"{key}.file_mb", size, "MB", None, f"{n:,} {'PNGs (28×28, 10 classes) in a zip' if kind == 'images' else 'rows × 13 columns, CSV'}"),
        fig(f"{key}.upload_to_first_epoch_s", r["upload_to_first_epoch_s"], "s", None,
            f"file into the Data page's uploader → the worker's first epoch row (batch size {batch}, 1 epoch)"),
        fig(f"{key}.data_page_s", r["marks"]["data_page_s"], "s", None,
            "upload → the Data page shows what the data holds (unpacking or reading included)"),
        fig(f"{key}.server_peak_extra_mb", r["server_peak_extra_mb"], "MB", None,
            "server process: peak resident memory above its idle baseline (VmHWM after clear_refs)"),
        fig(f"{key}.upload_held_mb", r["upload_held_mb"], "MB", None,
            "what a bare Streamlit app (one file_uploader, nothing else) holds once this file is uploaded"),
        fig(f"{key}.worker_peak_mb", r["worker_peak_mb"], "MB", None, "training worker: peak resident memory"),
        fig(f"{key}.worker_peak_extra_mb", r["worker_peak_extra_mb"], "MB", None,
            "worker peak above its memory when it logs 'Preparing data' (TensorFlow imported)"),
        fig(f"{key}.ui_switch_max_s", max(switches) if switches else None, "s", "≤ 2",
            "while the worker prepares or trains: sidebar switch to Data, and back to Train, until idle"),
    ]
    if kind == "images":
        total = r["server_peak_mb"] + r["worker_peak_mb"]
        figures += [
            fig(f"{key}.peak_total_mb", total, "MB", "< 2000", "server peak + worker peak, absolute (both processes)"),
            fig(f"{key}.server_peak_mb", r["server_peak_mb"], "MB", None, "server process: peak, absolute"),
            fig(f"{key}.unpacking_progress_shown", any(re.match(r"Unpacking [\d,]+ files", t) for t in texts), "bool",
                "== True",
                "the Data page showed a progress bar while unpacking"),
            fig(f"{key}.decoding_progress_shown", any("decoding images" in t for t in texts), "bool", "== True",
                "the Train page showed 'Preparing the data: decoding images (…)' before the first step"),
        ]
    else:
        figures += [
            fig(f"{key}.server_peak_vs_file", ratio(r["server_peak_extra_mb"], size), "×", "< 3",
                "server peak above idle ÷ CSV size, Streamlit's copy of the upload included"),
            fig(f"{key}.server_own_peak_vs_file", ratio(r["server_own_peak_extra_mb"], size), "×", "< 3",
                "the same less what a bare Streamlit app holds for the upload: what reading and showing the table cost"),
            fig(f"{key}.worker_peak_vs_file", ratio(r["worker_peak_extra_mb"], size), "×", None,
                "worker peak above 'Preparing data' ÷ CSV size (TensorFlow's training runtime included)"),
        ]
    details = {k: v for k, v in r.items() if k not in ("log",)}
    details["log_tail"] = r["log"][-1500:]
    return {"figures": figures, "details": details}


# One benchmark per kind of large data: (kind, name, title).
for _kind, _name, _title in (
    ("images", "scale_images", "Scale: a zip of 60,000 28×28 PNGs, upload → first epoch, in Chromium (streamed)"),
    ("table", "scale_table", "Scale: a 2,000,000-row CSV, upload → first epoch, in Chromium"),
):
    benchmark(_name, "scale", _title)(lambda quick, _k=_kind: _scale(quick, _k))
