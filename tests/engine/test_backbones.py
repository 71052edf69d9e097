"""Pretrained backbones: Keras' weights files, found or refused offline; one block that saves, loads and exports.

No test downloads anything: weights files are made here from a backbone built with `weights=None`,
in the legacy .h5 layout Keras' own downloads use.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from layerlab.errors import LayerlabError
from layerlab.models import backbones
from layerlab.models.backbones import GIVEN, WeightsMissing

ROOT = Path(__file__).resolve().parents[2]
ARCH = "MobileNetV3Small"


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """An empty Keras cache and workspace of this test's own, downloads allowed, and no host that answers."""
    monkeypatch.setenv("LAYERLAB_WEIGHTS_DOWNLOAD", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(backbones, "_REACHABLE", {})
    monkeypatch.setattr(backbones, "_reachable", lambda url, timeout=3.0: False)
    return tmp_path


def make_weights_file(path: Path, architecture: str = ARCH, seed: int = 1) -> list[np.ndarray]:
    """A weights file like Keras' download (legacy .h5 layout, by layer name), of a randomly initialised network."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    from layerlab.models.blocks import Backbone

    keras.utils.set_random_seed(seed)
    network = Backbone(architecture, image_size=32).network
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, network)
    return [np.asarray(w) for w in network.weights]


def _same_hash_as(monkeypatch, path: Path) -> None:
    """Make the weights table name this file's md5 as the one Keras expects (as if it were Keras' download)."""
    import dataclasses
    import hashlib

    arch = backbones.ARCHITECTURES[ARCH]
    name, _, url = arch.file
    monkeypatch.setitem(backbones.ARCHITECTURES, ARCH,
                        dataclasses.replace(arch, file=(name, hashlib.md5(path.read_bytes()).hexdigest(), url)))


def _spec(tiny_spec, info, weights: str = "imagenet", image_size: int = 32):
    return tiny_spec(info, [("Backbone", {"architecture": ARCH, "weights": weights, "image_size": image_size}),
                            ("GlobalAveragePooling2D", {}), ("Dropout", {"rate": 0.5})])


def test_weights_files_are_the_ones_keras_downloads():
    for arch in backbones.ARCHITECTURES.values():
        file = arch.weights_file()
        assert file.url.endswith("/" + file.name) and file.url.startswith("https://storage.googleapis.com/")
        assert len(file.hash) in (32, 64) and file.name.endswith(".h5")
    assert backbones.ARCHITECTURES["MobileNetV3Small"].weights_file().name == \
        "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"
    assert backbones.ARCHITECTURES["EfficientNetB0"].weights_file().name == "efficientnetb0_notop.h5"
    assert backbones.ARCHITECTURES["ResNet50V2"].weights_file().name == \
        "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"


def test_the_weights_table_matches_keras_own_names_hashes_and_addresses():
    """The table names the files without importing TensorFlow (Build runs in the app server); Keras' modules are
    the source of truth, read here as Keras reads them."""
    import importlib

    for arch in backbones.ARCHITECTURES.values():
        mod = importlib.import_module(f"keras.src.applications.{arch.module}")
        file = arch.weights_file()
        assert file.hash == mod.WEIGHTS_HASHES[arch.weights_key][1], arch.name  # [1]: without the classifier
        base = mod.BASE_WEIGHT_PATH if arch.module == "mobilenet_v3" else mod.BASE_WEIGHTS_PATH
        assert file.url == base + file.name, arch.name


def test_a_weights_file_handed_by_path_is_loaded(tmp_path):
    from layerlab.models.blocks import Backbone

    want = make_weights_file(tmp_path / "w.h5")
    block = Backbone(ARCH, image_size=32, weights=str(tmp_path / "w.h5"))
    got = [np.asarray(w) for w in block.network.weights]
    assert len(got) == len(want) and all(np.array_equal(a, b) for a, b in zip(got, want))
    assert block.get_config()["weights"] == "imagenet"


def test_a_made_up_file_in_keras_cache_ends_in_the_offline_message(homes, monkeypatch, tiny_info, tiny_spec):
    """Keras' get_file sees the cached file's hash is wrong and downloads again; offline that fails, and the
    build stops with the message instead of going on with random weights."""
    from keras.src.utils import file_utils

    from layerlab.models.build import BuildError, build_model

    file = backbones.ARCHITECTURES[ARCH].weights_file()
    cached = backbones.keras_cache_dir() / file.name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not really weights")
    tried = []

    def offline(url, *args, **kwargs):
        tried.append(url)
        raise OSError("[Errno -2] Name or service not known")

    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    assert backbones.find_weights(ARCH) is None
    started = time.monotonic()
    with pytest.raises(WeightsMissing) as caught:
        backbones.resolve_weights(ARCH)
    assert tried == [file.url], "Keras tried to download the file again"
    assert time.monotonic() - started < 10
    assert file.name in caught.value.message and "downloading it failed" in caught.value.message
    assert str(backbones.keras_cache_dir()) in caught.value.hint and "upload" in caught.value.hint
    info = tiny_info("images", shape=(16, 16, 3))
    with pytest.raises(BuildError, match="are not on this server"):
        build_model(_spec(tiny_spec, info), info)


def test_missing_weights_give_the_message_before_training(homes, tiny_info, tiny_spec):
    from layerlab.models.build import check_model

    info = tiny_info("images", shape=(16, 16, 3))
    spec = _spec(tiny_spec, info)
    report = check_model(spec, info)  # Build's check never needs the weights
    assert report.ok, report.error
    assert [f.name for f in backbones.missing_weights(spec)] == [backbones.ARCHITECTURES[ARCH].weights_file().name]
    with pytest.raises(WeightsMissing) as caught:
        backbones.require_weights(spec)
    text = caught.value.message + caught.value.hint
    assert "cannot download it (no internet)" in text and str(backbones.keras_cache_dir()) in text
    backbones.require_weights(_spec(tiny_spec, info, weights="none"))  # random weights need no file
    assert backbones.size_note(spec) is None  # 32 pixels: what this block looks at
    big = _spec(tiny_spec, info, image_size=224)
    assert "prepared at 32×32 pixels" in backbones.size_note(big)
    assert backbones.size_note(big.edit(**{"prepare.image.height": 160, "prepare.image.width": 160})) is None


def test_missing_weights_refuse_a_cli_train(homes, tmp_path):
    out = tmp_path / "p.json"
    env = {**os.environ, "LAYERLAB_WEIGHTS_DOWNLOAD": "0"}
    r = subprocess.run([sys.executable, "-m", "layerlab", "init", "--data", "sample:digits", "--template",
                        "mobilenet_v3_small", "-o", str(out)], capture_output=True, text=True, cwd=ROOT, env=env,
                       timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "layerlab", "train", str(out), "--runs-dir", str(tmp_path / "runs")],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False)
    last = r.stderr.strip().splitlines()[-1]  # TensorFlow's start-up lines may come first
    assert r.returncode == 2 and last.startswith("error: ")
    assert "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("*/project.json"))


def test_an_upload_with_keras_hash_is_used_and_its_weights_load(homes, monkeypatch, tiny_info, tiny_spec):
    from layerlab.models.build import build_model

    made = homes / "made.h5"
    want = make_weights_file(made)
    _same_hash_as(monkeypatch, made)
    with pytest.raises(LayerlabError, match="not a weights file"):
        backbones.save_weights_upload(ARCH, "weights.zip", made.read_bytes())
    found = backbones.save_weights_upload(ARCH, "my download.h5", made.read_bytes())
    assert found.checked and backbones.find_weights(ARCH) == found
    info = tiny_info("images", shape=(16, 16, 3))
    spec = _spec(tiny_spec, info)
    assert backbones.missing_weights(spec) == []
    backbones.require_weights(spec)
    model = build_model(spec, info)
    got = [np.asarray(w) for w in model.get_layer("00_backbone").network.weights]
    assert all(np.array_equal(a, b) for a, b in zip(got, want))
    assert "hash checked" in found.describe(ARCH)


def test_an_upload_with_another_hash_is_refused_unless_the_user_chooses_it(homes, tiny_info, tiny_spec):
    made = homes / "mine.h5"
    make_weights_file(made)
    with pytest.raises(LayerlabError, match="not the file Keras expects") as caught:
        backbones.save_weights_upload(ARCH, "mine.h5", made.read_bytes())
    assert "use it anyway" in caught.value.hint
    assert backbones.find_weights(ARCH) is None
    with pytest.raises(LayerlabError, match="does not hold weights that fit"):
        backbones.save_weights_upload(ARCH, "junk.h5", b"junk", use_anyway=True)
    found = backbones.save_weights_upload(ARCH, "mine.h5", made.read_bytes(), use_anyway=True)
    assert not found.checked and backbones.find_weights(ARCH) == found
    lines: list[str] = []
    info = tiny_info("images", shape=(16, 16, 3))
    backbones.fetch_weights(_spec(tiny_spec, info), lines.append)
    assert len(lines) == 1 and GIVEN in lines[0]
    assert GIVEN in backbones.block_summary(ARCH, "imagenet", False)
    assert "frozen" in backbones.block_summary(ARCH, "imagenet", False, 939_120)


def _owners() -> tuple[str, str]:
    from layerlab.identity import new_secret, owner_of

    return owner_of(new_secret()), owner_of(new_secret())


def test_a_file_someone_gave_is_used_for_them_alone(homes, monkeypatch, tiny_info, tiny_spec):
    """An unverified file is its owner's: another session neither finds it, nor checks, starts or builds with it;
    a file with Keras' own hash (the bytes Keras would download) is everyone's."""
    from layerlab.models.build import BuildError, build_model
    from layerlab.runs.runner import start_run
    from layerlab.runs.store import RunStore
    from layerlab.workspace import uploads_dir

    mine, other = _owners()
    made = homes / "mine.h5"
    want = make_weights_file(made, seed=4)
    found = backbones.save_weights_upload(ARCH, "mine.h5", made.read_bytes(), use_anyway=True, owner=mine)
    assert not found.checked and found.path.is_relative_to(uploads_dir(mine))  # named by the owner id, not a secret
    assert backbones.find_weights(ARCH, mine) == found
    assert backbones.find_weights(ARCH, other) is None and backbones.find_weights(ARCH) is None  # nor the CLI's
    info = tiny_info("images", shape=(16, 16, 3))
    spec = _spec(tiny_spec, info)
    assert backbones.missing_weights(spec, owner=mine) == [] and backbones.unavailable_weights(spec, mine) == []
    assert [m.file.name for m in backbones.unavailable_weights(spec, other)] == [found.path.name]
    assert GIVEN in backbones.block_summary(ARCH, "imagenet", False, owner=mine)
    assert GIVEN not in backbones.block_summary(ARCH, "imagenet", False, owner=other)
    store = RunStore(homes / "runs")
    with pytest.raises(WeightsMissing):
        start_run(spec, store, owner=other)
    assert store.list() == []
    with backbones.weights_of(other), pytest.raises(BuildError, match="are not on this server"):
        build_model(spec, info)
    with backbones.weights_of(mine):
        model = build_model(spec, info)
    got = [np.asarray(w) for w in model.get_layer("00_backbone").network.weights]
    assert all(np.array_equal(a, b) for a, b in zip(got, want))

    _same_hash_as(monkeypatch, made)  # now it is Keras' own file: whoever uploads it, everyone has it
    shared = backbones.save_weights_upload(ARCH, "download.h5", made.read_bytes(), owner=other)
    assert shared.checked and backbones.find_weights(ARCH, mine) == shared == backbones.find_weights(ARCH)


@pytest.mark.slow
def test_a_run_trains_with_its_owners_file_and_another_owners_run_does_not(homes):
    """The worker looks for a given file as the run's owner: a project file naming the backbone does not let
    another session's run use it (it fails with the message), while the owner's run trains with it."""
    from layerlab.project import new_project
    from layerlab.runs.store import RunStore
    from layerlab.train.trainer import run_training
    from tests.engine.imagezips import make_class_zip

    mine, other = _owners()
    make_weights_file(homes / "mine.h5")
    backbones.save_weights_upload(ARCH, "mine.h5", (homes / "mine.h5").read_bytes(), use_anyway=True, owner=mine)
    data = make_class_zip(homes / "photos.zip", classes=2, per_class=6, size=32)
    spec = new_project(str(data), template="mobilenet_v3_small")
    layers = spec.to_dict()["model"]["layers"]
    layers[0]["params"]["image_size"] = 32
    spec = spec.edit(**{"model.layers": layers, "train.epochs": 1, "prepare.image.height": 32,
                        "prepare.image.width": 32})
    store = RunStore(homes / "runs")
    refused = run_training(store, store.create(spec, owner=other).id)
    assert refused.status == "failed" and "are not on this server" in (refused.message or "")
    lines: list[str] = []
    trained = run_training(store, store.create(spec, owner=mine).id, echo=lines.append)
    assert trained.status == "completed", trained.message
    assert any(GIVEN in line for line in lines)


def test_the_block_saves_and_loads_without_the_weights_file(homes, tmp_path, tiny_info, tiny_spec):
    """The .keras file holds the weights: loading it needs neither the weights file nor a download."""
    import keras

    from layerlab.models.build import build_model

    made = homes / "mine.h5"
    make_weights_file(made, seed=3)
    backbones.save_weights_upload(ARCH, "mine.h5", made.read_bytes(), use_anyway=True)
    info = tiny_info("images", shape=(16, 16, 1))  # grayscale becomes 3 channels inside
    model = build_model(_spec(tiny_spec, info), info)
    path = tmp_path / "m.keras"
    model.save(path)
    assert b"weights_mobilenet" not in zipfile.ZipFile(path).read("config.json")
    for f in backbones.keras_cache_dir().parent.rglob("*.h5"):
        f.unlink()
    for f in (homes / "home").rglob("*.h5"):
        f.unlink()
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("00_backbone").get_config() == model.get_layer("00_backbone").get_config()
    x = np.random.default_rng(0).random((2, 16, 16, 1), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), np.asarray(model(x, training=False)), atol=1e-5)


def test_pixels_are_mapped_to_the_range_each_network_expects():
    from layerlab.models.backbones import backbone_layer

    mobile = backbone_layer(ARCH, "none", 32, pixel_max=1.0)
    assert (mobile.scale, mobile.offset) == (255.0, 0.0)  # MobileNetV3 rescales 0..255 itself
    resnet = backbone_layer("ResNet50V2", "none", 32, pixel_max=255.0)
    assert resnet.scale == pytest.approx(2 / 255) and resnet.offset == -1.0  # ResNet50V2 wants -1..1


def test_templates_freeze_the_backbone(tiny_info):
    from layerlab.models.templates import template_layers

    info = tiny_info("images", shape=(32, 32, 3))
    for name, arch in (("mobilenet_v3_small", "MobileNetV3Small"), ("efficientnet_b0", "EfficientNetB0"),
                       ("resnet50v2", "ResNet50V2")):
        body = template_layers(name, info)
        assert body[0].type == "Backbone" and body[0].params["architecture"] == arch
        assert body[0].params["weights"] == "imagenet" and body[0].trainable is False
        assert [layer.type for layer in body[1:]] == ["GlobalAveragePooling2D", "Dropout"]
        assert all(layer.trainable for layer in body[1:])


# ---- one real run: the CLI trains a pretrained template, its model takes raw pixels and exports --------------


@pytest.fixture(scope="module")
def backbone_run(tmp_path_factory):
    """`init --template mobilenet_v3_small` and `train` for one epoch on a tiny photo zip, offline, with a weights
    file the user gave (made here from an untrained network)."""
    import json

    from tests.engine.imagezips import make_class_zip

    tmp = tmp_path_factory.mktemp("backbone-run")
    env = {**os.environ, "KERAS_HOME": str(tmp / "keras"), "LAYERLAB_HOME": str(tmp / "home"),
           "LAYERLAB_WEIGHTS_DOWNLOAD": "0"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAYERLAB_HOME", env["LAYERLAB_HOME"])
        mp.setenv("KERAS_HOME", env["KERAS_HOME"])
        make_weights_file(tmp / "mine.h5")
        backbones.save_weights_upload(ARCH, "mine.h5", (tmp / "mine.h5").read_bytes(), use_anyway=True)
    data = make_class_zip(tmp / "photos.zip", classes=2, per_class=10, size=40)
    project = tmp / "p.json"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "layerlab", *args], capture_output=True, text=True, cwd=ROOT,
                              env=env, timeout=600, check=False)

    r = cli("init", "--data", str(data), "--template", "mobilenet_v3_small", "-o", str(project))
    assert r.returncode == 0, r.stderr
    r = cli("train", str(project), "--epochs", "1", "--runs-dir", str(tmp / "runs"))
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["status"] == "completed"
    return Path(summary["run_dir"]), r.stdout


@pytest.mark.slow
def test_cli_trains_a_pretrained_template_and_says_whose_weights(backbone_run):
    from layerlab.runs.files import RunFiles

    run_dir, printed = backbone_run
    assert GIVEN in printed
    spec = RunFiles(run_dir).spec()
    assert spec.model.template == "mobilenet_v3_small" and spec.model.layers[0].trainable is False


@pytest.mark.slow
def test_the_saved_model_takes_raw_pixels_of_any_size(backbone_run, tmp_path):
    from layerlab.inference.predictor import load_predictor
    from tests.engine.imagezips import class_image, encode

    pred = load_predictor(backbone_run[0])
    rng = np.random.default_rng(5)
    for h, w in ((20, 30), (120, 64)):
        out = np.asarray(pred.model(rng.integers(0, 256, (1, h, w, 3)).astype("float32"), training=False))
        assert out.shape == (1, 1) and np.isfinite(out).all()
    files = []
    for i, size in enumerate((24, 90)):
        files.append(tmp_path / f"{i}.png")
        files[-1].write_bytes(encode(class_image(i, rng, size), "PNG"))
    results = pred.predict_files(files)
    assert len(results) == 2 and all("error" not in r for r in results)


@pytest.mark.slow
def test_savedmodel_and_tflite_still_agree_with_keras(backbone_run, tmp_path):
    import tensorflow as tf

    from layerlab.export import _check_inputs, export_run
    from layerlab.inference.predictor import load_predictor

    run_dir = backbone_run[0]
    pred = load_predictor(run_dir)
    lite = export_run(run_dir, "tflite", tmp_path / "m.tflite")  # checks itself against Keras (dropout off)
    assert lite["same_top_class"] and lite["max_abs_diff"] < 1e-3
    saved = export_run(run_dir, "savedmodel", tmp_path / "sm.zip")
    zipfile.ZipFile(saved["path"]).extractall(tmp_path / "sm")
    serve = tf.saved_model.load(str(tmp_path / "sm" / "model" / "1")).signatures["serving_default"]
    x = np.stack(_check_inputs(pred, 3))
    want = np.asarray(pred.model(x, training=False))
    for _ in range(2):  # the same answer each time: dropout is off
        got = next(iter(serve(pixels=tf.constant(x)).values())).numpy()
        np.testing.assert_allclose(got, want, atol=1e-4)


def test_with_internet_keras_downloads_the_file_and_the_log_hears_it(homes, monkeypatch):
    """get_file's real download, from a server on this machine standing in for Google's."""
    import dataclasses
    import functools
    import hashlib
    import http.server
    import threading

    served = homes / "served"
    served.mkdir()
    file = backbones.ARCHITECTURES[ARCH].weights_file()
    data = os.urandom(2_000_000)
    (served / file.name).write_bytes(data)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        arch = backbones.ARCHITECTURES[ARCH]
        url = f"http://127.0.0.1:{server.server_address[1]}/{file.name}"
        monkeypatch.setitem(backbones.ARCHITECTURES, ARCH,
                            dataclasses.replace(arch, file=(file.name, hashlib.md5(data).hexdigest(), url)))
        lines: list[str] = []
        found = backbones.resolve_weights(ARCH, lines.append)
    finally:
        server.shutdown()
        server.server_close()
    assert found.checked and found.path == backbones.keras_cache_dir() / file.name
    assert found.path.read_bytes() == data
    assert lines[0].startswith("Downloading the ImageNet weights") and lines[-1].startswith("Downloaded ")


def test_efficientnet_from_a_file_computes_what_keras_imagenet_model_computes(tmp_path, monkeypatch):
    """Keras adds a rescaling only for weights="imagenet": a weights file must give the same network."""
    import keras
    from keras.src.applications import efficientnet

    from layerlab.models.blocks import Backbone

    path = tmp_path / backbones.ARCHITECTURES["EfficientNetB0"].weights_file().name
    make_weights_file(path, "EfficientNetB0")
    monkeypatch.setattr(efficientnet.file_utils, "get_file", lambda *args, **kwargs: str(path))
    keras_own = keras.applications.EfficientNetB0(include_top=False, weights="imagenet", input_shape=(32, 32, 3))
    ours = Backbone("EfficientNetB0", image_size=32, weights=str(path))
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(ours.network(x, training=False)),
                               np.asarray(keras_own(x, training=False)), rtol=1e-4, atol=1e-5)


def test_weights_in_the_cache_are_found_without_importing_keras(tmp_path):
    """Build and a new photo project ask for the weights in the app server, which never imports TensorFlow."""
    code = f"""
import dataclasses, hashlib, sys
from pathlib import Path
from layerlab.models import backbones
arch = backbones.ARCHITECTURES[{ARCH!r}]
name, _, url = arch.file
cached = Path({str(tmp_path)!r}) / "keras" / "models" / name
cached.parent.mkdir(parents=True)
cached.write_bytes(b"weights" * 1000)
md5 = hashlib.md5(cached.read_bytes()).hexdigest()
backbones.ARCHITECTURES[{ARCH!r}] = dataclasses.replace(arch, file=(name, md5, url))
found = backbones.find_weights({ARCH!r})
assert found is not None and found.checked and found.path == cached, found
backbones.ARCHITECTURES[{ARCH!r}] = dataclasses.replace(arch, file=(name, "0" * 64, url))
assert backbones.find_weights({ARCH!r}) is None  # a sha256 that does not match
print(sorted(m for m in ("keras", "tensorflow") if m in sys.modules))
"""
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras"), "LAYERLAB_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
