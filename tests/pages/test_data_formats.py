"""Data page → Train page for every table format and encoding a user brings (tables, text, series).

Each upload is read as what it is (accented letters intact, the format's note shown), becomes the
project, and trains in a real worker from the Train page's Start button.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from layerlab.samples import get_sample
from layerlab.runs.store import RunStore
from tests.formats import FORMATS, accented, table_bytes
from tests.pages.markdown import plain

pytestmark = [pytest.mark.usefixtures("home"), pytest.mark.slow]

PAGE = "pages/data.py"


def _text(elements) -> str:
    return " ".join(plain(e.value) for e in elements)


def _upload(app, name: str, data: bytes):
    at = app(PAGE)
    at.file_uploader(key="data.upload").set_value((name, data, "application/octet-stream"))
    at.run()
    assert not at.exception, at.exception
    assert not at.error, _text(at.error)
    return at


def _train_one_epoch(at) -> None:
    """Train page: Start with 1 epoch; the worker's run completes and the page says so."""
    at.switch_page("pages/train.py").run()
    assert not at.exception and not at.error, _text(at.error)
    at.number_input(key="train_epochs").set_value(1).run()
    at.button(key="train_start").click().run()
    store, run_id = RunStore(), at.session_state["run_id"]
    deadline = time.time() + 240
    while store.get(run_id).active and time.time() < deadline:
        time.sleep(0.5)
    run = store.get(run_id)
    assert run.status == "completed", run.message
    at.run()
    assert not at.exception
    # One epoch may not beat the baseline clearly: the finish box takes the verdict's colour, with the run's message.
    assert "Finished: test" in _text(at.success) + _text(at.info) + _text(at.warning)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_table_format_is_read_shown_and_trains(app, home: Path, fmt: str):
    suffix, note = FORMATS[fmt]
    df = accented(get_sample("penguins").load(), "island")
    at = _upload(app, f"pingüinos{suffix}", table_bytes(df, fmt))

    spec = at.session_state["project"]
    assert (spec.data.kind, spec.data.target, spec.data.task) == ("table", "species", "classification")
    assert spec.data.source.endswith(suffix)
    assert Path(spec.data.source).parent == (home / "uploads" / at.session_state["pid"]).resolve()
    assert {m.label: m.value for m in at.metric}["Rows"] == "344"
    preview = at.dataframe[0].value
    assert list(preview.columns)[:3] == ["species", "island", "bill_length_mm"]
    assert set(preview["island"].dropna()) <= {"Törgérsén", "Biscöé", "Dréam"}  # the encoding was read right
    if note:
        info = _text(at.info)
        assert f"How pingüinos{suffix} was read" in info and note in info, info
    _train_one_epoch(at)


def test_texts_in_json_lines_are_read_shown_and_train(app):
    df = get_sample("tweets").load()[["text", "sentiment"]].sample(600, random_state=0)
    at = _upload(app, "tweets.jsonl", table_bytes(df, "jsonl"))

    spec = at.session_state["project"]
    assert (spec.data.kind, spec.data.text, spec.data.target) == ("text", "text", "sentiment")
    assert {m.label: m.value for m in at.metric}["Rows"] == "600"
    _train_one_epoch(at)


def test_a_series_in_utf16_tsv_is_read_shown_and_trains(app):
    df = get_sample("sunspots").load()
    at = _upload(app, "sunspots.tsv", df.to_csv(sep="\t", index=False).encode("utf-16"))

    spec = at.session_state["project"]
    assert (spec.data.kind, spec.data.date, spec.data.target) == ("series", "year", "sunspots")
    info = _text(at.info)
    assert "UTF-16" in info and "separated by tabs" in info, info
    _train_one_epoch(at)
