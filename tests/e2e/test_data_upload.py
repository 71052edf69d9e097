"""Uploading a table on the Data page in a real browser: it becomes the project, the file stays listed,
and a refused upload says why, keeps the earlier data, and is forgotten when the user removes it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import assert_no_exception, goto_page, open_page, screenshot, upload, wait_idle

pytestmark = [pytest.mark.e2e]


def _table(tmp_path) -> str:
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"length": rng.normal(40, 5, n).round(1), "depth": rng.normal(17, 2, n).round(1),
                          "island": rng.choice(["Biscoe", "Dream"], n), "species": rng.choice(["A", "B", "C"], n)})
    path = tmp_path / "field notes.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_upload_a_table_then_a_refused_file(page: Page, app_server: str, tmp_path) -> None:
    page.set_viewport_size({"width": 1300, "height": 1600})
    open_page(page, app_server)
    goto_page(page, app_server, "Data")
    page.get_by_role("tab", name="Upload your data").click()

    upload(page, _table(tmp_path))
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="field notes", level=2)).to_be_visible(timeout=60_000)
    expect(main.get_by_text("120", exact=True).first).to_be_visible()  # rows
    # The file stays listed in the uploader, and the project stays after another page and back.
    chip = page.get_by_test_id("stFileChipName").filter(has_text="field notes.csv")
    expect(chip).to_be_visible()
    goto_page(page, app_server, "Prepare")
    goto_page(page, app_server, "Data")
    expect(main.get_by_role("heading", name="field notes", level=2)).to_be_visible()
    assert_no_exception(page)

    bad = tmp_path / "holiday.zip"
    bad.write_bytes(b"these bytes are not a zip")
    page.get_by_role("tab", name="Upload your data").click()
    upload(page, bad)
    refusal = main.get_by_test_id("stAlert").filter(has_text="holiday.zip is not a readable zip file")
    expect(refusal).to_be_visible(timeout=30_000)
    expect(main.get_by_text("Your earlier data (field notes) is still in use.")).to_be_visible()
    expect(main.get_by_role("heading", name="field notes", level=2)).to_be_visible()
    screenshot(page, "data-upload-refused")

    page.get_by_test_id("stFileChip").filter(has_text="holiday.zip").get_by_test_id("stFileChipDeleteBtn").click()
    wait_idle(page)
    expect(refusal).to_have_count(0)
    expect(main.get_by_role("heading", name="field notes", level=2)).to_be_visible()
    assert_no_exception(page)
