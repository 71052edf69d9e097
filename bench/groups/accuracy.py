"""Accuracy at defaults: each bundled sample's project as the app creates it, trained in-process, against
a naive baseline (`accuracy_<sample>`), and every other template the same way (`template_<sample>_<template>`)."""

from __future__ import annotations

import time
from typing import Any

from harness import benchmark, fig, workdir
from harness.projects import available_samples, sample_spec


def _accuracy(quick: bool, name: str, template: str | None = None) -> dict[str, Any]:
    """Test metric vs the naive baseline of one sample's project at defaults (or with another template)."""
    import keras  # noqa: F401 - imported before the clock starts, as the worker has it loaded

    from layerlab.runs.store import RunStore
    from layerlab.train.trainer import run_training

    spec = sample_spec(f"sample:{name}", epochs=2 if quick else None)
    if template is not None:
        from layerlab.project import with_template

        spec = with_template(spec, template)
        name = f"{name}.{template}"
    store = RunStore(workdir() / "runs")
    run = store.create(spec)
    t = time.perf_counter()
    final = run_training(store, run.id)
    wall = time.perf_counter() - t
    if final.status != "completed":
        raise RuntimeError(f"training ended {final.status}: {final.message}")
    m = final.test_metrics
    figures = []
    if "accuracy" in m:
        base = m.get("baseline_accuracy")
        figures.append(fig(f"accuracy.{name}.test_accuracy", m["accuracy"], "fraction",
                           f"> {base:.4f}" if base is not None else None, "goal: beat the baseline beside it"))
        figures.append(fig(f"accuracy.{name}.baseline_accuracy", base, "fraction", None,
                           "always predicting the most frequent training class"))
    else:
        base = m.get("baseline_mae")
        unit = spec.data.target or "target units"
        figures.append(fig(f"accuracy.{name}.test_mae", m.get("mae"), unit,
                           f"< {base:.4f}" if base is not None else None, "goal: beat the baseline beside it"))
        figures.append(fig(f"accuracy.{name}.baseline_mae", base, unit, None,
                           "predicting the training mean" if spec.data.kind == "table" else "repeating the last value"))
    figures.append(fig(f"accuracy.{name}.wall_s", wall, "s", None,
                       f"run_training: prepare + {spec.train.epochs} epochs + evaluate + save"))
    return {"figures": figures, "details": {"template": spec.model.template, "epochs": spec.train.epochs,
                                            "test_metrics": m}}


def _register_accuracy() -> None:
    try:
        names = list(available_samples())
    except Exception:  # noqa: BLE001 - the registry must load even if samples cannot
        names = ["digits"]
    for name in names:
        benchmark(f"accuracy_{name}", "accuracy", f"Accuracy at defaults: sample {name}")(
            lambda quick, _n=name: _accuracy(quick, _n))


_register_accuracy()


def _register_templates() -> None:
    """Every template that is not its kind's default, on every sample of its kind, at defaults.

    The defaults are `accuracy_<sample>`; together they show each template trains well as it comes.
    """
    try:
        from layerlab.models.templates import default_template, templates_for

        samples = available_samples()
    except Exception:  # noqa: BLE001 - the registry must load even if samples cannot
        return
    for name, kind in samples.items():
        for t in templates_for(kind):
            if t.name != default_template(kind):
                benchmark(f"template_{name}_{t.name}", "templates", f"Template {t.title} at defaults: sample {name}")(
                    lambda quick, _n=name, _t=t.name: _accuracy(quick, _n, _t))


_register_templates()
