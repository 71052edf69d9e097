"""Layerlab's performance benchmarks: one command, one table, one results file.

    python bench/run.py                      # everything (about 15 minutes on a 2-core CPU)
    python bench/run.py --only train,predict # a subset: benchmark names or groups (see --list)
    python bench/run.py --quick              # smoke run: fewer epochs and repetitions
    python bench/run.py --list

Every benchmark runs in a fresh child process (`bench/run.py --child NAME`) with its own
time limit, so one that fails or hangs is reported and the others still run. Ratios are
measured side by side in one run: the two sides alternate (A B, B A, ...) and the median
of the paired ratios is reported, which cancels most of the noise of a shared machine.
Results go to bench/results.json (merged with the figures of benchmarks not run this
time); each figure carries its value, unit, goal, date and the machine it ran on.
See bench/README.md for what each figure means.

This file is the command line only: the benchmarks are in bench/groups/ (one module per group,
each registering itself with `@harness.benchmark`), the harness that runs, times and reports
them in bench/harness/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import registry, report, running
from harness.machine import machine_info, now_iso


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Layerlab benchmarks (see bench/README.md).")
    p.add_argument("--only", help="comma-separated benchmark names or groups")
    p.add_argument("--quick", action="store_true", help="smoke run: fewer epochs and repetitions")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument("--out", type=Path, default=report.RESULTS, help="results file (default bench/results.json)")
    p.add_argument("--timeout", type=float, default=360, help="seconds before a benchmark is stopped")
    p.add_argument("--markdown", action="store_true", help="print the results file's figures as a Markdown table")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    benchmarks = registry.load()
    if args.markdown:
        print(report.markdown(args.out))
        return 0
    if args.child:
        running.run_child(args.child, args.quick, args.out)
        return 0
    if args.list:
        for n, b in benchmarks.items():
            print(f"{n:22s} [{b.group}]  {b.title}")
        return 0
    names = registry.select(args.only)
    machine = machine_info()
    print(f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gb']} GiB, GPU {machine['gpu']}; "
          f"TensorFlow {machine['tensorflow']}, Keras {machine['keras']}; {now_iso()}"
          + (" (quick)" if args.quick else ""), flush=True)
    results = running.run_parent(names, args.quick, args.timeout)
    print()
    report.print_table(results)
    report.save(results, machine, args.quick, args.out)
    print(f"\nWrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
