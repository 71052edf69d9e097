"""Tables, text and time series end to end: init → train → predict from raw inputs, by CLI and engine."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from layerlab.prep.prepare import prepare
from layerlab.inference.predictor import load_predictor
from layerlab.project import new_project
from layerlab.runs.store import RunStore
from layerlab.train.trainer import run_training

ROOT = Path(__file__).resolve().parents[2]


def wine_frame() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    df = load_wine(as_frame=True).frame
    df["colour"] = np.where(df["alcohol"] > 13, "dark", "light").astype(object)
    df.loc[::7, "colour"] = None
    df.loc[::5, "magnesium"] = np.nan
    df["row_id"] = np.arange(len(df)) + 1000
    df["cultivar"] = df.pop("target").map({0: "barolo", 1: "grignolino", 2: "barbera"})
    return df


def reviews_frame(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    pos = "great excellent lovely wonderful superb enjoyable fun brilliant".split()
    neg = "awful terrible boring bad dull poor horrible waste".split()
    filler = "the movie was and plot actors film it a of very really story".split()
    rows = []
    for i in range(n):
        words = list(rng.choice(filler, 10)) + list(rng.choice(pos if i % 2 else neg, 2))
        rng.shuffle(words)
        rows.append({"review": " ".join(words), "stars": "positive" if i % 2 else "negative"})
    return pd.DataFrame(rows)


def sunspots_frame() -> pd.DataFrame:
    import statsmodels.api as sm

    ss = sm.datasets.sunspots.load_pandas().data
    return pd.DataFrame({"year": ss["YEAR"].astype(int).astype(str) + "-01-01", "spots": ss["SUNACTIVITY"]})


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "layerlab", *args], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ), timeout=600)


@pytest.mark.slow  # trains
def test_table_classification_from_raw_rows(tmp_path):
    df = wine_frame()
    path = tmp_path / "wine.csv"
    df.to_csv(path, index=False)
    spec = new_project(str(path), target="cultivar").edit(**{"train.epochs": 25})
    assert (spec.data.kind, spec.data.task, spec.data.target) == ("table", "classification", "cultivar")
    assert "row_id" in spec.data.ignore  # an ID column is never a feature
    prepared = prepare(spec)
    assert "row_id" not in [c["name"] for c in prepared.info.extra["columns"]]
    assert prepared.info.extra["numeric_width"] == 13
    run = run_training(RunStore(tmp_path / "runs"), RunStore(tmp_path / "runs").create(spec).id)
    assert run.status == "completed", run.message
    m = run.test_metrics
    assert m["accuracy"] >= m["baseline_accuracy"] + 0.3, m
    pred = load_predictor(run.path)
    raw = df.drop(columns=["cultivar"]).head(4).to_dict("records")
    raw[0]["magnesium"] = None  # a missing value in a raw row is imputed inside the model
    raw[1]["colour"] = "never seen"  # an unseen category goes to the out-of-vocabulary slot
    out = pred.predict_rows(raw)
    assert [r["label"] for r in out][2:] == ["barolo", "barolo"]
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-4 for r in out)
    with pytest.raises(Exception, match="no column `alcohol`"):
        pred.predict_rows([{"colour": "dark"}])


@pytest.mark.slow  # trains
def test_table_regression_reports_units_and_baseline(tmp_path):
    from sklearn.datasets import load_diabetes

    path = tmp_path / "diabetes.parquet"
    load_diabetes(as_frame=True, scaled=False).frame.to_parquet(path)
    spec = new_project(str(path)).edit(**{"train.epochs": 40})
    assert spec.data.task == "regression"
    store = RunStore(tmp_path / "runs")
    run = run_training(store, store.create(spec).id)
    ev = json.loads((run.path / "evaluation.json").read_text())
    assert ev["mae"] < ev["baseline_mae"] and -1 < ev["r2"] <= 1 and len(ev["true"]) == ev["n_test"]
    value = load_predictor(run.path).predict_rows([{"age": 50, "sex": 1, "bmi": 30.0, "bp": 100, "s1": 180, "s2": 100,
                                                    "s3": 45, "s4": 4, "s5": 4.8, "s6": 90}])[0]["value"]
    assert 25 < value < 346  # in the target's units, not standardised


@pytest.mark.slow  # trains
def test_text_classification_from_raw_strings(tmp_path):
    path = tmp_path / "reviews.jsonl"
    reviews_frame().to_json(path, orient="records", lines=True)
    spec = new_project(str(path)).edit(**{"train.epochs": 8})
    assert (spec.data.kind, spec.data.text, spec.data.target) == ("text", "review", "stars")
    store = RunStore(tmp_path / "runs")
    run = run_training(store, store.create(spec).id)
    assert run.test_metrics["accuracy"] > 0.9, run.message
    out = load_predictor(run.path).predict_texts(["a wonderful brilliant film", "boring awful waste"])
    assert [r["label"] for r in out] == ["positive", "negative"]
    assert "Vocabulary" in (run.path / "log.txt").read_text()


@pytest.mark.parametrize("words, want", [(12, 16), (37, 40), (1000, 256)])
def test_the_sequence_length_fits_the_texts(tmp_path, words, want):
    """95% of the texts whole, in steps of 8, 16 to 256 words: not a fixed 120 for 20-word tweets."""
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(300)]
    lengths = [words if i % 25 else 3 * words for i in range(100)]  # 4% of the texts are much longer
    frame = pd.DataFrame({"review": [" ".join(rng.choice(vocab, n)) for n in lengths], "stars": ["a", "b"] * 50})
    path = tmp_path / "texts.csv"
    frame.to_csv(path, index=False)
    spec = new_project(str(path))
    assert (spec.data.kind, spec.prepare.text.sequence_length) == ("text", want)


@pytest.mark.slow  # trains
def test_series_forecast_beats_repeating_the_last_value(tmp_path):
    path = tmp_path / "sun.csv"
    sunspots_frame().to_csv(path, index=False)
    spec = new_project(str(path)).edit(**{"train.epochs": 25, "prepare.series.horizon": 3})
    assert (spec.data.kind, spec.data.task, spec.data.date, spec.data.target) == ("series", "forecasting", "year", "spots")
    store = RunStore(tmp_path / "runs")
    run = run_training(store, store.create(spec).id)
    ev = json.loads((run.path / "evaluation.json").read_text())
    assert ev["mae"] < ev["baseline_mae"] and len(ev["mae_per_step"]) == 3
    pred = load_predictor(run.path)
    fc = pred.forecast()
    assert np.array(fc["forecast"]).shape == (3, 1)
    window = sunspots_frame()["spots"].to_numpy()[-spec.prepare.series.window:, None]
    assert np.allclose(pred.forecast(window)["forecast"], fc["forecast"], atol=1e-3)
    with pytest.raises(Exception, match="at least"):
        pred.forecast(window[:3])


def test_series_windows_never_leak_targets_across_the_split():
    from layerlab.prep.series import make_windows
    from layerlab.spec import SeriesPrep, SplitSpec

    values = np.arange(100, dtype="float64")[:, None]
    win = make_windows(values, [0], SeriesPrep(window=5, horizon=2, scale="none", predict="level"),
                       SplitSpec(validation=0.2, test=0.2))
    b_val, b_test = win.bounds
    assert (b_val, b_test) == (60, 80)
    for i in win.parts["train"]:
        assert win.start[i] + 2 <= b_val
    for i in win.parts["test"]:
        assert win.start[i] >= b_test
    # target alignment: the window ending at step t-1 predicts t and t+1 (the classic off-by-one)
    i = 0
    assert win.x[i, -1, 0] + 1 == win.y[i, 0, 0] and win.y[i, 1, 0] == win.y[i, 0, 0] + 1
    assert win.x[i, 0, 0] == 0 and win.y[i, 0, 0] == 5  # steps 0..4 predict 5 and 6
    rel = make_windows(values, [0], SeriesPrep(window=5, horizon=2, scale="none", predict="change"),
                       SplitSpec(validation=0.2, test=0.2))
    assert rel.x[i, -1, 0] == 0 and rel.x[i, 0, 0] == -4 and list(rel.y[i, :, 0]) == [1, 2] and rel.last[i, 0] == 4


@pytest.mark.slow
def test_cli_init_train_predict_each_kind(tmp_path):
    files = {}
    files["table"] = tmp_path / "wine.csv"
    wine_frame().to_csv(files["table"], index=False, sep=";", decimal=",")
    files["text"] = tmp_path / "reviews.tsv"
    reviews_frame().to_csv(files["text"], index=False, sep="\t")
    files["series"] = tmp_path / "sun.csv"
    sunspots_frame().to_csv(files["series"], index=False)
    overrides = {"table": ["--target", "cultivar"], "text": ["--text", "review", "--target", "stars"],
                 "series": ["--date", "year", "--target", "spots"]}
    for kind, path in files.items():
        project = tmp_path / f"{kind}.json"
        r = _cli("init", "--data", str(path), *overrides[kind], "-o", str(project))
        assert r.returncode == 0, r.stderr
        r = _cli("train", str(project), "--epochs", "15", "--runs-dir", str(tmp_path / "runs"))
        assert r.returncode == 0, r.stderr
        summary = json.loads(r.stdout.strip().splitlines()[-1])
        m = summary["metrics"]
        if kind == "series":
            assert summary["task"] == "forecasting" and m["mae"] < m["baseline_mae"], m
        else:
            assert summary["task"] == "classification" and m["accuracy"] > m["baseline_accuracy"], m
        r = _cli("predict", summary["run_dir"], str(path))
        assert r.returncode == 0, r.stderr
        first = json.loads(r.stdout.splitlines()[0])
        assert ("label" in first) or ("forecast" in first), first


@pytest.mark.parametrize("args, task, target", [
    (["--target", "year"], "classification", "year"),  # three years: inferred as classes
    (["--target", "year", "--task", "regression"], "regression", "year"),
    (["--target", "body_mass_g", "--task", "classification"], "classification", "body_mass_g"),
])
def test_cli_init_task_overrides_the_inferred_task(tmp_path, args, task, target):
    from layerlab.samples import get_sample
    from layerlab.spec import load_spec

    data = tmp_path / "penguins.csv"
    get_sample("penguins").load().to_csv(data, index=False)
    r = _cli("init", "--data", str(data), *args, "-o", str(tmp_path / "p.json"))
    assert r.returncode == 0, r.stderr
    spec = load_spec(tmp_path / "p.json")
    assert (spec.data.kind, spec.data.task, spec.data.target) == ("table", task, target)


@pytest.mark.parametrize("args, words", [
    (["--target", "species", "--task", "regression"], "must hold numbers, but it holds 'Adelie'"),
    (["--task", "forecasting"], "Forecasting needs a date column"),
    (["--target", "colour"], "There is no column `colour` for --target"),
])
def test_cli_init_refuses_a_task_the_data_cannot_have(tmp_path, args, words):
    from layerlab.samples import get_sample

    data = tmp_path / "penguins.csv"
    get_sample("penguins").load().to_csv(data, index=False)
    r = _cli("init", "--data", str(data), *args, "-o", str(tmp_path / "p.json"))
    assert r.returncode == 2 and r.stderr.startswith("error: ") and words in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "p.json").exists()


@pytest.mark.slow  # trains
def test_evaluation_keeps_the_raw_examples_the_page_shows(tmp_path):
    from layerlab.samples import get_sample

    df = get_sample("penguins").load()
    path = tmp_path / "penguins.csv"
    df.to_csv(path, index=False)
    spec = new_project(str(path), target="species").edit(**{"train.epochs": 3})
    store = RunStore(tmp_path / "runs")
    run = run_training(store, store.create(spec).id)
    ev = json.loads((run.path / "evaluation.json").read_text())
    assert ev["examples"]["kind"] == "table" and len(ev["true_labels"]) == ev["n_test"]


# ---- the registry of kinds -----------------------------------------------------------------------


def test_every_kind_is_registered_and_owns_what_the_rest_asks_it():
    from layerlab.kinds import KINDS, get_kind
    from layerlab.models.templates import TEMPLATES, templates_for
    from layerlab.samples import SAMPLES

    assert list(KINDS) == ["images", "table", "text", "series"]
    for kind in KINDS.values():
        assert kind.default_template in TEMPLATES, "a kind's default is a registered template"
        assert templates_for(kind.name)[0].name == kind.default_template, "the Build page offers the default first"
        assert callable(kind.parser()), "each kind names its raw-input parser in layerlab.inference.inputs"
        assert callable(kind.describe) and callable(kind.prepare) and kind.title and kind.examples
    for sample in SAMPLES.values():
        spec = new_project(f"sample:{sample.name}")
        info = get_kind(spec.data.kind).describe(spec, None)
        assert info.kind == spec.data.kind
    with pytest.raises(Exception, match="audio data is not supported"):
        get_kind("audio")


def test_a_kinds_preview_is_its_split_plan():
    from layerlab.kinds import get_kind
    from layerlab.samples import SAMPLES

    spec = new_project("sample:sunspots")
    plan = get_kind("series").preview(SAMPLES["sunspots"].load(), spec)
    assert set(plan["sizes"]) == {"train", "validation", "test"}
    spec = new_project("sample:penguins")
    assert sum(get_kind("table").preview(SAMPLES["penguins"].load(), spec).values()) == 344
