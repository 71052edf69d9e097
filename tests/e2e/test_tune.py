"""Tune in a real browser (issue #19): tune the penguins sample with a small budget, watch the trials
table fill as the trials (ordinary runs) finish, then use the best and find its run current on Train."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_no_exception, goto_page, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _number(page: Page, label: str, value: int) -> None:
    box = page.get_by_role("spinbutton", name=label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)
    expect(box).to_have_value(str(value))


def test_tune_penguins_watch_the_table_fill_and_use_the_best(page: Page, app_server: str) -> None:
    page.set_viewport_size({"width": 1400, "height": 2200})
    open_page(page, app_server)
    page.get_by_role("button", name=re.compile("Penguins — a table")).click()
    wait_idle(page)
    goto_page(page, app_server, "Tune")
    expect(page.get_by_text("No study yet").first).to_be_visible()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("checkbox", name="Search learning rate")).to_be_checked()
    main.get_by_text("Units / filters").first.scroll_into_view_if_needed()
    _number(page, "Trials", 3)
    _number(page, "Epochs per trial", 3)
    page.get_by_role("button", name=re.compile("Start tuning")).click()
    wait_idle(page)

    # The table fills as trials run and finish; each trial is a run (its status is the run's).
    expect(page.get_by_text(re.compile(r"Running · \d of 3 trials done")).first).to_be_visible(timeout=60_000)
    cells = page.get_by_test_id("stDataFrame").first.locator('[role="gridcell"]')
    expect(cells.get_by_text(re.compile("Running|Starting|Queued")).first).to_be_attached(timeout=120_000)
    screenshot(page, "tune-running")
    expect(page.get_by_text(re.compile(r"Best so far: trial \d")).first).to_be_visible(timeout=240_000)
    expect(page.get_by_text(re.compile(r"Finished · 3 of 3 trials done")).first).to_be_visible(timeout=240_000)
    expect(cells.get_by_text("Completed", exact=True)).to_have_count(3, timeout=30_000)
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    assert_no_exception(page)

    page.get_by_role("button", name=re.compile("Use the best")).click()
    wait_idle(page)
    expect(page.get_by_text("The best trial's settings are now the project's").first).to_be_visible()
    best = re.search(r"trial (\d+)", page.get_by_text(re.compile(r"Best so far: trial \d")).first.inner_text()).group(1)
    screenshot(page, "tune-used-best")
    assert_no_exception(page)

    goto_page(page, app_server, "Train")
    expect(page.get_by_text(re.compile(rf"trial {best}\b")).first).to_be_visible(timeout=30_000)
    screenshot(page, "tune-train-current")
    assert_no_exception(page)
