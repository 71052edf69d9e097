"""The benchmark harness (bench/harness) and its registry of benchmark modules (bench/groups).

No benchmark is run here: these check the wiring — every group module is registered, a new
benchmark is one decorated `run(quick)`, goals are judged, results merge — and that bench
modules use each other's public names only.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from harness import Skip, benchmark, fig, registry, report, running, workdir  # noqa: E402


@pytest.fixture
def scratch_registry():
    """Benchmarks registered by a test are removed after it."""
    before = dict(registry.BENCHMARKS)
    yield registry.BENCHMARKS
    registry.BENCHMARKS.clear()
    registry.BENCHMARKS.update(before)


def test_every_group_module_is_listed_and_registers_benchmarks():
    from groups import GROUPS

    on_disk = {p.stem for p in (BENCH / "groups").glob("*.py") if p.stem != "__init__"}
    assert set(GROUPS) == on_disk, "a module in bench/groups/ must be named in groups.GROUPS (and only those)"
    loaded = registry.load()
    by_module = {b.run.__module__ for b in loaded.values()}
    assert {f"groups.{g}" for g in GROUPS} <= by_module, "each group module registers at least one benchmark"
    assert list(loaded)[:3] == ["train_digits", "train_text", "train_table"], "GROUPS sets the run order"
    for name in ("gap_digits", "pipeline", "startup", "tf_imports", "latency", "stop", "latency_page", "ingest",
                 "scale_images", "scale_table", "predict", "accuracy_digits"):
        assert name in loaded
    assert all(b.title and "\n" not in b.title for b in loaded.values()), "one line of help each"


def test_select_takes_names_and_groups_in_registry_order():
    registry.load()
    assert registry.select("predict,train") == ["predict", "train_digits", "train_text", "train_table"]
    assert registry.select("tf_imports") == ["tf_imports"]
    assert registry.select(None) == list(registry.BENCHMARKS)
    with pytest.raises(SystemExit, match="unknown benchmark or group 'nope'"):
        registry.select("nope")


def test_a_name_is_registered_once(scratch_registry):
    benchmark("bench_test_once", "test", "first")(lambda quick: [])
    with pytest.raises(ValueError, match="Received: name='bench_test_once'"):
        benchmark("bench_test_once", "test", "second")(lambda quick: [])


@pytest.mark.parametrize(("value", "goal", "met"), [
    (0.96, "≥ 0.95", True), (0.94, "≥ 0.95", False), (2.5, "≤ 3", True), (49.0, "< 50", True),
    (50.0, "< 50", False), (False, "== False", True), (True, "== False", False), (1.2, "> 1.1 (note)", True),
    (float("nan"), "≥ 1", False), (None, "≥ 1", None), (3.0, None, None), (3.0, "about 3", None),
])
def test_goals_are_judged(value, goal, met):
    assert registry.meets(value, goal) is met


def test_a_figure_rounds_floats_and_carries_its_goal():
    f = fig("x.ratio", 0.951234567, "×", "≥ 0.95", "a note")
    assert f == {"name": "x.ratio", "value": 0.9512, "unit": "×", "goal": "≥ 0.95", "met": True, "note": "a note"}


def test_run_child_runs_a_benchmark_with_its_scratch_folder(scratch_registry, tmp_path):
    seen = {}

    @benchmark("bench_test_ok", "test", "returns a bare list of figures")
    def run(quick: bool) -> list:
        seen["dir"] = workdir()
        assert seen["dir"].is_dir()
        return [fig("test.quick", quick, "bool", "== True")]

    out = tmp_path / "result.json"
    running.run_child("bench_test_ok", True, out)
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["figures"][0]["met"] is True and result["seconds"] >= 0 and len(result["load_avg_1m"]) == 2
    assert not seen["dir"].exists(), "the scratch folder is removed after the benchmark"
    with pytest.raises(RuntimeError, match="only available inside"):
        workdir()


def test_run_child_reports_skips_and_errors(scratch_registry, tmp_path):
    def skipped(quick: bool) -> dict:
        raise Skip("no Chromium here")

    def broken(quick: bool) -> dict:
        raise ValueError("boom")

    benchmark("bench_test_skip", "test", "skips")(skipped)
    benchmark("bench_test_error", "test", "fails")(broken)
    running.run_child("bench_test_skip", False, tmp_path / "a.json")
    running.run_child("bench_test_error", False, tmp_path / "b.json")
    assert json.loads((tmp_path / "a.json").read_text())["skipped"] == "no Chromium here"
    failed = json.loads((tmp_path / "b.json").read_text())
    assert failed["error"] == "ValueError: boom" and "Traceback" in failed["traceback"]


def test_save_replaces_only_the_figures_of_the_benchmarks_run(scratch_registry, tmp_path, capsys):
    for name in ("bench_test_a", "bench_test_b"):
        benchmark(name, "test", f"benchmark {name}")(lambda quick: [])
    path = tmp_path / "results.json"
    machine = {"cpu": "test"}
    report.save({"bench_test_a": {"figures": [fig("a.old", 1.0, "s")]},
                 "bench_test_b": {"figures": [fig("b.kept", 2.0, "s", "≤ 3")]}}, machine, False, path)
    report.save({"bench_test_a": {"figures": [fig("a.new", 0.5, "s")], "details": {"k": 1}}}, machine, True, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert set(doc["figures"]) == {"a.new", "b.kept"}
    assert doc["figures"]["a.new"]["quick"] is True and doc["benchmarks"]["bench_test_a"]["details"] == {"k": 1}
    table = report.markdown(path)
    assert "| `b.kept` | 2.00 | s | ≤ 3 | ✓ |" in table and "| `a.new` | 0.500 | s |  |  |" in table
    report.print_table({"bench_test_a": {"figures": [fig("a.new", 0.5, "s")]}, "bench_test_b": {"skipped": "why"}})
    printed = capsys.readouterr().out
    assert "a.new" in printed and "[bench_test_b]" in printed and "bench_test_b: why" in printed


def _bench_modules() -> dict[str, Path]:
    """{module name as imported with bench/ on sys.path: file}."""
    mods = {}
    for path in BENCH.rglob("*.py"):
        parts = path.relative_to(BENCH).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def test_bench_modules_import_each_others_public_names_only():
    mods = _bench_modules()
    private = []
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in mods:
                private += [f"{name}: from {node.module} import {a.name}" for a in node.names if a.name.startswith("_")]
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                if isinstance(node.value, ast.Name) and node.value.id in mods and node.value.id != name:
                    private.append(f"{name}: {node.value.id}.{node.attr}")
    assert private == []


def test_session_client_opens_a_page_clicks_and_follows_the_fragments_timer(tmp_path):
    """The load bench's browserless sessions: the server runs the page, the click, and the fragment's re-runs
    for it as it does for a browser (counted by the app itself, in a file)."""
    from harness.server import Server
    from harness.session_client import SessionClient

    counts = tmp_path / "counts.txt"
    app = tmp_path / "app.py"
    app.write_text(f"""
import streamlit as st
from pathlib import Path

def note(what):
    with open({str(counts)!r}, "a") as f:
        f.write(what + chr(10))

def first():
    st.title("First")
    note("cookie " + st.context.cookies.get("owner", "-") + " query " + st.query_params.get("q", "-"))
    if st.button("Press me"):
        note("pressed")
        st.session_state["live"] = True
    if st.session_state.get("live"):
        @st.fragment(run_every=0.5)
        def live():
            note("fragment")
        live()

def second():
    st.title("Second")
    note("second page")

st.navigation([st.Page(first, title="First", url_path="first"), st.Page(second, title="Second", url_path="second")]).run()
""")
    server = Server(tmp_path / "home", tmp_path / "streamlit.log", app=str(app))
    client = None
    try:
        server.wait_healthy()
        client = SessionClient(server.url, {"owner": "abc"})
        client.open("second")
        _wait_for(lambda: counts.exists() and "second page" in counts.read_text(), "the second page ran")
        client.open("first", query="q=7")
        _wait_for(lambda: "cookie abc query 7" in counts.read_text(), "the first page ran with the cookie and query")
        client.click("Press me")
        _wait_for(lambda: counts.read_text().count("fragment") >= 4, "the fragment re-ran on its timer")
        lines = counts.read_text().splitlines()
        assert lines.count("pressed") == 1
        assert "second page" not in lines[lines.index("pressed"):], "the click re-ran the first page, not the default"
        assert client.finished >= 5 and client.sent >= 5
    finally:
        if client:
            client.close()
        server.stop()


def _wait_for(check, what: str, timeout_s: float = 30) -> None:
    import time

    end = time.time() + timeout_s
    while time.time() < end:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s} s: {what}")
