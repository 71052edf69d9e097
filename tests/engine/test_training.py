"""The run lifecycle for real: worker processes, stop, NaN, a killed worker, the CLI."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from layerlab.project import new_project
from layerlab.runs.runner import dispatch, start_run, stop_run, wait
from layerlab.runs.store import RunStore
from layerlab.train.trainer import run_training

ROOT = Path(__file__).resolve().parents[2]


def digits(epochs: int = 1, **train):
    spec = new_project("sample:digits")
    return spec.edit(**{"train.epochs": epochs, **{f"train.{k}": v for k, v in train.items()}})


def _wait_for(cond, timeout=120.0, poll=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(poll)
    return False


@pytest.mark.slow
def test_in_process_run_writes_everything(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(digits(epochs=2), owner="t")
    lines: list[str] = []
    done = run_training(store, run.id, echo=lines.append)
    assert done.status == "completed", done.message
    for name in ("project.json", "info.json", "model.keras", "best.keras", "history.json", "evaluation.json", "log.txt"):
        assert (done.path / name).exists(), name
    ev = json.loads((done.path / "evaluation.json").read_text())
    assert ev["accuracy"] > ev["baseline_accuracy"]
    assert np.array(ev["confusion_matrix"]).sum() == ev["n_test"]
    rows = store.metrics(run.id)
    epochs = [r for r in rows if r["scope"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2] and "val_loss" in epochs[0] and "learning_rate" in epochs[0]
    assert any(r["scope"] == "batch" for r in rows)
    assert done.device and done.test_metrics["accuracy"] == ev["accuracy"]
    assert any(line.startswith("epoch 2") for line in lines)


@pytest.mark.slow
def test_predictor_takes_raw_images_of_any_size(tmp_path):
    from layerlab.data.images import open_images
    from layerlab.inference.predictor import load_predictor
    from tests.engine.imagezips import encode

    store = RunStore(tmp_path)
    run = run_training(store, store.create(digits(epochs=3)).id)
    pred = load_predictor(run.path)
    src = open_images("sample:digits")
    img = src.decode(0)  # a '0'
    big = np.kron(img[..., 0], np.ones((4, 4), np.uint8))  # 32×32, as a user would draw it
    path = tmp_path / "zero.png"
    path.write_bytes(encode(big, "PNG"))
    (tmp_path / "bad.png").write_bytes(b"nope")
    results = pred.predict_files([path, tmp_path / "bad.png"])
    assert set(results[0]["probabilities"]) == set(src.class_names)
    assert abs(sum(results[0]["probabilities"].values()) - 1) < 1e-4
    assert "error" in results[1] and "bad.png" in results[1]["error"]
    # The saved end-to-end model resizes raw pixels itself.
    out = np.asarray(pred.model(big[None, ..., None].astype("float32")))
    assert out.shape == (1, 10)


@pytest.mark.slow
def test_nan_loss_fails_the_run_with_advice(tmp_path, monkeypatch):
    import keras

    import layerlab.models.build as build

    def exploding(model, train, info, **how):  # how: steps per call and XLA (train.speed), unused here
        # A loss that diverges, as a far too high learning rate would make it.
        model.compile(optimizer="adam", loss=lambda y, p: keras.ops.mean(p) * float("nan"), metrics=["accuracy"])

    monkeypatch.setattr(build, "compile_model", exploding)
    store = RunStore(tmp_path)
    run = run_training(store, store.create(digits(epochs=3)).id)
    assert run.status == "failed"
    assert "not a number" in run.message and "learning rate" in run.message
    assert not (run.path / "model.keras").exists()
    assert not (run.path / "last.weights.h5").exists()  # broken weights are no checkpoint to continue from


@pytest.mark.slow
def test_worker_process_stop_keeps_best_weights(tmp_path):
    store = RunStore(tmp_path)
    run = start_run(digits(epochs=200), store, owner="alice")
    assert _wait_for(lambda: any(r["scope"] == "epoch" for r in store.metrics(run.id))), store.get(run.id)
    assert stop_run(store, run.id, owner="mallory") is False
    assert stop_run(store, run.id, owner="alice") is True
    t0 = time.time()
    done = wait(store, run.id, timeout=120)
    assert done.status == "stopped", (done.status, done.message, (done.path / "log.txt").read_text())
    assert time.time() - t0 < 60
    assert done.has_model and (done.path / "best.keras").exists() and done.test_metrics["accuracy"] > 0.5


@pytest.mark.slow
def test_killed_worker_marks_run_failed_and_queue_moves_on(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_CONCURRENT_RUNS", "1")
    store = RunStore(tmp_path)
    first = start_run(digits(epochs=200), store)
    second = start_run(digits(epochs=1), store)
    assert store.get(second.id).status == "queued" and store.queue_position(second.id) == 1
    assert _wait_for(lambda: len(store.metrics(first.id)) > 0)
    os.killpg(store.get(first.id).pid, signal.SIGKILL)
    assert _wait_for(lambda: store.reap() or store.get(first.id).status == "failed", timeout=30)
    assert store.get(first.id).status == "failed" and "ended unexpectedly" in store.get(first.id).message
    dispatch(store)
    done = wait(store, second.id, timeout=180)
    assert done.status == "completed", done.message


def _cli(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "layerlab", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=600)


@pytest.mark.slow
def test_cli_init_train_predict_on_digits(tmp_path):
    project = tmp_path / "p.json"
    r = _cli("init", "--data", "sample:digits", "-o", str(project))
    assert r.returncode == 0, r.stderr
    r = _cli("train", str(project), "--epochs", "2", "--runs-dir", str(tmp_path / "runs"))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(summary) >= {"run_id", "run_dir", "task", "metrics", "model_path"}
    assert summary["task"] == "classification"
    assert summary["metrics"]["accuracy"] > summary["metrics"]["baseline_accuracy"]
    assert "loss" in summary["metrics"]
    assert RunStore(tmp_path / "runs").get(summary["run_id"]).owner == "cli"
    from tests.engine.imagezips import encode
    from layerlab.data.images import open_images

    png = tmp_path / "d.png"
    png.write_bytes(encode(open_images("sample:digits").decode(5)[..., 0], "PNG"))
    r = _cli("predict", summary["run_dir"], str(png))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[0])
    assert out["label"] in [str(i) for i in range(10)] and 0 <= out["confidence"] <= 1


# Every other user error, in-process and quoting only what was typed: tests/engine/test_cli_exits.py.
@pytest.mark.parametrize("args, words", [
    (("train",), "the following arguments are required"),
    (("init", "--data", "/does/not/exist.zip"), "no file or folder"),
])
def test_cli_user_errors_exit_2_with_one_line(args, words):
    """The real entry point (`python -m layerlab`), argparse's own errors included."""
    r = _cli(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_cli_lists_samples_and_templates():
    r = _cli("samples")
    assert r.returncode == 0 and "digits" in r.stdout and "Handwritten digits" in r.stdout
    r = _cli("templates")
    assert r.returncode == 0 and "small_cnn" in r.stdout


@pytest.mark.slow
def test_cli_trains_a_zip_of_500_rgb_images_in_8_classes(tmp_path):
    from tests.engine.imagezips import make_class_zip

    z = make_class_zip(tmp_path / "shapes.zip", classes=8, per_class=63, size=48,
                       extras={"class_3/corrupt.jpg": b"\xff\xd8\xff garbage", "class_5/notes.txt": b"x"})
    project = tmp_path / "p.json"
    r = _cli("init", "--data", str(z), "-o", str(project))
    assert r.returncode == 0, r.stderr
    spec = json.loads(project.read_text())
    assert spec["prepare"]["image"] == {"height": 48, "width": 48, "color": "rgb", "rescale": True}
    r = _cli("train", str(project), "--runs-dir", str(tmp_path / "runs"))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    m = summary["metrics"]
    assert m["accuracy"] >= m["baseline_accuracy"] + 0.5, m
    assert "2 file(s) skipped" in r.stdout and "corrupt.jpg" in r.stdout


@pytest.mark.slow
def test_continue_training_appends_epochs_in_the_same_run(tmp_path):
    from layerlab.runs.runner import continue_run

    store = RunStore(tmp_path)
    run = run_training(store, store.create(digits(epochs=2), owner="a").id)
    with pytest.raises(Exception, match="cannot be continued"):
        continue_run(store, run.id, 2, owner="b")
    continue_run(store, run.id, 2, owner="a")
    done = wait(store, run.id, timeout=180)
    assert done.status == "completed", done.message
    epochs = [r["epoch"] for r in store.metrics(run.id, scope="epoch")]
    assert epochs == [1, 2, 3, 4]
    assert len(json.loads((done.path / "history.json").read_text())["loss"]) == 4


@pytest.mark.slow
def test_fine_tune_starts_from_another_runs_weights(tmp_path):
    store = RunStore(tmp_path)
    base = run_training(store, store.create(digits(epochs=3)).id)
    spec = digits(epochs=1, init_from_run=base.id, learning_rate=1e-4)
    tuned = run_training(store, store.create(spec).id)
    assert tuned.status == "completed", tuned.message
    assert "Starting from the weights of run" in (tuned.path / "log.txt").read_text()
    first = store.metrics(tuned.id, scope="epoch")[0]
    scratch = store.metrics(base.id, scope="epoch")[0]
    assert first["loss"] < scratch["loss"]  # it did not start from random weights


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["plateau", "cosine", "exponential"])
def test_learning_rate_schedules_change_the_rate(tmp_path, schedule):
    store = RunStore(tmp_path)
    run = run_training(store, store.create(digits(epochs=3, lr_schedule=schedule, lr_decay=0.5)).id)
    rates = [r["learning_rate"] for r in store.metrics(run.id, scope="epoch")]
    assert run.status == "completed" and len(rates) == 3
    if schedule != "plateau":
        assert rates[2] < rates[0]


@pytest.mark.slow
def test_a_locked_store_does_not_stop_training(tmp_path):
    """Another process holding the database must not stall or fail a run; rows arrive once it lets go."""
    store = RunStore(tmp_path)
    run = store.create(digits(epochs=2))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time\n"
        f"con = sqlite3.connect({str(store.db_path)!r}, isolation_level=None)\n"
        "con.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(6); con.execute('COMMIT')\n")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    done = run_training(store, run.id)
    holder.wait()
    assert done.status == "completed", done.message
    assert [r["epoch"] for r in store.metrics(run.id, scope="epoch")] == [1, 2]


@pytest.mark.slow
@pytest.mark.parametrize("err, words", [(28, "disk is full"), (30, "read-only")])
def test_a_failing_writer_fails_the_run_with_a_clear_reason(tmp_path, monkeypatch, err, words):
    import errno

    import keras

    def broken_save(self, *args, **kwargs):
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(keras.Model, "save", broken_save)
    store = RunStore(tmp_path)
    done = run_training(store, store.create(digits(epochs=1)).id)
    assert done.status == "failed" and words in done.message
    assert errno.errorcode[err]  # a real errno


@pytest.mark.slow
def test_runs_outlive_the_process_that_started_them(tmp_path):
    """A server restarted mid-run: the worker is in its own session and finishes on its own."""
    spec_path = tmp_path / "p.json"
    digits(epochs=2).save(spec_path)
    code = ("import sys; from layerlab.spec import load_spec; from layerlab.runs.store import RunStore;"
            "from layerlab.runs.runner import start_run;"
            f"r = start_run(load_spec({str(spec_path)!r}), RunStore({str(tmp_path / 'runs')!r})); print(r.id)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    run_id = out.stdout.strip().splitlines()[-1]
    store = RunStore(tmp_path / "runs")
    done = wait(store, run_id, timeout=180)
    assert done.status == "completed", done.message


@pytest.mark.slow
def test_a_corrupt_run_folder_fails_cleanly(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(digits(epochs=1))
    (run.path / "project.json").write_text("{ not json")
    done = run_training(store, run.id)
    assert done.status == "failed" and "not valid JSON" in done.message
    other = run_training(store, store.create(digits(epochs=1)).id)
    assert other.status == "completed"
