"""Every page opens by its URL, shows its heading and raises nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    PAGES,
    assert_no_exception,
    expect_active_page,
    goto_page,
    main_heading,
    open_page,
    screenshot,
)

pytestmark = pytest.mark.e2e

TITLES = [title for title, _ in PAGES]


def _expected_heading(title: str) -> re.Pattern[str]:
    # Home may be titled with the product name; every other page names itself in its title.
    return re.compile("Layerlab|Home" if title == "Home" else re.escape(title), re.IGNORECASE)


@pytest.mark.parametrize(("title", "url_path"), PAGES, ids=TITLES)
def test_page_opens_by_url(page: Page, app_server: str, title: str, url_path: str) -> None:
    open_page(page, app_server, url_path)

    expect_active_page(page, title)
    expect(main_heading(page)).to_be_visible()
    expect(main_heading(page)).to_have_text(_expected_heading(title))
    assert_no_exception(page)
    screenshot(page, title.lower())


def test_sidebar_reaches_every_page(page: Page, app_server: str) -> None:
    open_page(page, app_server)
    for title in TITLES[1:] + TITLES[:1]:
        goto_page(page, app_server, title)
        expect(main_heading(page)).to_have_text(_expected_heading(title))
        assert_no_exception(page)


def test_first_visit_by_deep_link_runs_the_app_navigation(page: Page, fresh_app_server: str) -> None:
    """The first session after a (re)start lands on a page URL, e.g. a reload of /train?run=…

    With a folder named ``pages/`` beside the entrypoint, Streamlit starts in its legacy
    multipage mode: it runs ``pages/<name>.py`` directly (skipping the entrypoint and its
    shared state) and lists file names in the sidebar, until some session opens "/".
    """
    open_page(page, fresh_app_server, "data")

    # The app's own navigation (titles, in order), not file names; an icon's text may precede a title.
    expect(page.get_by_test_id("stSidebarNavLink")).to_have_text([re.compile(rf"{t}$") for t in TITLES])
    expect_active_page(page, "Data")
    expect(main_heading(page)).to_have_text(_expected_heading("Data"))
    assert_no_exception(page)
