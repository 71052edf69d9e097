"""Runs page: every run in a table; make one current, rename, stop, delete (own runs only), download.

Comparing several selected runs is tested in test_runs_compare.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from layerlab.runs.store import RunStore
from tests.pages.markdown import plain
from tests.pages.test_predict_kinds import downloads  # noqa: F401 - fixture
from tests.pages.trained import OWNER, digits_spec, fake_active_run, page_links, train_digits
from tests.pages.trained import shared_home  # noqa: F401 - this module's "home" fixture

PAGE = "pages/runs.py"


@pytest.fixture(scope="module")
def finished(home):
    return train_digits(RunStore(), OWNER, name="my digits")


@pytest.fixture(scope="module")
def cli_run(home):
    """A run started from the command line (owner "cli") that failed."""
    store = RunStore()
    run = store.create(digits_spec(), owner="cli", name="from the terminal")
    store.set_status(run.id, "failed", "Training failed: ValueError: boom.")
    return store.get(run.id)


def _open(app, **state):
    return app(PAGE, state={"project": digits_spec(), "pid": OWNER, **state})


def _texts(at) -> str:
    kinds = ("markdown", "caption", "info", "warning", "error", "success")
    return plain("\n".join(e.value for kind in kinds for e in getattr(at, kind)))


def test_without_runs_it_links_to_train(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(tmp_path / "no-runs"))
    at = _open(app)

    assert not at.exception
    assert at.title[0].value == "Runs"
    assert "No runs yet" in at.info[0].value
    assert page_links(at)["Go to Train"] == "train"


@pytest.mark.slow
def test_table_lists_every_runs_facts(app, finished, cli_run):
    at = _open(app)

    assert not at.exception
    df = at.dataframe[0].value.set_index("Name")
    assert list(df.columns) == ["Data", "Template", "Status", "Best val. accuracy", "Best val. loss", "Test accuracy",
                                "Duration", "Device", "Where", "Started", "By"]
    mine = df.loc["my digits"]
    assert (mine["Data"], mine["Template"], mine["Status"]) == ("sample:digits", "small_cnn", "Completed")
    assert mine["Test accuracy"] == pytest.approx(finished.test_metrics["accuracy"])
    epoch = RunStore().metrics(finished.id, scope="epoch")[-1]
    assert mine["Best val. accuracy"] == pytest.approx(epoch["val_accuracy"])
    assert mine["Best val. loss"] == pytest.approx(finished.best_val)
    assert mine["Device"] == finished.device and mine["By"] == "this session"
    assert mine["Where"] == "this machine"  # the local executor (a Ray run names its node)
    assert mine["Duration"].endswith(" s")
    theirs = df.loc["from the terminal"]
    assert (theirs["Status"], theirs["By"]) == ("Failed", "the command line")
    assert pd.isna(theirs["Best val. accuracy"]) and pd.isna(theirs["Test accuracy"])
    assert "Select a row" in at.caption[0].value  # nothing selected without a current run


@pytest.mark.slow
def test_current_run_is_selected_with_its_actions(app, finished):
    at = _open(app, run_id=finished.id)

    assert not at.exception
    assert "This is the current run." in _texts(at)
    assert "Finished: test accuracy" in plain(at.success[0].value)
    download = at.download_button(key="runs_download")
    assert download.proto.label == "Download model.keras" and not download.proto.disabled
    assert at.button(key="runs_delete").label == "Delete run"
    assert at.text_input(key=f"runs_name_{finished.id}").value == "my digits"
    assert {b.key for b in at.button} >= {"runs_open_train", "runs_open_evaluate", "runs_open_predict"}


@pytest.mark.slow
def test_the_model_downloads_under_the_project_and_run_name(app, finished, downloads):
    """#15 item 9: never the run id (internal) as the file name."""
    at = _open(app, run_id=finished.id)

    assert not at.exception
    data = downloads("Handwritten_digits_my_digits.keras")
    assert data == finished.files.read_bytes("model.keras")


@pytest.mark.slow
def test_make_another_run_current(app, finished, cli_run):
    at = _open(app, run_id=finished.id, runs_selected=[cli_run.id])

    at.button(key="runs_make_current").click().run()

    assert not at.exception
    assert at.session_state["run_id"] == cli_run.id
    assert at.query_params["run"] in (cli_run.id, [cli_run.id])


@pytest.mark.slow
def test_open_a_run_on_evaluate_makes_it_current(app, finished, cli_run):
    at = _open(app, run_id=cli_run.id, runs_selected=[finished.id])

    at.button(key="runs_open_evaluate").click().run()

    assert not at.exception
    assert at.session_state["run_id"] == finished.id
    assert at.title[0].value == "Evaluate"
    assert at.selectbox(key="evaluate_run").value == finished.id


def test_another_owners_run_cannot_be_renamed_stopped_or_deleted(app, cli_run):
    at = _open(app, run_id=cli_run.id)

    assert not at.exception
    assert "Started by the command line" in _texts(at)
    assert "Training failed: ValueError: boom." in plain(at.error[0].value)
    keys = {b.key for b in at.button}
    assert not keys & {"runs_delete", "runs_stop"}
    assert not at.text_input
    assert at.download_button(key="runs_download").proto.disabled  # it saved no model


def test_rename_an_own_run(app, home):
    store = RunStore()
    run = store.create(digits_spec(), owner=OWNER, name="old name")
    store.request_stop(run.id)  # a queued run stops at once: a finished run without a model
    at = _open(app, run_id=run.id)

    at.text_input(key=f"runs_name_{run.id}").set_value("  better name  ")
    at.button[[b.label for b in at.button].index("Rename")].click().run()

    assert not at.exception
    assert store.get(run.id).name == "better name"
    assert "better name" in at.dataframe[0].value["Name"].tolist()


def test_delete_an_own_finished_run(app, home):
    store = RunStore()
    run = store.create(digits_spec(), owner=OWNER, name="to delete")
    store.request_stop(run.id)
    folder = Path(store.get(run.id).run_dir)
    assert folder.exists()
    at = _open(app, run_id=run.id)

    at.button(key="runs_delete").click().run()

    assert not at.exception
    assert store.get(run.id) is None and not folder.exists()
    assert "run_id" not in at.session_state and "run" not in at.query_params
    assert "to delete" not in at.dataframe[0].value["Name"].tolist()


def test_stop_an_own_active_run(app, home):
    store = RunStore()
    run = fake_active_run(store, digits_spec(), epochs=10, epoch=1, step=4, steps_per_epoch=40)
    at = _open(app, run_id=run.id)

    assert not [b for b in at.button if b.key == "runs_delete"]  # active runs cannot be deleted
    at.button(key="runs_stop").click().run()

    assert not at.exception
    assert store.get(run.id).stop_requested == 1
    store.set_status(run.id, "stopped")


def test_other_sessions_runs_are_not_listed_even_when_named_by_run_id(app, home):
    """Issue #20, finding 2: a run id is not a permission. Another session's run stays out of the table
    (and its owner id out of the page) even as this session's current run; only a view link shows it."""
    store = RunStore()
    neighbour = "fedcba9876543210"
    other = store.create(digits_spec(), owner=neighbour, name="a neighbour's run")
    mine = store.create(digits_spec(), owner=OWNER, name="my run")
    cli = store.create(digits_spec(), owner="cli", name="from the terminal")
    for run in (other, mine, cli):
        store.set_status(run.id, "failed", "Training failed: ValueError: boom.")
    try:
        for state in ({}, {"run_id": other.id}):
            at = _open(app, **state)
            assert not at.exception
            names = set(at.dataframe[0].value["Name"])
            assert {"my run", "from the terminal"} <= names and "a neighbour's run" not in names
            assert neighbour not in _texts(at) + at.dataframe[0].value.to_csv()
    finally:
        for run in (other, mine, cli):
            store.delete(run.id, owner=run.owner)


MARKDOWN_NAME = "**bold** [link](http://x) <b>b</b> _i_ :red[r]"


def _bodies(at) -> list[str]:
    """Every Markdown body on the page, as sent to the browser (escapes included)."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "toast")
    return [e.value for kind in kinds for e in getattr(at, kind)]


def test_a_run_name_with_markdown_is_shown_as_typed(app, home):
    """Issue #7: a run's name (chosen by the user) and its message are escaped, never rendered as Markdown."""
    from components.markup import md

    store = RunStore()
    run = store.create(digits_spec(), owner=OWNER, name=MARKDOWN_NAME)
    store.set_status(run.id, "failed", f"Training failed: KeyError: '{MARKDOWN_NAME}'")
    at = _open(app, run_id=run.id)

    assert not at.exception
    bodies = _bodies(at)
    assert not [b for b in bodies if "**bold**" in b or "[link](" in b or "<b>" in b or ":red[" in b], bodies
    assert any(f"**{md(MARKDOWN_NAME)}**" in b for b in bodies), "the name is shown, escaped, in bold"
    assert md(MARKDOWN_NAME) in at.error[0].value, "the run's message is escaped too"
    assert any(f"Delete **{md(MARKDOWN_NAME)}**" in b for b in bodies), "and in the delete confirmation"
    assert plain(at.error[0].value) == f"Training failed: KeyError: '{MARKDOWN_NAME}'"
