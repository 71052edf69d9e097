"""Every bundled sample, and every table format and encoding, goes through the CLI's init → train → predict
with its default template, beats its naive baseline, and predicts from raw input (a PNG, raw rows, raw strings,
a raw window) given in the same format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from layerlab.samples import SAMPLES, get_sample
from tests.formats import FORMATS, accented, table_bytes

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

# Epochs per sample: enough to beat the baseline clearly, few enough for CI. The tweets are 38,158
# texts, so one epoch is already ~1,000 steps.
EPOCHS = {"digits": 3, "penguins": 15, "diabetes": 15, "tweets": 1, "sunspots": 15, "co2": 3}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "layerlab", *args], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ), timeout=600)


def _json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _raw_input(name: str, spec, folder: Path) -> Path:
    """A file of raw inputs as a user would bring it: never the prepared arrays."""
    sample = get_sample(name)
    if sample.kind == "images":
        from PIL import Image

        from layerlab.data.images import open_images

        path = folder / "digit.png"
        Image.fromarray(open_images("sample:digits").decode(7)[..., 0]).save(path)
        return path
    df = sample.load()
    if sample.kind == "text":
        path = folder / "texts.txt"
        path.write_text("\n".join(df[spec.data.text].astype(str).head(4)) + "\n", encoding="utf-8")
        return path
    if sample.kind == "table":
        path = folder / "rows.csv"
        df.drop(columns=[spec.data.target]).head(5).to_csv(path, index=False)
        return path
    path = folder / "window.csv"  # series: the last stretch of the raw history, date column included
    df.tail(spec.prepare.series.window + 5).to_csv(path, index=False)
    return path


def _init_train_predict(source: str, tmp_path: Path, *init_args: str, epochs: int, predict_file=None) -> dict:
    from layerlab.spec import load_spec

    project = tmp_path / "project.json"
    r = _cli("init", "--data", source, *init_args, "-o", str(project))
    assert r.returncode == 0, r.stderr
    spec = load_spec(project)
    r = _cli("train", str(project), "--epochs", str(epochs), "--runs-dir", str(tmp_path / "runs"))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    m = summary["metrics"]
    if summary["task"] == "classification":
        # "clearly": a few points over always answering the most common class
        assert m["accuracy"] >= m["baseline_accuracy"] + 0.05, m
    else:
        assert m["mae"] < 0.9 * m["baseline_mae"], m

    inputs = predict_file(spec) if predict_file else _raw_input(source.removeprefix("sample:"), spec, tmp_path)
    r = _cli("predict", summary["run_dir"], str(inputs))
    assert r.returncode == 0, r.stderr
    results = _json_lines(r.stdout)
    assert results and not any("error" in x for x in results), results
    return {"summary": summary, "spec": spec, "results": results}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample_trains_and_predicts_from_raw_input(name: str, tmp_path: Path):
    out = _init_train_predict(f"sample:{name}", tmp_path, epochs=EPOCHS[name])
    kind, task = get_sample(name).kind, out["summary"]["task"]
    results = out["results"]
    if task == "classification":
        labels = set(out["summary"].get("class_names") or []) or None
        for r in results:
            assert 0 <= r["confidence"] <= 1 and abs(sum(r["probabilities"].values()) - 1) < 1e-3
            assert labels is None or r["label"] in labels
        assert len(results) == {"images": 1, "text": 4, "table": 5}[kind]
    elif task == "regression":
        assert len(results) == 5 and all(np.isfinite(r["value"]) for r in results), results
    else:
        (forecast,) = results
        horizon = out["spec"].prepare.series.horizon
        assert forecast["horizon"] == horizon and len(forecast["forecast"]) == horizon
        assert np.isfinite(np.asarray(forecast["forecast"], dtype=float)).all()


def test_an_excel_file_trains_and_predicts(tmp_path: Path):
    df = get_sample("penguins").load()
    book = tmp_path / "penguins.xlsx"
    df.to_excel(book, index=False)

    def rows(spec):
        path = tmp_path / "new-penguins.xlsx"
        df.drop(columns=["species"]).sample(6, random_state=1).to_excel(path, index=False)
        return path

    out = _init_train_predict(str(book), tmp_path, "--target", "species", epochs=15, predict_file=rows)
    assert out["spec"].data.target == "species"
    assert len(out["results"]) == 6
    assert {r["label"] for r in out["results"]} <= set(df["species"].dropna().unique())


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "xlsx"])  # Excel: the test above
def test_every_table_format_trains_and_predicts(fmt: str, tmp_path: Path):
    suffix = FORMATS[fmt][0]
    df = accented(get_sample("penguins").load(), "island")
    data = tmp_path / f"penguins{suffix}"
    data.write_bytes(table_bytes(df, fmt))
    new = df.drop(columns=["species"]).sample(6, random_state=2)

    def rows(spec):
        path = tmp_path / f"new-penguins{suffix}"
        path.write_bytes(table_bytes(new, fmt))
        return path

    out = _init_train_predict(str(data), tmp_path, epochs=15, predict_file=rows)
    spec = out["spec"]
    assert (spec.data.kind, spec.data.target, spec.data.task) == ("table", "species", "classification")
    assert "island" not in spec.data.ignore  # read as the accented categories it holds, not as noise
    assert len(out["results"]) == 6
    assert {r["label"] for r in out["results"]} <= set(df["species"].dropna().unique())


def test_texts_in_json_lines_train_and_predict(tmp_path: Path):
    df = get_sample("tweets").load()[["text", "sentiment"]]
    data = tmp_path / "tweets.jsonl"
    data.write_bytes(table_bytes(df, "jsonl"))

    def texts(spec):
        path = tmp_path / "new-tweets.jsonl"
        path.write_bytes(table_bytes(df[["text"]].sample(5, random_state=3), "jsonl"))
        return path

    out = _init_train_predict(str(data), tmp_path, epochs=1, predict_file=texts)
    assert (out["spec"].data.kind, out["spec"].data.text, out["spec"].data.target) == ("text", "text", "sentiment")
    assert len(out["results"]) == 5
    assert {r["label"] for r in out["results"]} <= set(df["sentiment"].unique())


def test_a_series_in_utf16_tsv_trains_and_forecasts(tmp_path: Path):
    df = get_sample("sunspots").load()
    data = tmp_path / "sunspots.tsv"
    data.write_bytes(df.to_csv(sep="\t", index=False).encode("utf-16"))

    def window(spec):
        path = tmp_path / "window.tsv"
        path.write_bytes(df.tail(spec.prepare.series.window + 3).to_csv(sep="\t", index=False).encode("utf-16"))
        return path

    out = _init_train_predict(str(data), tmp_path, "--date", "year", epochs=15, predict_file=window)
    spec = out["spec"]
    assert (spec.data.kind, spec.data.date, spec.data.target) == ("series", "year", "sunspots")
    (forecast,) = out["results"]
    assert len(forecast["forecast"]) == spec.prepare.series.horizon
