"""Data page for tables, text and series: samples, table uploads, the views, roles editor and health check."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from layerlab.roles import project_from_roles
from layerlab.errors import DataError
from layerlab.project import new_project
from layerlab.samples import SAMPLES
from tests.pages.markdown import plain

pytestmark = pytest.mark.usefixtures("home")  # a fresh LAYERLAB_HOME per test (tests/pages/conftest.py)

PAGE = "pages/data.py"
KIND_SAMPLES = [s.name for s in SAMPLES.values() if s.kind != "images"]


def _open(app, name: str):
    """The Data page after clicking 'Use this sample' for `name`."""
    at = app(PAGE)
    at.button(key=f"data.sample.{name}").click().run()
    return at


def _upload(at, name: str, data: bytes):
    at.file_uploader(key="data.upload").set_value((name, data, "text/csv"))
    return at.run()


def _spec(at):
    return at.session_state["project"]


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _text(elements) -> str:
    return plain(" ".join(e.value for e in elements))


def _charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _roles(at) -> dict[str, str]:
    """Column → role as the roles editor shows it."""
    names = [str(c) for c in at.dataframe[0].value.columns]
    return {n: at.selectbox(key=f"data.role.{i}").value for i, n in enumerate(names)}


def _apply(at, task: str | None = None, **roles: str):
    names = [str(c) for c in at.dataframe[0].value.columns]
    if task:
        at.selectbox(key="data.task").set_value(task)
    for column, role in roles.items():
        at.selectbox(key=f"data.role.{names.index(column)}").set_value(role)
    at.button(key="data.roles.apply").click()
    return at.run()


EU_CSV = ("Nummer;<script>alert('x')</script>;Preis;Größe;Farbe;Kauf\n"
          + "".join(f"{i + 1};<b>{i % 3}</b>;{i * 3 + 1},{i % 10}5;{i % 7};{['rot', 'grün', 'blau'][i % 3]};"
                    f"{'ja' if i % 4 else 'nein'}\n" for i in range(60))).encode("cp1252")


# ---- the samples, one kind at a time --------------------------------------------------------------


def test_every_bundled_sample_is_listed_by_kind_with_its_source(app):
    at = app(PAGE)

    assert not at.exception
    titles = {"images": "Images", "table": "Tables", "text": "Text", "series": "Time series"}
    expected = [t for k, t in titles.items() if any(s.kind == k for s in SAMPLES.values())]
    assert [h.value for h in at.subheader if h.value in titles.values()] == expected
    text = _text(at.markdown) + _text(at.caption)
    for sample in SAMPLES.values():
        assert sample.title in text and sample.description in text
        assert f"Source: {sample.source}" in text
        assert at.button(key=f"data.sample.{sample.name}")


@pytest.mark.parametrize("name", KIND_SAMPLES)
def test_each_sample_shows_its_views_roles_and_health(app, name):
    at = _open(app, name)
    sample = SAMPLES[name]
    df = sample.load()

    assert not at.exception, at.exception
    assert not at.error, _text(at.error)
    spec = _spec(at)
    assert spec.data.source == f"sample:{name}" and spec.data.kind == sample.kind
    assert plain(at.header[0].value) == sample.title
    m = _metrics(at)
    assert m["Rows"] == f"{len(df):,}" and m["Columns"] == str(df.shape[1])
    assert m["Task"] == spec.data.task.capitalize()
    tabs = [t.label for t in at.tabs]
    assert any("Preview" in t for t in tabs) and any("Columns" in t for t in tabs)
    preview = at.dataframe[0].value
    assert list(preview.columns) == [str(c) for c in df.columns] and len(preview) == min(len(df), 200)
    columns = at.dataframe[1].value
    assert list(columns["column"]) == [str(c) for c in df.columns]
    assert {"type", "missing", "missing %", "role"} <= set(columns.columns)
    # the roles editor starts from the project's roles
    roles = _roles(at)
    for role, column in (("target", spec.data.target), ("text", spec.data.text), ("date", spec.data.date)):
        if column:
            assert roles[column] == role
    for column in spec.data.ignore:
        assert roles[column] == "ignore"
    assert at.selectbox(key="data.task").value == spec.data.task
    # the health check always says something
    assert at.subheader and "Health check" in [s.value for s in at.subheader]
    charts = _charts(at)
    kinds = {c["data"][0]["type"] for c in charts}
    assert "bar" in kinds  # a histogram of a numeric column at least
    if spec.data.task == "classification":
        bars = [c for c in charts if "Rows per class" in c["layout"]["title"]["text"]]
        counts = df[spec.data.target].value_counts()
        assert bars and sum(bars[0]["data"][0]["y"]) == counts.sum()
        assert set(bars[0]["data"][0]["x"]) == {str(k) for k in counts.index}
    if spec.data.kind == "text":
        assert any("sequence length" in json.dumps(c["layout"].get("annotations", [])) for c in charts)
        examples = at.table[0].value
        assert set(examples.index) <= {str(c) for c in df[spec.data.target].dropna().unique()}
        assert any("Texts" in t for t in tabs)
        assert m["Words"] == str(spec.prepare.text.sequence_length)
    if spec.data.kind == "series":
        assert any("Series" in t for t in tabs)
        lines = [c for c in charts if c["data"][0]["type"] == "scatter"]
        assert lines and lines[0]["data"][0]["name"] == spec.data.target
        assert m["Window"] == str(spec.prepare.series.window)
    if spec.data.kind == "table":
        assert m["Inputs"].replace(",", "").isdigit()


def test_the_series_chart_marks_the_gaps_and_names_the_frequency(app):
    at = _open(app, "co2")

    assert not at.exception and not at.error
    m = _metrics(at)
    assert m["Frequency"] == "weekly (Saturdays)"
    assert int(m["Missing steps"]) > 0
    chart = next(c for c in _charts(at) if c["data"][0]["type"] == "scatter")
    shaded = [s for s in chart["layout"].get("shapes", []) if s["type"] == "rect"]
    assert shaded, "each gap is shaded"
    assert any(t["name"] == "missing steps" for t in chart["data"])
    assert "Shaded: missing time steps" in _text(at.caption)
    assert "Missing time steps" in _text(at.info)  # the health check says they will be filled


def test_the_histogram_column_can_be_picked(app):
    at = _open(app, "penguins")
    at.selectbox(key="data.histogram").set_value("body_mass_g").run()

    assert not at.exception
    hist = next(c for c in _charts(at) if "Distribution of" in c["layout"]["title"]["text"])
    assert hist["layout"]["title"]["text"] == "Distribution of body_mass_g"
    assert sum(hist["data"][0]["y"]) == SAMPLES["penguins"].load()["body_mass_g"].notna().sum()


def test_new_text_examples_are_other_random_texts(app):
    at = _open(app, "tweets")
    before = list(at.table[0].value["text"])
    at.button(key="data.text.reshuffle").click().run()

    assert not at.exception
    after = list(at.table[0].value["text"])
    assert len(after) == len(before) and after != before


# ---- uploads ------------------------------------------------------------------------------------------


def test_a_csv_with_semicolons_and_decimal_commas_is_read_and_explained(app, home: Path):
    at = app(PAGE)
    _upload(at, "einkauf.csv", EU_CSV)

    assert not at.exception, at.exception
    assert not at.error, _text(at.error)
    spec = _spec(at)
    assert spec.name == "einkauf" and spec.data.kind == "table"
    assert Path(spec.data.source).parent == (home / "uploads" / at.session_state["pid"]).resolve()
    assert spec.data.source.endswith(".csv")
    info = _text(at.info)
    assert "How einkauf.csv was read" in info
    assert "semicolons" in info and "Decimal commas recognised" in info
    assert "Windows-1252" in info  # the encoding fallback is said too
    preview = at.dataframe[0].value
    # A column named like HTML stays text in the table; nothing is rendered as HTML.
    assert "<script>alert('x')</script>" in list(preview.columns)
    assert all(not md.proto.allow_html for md in at.markdown)
    assert preview["Preis"].dtype.kind == "f" and preview["Preis"].iloc[0] == pytest.approx(1.05)
    assert "Preis" in at.selectbox(key="data.histogram").options  # read as numbers
    assert spec.data.target == "Kauf" and spec.data.task == "classification"
    assert "Nummer" in spec.data.ignore  # an ID column
    assert _metrics(at)["Rows"] == "60"


def test_a_broken_table_upload_keeps_the_earlier_project(app, home: Path):
    at = app(PAGE, state={"project": new_project("sample:penguins")})
    _upload(at, "numbers.csv", os.urandom(4000))

    assert not at.exception
    errors = _text(at.error)
    assert "numbers.csv does not look like a text table" in errors
    assert "Pick a CSV" in errors  # what to do
    assert _spec(at).data.source == "sample:penguins"
    assert "still in use" in _text(at.caption)
    assert _metrics(at)["Rows"] == "344"
    assert not list((home / "uploads").rglob("*.csv")), "a refused upload is not kept"
    at.run()
    assert "numbers.csv does not look like a text table" in _text(at.error), "the message stays with the file"


def test_an_uploaded_series_is_recognised(app):
    rows = ["day,sales"] + [f"2024-01-{d:02d},{100 + d}" for d in range(1, 32) if d not in (10, 11)]
    rows += [f"2024-02-{d:02d},{130 + d}" for d in range(1, 29)]
    at = app(PAGE)
    _upload(at, "shop.csv", ("\n".join(rows) + "\n").encode())

    assert not at.exception and not at.error
    spec = _spec(at)
    assert (spec.data.kind, spec.data.date, spec.data.target) == ("series", "day", "sales")
    m = _metrics(at)
    assert m["Frequency"] == "daily" and m["Missing steps"] == "2"


# ---- the roles editor -------------------------------------------------------------------------------


def test_changing_the_target_updates_the_project(app, home: Path):
    at = _open(app, "penguins")
    _apply(at, species="feature", island="target")

    assert not at.exception and not at.error, _text(at.error)
    spec = _spec(at)
    assert spec.data.target == "island" and spec.data.task == "classification"
    assert spec.data.source == "sample:penguins" and spec.name == "Palmer penguins"
    assert "species" in spec.data.features
    bars = next(c for c in _charts(at) if "Rows per class" in c["layout"]["title"]["text"])
    assert set(bars["data"][0]["x"]) == {"Biscoe", "Dream", "Torgersen"}
    saved = json.loads((home / "projects" / f"{at.session_state['pid']}.json").read_text())
    assert saved["data"]["target"] == "island", "the new project is saved"
    assert _roles(at)["island"] == "target"


def test_changing_the_task_to_regression_keeps_preparation_and_layers(app):
    at = _open(app, "penguins")
    layers = _spec(at).model.layers
    at.session_state["project"] = _spec(at).edit(**{"prepare.table.scale": "minmax"})
    at.run()
    _apply(at, "regression", species="feature", body_mass_g="target")

    assert not at.exception and not at.error, _text(at.error)
    spec = _spec(at)
    assert (spec.data.kind, spec.data.task, spec.data.target) == ("table", "regression", "body_mass_g")
    assert spec.prepare.table.scale == "minmax", "the same kind keeps the preparation"
    assert spec.model.layers == layers
    assert _metrics(at)["Predicts"] == "one number"


@pytest.mark.parametrize(("task", "roles", "message"), [
    ("classification", {"island": "target", "sex": "target"}, "predicts one column"),
    ("regression", {}, "does not hold numbers"),
    ("classification", {"year": "date"}, "only forecasting uses"),
    ("forecasting", {"island": "text"}, "not text"),
    ("classification", {"species": "feature"}, "No column is marked as the target"),
])
def test_a_wrong_combination_is_explained_and_the_project_kept(app, task, roles, message):
    at = _open(app, "penguins")
    before = _spec(at)
    _apply(at, task, **roles)

    assert not at.exception
    assert message in _text(at.error)
    assert _spec(at) == before, "the last good project stays"
    # #15 item 3: the page shows the project in use, never roles that are not in effect.
    assert at.selectbox(key="data.task").value == before.data.task
    assert _roles(at)["species"] == "target"
    assert "The project in use is unchanged: classification of species" in _text(at.caption)


def test_marking_a_new_target_moves_the_role(app):
    at = _open(app, "penguins")
    _apply(at, island="target")  # species is still marked as the target

    assert not at.exception and not at.error, _text(at.error)
    spec = _spec(at)
    assert spec.data.target == "island" and "species" in spec.data.features
    assert "`island` is the target now; `species`, the target before, is now a feature." in _text(at.info)
    assert _roles(at)["species"] == "feature" and _roles(at)["island"] == "target"


def test_the_guess_is_shown_with_its_alternatives_one_click_away(app):
    from tests.engine.test_roles import _weather

    at = app(PAGE)
    _upload(at, "weather.csv", _weather().to_csv(index=False).encode())
    assert not at.exception and not at.error, _text(at.error)
    assert (_spec(at).data.kind, _spec(at).data.target) == ("table", "weather")
    assert "Classify `weather` from the other columns" in _text(at.markdown)
    forecast = next(b for b in at.button if b.label.startswith("Forecast "))
    forecast.click().run()
    assert not at.exception and not at.error, _text(at.error)
    assert (_spec(at).data.kind, _spec(at).data.task, _spec(at).data.date) == ("series", "forecasting", "date")
    assert any(b.label.startswith("Classify weather") for b in at.button), "and one click goes back"


def test_text_can_become_a_table_and_back(app):
    at = _open(app, "tweets")
    _apply(at, text="ignore", confidence="feature")

    assert not at.exception and not at.error, _text(at.error)
    spec = _spec(at)
    assert (spec.data.kind, spec.data.text, spec.data.features) == ("table", None, ["confidence"])
    assert spec.model.template == new_project("sample:penguins").model.template, "a table template"
    assert _metrics(at)["Kind"] == "Tables"

    _apply(at, text="text", confidence="ignore")
    assert not at.error
    assert (_spec(at).data.kind, _spec(at).data.text) == ("text", "text")


def test_a_series_can_use_the_row_order_as_time(app):
    at = _open(app, "sunspots")
    _apply(at, year="ignore")

    assert not at.exception and not at.error, _text(at.error)
    spec = _spec(at)
    assert (spec.data.kind, spec.data.date, spec.data.task) == ("series", None, "forecasting")
    assert _metrics(at)["Frequency"] == "row order"


def test_class_imbalance_offers_class_weights(app):
    rows = ["size,colour,label"] + [f"{i},{'red' if i % 2 else 'blue'},common" for i in range(40)]
    rows += [f"{i},red,rare" for i in range(6)]
    at = app(PAGE)
    _upload(at, "skewed.csv", ("\n".join(rows) + "\n").encode())

    assert not at.exception
    assert "Imbalanced classes" in _text(at.warning)
    toggle = at.toggle(key="data.class_weights")
    assert toggle.value is False and toggle.label == "Weight classes in training"
    toggle.set_value(True).run()
    assert _spec(at).prepare.class_weights is True
    assert at.toggle(key="data.class_weights").value is True


# ---- pure parts ---------------------------------------------------------------------------------------


def test_project_from_roles_refuses_two_text_columns():
    df = SAMPLES["tweets"].load()
    spec = new_project("sample:tweets", frame=df)
    with pytest.raises(DataError, match="Only one column can be the text"):
        project_from_roles(spec, df, {"text": "text", "sentiment": "target", "confidence": "text"}, "classification")


def test_a_wide_table_gets_the_compact_roles_editor(app):
    names = [f"f{i}" for i in range(70)]
    rows = [",".join(names + ["label"])]
    rows += [",".join(str((r * 7 + i) % 13) for i in range(70)) + f",{'ab'[r % 2]}" for r in range(40)]
    at = app(PAGE)
    _upload(at, "wide.csv", ("\n".join(rows) + "\n").encode())

    assert not at.exception and not at.error, _text(at.error)
    assert _spec(at).data.target == "label"
    assert at.multiselect(key="data.roles.targets").value == ["label"]
    assert not [s for s in at.selectbox if s.key == "data.role.0"], "no per-column pickers for 71 columns"
    at.multiselect(key="data.roles.ignore").set_value(["f0", "f1"])
    at.multiselect(key="data.roles.targets").set_value(["f2"])
    at.selectbox(key="data.task").set_value("regression")
    at.button(key="data.roles.apply").click().run()

    assert not at.exception and not at.error, _text(at.error)
    spec = _spec(at)
    assert (spec.data.task, spec.data.target) == ("regression", "f2")
    assert {"f0", "f1"} <= set(spec.data.ignore) and "label" in spec.data.features


def test_a_user_can_delete_their_upload(app, home: Path):
    rows = ["a,b,label"] + [f"{i},{i % 3},{'x' if i % 2 else 'y'}" for i in range(40)]
    at = app(PAGE)
    _upload(at, "mine.csv", ("\n".join(rows) + "\n").encode())
    stored = list((home / "uploads").rglob("mine-*.csv"))
    assert len(stored) == 1 and _spec(at) is not None
    assert "mine.csv" in [t.value for t in at.text]  # listed as uploaded, not by the stored copy's name
    at.button(key="data.delete_upload.0").click().run()
    assert not at.exception
    assert not stored[0].exists()
    assert "Deleted mine.csv" in _text(at.success)  # as the user named it, not the stored copy's digest name
    assert at.session_state["project"] is None  # the project that used it is closed, not broken
