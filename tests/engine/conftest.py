"""Fixtures shared by the engine tests."""

from __future__ import annotations

from typing import Any, Callable

import pytest


@pytest.fixture
def tiny_info() -> Callable[..., Any]:
    """A small DataInfo per data kind, so model tests need no real data.

    tiny_info("images", shape=(8, 8, 1), classes=3); tiny_info("series", horizon=2, targets=2).
    """
    from layerlab.data.info import DataInfo

    def make(kind: str, task: str | None = None, *, shape: tuple[int, ...] | None = None, classes: int = 3,
             outputs: int = 1, vocab: int = 50, horizon: int = 3, targets: int = 1) -> DataInfo:
        defaults = {"images": (8, 8, 1), "text": (12,), "table": (6,), "series": (10, 2)}
        shape = shape or defaults[kind]
        if kind == "series":
            task = task or "forecasting"
            return DataInfo(kind, task, shape, outputs=horizon * targets,
                            extra={"horizon": horizon, "n_targets": targets})
        task = task or "classification"
        names = [f"c{i}" for i in range(classes)] if task == "classification" else []
        extra = {"vocab_size": vocab, "sequence_length": shape[0]} if kind == "text" else {}
        return DataInfo(kind, task, shape, names, outputs=outputs, extra=extra)

    return make


@pytest.fixture
def tiny_spec() -> Callable[..., Any]:
    """A validated ProjectSpec for a DataInfo, with an optional body of (type, params) pairs."""
    from layerlab.spec import load_spec

    def make(info: Any, layers: list[tuple[str, dict[str, Any]]] | None = None, **train: Any) -> Any:
        body = [{"type": t, "params": p} for t, p in (layers or [])]
        return load_spec({"data": {"kind": info.kind, "source": "sample:test", "task": info.task},
                          "model": {"layers": body}, "train": train})

    return make


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One real finished digits run (3 epochs, in-process), shared by tests that only read it."""
    from layerlab.project import new_project
    from layerlab.runs.store import RunStore
    from layerlab.train.trainer import run_training

    store = RunStore(tmp_path_factory.mktemp("digits-runs"))
    spec = new_project("sample:digits").edit(**{"train.epochs": 3})
    run = run_training(store, store.create(spec).id)
    assert run.status == "completed", run.message
    return run
