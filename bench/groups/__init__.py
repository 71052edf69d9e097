"""Benchmark modules, one per group; each registers its benchmarks with `@harness.benchmark`.

GROUPS is the order they are imported in, which is the order of `--list`, of a full run and of the
Markdown table. A new benchmark is a new module here plus its name in this list.
"""

GROUPS = (
    "train",
    "gap",
    "pipeline",
    "startup",
    "latency",
    "ingest",
    "scale",
    "predict",
    "accuracy",
    "defaults",
    "serve",
    "load",
    "tune",
    "ray",
    "transfer",
    "classroom",
)
