"""Issue #5 in a real browser: start a run, watch the curve grow, reload the page mid-run and
see it go on, stop it, then compare it with an earlier run on the Runs page.

Streamlit's dataframes draw on a canvas; their cells are read from the accessible table that
glide-data-grid keeps beside it (`role="row"` / `role="gridcell"`), and a row is selected by
clicking its checkbox on the canvas.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import (assert_no_exception, goto_page, main_heading, open_page, screenshot, set_epochs,
                                 start_training, wait_idle)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LONG = 300
EPOCH = re.compile(rf"Epoch (\d+)/{LONG}")
ROW_PX = 35  # st.dataframe's header and row height

# The number of validation points drawn in the Train page's curves chart (its first plotly chart).
POINTS = """() => {
    const plot = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
    const trace = plot && plot.data && plot.data.find(t => t.name === 'validation');
    return trace ? trace.x.length : 0;
}"""
# Run name → number of points of its trace in the Runs page's overlay (the first panel: validation loss).
OVERLAY = """() => {
    const plot = document.querySelector('.st-key-runs-compare-chart .js-plotly-plot');
    const out = {};
    for (const t of (plot && plot.data) || []) if (t.xaxis === 'x') out[t.name] = t.x.length;
    return out;
}"""


def _badge(page: Page, status: str) -> Locator:
    """The run's status badge (its text follows a Material icon's name)."""
    return page.get_by_test_id("stMain").get_by_text(re.compile(rf"{status}$")).first


def _progress(page: Page) -> Locator:
    """The running run's progress text: 'Epoch N/300 · step …'."""
    return page.get_by_text(EPOCH).first


def _epoch(page: Page) -> int:
    return int(EPOCH.search(_progress(page).inner_text()).group(1))


def _epoch_goes_past(page: Page, n: int) -> int:
    """Wait until the progress shows an epoch after `n`; return it."""
    expect(_progress(page)).not_to_have_text(re.compile(rf"Epoch {n}/{LONG}"), timeout=60_000)
    later = _epoch(page)
    assert later > n
    return later


def _points_above(page: Page, n: int) -> int:
    """Wait until the curve has more than `n` validation points; return how many."""
    page.wait_for_function(f"n => ({POINTS})() > n", arg=n, timeout=60_000)
    return page.evaluate(POINTS)


def _cells(scope: Locator, text: str | None = None) -> Locator:
    """Cells of a dataframe's accessible table (hidden from view: matched by CSS and text, not by role)."""
    cells = scope.locator('[role="gridcell"]')
    return cells.get_by_text(text, exact=True) if text is not None else cells


def _row(page: Page, table: Locator, first_cell: str) -> Locator:
    """The row of a dataframe with a cell reading `first_cell` (a `has` locator is rooted at the page)."""
    return table.locator('[role="row"]').filter(has=_cells(page, first_cell))


def _select_row(page: Page, table: Locator, name: str) -> None:
    """Tick the checkbox of the row whose Name is `name` (multi-row selection)."""
    row = _row(page, table, name)
    expect(row).to_have_count(1)
    index = int(row.get_attribute("aria-rowindex")) - 1  # 1 is the header
    box = table.bounding_box()
    page.mouse.click(box["x"] + ROW_PX / 2, box["y"] + ROW_PX * index + ROW_PX / 2)
    wait_idle(page)


def test_train_watch_reload_stop_and_compare(page: Page, fresh_app_server: str) -> None:
    base = fresh_app_server
    page.set_viewport_size({"width": 1400, "height": 2000})
    open_page(page, base)
    page.get_by_role("button", name=re.compile("Try a sample: handwritten digits")).click()
    expect(main_heading(page)).to_have_text(re.compile("Train"))
    wait_idle(page)

    # A first, short run that completes.
    set_epochs(page, 2)
    start_training(page)
    expect(_badge(page, "Completed")).to_be_visible(timeout=120_000)
    first = re.search(r"[?&]run=([\w-]+)", page.url).group(1)
    first_name = page.get_by_text(re.compile(r"· \w+ #1$")).first.inner_text()

    # A long run: the epoch counter and the curve grow while it trains. Early stopping off, so it is
    # still training when the test reloads and stops it however slowly the machine runs the test.
    set_epochs(page, LONG)
    page.get_by_text("Advanced settings").click()
    page.get_by_text("Stop early", exact=True).click()
    wait_idle(page)
    expect(page.get_by_role("switch", name="Stop early")).not_to_be_checked()
    start_training(page)
    expect(_progress(page)).to_be_visible(timeout=90_000)
    run = re.search(r"[?&]run=([\w-]+)", page.url).group(1)
    assert run != first
    epoch = _epoch_goes_past(page, _epoch(page))
    points = _points_above(page, 0)
    epoch = _epoch_goes_past(page, epoch)
    points = _points_above(page, points)
    screenshot(page, "reload-1-before")

    # Reload mid-run: a new session finds the same run through the address bar, still training.
    page.reload()
    wait_idle(page)
    assert f"run={run}" in page.url
    expect(main_heading(page)).to_have_text(re.compile("Train"))
    expect(page.get_by_text(run, exact=True)).to_be_visible()
    expect(_badge(page, "Running")).to_be_visible()
    expect(_progress(page)).to_be_visible(timeout=60_000)
    assert _epoch(page) >= epoch
    epoch = _epoch_goes_past(page, _epoch(page))
    assert _points_above(page, points) >= points + 1  # redrawn from all its rows, and still growing
    screenshot(page, "reload-2-after")
    assert_no_exception(page)

    # Stop: the run ends within seconds, keeping its best weights.
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(_badge(page, "Stopped")).to_be_visible(timeout=30_000)  # 1-3 s when the machine is idle
    # The run's status box says so (the log below may hold the same line once the worker has written it).
    stopped = page.get_by_test_id("stAlert").filter(has_text=re.compile(r"Stopped by request after epoch \d+"))
    expect(stopped).to_have_count(1)
    expect(page.get_by_role("button", name="Stop", exact=True)).to_have_count(0)
    screenshot(page, "reload-3-stopped")

    # The Runs page: the current (stopped) run is selected; tick the first run beside it.
    goto_page(page, base, "Runs")
    runs = page.get_by_test_id("stDataFrame").first
    expect(_cells(_row(page, runs, first_name), "Completed")).to_have_count(1)
    expect(_cells(runs, "Stopped")).to_have_count(1)
    expect(page.get_by_role("heading", name="Selected run")).to_be_visible()
    _select_row(page, runs, first_name)
    expect(page.get_by_role("heading", name="Compare 2 runs")).to_be_visible()

    # The overlaid validation curves: one trace per run, the long run's longer.
    expect(page.get_by_text("Validation curves of 2 runs")).to_be_visible()
    expect(page.locator(".st-key-runs-compare-chart .js-plotly-plot")).to_be_visible()
    page.wait_for_function(f"() => Object.keys(({OVERLAY})()).length == 2", timeout=30_000)
    traces = page.evaluate(OVERLAY)
    assert traces.pop(first_name) == 2
    assert list(traces.values())[0] >= epoch - 1

    # The settings side by side (newest run first): the differing epochs are marked ≠ and highlighted.
    expect(page.get_by_text(re.compile(r"Settings side by side — \d+ of \d+ differ"))).to_be_visible()
    settings = page.get_by_test_id("stDataFrame").nth(1)
    expect(_cells(_row(page, settings, "train.epochs"))).to_have_text(["train.epochs", str(LONG), "2", "≠"])
    expect(_cells(_row(page, settings, "train.batch_size")).last).to_have_text("")
    page.get_by_text("Only the differences").click()
    wait_idle(page)
    expect(_row(page, settings, "train.batch_size")).to_have_count(0)
    expect(_row(page, settings, "train.epochs")).to_have_count(1)
    screenshot(page, "reload-4-compare")
    assert_no_exception(page)
