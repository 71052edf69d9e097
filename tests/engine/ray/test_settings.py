"""The executor setting, where a run is said to train, and the warning for a GPU the machine lacks (no cluster)."""

from __future__ import annotations

import pytest

from layerlab.device import missing_gpu
from layerlab.errors import LayerlabError
from layerlab.runs.store import Run
from layerlab.settings import executor, run_gpus
from layerlab.spec import TrainSpec


def _run(**values) -> Run:
    return Run(id="r", name="r", status=values.pop("status", "running"), run_dir="/nowhere", created=0.0, **values)


def test_the_executor_is_local_unless_set_and_a_wrong_name_is_refused(monkeypatch):
    monkeypatch.delenv("LAYERLAB_EXECUTOR", raising=False)
    assert executor() == "local"
    monkeypatch.setenv("LAYERLAB_EXECUTOR", " Ray ")
    assert executor() == "ray"
    monkeypatch.setenv("LAYERLAB_EXECUTOR", "slurm")
    with pytest.raises(LayerlabError, match="Expected one of: local, ray. Received: 'slurm'"):
        executor()


def test_run_gpus_defaults_to_the_cluster_and_reads_a_number(monkeypatch):
    monkeypatch.delenv("LAYERLAB_RUN_GPUS", raising=False)
    assert run_gpus() is None
    monkeypatch.setenv("LAYERLAB_RUN_GPUS", "0.5")
    assert run_gpus() == 0.5


def test_placement_says_where_a_run_trains():
    assert _run().placement == "this machine"
    assert _run(executor="ray", status="starting").placement == "queued in Ray"
    assert _run(executor="ray", node="10.0.0.7 (node ab12cd34) · GPU 0").placement == "Ray node 10.0.0.7 (node ab12cd34) · GPU 0"


def test_a_gpu_asked_for_on_a_machine_without_one_is_named(monkeypatch):
    monkeypatch.delenv("LAYERLAB_EXECUTOR", raising=False)
    monkeypatch.setenv("LAYERLAB_RUN_GPUS", "1")
    assert "asks for 1 GPU(s)" in missing_gpu([])
    assert missing_gpu(["NVIDIA L4, 22 GB"]) is None
    monkeypatch.setenv("LAYERLAB_EXECUTOR", "ray")
    assert missing_gpu([]) is None  # the cluster's nodes have their own GPUs
    monkeypatch.setenv("LAYERLAB_EXECUTOR", "local")
    monkeypatch.delenv("LAYERLAB_RUN_GPUS")
    assert missing_gpu([], TrainSpec()) is None
    assert "fast-GPU profile is on" in missing_gpu([], TrainSpec(fast_gpu=True))


def test_gpus_are_named_with_their_memory(monkeypatch):
    from types import SimpleNamespace

    from layerlab import device

    monkeypatch.setattr(device.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    answer = SimpleNamespace(returncode=0, stdout="NVIDIA H100 80GB HBM3, 81559\nNVIDIA L4, 23034\n")
    monkeypatch.setattr(device.subprocess, "run", lambda *a, **k: answer)
    assert device.gpu_names_quick() == ["NVIDIA H100 80GB HBM3, 80 GB", "NVIDIA L4, 22 GB"]
