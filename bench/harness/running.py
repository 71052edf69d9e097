"""Running benchmarks: each in a fresh child process (`bench/run.py --child NAME`) with its own time limit,
so one that fails or hangs is reported and the others still run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from harness.machine import BENCH_DIR, ROOT, child_env, tail
from harness.registry import BENCHMARKS, Skip

LIMIT_S = 120.0  # each benchmark's budget on the 2-core development machine

_workdir: Path | None = None


def workdir() -> Path:
    """The scratch folder of the benchmark being run: made before its `run(quick)`, removed after it."""
    if _workdir is None:
        raise RuntimeError("workdir() is only available inside a benchmark's run(quick)")
    return _workdir


def run_child(name: str, quick: bool, out: Path) -> None:
    """Inside the child process: run one benchmark and write its result."""
    global _workdir
    b = BENCHMARKS[name]
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix=f"layerlab-bench-{name}-") as tmp:
        _workdir = Path(tmp)
        try:
            result = b.run(quick)
            if isinstance(result, list):
                result = {"figures": result}
        except Skip as exc:
            result = {"skipped": str(exc)}
        except Exception as exc:  # noqa: BLE001 - reported in the table
            result = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
        finally:
            _workdir = None
    result["seconds"] = time.perf_counter() - started
    result["load_avg_1m"] = [round(load_start, 2), round(os.getloadavg()[0], 2)]
    out.write_text(json.dumps(result, default=str), encoding="utf-8")


def run_parent(names: list[str], quick: bool, timeout: float) -> dict[str, dict[str, Any]]:
    """Run each benchmark in its own child process, printing a line as each starts and ends."""
    results = {}
    for name in names:
        print(f"▶ {name}: {BENCHMARKS[name].title} …", flush=True)
        with tempfile.TemporaryDirectory(prefix="layerlab-bench-out-") as tmp:
            out = Path(tmp) / "result.json"
            args = [sys.executable, str(BENCH_DIR / "run.py"), "--child", name, "--out", str(out)]
            if quick:
                args.append("--quick")
            started = time.perf_counter()
            proc = subprocess.Popen(args, cwd=str(ROOT), env=child_env(), stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, start_new_session=True)
            try:
                log, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                log, _ = proc.communicate()
                results[name] = {"error": f"timed out after {timeout:.0f} s", "seconds": time.perf_counter() - started}
                print("  ✗ timed out", flush=True)
                continue
            if out.exists():
                result = json.loads(out.read_text(encoding="utf-8"))
            else:
                result = {"error": f"the child exited with code {proc.returncode}", "log": tail(log, 30)}
        result.setdefault("seconds", time.perf_counter() - started)
        results[name] = result
        status = ("skipped: " + result["skipped"]) if "skipped" in result else (
            ("ERROR " + result["error"]) if "error" in result else "ok")
        over = "  (over the 2-minute budget)" if result["seconds"] > LIMIT_S and "error" not in result else ""
        load = result.get("load_avg_1m")
        shown = f", load average {load[0]:.1f} → {load[1]:.1f} on {os.cpu_count()} CPUs" if load else ""
        print(f"  {status} in {result['seconds']:.0f} s{shown}{over}", flush=True)
    return results
