"""The benchmark harness: what every benchmark module in `bench/groups/` needs, under one import.

    from harness import Skip, benchmark, fig, workdir

    @benchmark("defaults", "defaults", "Accuracy of the default settings on every sample")
    def run(quick: bool) -> dict:
        return {"figures": [fig("defaults.digits.accuracy", 0.98, "fraction", "> 0.9")], "details": {}}

The parts: `registry` (the benchmarks and their figures), `running` (each benchmark in its own
child process with a time limit, and its scratch folder), `report` (the printed table,
bench/results.json, the Markdown table), `measure` (statistics, side-by-side timing, the machine),
`projects` (sample projects), `server` (`streamlit run app.py` driven in headless Chromium).
"""

from harness.registry import Skip, benchmark, fig
from harness.running import workdir

__all__ = ["Skip", "benchmark", "fig", "workdir"]
