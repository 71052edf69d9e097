"""The browser flow against a Ray cluster, run as one script inside a loopback-only namespace.

`python ray_flow.py OUT` starts a Ray head on 127.0.0.1, the app with LAYERLAB_EXECUTOR=ray and Chromium,
all in the namespace (a browser outside could not reach a loopback-only server): it starts a digits run
from the Train page, watches its curve grow while the page says which Ray node trains it, and stops it.
It writes OUT/result.json; screenshots go to /tmp/layerlab-shots (ray-1-running, ray-2-stopped).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.conftest import main_heading, open_page, screenshot, serve_app, set_epochs, start_training, wait_idle
from tests.e2e.test_train_reload_compare import LONG, _badge, _epoch, _epoch_goes_past, _points_above, _progress
from tests.engine.ray.cluster import start_cluster


def main(out: Path) -> None:
    os.environ.update(start_cluster(out, nodes=1, cpus=2), LAYERLAB_EXECUTOR="ray")
    with serve_app(out / "home", out / "streamlit.log") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        open_page(page, base)
        page.get_by_role("button", name=re.compile("Try a sample: handwritten digits")).click()
        expect(main_heading(page)).to_have_text(re.compile("Train"))
        wait_idle(page)
        set_epochs(page, LONG)
        # No early stopping: digits would otherwise finish (about epoch 30) before the Stop click.
        page.get_by_test_id("stExpander").filter(has_text="Advanced settings").locator("summary").click()
        wait_idle(page)
        page.get_by_text("Stop early", exact=True).click()
        wait_idle(page)
        expect(page.get_by_text(re.compile("no early stopping"))).to_be_visible()
        start_training(page)
        expect(_progress(page)).to_be_visible(timeout=240_000)  # the cluster places it, the node imports TF
        where = page.get_by_text(re.compile(r"Ray node 127\.0\.0\.1 \(node \w+\) · no GPU")).first
        expect(where).to_be_visible(timeout=30_000)
        points = _points_above(page, 0)
        epoch = _epoch_goes_past(page, _epoch(page))
        _points_above(page, points)  # waits until the curve has more points than before (else it raises)
        screenshot(page, "ray-1-running")
        page.get_by_role("button", name="Stop", exact=True).click()
        expect(_badge(page, "Stopped")).to_be_visible(timeout=60_000)
        stopped = page.get_by_test_id("stAlert").filter(has_text=re.compile(r"Stopped by request after epoch \d+"))
        expect(stopped).to_have_count(1)
        screenshot(page, "ray-2-stopped")
        (out / "result.json").write_text(json.dumps({"placement": where.inner_text(), "points_before": points,
                                                     "epoch": epoch}))
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
