"""Hostile names in a real browser (issue #20, finding 3): a table whose file, columns and classes are named
to become an image, HTML, bold text or LaTeX is uploaded, trained for one epoch and shown on every page.
No `img` element and no request comes from the names, and nothing they hold is bold or LaTeX."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from components.shell import PAGES
from tests.e2e.conftest import (
    assert_no_exception,
    goto_page,
    main_heading,
    open_page,
    screenshot,
    set_epochs,
    start_training,
    upload,
    wait_idle,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

IMAGE = "![x](http://127.0.0.1:9/x.png)"
HTML = "<img src=x onerror=alert(1)>"
TICK = "ti`ck ![t](http://127.0.0.1:9/t.png) `"
FILE = "**bold**$x$`q`.csv"  # short: the uploader shortens a long name (and a file name cannot hold "/")
COLUMNS = [IMAGE, TICK, "$x$"]
TARGET = f"{HTML} **bold**"
CLASSES = ["**bold**", "$x$", TICK]


def _table(tmp_path) -> str:
    rng = np.random.default_rng(0)
    y = rng.choice(len(CLASSES), 150, p=[0.25, 0.25, 0.5])
    frame = pd.DataFrame({c: y * (i + 1) + rng.normal(0, 0.3, len(y)) for i, c in enumerate(COLUMNS)})
    frame[TARGET] = [CLASSES[k] for k in y]
    path = tmp_path / FILE
    frame.to_csv(path, index=False)
    return str(path)


def _created_by_names(page: Page) -> list[str]:
    """Elements the names would have made: images from their sources, bold 'bold', LaTeX."""
    found = []
    for src in page.locator("img").evaluate_all("els => els.map(e => e.getAttribute('src') || '')"):
        if "127.0.0.1:9" in src or src in ("x", "y"):
            found.append(f"img {src}")
    found += [f"link {h}" for h in page.locator("a").evaluate_all("els => els.map(e => e.href)") if "127.0.0.1:9" in h]
    found += [f"bold {t}" for t in page.locator("strong, b, em").all_inner_texts() if t.strip() == "bold"]
    found += [f"LaTeX {t}" for t in page.locator(".katex").all_inner_texts()]
    return found


def test_hostile_names_stay_text_on_every_page(page: Page, app_server: str, tmp_path) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (requests.append(f"dialog {d.message}"), d.dismiss()))
    page.set_viewport_size({"width": 1300, "height": 1600})
    open_page(page, app_server)
    goto_page(page, app_server, "Data")
    page.get_by_role("tab", name="Upload your data").click()
    upload(page, _table(tmp_path))
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", level=2).filter(has_text="**bold**$x$`q`")).to_be_visible(timeout=60_000)
    assert_no_exception(page)

    goto_page(page, app_server, "Train")
    set_epochs(page, 1)
    start_training(page)
    expect(page.get_by_text("Completed").first).to_be_visible(timeout=180_000)

    shown = []
    for entry in PAGES:
        goto_page(page, app_server, entry.title)
        wait_idle(page)
        expect(main_heading(page)).to_be_visible()
        assert_no_exception(page)
        assert _created_by_names(page) == [], entry.title
        shown.append(main.inner_text())
        screenshot(page, f"markup-{entry.url or 'home'}")
    assert "![x](http://127.0.0.1:9/x.png)" in "\n".join(shown), "the names are shown, as typed"
    assert not [u for u in requests if "127.0.0.1:9" in u or re.search(r"/(x|y)$", u) or u.startswith("dialog")], \
        requests
