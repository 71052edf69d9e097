"""No user-supplied name becomes markup on any page (issue #20, finding 3).

One table whose project, file, columns, classes and run carry the HOSTILE names (a backtick that tries
to leave a code span, a Markdown image pointing at 127.0.0.1:9, `<img onerror>`, `**bold**`, `$x$`): it is
uploaded on the Data page, trained for one epoch, and every page of the app is opened with it current.
Every Markdown body on them (markdown, captions, headers, alerts, toasts, and the labels of metrics,
expanders, tabs, widgets and radio options) must show those names as typed, and every plotly chart must
hold them escaped: plotly.js renders <a href>, <b>, <br>… in titles, tick labels, legend names and hover
text, so a raw `<` from a name would be markup there.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from components.shell import PAGES
from layerlab.runs.store import RunStore
from tests.pages.markdown import HOSTILE, markup_findings
from tests.pages.trained import (
    OWNER,
    shared_home,  # noqa: F401 - this module's "home" fixture
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("keras_loaded")]  # trains one run; Predict shows its model

PROJECT = f"{HOSTILE['bold']} {HOSTILE['image']}"
FILE = f"{HOSTILE['tick']}{HOSTILE['latex']}.csv"
TARGET = f"{HOSTILE['html']} {HOSTILE['bold']}"
COLUMNS = [HOSTILE["image"], HOSTILE["tick"], HOSTILE["latex"], f"{HOSTILE['html']} size"]
CLASSES = [f"{HOSTILE['bold']} {HOSTILE['html']}", HOSTILE["latex"], HOSTILE["tick"]]
SHOW_NAMES = {"pages/home.py", "pages/data.py", "pages/train.py", "pages/evaluate.py", "pages/predict.py",
              "pages/runs.py"}
CHARTS_NAMES = {"pages/data.py", "pages/evaluate.py"}  # a class or column name in a chart label
RUN = f"{HOSTILE['image']} {HOSTILE['html']} {HOSTILE['latex']}"


def hostile_table(rows: int = 90) -> bytes:
    rng = np.random.default_rng(0)
    y = rng.choice(len(CLASSES), rows, p=[0.25, 0.25, 0.5])  # the backtick class is the baseline's
    frame = pd.DataFrame({c: y * (i + 1) + rng.normal(0, 0.3, rows) for i, c in enumerate(COLUMNS)})
    frame[TARGET] = [CLASSES[k] for k in y]
    return frame.to_csv(index=False).encode("utf-8")


def bodies(at) -> list[tuple[str, str]]:
    """(where, Markdown text) of everything on the page that Streamlit renders as Markdown."""
    out = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success",
                 "toast", "latex"):
        out += [(kind, e.value) for e in getattr(at, kind)]
    out += [("metric label", m.label) for m in at.metric]
    out += [("expander label", e.label) for e in at.expander]
    out += [("tab label", t.label) for t in at.tabs]
    for kind in ("button", "checkbox", "toggle", "selectbox", "multiselect", "radio", "number_input", "text_input",
                 "slider", "select_slider", "text_area", "date_input"):
        for w in getattr(at, kind):
            out.append((f"{kind} label", w.label))
            if w.help:
                out.append((f"{kind} help", w.help))
    out += [("radio option", o) for r in at.radio for o in r.options]
    return out


def chart_strings(at) -> list[str]:
    """Every string in the plotly charts on the page (data, layout, templates), as the browser gets them."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for chart in at.get("plotly_chart"):
        walk(json.loads(chart.proto.spec))
    return out


@pytest.fixture(scope="module")
def hostile(home):
    """The hostile project, uploaded through the Data page, and one run of it trained for one epoch."""
    from streamlit.testing.v1 import AppTest

    from layerlab.train.trainer import run_training
    from tests.pages.conftest import app_script

    at = AppTest.from_file(str(app_script()), default_timeout=60)
    at.session_state["pid"] = OWNER
    at.run()
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="data.upload").set_value((FILE, hostile_table(), "text/csv")).run()
    assert not at.exception, at.exception
    spec = at.session_state["project"]
    spec = spec.edit(**{"name": PROJECT, "train.epochs": 1})
    assert spec.data.target == TARGET, spec.data
    store = RunStore()
    run = run_training(store, store.create(spec, owner=OWNER, name=RUN).id)
    assert run.status == "completed", run.message
    return spec, run


@pytest.mark.parametrize("page", [p.file for p in PAGES])
def test_no_hostile_name_becomes_markup(app, hostile, page):
    spec, run = hostile
    at = app(page, state={"project": spec, "pid": OWNER, "run_id": run.id, "runs_selected": [run.id]})
    assert not at.exception, at.exception
    found = [(where, f, text[:200]) for where, text in bodies(at) for f in markup_findings(text)]
    assert not found, found
    strings = chart_strings(at)
    raw = [text[:200] for text in strings if HOSTILE["html"] in text]
    assert not raw, f"a name reaches a chart unescaped (plotly would read its HTML): {raw}"
    if page in CHARTS_NAMES:  # the check looked where the names are: escaped, on the pages that chart them
        assert any("&lt;img" in text for text in strings), "the names are in this page's charts, escaped"
    if page in SHOW_NAMES:
        shown = "\n".join(text for _, text in bodies(at)).replace("\\", "")
        assert any(h in shown for h in HOSTILE.values()), "the page shows the names (the test looks where they are)"

