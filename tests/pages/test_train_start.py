"""Train page, issue #15: the data is named as its user knows it (item 9), and Start is off, with the
reason, while the data's health check finds an error (item 10, the UI part)."""

from __future__ import annotations

import pytest

from layerlab import workspace
from layerlab.project import new_project
from layerlab.samples import SAMPLES
from tests.pages.markdown import plain
from tests.pages.trained import OWNER, page_links

pytestmark = pytest.mark.usefixtures("home")  # a fresh LAYERLAB_HOME per test (tests/pages/conftest.py)

PAGE = "pages/train.py"


def _upload(name: str, frame) -> str:
    path = workspace.uploads_dir(OWNER) / name
    frame.to_csv(path, index=False)
    return str(path)


def _texts(at) -> str:
    kinds = ("markdown", "caption", "info", "warning", "error", "success")
    return plain("\n".join(e.value for kind in kinds for e in getattr(at, kind)))


def test_an_upload_is_named_by_its_file_not_the_servers_path(app):
    spec = new_project(_upload("my penguins.csv", SAMPLES["penguins"].load()), target="species")
    at = app(PAGE, state={"project": spec, "pid": OWNER})

    assert not at.exception
    shown = _texts(at)
    assert "my penguins.csv" in shown
    assert OWNER not in shown and str(workspace.uploads_dir(OWNER)) not in shown


def test_start_is_off_with_the_reason_while_the_health_check_finds_an_error(app):
    frame = SAMPLES["penguins"].load()
    spec = new_project(_upload("penguins.csv", frame), target="species")
    frame["species"] = "Adelie"  # the file changed since: one class, nothing to learn
    _upload("penguins.csv", frame)
    at = app(PAGE, state={"project": spec, "pid": OWNER})

    assert not at.exception
    start = at.button(key="train_start")
    assert start.disabled
    assert "Only one class" in start.help
    assert "Training cannot start: Only one class" in plain(at.error[0].value)
    assert page_links(at)["Fix it on the Data page"] == "data"


def test_a_healthy_table_can_start(app):
    spec = new_project(_upload("penguins.csv", SAMPLES["penguins"].load()), target="species")
    at = app(PAGE, state={"project": spec, "pid": OWNER})

    assert not at.exception
    assert not at.button(key="train_start").disabled
    assert not at.error
