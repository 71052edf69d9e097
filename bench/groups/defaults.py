"""Defaults: the default training settings against the same model trained to convergence (`defaults`; #15 item 5).

The measure is bench/defaults.py (also runnable alone); it trains each data set twice in fresh CLI
processes, so it needs far more than the 2-minute budget: run it as `--only defaults --timeout 3600`.
"""

from __future__ import annotations

from typing import Any

import defaults as defaults_script
from harness import benchmark, fig


@benchmark("defaults", "defaults", "Defaults: test metric of the default settings ÷ trained to convergence, per data set")
def defaults(quick: bool) -> dict[str, Any]:
    out = defaults_script.run(quick)
    figures = []
    for r in out["results"]:
        name = r["source"].removeprefix("sample:").replace(" ", "_")
        if "error" in r:
            figures.append(fig(f"defaults.{name}.ratio", None, "×", f"≥ {out['goal']}", r["error"][-120:]))
            continue
        figures.append(fig(f"defaults.{name}.ratio", r["ratio"], "×", f"≥ {out['goal']}",
                           f"{r['metric']} {r['defaults']:.4g} (defaults, {r['defaults_epochs']} epochs, "
                           f"{r['defaults_seconds']} s) vs {r['converged']:.4g} (converged, {r['converged_epochs']} "
                           f"epochs, {r['converged_seconds']} s)"))
    return {"figures": figures, "details": out}
