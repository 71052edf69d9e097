"""Predict page for tables, texts and series: the generated form, batch files, texts, forecasts.

Each kind trains one tiny real run per module (a few seconds); the page reads its folder.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from layerlab.runs.store import RunStore
from tests.pages.markdown import plain
from tests.pages.trained import OWNER, plotly_figure
from tests.pages.trained import shared_home  # noqa: F401 - this module's "home" fixture

PAGE = "pages/predict.py"

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("keras_loaded")]  # reads real trained runs; TF in, as on a
# server whose Predict page loaded a model before (the page otherwise waits for the background import)


# ---- helpers shared with test_export.py ----------------------------------------------------------


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], bytes]:
    """`downloads(file_name)`: the bytes a download button offers (eager or deferred), by its file name."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    got: dict[str, object] = {}
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def spy_add(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if file_name:
            got[file_name] = path_or_data
        return add(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)

    def spy_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        if file_name:
            got[file_name] = data_callable
        return add_deferred(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add", spy_add)
    monkeypatch.setattr(MediaFileManager, "add_deferred", spy_deferred)

    def read(name: str) -> bytes:
        assert name in got, f"no download named {name}; offered: {sorted(got)}"
        value = got[name]
        value = value() if callable(value) else value
        return value.encode("utf-8") if isinstance(value, str) else bytes(value)

    return read


def train(spec):
    """A real completed run of `spec`, trained in this process, owned by the AppTest session."""
    from layerlab.train.trainer import run_training

    store = RunStore()
    run = run_training(store, store.create(spec, owner=OWNER).id)
    assert run.status == "completed", run.message
    return run


def open_page(app, run, **state):
    return app(PAGE, state={"pid": OWNER, "run_id": run.id, **state})


def texts_of(at) -> str:
    return plain("\n".join(str(e.value) for kind in ("markdown", "caption", "info", "warning", "error", "success")
                           for e in getattr(at, kind)))


def error_text(at) -> str:
    return plain("\n".join(e.value for e in at.error))


def submit(at, label: str = "Predict"):
    return next(b for b in at.button if b.label == label).click().run()


# ---- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def penguins(home):
    from layerlab.inference.predictor import load_predictor
    from layerlab.project import new_project

    run = train(new_project("sample:penguins").edit(**{"train.epochs": 3}))
    return run, load_predictor(run.path)


@pytest.fixture(scope="module")
def diabetes(home):
    from layerlab.inference.predictor import load_predictor
    from layerlab.project import new_project

    run = train(new_project("sample:diabetes").edit(**{"train.epochs": 2}))
    return run, load_predictor(run.path)


@pytest.fixture(scope="module")
def reviews(home, tmp_path_factory: pytest.TempPathFactory):
    from layerlab.inference.predictor import load_predictor
    from layerlab.project import new_project

    rng = np.random.default_rng(0)
    good, bad = ["great", "lovely", "happy", "fine", "superb"], ["awful", "sad", "broken", "late", "rude"]
    rows = [{"review": " ".join(rng.choice(good if k else bad, 6)), "label": "pos" if k else "neg"}
            for k in rng.integers(0, 2, 240)]
    path = tmp_path_factory.mktemp("reviews") / "reviews.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    spec = new_project(str(path), text="review", target="label").edit(
        **{"train.epochs": 4, "prepare.text.sequence_length": 16, "prepare.text.vocab_size": 100})
    run = train(spec)
    return run, load_predictor(run.path)


@pytest.fixture(scope="module")
def sunspots(home):
    from layerlab.inference.predictor import load_predictor
    from layerlab.project import new_project

    spec = new_project("sample:sunspots").edit(**{"train.epochs": 2, "prepare.series.window": 12,
                                                  "prepare.series.horizon": 3})
    run = train(spec)
    return run, load_predictor(run.path)


def penguin_rows() -> pd.DataFrame:
    from layerlab.samples import get_sample

    return get_sample("penguins").load()


# ---- tables -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_form_is_generated_from_the_training_columns(app, penguins):
    run, pred = penguins
    at = open_page(app, run)

    assert not at.exception
    assert "Predicts the class of species (Adelie" in at.caption[0].value
    cols = {c["name"]: c for c in pred.info.extra["columns"]}
    bill = at.number_input(key=f"predict_col_{run.id}_{cols['bill_length_mm']['input']}")
    assert bill.min == pytest.approx(cols["bill_length_mm"]["min"]) and bill.max == pytest.approx(cols["bill_length_mm"]["max"])
    assert bill.value == pytest.approx(cols["bill_length_mm"]["default"])
    flipper = at.number_input(key=f"predict_col_{run.id}_{cols['flipper_length_mm']['input']}")
    assert isinstance(flipper.value, int) and flipper.step == 1  # an integer column takes whole numbers
    island = at.selectbox(key=f"predict_col_{run.id}_{cols['island']['input']}")
    assert island.options == ["Biscoe", "Dream", "Torgersen"]  # the training categories, without "[missing]"
    assert "Fill in the form" in at.info[0].value and not at.metric


@pytest.mark.slow
def test_submitting_the_form_predicts_that_row(app, penguins):
    run, pred = penguins
    cols = {c["name"]: c for c in pred.info.extra["columns"]}
    at = open_page(app, run)
    at.number_input(key=f"predict_col_{run.id}_{cols['bill_length_mm']['input']}").set_value(49.5)
    at.number_input(key=f"predict_col_{run.id}_{cols['flipper_length_mm']['input']}").set_value(221)
    at.selectbox(key=f"predict_col_{run.id}_{cols['island']['input']}").set_value("Biscoe")
    submit(at)

    assert not at.exception and not at.error
    row = {c["name"]: c["default"] for c in pred.info.extra["columns"]}
    row.update(bill_length_mm=49.5, flipper_length_mm=221, island="Biscoe")
    want = pred.predict_rows([row])[0]
    assert at.metric[0].label == "Predicted species" and at.metric[0].value == want["label"]
    bars = plotly_figure(at.get("plotly_chart")[0]).data[0]
    assert list(bars.y)[-1] == want["label"]
    assert list(bars.x)[-1] == pytest.approx(want["confidence"], abs=1e-6)


@pytest.mark.slow
def test_a_rows_prediction_is_explained_value_by_value(app, penguins):
    from layerlab.explain import row_effects

    run, pred = penguins
    cols = {c["name"]: c for c in pred.info.extra["columns"]}
    at = open_page(app, run)
    at.number_input(key=f"predict_col_{run.id}_{cols['flipper_length_mm']['input']}").set_value(225)
    at.selectbox(key=f"predict_col_{run.id}_{cols['island']['input']}").set_value("Biscoe")
    submit(at)
    at.toggle(key="predict_explain_row").set_value(True).run()

    assert not at.exception and not at.error
    row = {c["name"]: c["default"] for c in pred.info.extra["columns"]}
    row.update(flipper_length_mm=225, island="Biscoe")
    want = row_effects(pred, row)
    bars = plotly_figure(at.get("plotly_chart")[1]).data[0]
    moved = {c["column"]: c["effect"] for c in want["columns"]}
    assert dict(zip(bars.y, bars.x)) == pytest.approx(moved)
    assert {"flipper_length_mm", "island"} <= set(bars.y)
    assert moved["bill_depth_mm"] == 0  # left at its typical value: no effect
    assert "Each value was set in turn to the typical one" in plain(" ".join(c.value for c in at.caption))


@pytest.mark.slow
def test_a_regression_form_gives_a_value_in_the_targets_units(app, diabetes):
    run, pred = diabetes
    at = open_page(app, run)
    submit(at)

    assert not at.exception
    row = {c["name"]: at.number_input(key=f"predict_col_{run.id}_{c['input']}").value for c in pred.info.extra["columns"]}
    assert row["age"] == 50  # an integer column: its median 49.5 becomes a whole number
    want = pred.predict_rows([row])[0]["value"]
    assert at.metric[0].label == "Predicted progression"
    assert float(at.metric[0].value.replace(",", "")) == pytest.approx(want, rel=1e-3)


@pytest.mark.slow
def test_a_file_of_rows_comes_back_as_csv_with_predictions_and_safe_cells(app, penguins, downloads):
    run, pred = penguins
    df = penguin_rows().head(12).copy()
    df["note"] = ["=HYPERLINK(\"http://x\")"] + ["ok"] * 11  # a formula a spreadsheet would run
    at = open_page(app, run, predict_table_mode="A file of rows")
    at.file_uploader(key=f"predict_table_file_{run.id}").set_value(("birds.csv", df.to_csv(index=False).encode(), "text/csv")).run()

    assert not at.exception and not at.error
    out = pd.read_csv(io.BytesIO(downloads("birds_predictions.csv")), keep_default_na=False)
    want = pred.predict_rows(df)
    assert len(out) == 12
    assert list(out.columns[-5:]) == ["predicted_species", "confidence", "p(Adelie)", "p(Chinstrap)", "p(Gentoo)"]
    assert out["predicted_species"].tolist() == [r["label"] for r in want]
    assert out["confidence"].to_numpy() == pytest.approx([r["confidence"] for r in want], abs=1e-6)
    assert out["note"][0] == "'=HYPERLINK(\"http://x\")"  # neutralised
    assert at.download_button(key="predict_table_download").proto.label.startswith("Download")
    shown = at.dataframe[0].value
    assert shown["predicted_species"].tolist() == out["predicted_species"].tolist()


@pytest.mark.slow
def test_a_file_without_a_training_column_is_refused_by_name(app, penguins):
    run, _ = penguins
    df = penguin_rows().head(5).drop(columns=["island"])
    at = open_page(app, run, predict_table_mode="A file of rows")
    at.file_uploader(key=f"predict_table_file_{run.id}").set_value(("no_island.csv", df.to_csv(index=False).encode(), "text/csv")).run()

    assert not at.exception
    assert "no column `island`" in error_text(at)
    assert not at.get("download_button") or "predict_table_download" not in [b.key for b in at.download_button]


@pytest.mark.slow
def test_text_in_a_number_column_is_refused_by_name(app, penguins):
    run, _ = penguins
    df = penguin_rows().head(5).astype({"bill_length_mm": object})
    df.loc[2, "bill_length_mm"] = "long"
    at = open_page(app, run, predict_table_mode="A file of rows")
    at.file_uploader(key=f"predict_table_file_{run.id}").set_value(("bad.csv", df.to_csv(index=False).encode(), "text/csv")).run()

    assert not at.exception
    assert "`bill_length_mm` should hold numbers" in error_text(at) and "'long'" in error_text(at)


@pytest.mark.slow
def test_a_file_that_is_not_a_table_gets_a_message(app, penguins):
    run, _ = penguins
    at = open_page(app, run, predict_table_mode="A file of rows")
    at.file_uploader(key=f"predict_table_file_{run.id}").set_value(("empty.csv", b"", "text/csv")).run()

    assert not at.exception
    assert "empty" in error_text(at)


@pytest.mark.slow
def test_a_file_with_more_rows_than_the_cap_is_refused_saying_what_to_do(app, penguins, monkeypatch):
    """Issue #7: a batch upload is capped by LAYERLAB_PREDICT_ROWS, refused before any row is predicted."""
    run, _ = penguins
    monkeypatch.setenv("LAYERLAB_PREDICT_ROWS", "10")
    at = open_page(app, run, predict_table_mode="A file of rows")
    at.file_uploader(key=f"predict_table_file_{run.id}").set_value(
        ("birds.csv", penguin_rows().head(12).to_csv(index=False).encode(), "text/csv")).run()

    assert not at.exception
    errors = error_text(at)
    assert "birds.csv holds 12 rows; the Predict page takes at most 10 rows at a time." in errors
    assert "Split it into files of 10 rows or fewer" in errors and "LAYERLAB_PREDICT_ROWS" in errors
    assert "predict_table_download" not in [b.key for b in at.get("download_button")]

    at.file_uploader(key=f"predict_table_file_{run.id}").set_value(
        ("birds.csv", penguin_rows().head(10).to_csv(index=False).encode(), "text/csv")).run()
    assert not at.exception and not at.error, "up to the cap is fine"
    assert "10 rows predicted." in texts_of(at)


@pytest.mark.slow
def test_markdown_in_a_batch_file_name_and_columns_is_escaped(app, penguins):
    from components.markup import md

    run, _ = penguins
    df = penguin_rows().head(5).drop(columns=["island"])
    name = "**birds** [x](javascript:alert(1)).csv"
    at = open_page(app, run, predict_table_mode="A file of rows")
    at.file_uploader(key=f"predict_table_file_{run.id}").set_value((name, df.to_csv(index=False).encode(), "text/csv")).run()

    assert not at.exception
    body = at.error[0].value
    assert md(name) in body and "**birds**" not in body and "[x](" not in body
    assert plain(body).startswith(f"**{name} has no column `island`")


# ---- text ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_one_text_gets_its_class_and_probabilities(app, reviews):
    run, pred = reviews
    at = open_page(app, run)
    assert "Type a text" in at.info[0].value

    at.text_area(key=f"predict_text_one_{run.id}").input("what a lovely happy superb day").run()

    assert not at.exception
    want = pred.predict_texts(["what a lovely happy superb day"])[0]
    assert at.metric[0].value == want["label"] == "pos"
    bars = plotly_figure(at.get("plotly_chart")[0]).data[0]
    assert sorted(bars.y) == ["neg", "pos"]


@pytest.mark.slow
def test_one_texts_prediction_shows_which_words_mattered(app, reviews):
    from layerlab.explain import text_occlusion

    run, pred = reviews
    at = open_page(app, run)
    at.text_area(key=f"predict_text_one_{run.id}").input("what a lovely happy superb day").run()
    at.toggle(key="predict_explain_text").set_value(True).run()

    assert not at.exception and not at.error
    want = text_occlusion(pred, "what a lovely happy superb day")
    figures = [plotly_figure(c) for c in at.get("plotly_chart")]
    words = [a.text for a in figures[1].layout.annotations]
    assert words == ["what", "a", "lovely", "happy", "superb", "day"]  # the text, word by word
    bars = figures[2].data[0]
    assert sorted(bars.x) == pytest.approx(sorted(w["effect"] for w in want["words"]))


@pytest.mark.slow
def test_many_lines_are_many_texts_in_a_table_and_a_csv(app, reviews, downloads):
    run, pred = reviews
    lines = ["lovely superb great", "", "awful rude broken", "=cmd|' /C calc'!A0 sad"]
    at = open_page(app, run, predict_text_mode="Many texts")
    at.text_area(key=f"predict_text_many_{run.id}").input("\n".join(lines)).run()

    assert not at.exception
    texts = [ln for ln in lines if ln]
    want = pred.predict_texts(texts)
    table = at.dataframe[0].value
    assert table["text"].tolist() == texts
    assert table["predicted"].tolist() == [r["label"] for r in want]
    assert table["p(pos)"].to_numpy() == pytest.approx([r["probabilities"]["pos"] for r in want], abs=1e-6)
    csv = pd.read_csv(io.BytesIO(downloads("texts_predictions.csv")))
    assert csv["text"].tolist()[-1].startswith("'=cmd")  # formula-like text neutralised in the CSV


@pytest.mark.slow
def test_a_file_of_texts_needs_the_text_column(app, reviews):
    run, pred = reviews
    at = open_page(app, run, predict_text_mode="A file")
    at.file_uploader(key=f"predict_text_file_{run.id}").set_value(
        ("other.csv", b"comment\nlovely\n", "text/csv")).run()
    assert not at.exception
    assert "has no `review` column" in error_text(at)

    at.file_uploader(key=f"predict_text_file_{run.id}").set_value(
        ("lines.txt", b"lovely superb\nawful rude\n", "text/plain")).run()
    assert not at.exception and not at.error
    assert at.dataframe[0].value["predicted"].tolist() == \
        [r["label"] for r in pred.predict_texts(["lovely superb", "awful rude"])]


@pytest.mark.slow
def test_a_file_or_paste_of_more_texts_than_the_cap_is_refused(app, reviews, monkeypatch):
    run, _ = reviews
    monkeypatch.setenv("LAYERLAB_PREDICT_ROWS", "3")
    at = open_page(app, run, predict_text_mode="A file")
    at.file_uploader(key=f"predict_text_file_{run.id}").set_value(
        ("lines.txt", b"lovely\nsuperb\nawful\nrude\n", "text/plain")).run()
    assert not at.exception
    assert "lines.txt holds 4 texts; the Predict page takes at most 3 texts at a time." in error_text(at)

    at = open_page(app, run, predict_text_mode="Many texts")
    at.text_area(key=f"predict_text_many_{run.id}").set_value("a\nb\nc\nd\ne").run()
    assert not at.exception
    assert "The pasted text holds 5 texts; the Predict page takes at most 3" in error_text(at)
    at.text_area(key=f"predict_text_many_{run.id}").set_value("lovely\nawful").run()
    assert not at.exception and not at.error


# ---- series -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_forecast_follows_the_end_of_the_data(app, sunspots, downloads):
    run, pred = sunspots
    at = open_page(app, run)

    assert not at.exception and not at.error
    want = pred.forecast()
    fig = plotly_figure(at.get("plotly_chart")[0])
    history, forecast = fig.data[0], fig.data[1]
    assert history.name == "sunspots (history)" and len(history.y) == 12
    assert list(history.y) == pytest.approx(np.asarray(pred.info.extra["last_window"])[:, 0].tolist())
    assert forecast.name == "sunspots (forecast)"
    assert list(forecast.y)[1:] == pytest.approx([row[0] for row in want["forecast"]], rel=1e-5)
    years = [pd.Timestamp(x).year for x in forecast.x]
    assert years == [2008, 2009, 2010, 2011]  # joined to the last year, then the next three
    csv = pd.read_csv(io.BytesIO(downloads("forecast.csv")))
    assert csv["year"].tolist() == [2009, 2010, 2011]
    assert len(csv) == 3 and csv["sunspots"].to_numpy() == pytest.approx([r[0] for r in want["forecast"]], rel=1e-5)


@pytest.mark.slow
def test_a_forecast_after_an_uploaded_window(app, sunspots):
    run, pred = sunspots
    from layerlab.samples import get_sample

    df = get_sample("sunspots").load().iloc[100:130]
    at = open_page(app, run, predict_series_mode="A window I upload")
    assert "Upload recent values" in at.info[0].value
    at.file_uploader(key=f"predict_series_file_{run.id}").set_value(
        ("recent.csv", df.to_csv(index=False).encode(), "text/csv")).run()

    assert not at.exception and not at.error
    want = pred.forecast(df[["sunspots"]].to_numpy(dtype="float32"))
    fig = plotly_figure(at.get("plotly_chart")[0])
    assert list(fig.data[1].y)[1:] == pytest.approx([r[0] for r in want["forecast"]], rel=1e-5)
    assert [pd.Timestamp(x).year for x in fig.data[1].x][1:] == [1830, 1831, 1832]  # after the window's last year


@pytest.mark.slow
@pytest.mark.parametrize("csv, message", [
    (b"year,spots\n2000,1\n", "no column `sunspots`"),
    (b"year,sunspots\n2000,1\n2001,2\n", "at least 12 rows"),
    (b"year,sunspots\n" + b"".join(f"{2000 + i},{'many' if i == 3 else i}\n".encode() for i in range(14)),
     "`sunspots` should hold numbers"),
])
def test_an_unusable_window_is_explained(app, sunspots, csv: bytes, message: str):
    run, _ = sunspots
    at = open_page(app, run, predict_series_mode="A window I upload")
    at.file_uploader(key=f"predict_series_file_{run.id}").set_value(("w.csv", csv, "text/csv")).run()

    assert not at.exception
    assert message in error_text(at)
    assert not at.get("plotly_chart")
