"""What a Ray run carries to its node for a project that starts from an earlier run or a .keras file.

No cluster here (tests/engine/ray/ runs real ones): the app side builds the payload in one LAYERLAB_HOME, that
home is moved away, and the node side (`RunActor`) lays the run out in another, where the trainer's own
steps (`copy_start_weights`, `keras_file.block`) must find everything they read. Nothing is trained.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from layerlab.errors import LayerlabError


def _finished_run(store, spec):
    """A run with an end-to-end model and info.json, as training leaves them (its weights untrained)."""
    from layerlab.models.build import build_model
    from layerlab.prep.prepare import prepare

    run = store.create(spec, owner="a" * 16, name="digits-earlier")
    prepared = prepare(spec)
    prepared.info.save(run.path / "info.json")
    prepared.inference_model(build_model(spec, prepared.info)).save(run.path / "model.keras")
    store.set_status(run.id, "completed")
    return store.get(run.id)


def _kept_file(folder: Path):
    """A .keras file made elsewhere for 8×8 digits, kept in the workspace; (the model, its stored name)."""
    import keras

    from layerlab.models import keras_file

    made = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(3, 3, name="conv"),
                             keras.layers.GlobalAveragePooling2D(name="pool"), keras.layers.Dense(2, name="out")])
    made.save(folder / "made.keras")
    return made, keras_file.store("made.keras", (folder / "made.keras").read_bytes())


def test_a_start_from_project_ships_the_earlier_model_and_the_kept_file(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch):
    import keras

    from layerlab.models import keras_file
    from layerlab.models.build import build_model
    from layerlab.models.start_from import _core_of, copy_start_weights, start_from_run
    from layerlab.project import describe_data, new_project
    from layerlab.runs.ray_executor import RunActor, _payload
    from layerlab.runs.store import RunStore

    app, node = tmp_path / "app", tmp_path / "node"
    monkeypatch.setenv("LAYERLAB_HOME", str(app))
    store = RunStore(app / "runs")
    earlier = _finished_run(store, new_project("sample:digits"))
    from_run = start_from_run(new_project("sample:digits"), earlier, "all-but-1")
    run = store.create(from_run, owner="a" * 16)
    made, stored = _kept_file(tmp_path)
    from_file = store.create(keras_file.start_from_file(new_project("sample:digits"), stored), owner="a" * 16)
    payloads = [_payload(run), _payload(from_file)]
    assert payloads[0]["earlier"]["name"] == "digits-earlier" and not payloads[0]["model_files"]
    assert list(payloads[1]["model_files"]) == [stored] and payloads[1]["earlier"] is None

    app.rename(tmp_path / "app-gone")  # the node cannot read the app's disk
    monkeypatch.setenv("LAYERLAB_HOME", str(node))
    actor = RunActor()
    spec = actor._lay_out_model(dict(payloads[0]["spec"]["model"]), payloads[0])
    assert spec["start_from_run"] != earlier.id and actor.store.get(spec["start_from_run"]).name == "digits-earlier"
    new_spec = from_run.edit(**{"model.start_from_run": spec["start_from_run"]})
    info = describe_data(new_spec)
    core = build_model(new_spec, info)
    logged: list[str] = []
    assert copy_start_weights(core, new_spec, info, actor.store, logged.append) == 7  # as the node's trainer does
    theirs = _core_of(keras.saving.load_model(tmp_path / "app-gone" / "runs" / earlier.id / "model.keras"))
    np.testing.assert_array_equal(core.get_layer("00_conv2d").get_weights()[0],
                                  theirs.get_layer("00_conv2d").get_weights()[0])

    spec = actor._lay_out_model(dict(payloads[1]["spec"]["model"]), payloads[1])
    assert spec["layers"][0]["params"]["file"] == stored  # kept under the same (content) name on the node
    block = keras_file.block(stored)
    np.testing.assert_array_equal(block.get_layer("conv").get_weights()[0], made.get_layer("conv").get_weights()[0])
    actor.close()


def test_a_missing_or_too_large_file_is_refused_before_anything_is_sent(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch):
    from layerlab.models import keras_file
    from layerlab.project import new_project
    from layerlab.runs.ray_executor import _payload
    from layerlab.runs.store import RunStore
    from layerlab.workspace import model_file

    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path))
    _, stored = _kept_file(tmp_path)
    store = RunStore(tmp_path / "runs")
    run = store.create(keras_file.start_from_file(new_project("sample:digits"), stored), owner="a" * 16)

    monkeypatch.setenv("LAYERLAB_UPLOAD_MB", "0")  # smaller than any file
    with pytest.raises(LayerlabError, match="larger than the 1 MB a model file may be here"):
        _payload(run)
    monkeypatch.delenv("LAYERLAB_UPLOAD_MB")
    model_file(stored).unlink()  # swept, or deleted by hand
    with pytest.raises(LayerlabError, match="is not kept on this server"):
        _payload(run)
