"""Home page: what Layerlab does, the steps and where they stand, the one-click digits sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerlab.project import new_project

pytestmark = pytest.mark.usefixtures("home")  # a fresh LAYERLAB_HOME per test (tests/pages/conftest.py)


def _captions(at) -> list[str]:
    return [c.value for c in at.caption]


def _links(at) -> dict[str, str]:
    return {p.proto.label: p.proto.page for p in at.get("page_link")}


def test_home_says_what_layerlab_does_and_links_every_step(app):
    at = app()

    assert not at.exception
    assert at.title[0].value == "Layerlab"
    intro = " ".join(m.value for m in at.markdown)
    assert "no code needed" in intro and "one folder per class" in intro
    assert all(kind in intro for kind in ("pictures", "texts", "table", "time series")), intro
    links = _links(at)
    for step in ("Data", "Prepare", "Build", "Train", "Evaluate", "Predict"):
        assert f"Open {step}" in links, links
    assert links["Open Data"] == "data"
    headings = [m.value for m in at.markdown if m.value.startswith("####")]
    assert len(headings) == 6 and all("radio_button_unchecked" in h for h in headings)
    assert "Not chosen yet" in _captions(at)
    assert at.button(key="home.try_digits").label == "Try a sample: handwritten digits"


def test_home_marks_the_steps_that_are_done(app):
    spec = new_project("sample:digits")
    at = app(state={"project": spec, "pid": "0123456789abcdef"})
    from layerlab.runs.store import RunStore

    store = RunStore()
    store.create(spec, owner="0123456789abcdef")
    done = store.create(spec, owner="0123456789abcdef")
    store.set_status(done.id, "completed")
    store.create(spec, owner="someone-else")  # another session's run is not counted
    at.run()

    assert not at.exception
    captions = _captions(at)
    assert "Using **Handwritten digits**" in captions
    assert f"{len(spec.model.layers)} layers" in captions
    assert "2 runs" in captions
    assert "A trained model is ready" in captions
    headings = [m.value for m in at.markdown if m.value.startswith("####")]
    assert all("check_circle" in h for h in headings), headings


def test_home_shows_train_undone_without_runs(app):
    at = app(state={"project": new_project("sample:digits")})

    captions = _captions(at)
    assert "No run yet" in captions and "Needs a finished run" in captions
    headings = {h.value.split(". ")[-1]: h.value for h in at.markdown if h.value.startswith("####")}
    assert "check_circle" in headings["Build"] and "radio_button_unchecked" in headings["Train"]


def test_try_sample_creates_the_digits_project_and_opens_train(app, home: Path):
    at = app()
    at.button(key="home.try_digits").click().run()

    assert not at.exception
    spec = at.session_state["project"]
    assert spec.data.source == "sample:digits"
    assert spec.model.layers, "the sample comes with a ready model"
    assert (home / "projects" / f"{at.session_state['pid']}.json").exists()
    assert at.title and at.title[0].value == "Train"


@pytest.mark.parametrize("name, kind, task", [("penguins", "table", "classification"),
                                              ("tweets", "text", "classification"),
                                              ("sunspots", "series", "forecasting")])
def test_one_click_starts_a_sample_of_every_other_kind(app, name, kind, task):
    at = app()
    button = at.button(key=f"home.try_{name}")
    assert kind.removesuffix("s") in button.label.lower() or "time series" in button.label
    button.click().run()

    assert not at.exception
    spec = at.session_state["project"]
    assert (spec.data.source, spec.data.kind, spec.data.task) == (f"sample:{name}", kind, task)
    assert spec.model.layers
    assert at.title[0].value == "Train"


def test_a_project_name_with_markdown_is_shown_as_typed(app):
    """Issue #7: the project's name comes from the uploaded file's name; it is escaped, never rendered."""
    from components.markup import md

    spec = new_project("sample:digits", name="**big** [x](javascript:alert(1))")
    at = app(state={"project": spec, "pid": "0123456789abcdef"})

    assert not at.exception
    captions = _captions(at)
    assert f"Using **{md(spec.name)}**" in captions and "[x](" not in " ".join(captions)
