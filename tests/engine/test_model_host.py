"""The model host: the app server's models run in one separate process, with the same answers and messages as
in-process, and a host that dies is started again (#20: the server never imports TensorFlow)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from layerlab.errors import DataError, LayerlabError
from layerlab.inference import host
from layerlab.inference.remote import ModelHost, own_model, remote_predictor


@pytest.fixture(scope="module")
def model_host(tmp_path_factory: pytest.TempPathFactory):
    """One host for the module (each start imports TensorFlow in a new process)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("LAYERLAB_HOME", str(tmp_path_factory.mktemp("host-home")))
    h = ModelHost()
    try:
        yield h
    finally:
        h.stop()
        mp.undo()


def test_a_users_problem_keeps_its_message_and_hint_and_anything_else_is_logged(caplog):
    def refuse(*_):
        raise DataError("Row 2 holds 'x', which is not a number.", "Give 3 numbers per line.")

    def crash(*_):
        raise ValueError("boom")

    ops = dict(host.OPS)
    try:
        host.OPS.update(refuse=refuse, crash=crash)
        assert host.handle("refuse", ()) == ("error", "data", "Row 2 holds 'x', which is not a number.",
                                             "Give 3 numbers per line.")
        with caplog.at_level(logging.ERROR, logger="layerlab.inference.host"):
            assert host.handle("crash", ()) == ("error", "internal", "ValueError: boom", "")
        assert "Traceback" in caplog.text and "boom" in caplog.text
    finally:
        host.OPS.clear()
        host.OPS.update(ops)


def test_the_host_cache_keeps_the_most_recently_used():
    cache = host._Loaded(2)
    loads: list[str] = []
    for key in ("a", "b", "a", "c", "a", "b"):
        cache.get_or(key, lambda k=key: loads.append(k) or k.upper())
    assert loads == ["a", "b", "c", "b"] and list(cache) == ["a", "b"]


@pytest.mark.slow
def test_a_run_predicts_in_the_host_as_it_does_in_process(digits_run, model_host):
    from layerlab.inference.predictor import load_predictor

    local = load_predictor(digits_run.path)
    remote = remote_predictor(digits_run.path, host=model_host)
    assert model_host.ready() and remote.model is None, "the model lives in the host"
    images = [np.random.default_rng(i).integers(0, 255, (8, 8, 1), dtype=np.uint8) for i in range(3)]
    for got, want in zip(remote.predict_images(images), local.predict_images(images)):
        assert got["label"] == want["label"]
        assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-6)

    with pytest.raises(LayerlabError, match="holds no trained model"):
        remote_predictor(digits_run.path.parent / "nothing-here", host=model_host)


@pytest.mark.slow
def test_a_model_that_cannot_be_loaded_says_so_in_plain_words(digits_run, model_host, tmp_path: Path):
    import shutil

    broken = tmp_path / "broken-run"
    shutil.copytree(digits_run.path, broken)
    (broken / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(LayerlabError, match="could not be loaded") as err:
        remote_predictor(broken, host=model_host)
    assert "Traceback" not in str(err.value)
    assert remote_predictor(digits_run.path, host=model_host), "the host still answers"


@pytest.mark.slow
def test_a_host_that_dies_is_started_again_and_leaves_no_zombie(digits_run, model_host):
    import os

    predictor = remote_predictor(digits_run.path, host=model_host)
    first = model_host.pid
    os.kill(first, 9)
    image = [np.zeros((8, 8, 1), dtype=np.uint8)]
    with pytest.raises(LayerlabError, match="stopped"):
        predictor.predict_images(image)
    assert not Path(f"/proc/{first}").exists(), "the dead host was reaped"
    assert predictor.predict_images(image)[0]["label"] in predictor.info.class_names
    assert model_host.pid != first


@pytest.mark.slow
def test_the_host_ends_when_the_server_closes_its_end(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path))
    h = ModelHost()
    h.wait_ready()
    proc = h._proc
    h._conn.close()  # as when the server process ends
    h._conn = None
    proc.wait(timeout=30)
    assert proc.returncode == 0
    h.stop()
    assert h.pid is None


@pytest.mark.slow
def test_a_model_made_elsewhere_is_checked_here_and_runs_in_the_host(model_host, monkeypatch, tmp_path: Path):
    import keras

    from layerlab.inference import remote

    monkeypatch.setattr(remote, "_HOST", model_host)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    path = tmp_path / "rows.keras"
    model.save(path)
    data = path.read_bytes()
    own = own_model(data, "rows.keras")
    assert (own.kind, own.input_shape, own.output_shape, own.params) == ("rows", (None, 3), (None, 2), 8)
    x = np.array([[1, 2, 3], [4, 5, 6]], dtype="float32")
    assert np.allclose(own.run(x), np.asarray(model(x)), atol=1e-6)
    model_host.call("forget")  # the host forgot it: the next request loads it again from the bytes kept here
    assert own.run(x).shape == (2, 2)
    with pytest.raises(LayerlabError, match="not a Keras model"):
        own_model(b"\x89HDF\r\n\x1a\n" + b"\0" * 200, "m.keras")


@pytest.mark.slow
def test_safe_mode_refuses_a_lambda_in_the_host_when_the_precheck_misses_it(monkeypatch, tmp_path: Path):
    """In-process: the host's own load path, with the config precheck fooled."""
    import keras

    from layerlab.inference import outside

    lam = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Lambda(lambda x: x * 2.0), keras.layers.Flatten(),
                            keras.layers.Dense(2, activation="softmax")])
    lam.save(tmp_path / "lam.keras")
    monkeypatch.setattr(outside, "find_lambda", lambda config: None)
    reply = host.handle("own_load", ("d" * 64, (tmp_path / "lam.keras").read_bytes(), "sneaky.keras"))
    assert reply[:2] == ("error", "user") and "sneaky.keras holds code that would run when loaded" in reply[2]
    host.forget()
