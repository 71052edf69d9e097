"""Start-up and page switches in headless Chromium (`startup`), and which pages import TensorFlow
into the server (`tf_imports`)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from harness import Skip, benchmark, fig, workdir
from harness.machine import ROOT, child_env, python_child, tail
from harness.server import Server, app_pages, exception_text, h1_text, launch_browser, require_playwright, wait_ready


def _switch(page: Any, server: Server, p: dict[str, str], timeout_s: float = 30) -> dict[str, Any]:
    link = page.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(p["title"], exact=True))
    if link.count() == 0:
        return {"page": p["title"], "error": "no sidebar link with this title"}
    old = h1_text(page)
    t = time.perf_counter()
    link.first.click()
    try:
        out: dict[str, Any] = {"page": p["title"], "seconds": wait_ready(page, p["url"], p["h1"], old, timeout_s) - t}
    except Exception as exc:  # noqa: BLE001 - a page being written may fail; report and go on
        out = {"page": p["title"], "error": f"not ready in {timeout_s:.0f} s ({type(exc).__name__})"}
    err = exception_text(page)
    if err:
        out["error"] = f"page raised: {err}"
    out["tensorflow_loaded"] = server.has_tensorflow()
    out["clicked"] = t
    return out


# A bare Streamlit app of two pages: what a page switch costs Streamlit and Chromium themselves on this machine
# at this moment. Layerlab's switches are also given as a ratio to it, which a busy machine moves less.
_BARE_APP = """
import streamlit as st

def page(title):
    def body():
        st.title(title)
        st.markdown("A page with a title and a line of text.")
    return st.Page(body, title=title, url_path=title.lower())

st.navigation([page("One"), page("Two")]).run()
"""
BUILD_CHECKED = "The model fits the data"  # the Build page's check, once it has run


def _bare_switches(browser: Any, rounds: int) -> dict[str, Any]:
    """First page and median page switch of the bare two-page app, in the same browser as Layerlab's."""
    app = workdir() / "bare_app.py"
    app.write_text(_BARE_APP)
    server = Server(workdir() / "bare-home", workdir() / "bare.log", app=str(app), cwd=workdir())
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        server.wait_healthy()
        page.goto(server.url + "/", wait_until="commit")
        first = time.time() - (time.perf_counter() - wait_ready(page, None, "One", None, 60)) - server.launched
        times = [_switch(page, server, {"title": title, "url": title.lower(), "h1": title})
                 for _ in range(rounds) for title in ("Two", "One")]
    finally:
        page.close()
        server.stop()
    seconds = sorted(t["seconds"] for t in times if "seconds" in t)
    return {"first_page_s": first, "switches_s": seconds,
            "median_switch_s": seconds[len(seconds) // 2] if seconds else None}


def _build_check_s(page: Any, clicked: float, timeout_s: float = 120) -> float | None:
    """Seconds from the click on Build until its model check is shown (TensorFlow loaded in the background)."""
    try:
        page.get_by_text(BUILD_CHECKED).first.wait_for(state="visible", timeout=timeout_s * 1000)
    except Exception:  # noqa: BLE001 - reported as a missing figure
        return None
    return time.perf_counter() - clicked


@benchmark("startup", "startup", "Start-up to an interactive first page, and page switches, in headless Chromium")
def startup(quick: bool) -> dict[str, Any]:
    require_playwright()
    from playwright.sync_api import sync_playwright

    pages = app_pages()
    if not pages:
        raise Skip("no PAGES list in app.py")
    home = next((p for p in pages if p["url"] == ""), pages[0])
    figures: list[dict[str, Any]] = []
    details: dict[str, Any] = {"pages": pages}
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        server = Server(workdir() / "home", workdir() / "streamlit.log")
        try:
            healthy = server.wait_healthy()
            page.goto(server.url + "/", wait_until="commit")
            ready = time.time() - (time.perf_counter() - wait_ready(page, None, home["h1"], None, 60))
            err = exception_text(page)
            figures.append(fig("startup.server_ready_s", healthy - server.launched, "s", None,
                               "launch → /_stcore/health answers"))
            figures.append(fig("startup.first_page_s", ready - server.launched, "s", "≤ 2",
                               "launch of `streamlit run` → Home interactive in Chromium" + (f"; ERROR {err}" if err else "")))
            tf_at_start = server.has_tensorflow()
            figures.append(fig("startup.tensorflow_at_first_page", tf_at_start, "bool", "== False"))
            seen_tf = tf_at_start
            # Without a project: every page once (Home last), as a new visitor clicking through.
            switches = [_switch(page, server, p) for p in [p for p in pages if p is not home] + [home]]
            details["switches_no_project"] = switches
            seen_tf = _switch_figures(figures, switches, "no_project", seen_tf)
            # With a project: the Home page's sample button creates the digits project and opens Train.
            button = page.get_by_role("button", name=re.compile("Try a sample", re.IGNORECASE))
            if button.count():
                old = h1_text(page)
                t = time.perf_counter()
                button.first.click()
                train = next((p for p in pages if p["title"] == "Train"), None)
                try:
                    ready_at = wait_ready(page, train["url"] if train else None, train["h1"] if train else None, old, 30)
                    figures.append(fig("startup.sample_project_to_train_s", ready_at - t, "s", None,
                                       "Home's 'Try a sample' button → Train page interactive"))
                except Exception as exc:  # noqa: BLE001
                    details["sample_button_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
                order = [p for p in pages if p["title"] not in ("Train",)] + ([train] if train else [])
                switches = []
                for p in order:
                    switches.append(_switch(page, server, p))
                    if p["title"] == "Build" and "seconds" in switches[-1]:  # a user looks at the model's check
                        checked = _build_check_s(page, switches[-1]["clicked"])
                        figures.append(fig("startup.build_check_shown_s", checked, "s", None,
                                           "click on Build (first visit with a project) → its model check shown; "
                                           "the editor is usable before, while TensorFlow loads in the background"))
                details["switches_with_project"] = switches
                seen_tf = _switch_figures(figures, switches, "with_project", seen_tf)
            else:
                details["sample_button_error"] = "no 'Try a sample' button on Home: the pass with a project was skipped"
            figures.append(fig("startup.tensorflow_loaded_by_end", server.has_tensorflow(), "bool", None,
                               "whether any page visited loaded TensorFlow into the server"))
        finally:
            server.stop()
        try:
            bare = _bare_switches(browser, rounds=2 if quick else 4)
        finally:
            browser.close()
        details["bare_app"] = bare
        _baseline_figures(figures, bare, ready - server.launched,
                          [s for k in ("switches_no_project", "switches_with_project") for s in details.get(k, [])])
        details["server_log_tail"] = tail((workdir() / "streamlit.log").read_text(errors="replace"), 20)
    return {"figures": figures, "details": details}


def _baseline_figures(figures: list, bare: dict[str, Any], first_page_s: float, switches: list[dict[str, Any]]) -> None:
    """The bare app's figures, and Layerlab's as ratios to them (measured in the same run, so load cancels out)."""
    base = bare.get("median_switch_s")
    figures.append(fig("startup.bare_first_page_s", bare.get("first_page_s"), "s", None,
                       "the same for a bare two-page Streamlit app (no Layerlab), right after"))
    figures.append(fig("startup.bare_switch_median_s", base, "s", None,
                       "median page switch of that bare app: Streamlit's and Chromium's own cost at this load"))
    seconds = [s["seconds"] for s in switches if "seconds" in s]
    if base and seconds:
        slowest = max(switches, key=lambda s: s.get("seconds", -1))
        figures.append(fig("startup.switch_slowest_over_bare", max(seconds) / base, "×", None,
                           f"Layerlab's slowest page switch ({slowest['page']}) ÷ the bare app's median switch"))
        figures.append(fig("startup.switch_median_over_bare", sorted(seconds)[len(seconds) // 2] / base, "×", None,
                           "Layerlab's median page switch ÷ the bare app's"))
    if bare.get("first_page_s"):
        figures.append(fig("startup.first_page_over_bare", first_page_s / bare["first_page_s"], "×", None,
                           "Layerlab's first page ÷ the bare app's"))


def _switch_figures(figures: list, switches: list[dict[str, Any]], label: str, seen_tf: bool) -> bool:
    for s in switches:
        first_tf = bool(s.get("tensorflow_loaded")) and not seen_tf
        seen_tf = seen_tf or bool(s.get("tensorflow_loaded"))
        goal = "≤ 1"  # no page switch waits on an import, TensorFlow's included (#15 item 13)
        note = "TensorFlow loaded into the server (in the background) by the time this page was ready" if first_tf else None
        if "error" in s:
            figures.append(fig(f"startup.switch.{label}.{s['page']}_s", None, "s", goal,
                               f"SKIPPED: {s['error']}"))
        else:
            figures.append(fig(f"startup.switch.{label}.{s['page']}_s", s["seconds"], "s", goal, note))
    return seen_tf


_STATIC_CHILD = r"""
import ast, importlib, json, sys, time
path = sys.argv[1]
mods = []
for node in ast.parse(open(path, encoding="utf-8").read()).body:
    if isinstance(node, ast.Import):
        mods += [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
        for a in node.names:
            mods.append(node.module + "." + a.name)
            mods.append(node.module)
t = time.perf_counter()
for m in dict.fromkeys(mods):
    try:
        importlib.import_module(m)
    except ImportError:
        pass  # `from x import name` where name is not a module
print(json.dumps({"modules": list(dict.fromkeys(mods)), "seconds": time.perf_counter() - t,
                  "tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules}))
"""

_APPTEST_CHILD = r"""
import json, sys
from streamlit.testing.v1 import AppTest
page, with_project = sys.argv[1], sys.argv[2] == "1"
at = AppTest.from_file("app.py", default_timeout=120)
at.run()
if with_project:
    from layerlab.project import new_project
    at.session_state["project"] = new_project("sample:digits")
before = "tensorflow" in sys.modules
at.switch_page(page)
at.run()
print(json.dumps({"tensorflow_after_home": before, "tensorflow": "tensorflow" in sys.modules,
                  "keras": "keras" in sys.modules, "exceptions": [str(e.value)[:200] for e in at.exception]}))
"""


@benchmark("tf_imports", "startup", "Which pages import TensorFlow into the server (static imports, and AppTest runs)")
def tf_imports(quick: bool) -> dict[str, Any]:
    pages = app_pages()
    env = child_env(LAYERLAB_HOME=str(workdir() / "home"))
    figures, details = [], {}
    for p in pages:
        entry: dict[str, Any] = {}
        cp = python_child(["-c", _STATIC_CHILD, str(ROOT / p["path"])], timeout=120, env=env)
        entry["static"] = json.loads(cp.stdout.strip().splitlines()[-1]) if cp.returncode == 0 else {"error": tail(cp.stderr, 5)}
        modes = [("no_project", "0"), ("with_project", "1")] if not quick or p["title"] == "Data" else [("no_project", "0")]
        for label, flag in modes:
            cp = python_child(["-c", _APPTEST_CHILD, p["path"], flag], timeout=180, env=env)
            entry[label] = (json.loads(cp.stdout.strip().splitlines()[-1]) if cp.returncode == 0 and cp.stdout.strip()
                            else {"error": tail(cp.stderr, 5)})
        details[p["title"]] = entry
        static_tf = entry["static"].get("tensorflow")
        run_tf = {label: entry[label].get("tensorflow") for label, _ in modes}
        goal = "== False" if p["title"] in ("Home", "Data") else None
        figures.append(fig(f"tf_imports.{p['title']}.static", static_tf, "bool", goal,
                           f"importing the page's top-level imports ({entry['static'].get('seconds', 0):.2f} s)"
                           if "error" not in entry["static"] else f"SKIPPED: {entry['static']['error'][:150]}"))
        for label, val in run_tf.items():
            errs = entry[label].get("exceptions") or entry[label].get("error")
            figures.append(fig(f"tf_imports.{p['title']}.apptest_{label}", val, "bool",
                               goal if label == "no_project" else None,
                               f"page errors: {str(errs)[:150]}" if errs else None))
    data = details.get("Data", {})
    if data:
        figures.insert(0, fig("tf_imports.data_page_imports_tensorflow",
                              bool(data["static"].get("tensorflow")) or bool(data.get("no_project", {}).get("tensorflow")),
                              "bool", "== False", "the Data page's server process (static imports or an AppTest run)"))
    return {"figures": figures, "details": details}
