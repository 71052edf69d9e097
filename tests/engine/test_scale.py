"""Data larger than memory: images decoded once into a .npy cache on disk, streamed batch by batch.

The streaming path is forced with LAYERLAB_IMAGE_MEMORY_MB=0 on small zips, and compared with
the in-memory path on the same data.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from layerlab.data.image_cache import ImageRows, load_images
from layerlab.data.images import open_images, unpack_images
from layerlab.prep.prepare import prepare
from layerlab.project import new_project
from layerlab.spec import ImagePrep
from tests.engine.imagezips import class_image, encode, make_class_zip


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh LAYERLAB_HOME, so zips are unpacked and decoded anew in each test."""
    path = tmp_path / "home"
    monkeypatch.setenv("LAYERLAB_HOME", str(path))
    return path


@pytest.fixture
def shapes(tmp_path, home):
    """A zip of 3 classes × 14 images (mixed formats and sizes) and one file that is not an image."""
    return make_class_zip(tmp_path / "shapes.zip", classes=3, per_class=14, size=16,
                          extras={"class_1/broken.png": b"\x89PNG not really"})


def _stream(monkeypatch):
    monkeypatch.setenv("LAYERLAB_IMAGE_MEMORY_MB", "0")


def test_images_are_decoded_once_into_a_npy_on_disk_and_reused(shapes, home):
    prep = ImagePrep(height=12, width=12, color="rgb")
    src = open_images(str(shapes))
    first = load_images(src, prep)
    assert not first.from_cache and first.cache is not None
    assert first.cache.is_relative_to(home / "extracted") and first.cache.suffix == ".npy"
    on_disk = np.load(first.cache, mmap_mode="r")
    assert isinstance(on_disk, np.memmap) and on_disk.shape == (43, 12, 12, 3) and on_disk.dtype == np.uint8
    assert isinstance(first.images, np.ndarray) and first.images.shape == (42, 12, 12, 3)  # small: in memory
    assert np.array_equal(on_disk[first.source_indices], first.images)
    assert [n for n, _ in first.skipped] == ["broken.png"]
    stamp = first.cache.stat().st_mtime_ns

    again = load_images(open_images(str(shapes)), prep)
    assert again.from_cache and again.cache.stat().st_mtime_ns == stamp, "the second load decoded nothing"
    assert np.array_equal(again.images, first.images) and np.array_equal(again.hashes, first.hashes)
    assert again.skipped == first.skipped and again.names == first.names

    other = load_images(open_images(str(shapes)), ImagePrep(height=10, width=10, color="grayscale"))
    assert not other.from_cache and other.images.shape == (42, 10, 10, 1), "another preparation, another cache"


def test_decoding_matches_decoding_each_file(shapes, home):
    from layerlab.data.images import decode_image

    prep = ImagePrep(height=9, width=11, color="grayscale")
    src = open_images(str(shapes))
    data = load_images(src, prep)
    for pos in (0, 7, 20, 41):
        assert np.array_equal(data.images[pos], decode_image(src.files[data.source_indices[pos]], prep))


def test_a_large_set_streams_from_disk_and_reads_the_same_pixels(shapes, home, monkeypatch):
    prep = ImagePrep(height=12, width=12, color="rgb")
    in_memory = load_images(open_images(str(shapes)), prep)
    _stream(monkeypatch)
    streamed = load_images(open_images(str(shapes)), prep)
    rows = streamed.images
    assert isinstance(rows, ImageRows) and rows.shape == in_memory.images.shape and len(rows) == 42
    assert np.array_equal(np.asarray(rows), in_memory.images)
    assert np.array_equal(rows[5], in_memory.images[5])
    picks = np.array([40, 3, 4, 5, 0, 17, 3])  # unsorted, runs and a repeat
    assert np.array_equal(rows.take(picks), in_memory.images[picks])
    part = rows[np.array([2, 9, 30])]
    assert isinstance(part, ImageRows) and np.array_equal(np.asarray(part), in_memory.images[[2, 9, 30]])
    assert np.array_equal(np.asarray(rows[10:14]), in_memory.images[10:14])


def _project(path, **edits):
    spec = new_project(str(path))
    return spec.edit(**{"prepare.image.height": 12, "prepare.image.width": 12, "train.batch_size": 8, **edits})


def test_prepare_streams_a_large_set_and_its_parts_stay_on_disk(shapes, home, monkeypatch):
    spec = _project(shapes)
    small = prepare(spec)
    _stream(monkeypatch)
    big = prepare(spec)
    assert isinstance(small.x, np.ndarray) and isinstance(big.x, ImageRows)
    for a, b in zip((small.split.train, small.split.validation, small.split.test),
                    (big.split.train, big.split.validation, big.split.test)):
        assert np.array_equal(a, b), "the same split (and duplicate check) either way"
    x_te, y_te = big.part("test")
    assert isinstance(x_te, ImageRows) and len(x_te) == len(y_te)
    assert np.array_equal(np.asarray(x_te), small.part("test")[0])
    assert any("streamed from disk" in n for n in big.notes) and any("in memory" in n for n in small.notes)


def test_the_streamed_dataset_yields_the_same_batches_as_the_in_memory_one(shapes, home, monkeypatch):
    from layerlab.prep import tf_pipeline

    spec = _project(shapes, **{"prepare.image.rescale": True})
    small = prepare(spec)
    _stream(monkeypatch)
    big = prepare(spec)

    def batches(p, part, training):
        x, y = p.part(part)
        ds = tf_pipeline.make_dataset(p.info, x, y, spec, training=training)
        return [(np.asarray(a), np.asarray(b)) for a, b in ds]

    for part in ("train", "test"):
        want, got = batches(small, part, False), batches(big, part, False)
        assert [b[0].shape for b in got] == [b[0].shape for b in want]
        for (wa, wb), (ga, gb) in zip(want, got):
            assert ga.dtype == np.float32 and np.allclose(ga, wa) and np.array_equal(gb, wb)
            assert ga.max() <= 1.0
    # Training: shuffled, but every example exactly once per epoch, with its own label.
    x_tr, y_tr = small.part("train")
    seen = batches(big, "train", True)
    images = np.concatenate([a for a, _ in seen])
    labels = np.concatenate([b for _, b in seen])
    assert len(images) == len(x_tr)
    order = np.lexsort(images.reshape(len(images), -1).T)
    want_order = np.lexsort((x_tr.astype("float32") / 255.0).reshape(len(x_tr), -1).T)
    assert np.allclose(images[order], x_tr[want_order] / 255.0) and np.array_equal(labels[order], y_tr[want_order])
    assert not np.array_equal(labels, y_tr) or len(set(y_tr.tolist())) == 1, "training batches are shuffled"


@pytest.mark.slow
def test_a_run_trains_on_a_streamed_zip(tmp_path, home, monkeypatch):
    from layerlab.runs.store import RunStore
    from layerlab.train.trainer import run_training

    zpath = make_class_zip(tmp_path / "shapes.zip", classes=3, per_class=30, size=16)
    _stream(monkeypatch)
    spec = _project(zpath, **{"train.epochs": 3, "train.batch_size": 16})
    store = RunStore(tmp_path / "runs")
    lines: list[str] = []
    run = run_training(store, store.create(spec).id, echo=lines.append)
    assert run.status == "completed", run.message
    assert any("streamed from disk" in line for line in lines)
    ev = json.loads((run.path / "evaluation.json").read_text())
    assert ev["accuracy"] > ev["baseline_accuracy"], ev["accuracy"]
    assert len(ev["test_source_indices"]) == ev["n_test"]


def test_unpacking_reports_progress_and_leaves_no_partial_folder(tmp_path, home):
    rng = np.random.default_rng(0)
    z = tmp_path / "many.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for i in range(600):
            zf.writestr(f"c{i % 3}/img_{i:04d}.png", encode(class_image(i % 3, rng, 8), "PNG"))
    seen: list[tuple[float, str]] = []
    unpack_images(str(z), progress=lambda f, text: seen.append((f, text)))
    assert seen and seen[-1] == (1.0, "Unpacked 600 files")
    assert all(0.0 <= f <= 1.0 for f, _ in seen)
    folders = [p.name for p in (home / "extracted").iterdir()]
    assert len(folders) == 1 and not folders[0].startswith("."), folders
    seen.clear()
    unpack_images(str(z), progress=lambda f, text: seen.append((f, text)))
    assert seen == [], "unpacked once per content"
    src = open_images(str(z))
    assert len(src) == 600 and src.class_names == ["c0", "c1", "c2"]
    assert (home / "extracted" / folders[0] / ".layerlab-index.json").exists(), "the listing is kept beside it"
    assert [f.name for f in src.files[:2]] == ["img_0000.png", "img_0003.png"]


def test_decoding_reports_progress(shapes, home):
    seen: list[tuple[float, str]] = []
    load_images(open_images(str(shapes)), ImagePrep(height=8, width=8), progress=lambda f, t: seen.append((f, t)))
    assert seen[-1] == (1.0, "Decoding images (43 of 43)")
    seen.clear()
    load_images(open_images(str(shapes)), ImagePrep(height=8, width=8), progress=lambda f, t: seen.append((f, t)))
    assert seen == [(1.0, "Read 42 decoded images from the cache")]


def test_a_folder_cache_is_renewed_when_its_files_change(tmp_path, home):
    import os

    rng = np.random.default_rng(1)
    for k in range(2):
        (tmp_path / "data" / f"k{k}").mkdir(parents=True)
        for i in range(5):
            (tmp_path / "data" / f"k{k}" / f"{i}.png").write_bytes(encode(class_image(k, rng, 8), "PNG"))
    prep = ImagePrep(height=8, width=8)
    first = load_images(open_images(str(tmp_path / "data")), prep)
    assert first.cache.is_relative_to(home / "image-cache")
    assert load_images(open_images(str(tmp_path / "data")), prep).from_cache
    changed = tmp_path / "data" / "k0" / "0.png"
    changed.write_bytes(encode(np.full((8, 8, 3), 200, np.uint8), "PNG"))
    os.utime(changed, ns=(1, 1))
    renewed = load_images(open_images(str(tmp_path / "data")), prep)
    assert not renewed.from_cache and renewed.images[0].min() == 200


def test_the_listing_matches_sorted_rglob(tmp_path):
    """The fast listing keeps the order (and so the source indices) of the earlier rglob-based one."""
    from pathlib import Path

    from layerlab.data.images import _listing

    root = tmp_path / "d"
    names = ["a/x.png", "a-b/y.png", "a/b/z.png", "a/B.png", "a.b/1.jpg", "A/2.png", "a/.hidden/3.png",
             "a/__MACOSX/4.png", "top.png", "a/readme.txt", "b/Thumbs.db"]
    for n in names:
        (root / n).parent.mkdir(parents=True, exist_ok=True)
        (root / n).write_bytes(b"x")
    classes, skipped = _listing(root)
    old = [str(f.relative_to(root)) for f in sorted(Path(root).rglob("*")) if f.is_file()
           and not any(p in {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"} or p.startswith(".")
                       for p in f.relative_to(root).parts)]
    ours = [rel for c in classes for rel in classes[c]] + [n for n, _ in skipped]
    assert sorted(ours, key=old.index) == old and set(ours) == set(old)
    assert classes["a"] == [r for r in old if r.startswith("a/") and r.endswith(".png")]


# ---- progress reaches the Train page ------------------------------------------------------------------


def test_the_worker_reports_decoding_as_the_runs_message(shapes, home, monkeypatch, tmp_path):
    from components.run_status import progress_text
    from layerlab.prep import prepare as P
    from layerlab.runs.store import RunStore
    from layerlab.runs.worker import PREPARING, _report_preparation

    store = RunStore(tmp_path / "runs")
    run = store.create(_project(shapes))
    store.update(run.id, status="running")
    messages: list[str] = []
    real_beat = store.beat
    monkeypatch.setattr(store, "beat", lambda run_id, **kw: messages.append(kw["message"]) or real_beat(run_id, **kw))
    P.prepare(_project(shapes), _report_preparation(store, run.id, every_s=0.0))
    assert messages and all(m.startswith(PREPARING) for m in messages)
    assert any(m.startswith("Preparing the data: decoding images (") and m.endswith("%") for m in messages)
    assert messages[-1] == "Preparing the data: decoding images (43 of 43), 100%"
    now = store.get(run.id)
    assert now.message == messages[-1] and now.heartbeat, "each report is a heartbeat too"
    assert progress_text(now, []) == messages[-1], "the Train page shows it until the first step"


# ---- tables: the same values, held more compactly --------------------------------------------------


def _mixed_frame(n: int = 300):
    import pandas as pd

    rng = np.random.default_rng(3)
    colour = pd.Series(rng.choice(["red", " green", "blue ", None, ""], n), dtype="str")
    mixed = pd.Series(rng.choice(np.array([1, "1", 2.5, None, "x"], dtype=object), n), dtype=object)
    return pd.DataFrame({"x": rng.normal(size=n), "colour": colour, "mixed": mixed,
                         "label": rng.choice(["a", "b", "c"], n)})


def test_raw_inputs_give_the_same_strings_as_one_str_per_row():
    import pandas as pd

    from layerlab.prep.tabular import raw_inputs

    df = _mixed_frame()
    columns = [{"name": "x", "input": "c0_x", "type": "numeric"},
               {"name": "colour", "input": "c1_colour", "type": "categorical"},
               {"name": "mixed", "input": "c2_mixed", "type": "categorical"}]
    got = raw_inputs(df, columns)
    for c in columns[1:]:
        want = np.array(["" if pd.isna(v) else str(v) for v in df[c["name"]].to_numpy(dtype=object)], dtype=object)
        assert got[c["input"]].dtype == object and got[c["input"]].reshape(-1).tolist() == want.tolist()
    assert len({id(v) for v in got["c1_colour"].reshape(-1)}) <= 5, "each distinct value is one shared string"


def test_categories_reach_the_training_model_as_the_indices_the_saved_model_looks_up():
    # Training gets each category as its vocabulary index, looked up once per distinct value (numbers only
    # in tf.data: tf.distribute cannot carry strings); the saved model looks raw strings up itself.
    from layerlab.prep.tabular import encode_categories, fit_table, raw_inputs
    from layerlab.spec import TablePrep

    df = _mixed_frame()
    fit = fit_table(df.iloc[:200], ["x", "colour", "mixed"], TablePrep())
    raw = raw_inputs(df, fit.columns)
    coded = encode_categories(raw, fit)
    for c in fit.columns:
        got = coded[c["input"]]
        if c["type"] == "numeric":
            assert got is raw[c["input"]]
            continue
        want = fit.lookup(raw)[c["input"]]
        assert got.dtype == np.int64 and got.shape == raw[c["input"]].shape
        assert got.tolist() == np.asarray(want).tolist()
    assert np.allclose(fit.encoder(coded), fit.model(raw))
    assert set(np.unique(coded[fit.columns[-1]["input"]])) <= set(range(len(fit.columns[-1]["categories"]) + 1))


def test_a_prepared_table_keeps_only_its_test_rows_and_shows_the_same_examples(tmp_path):
    from layerlab import evaluate as ev

    df = _mixed_frame(400)
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    spec = new_project(str(path), target="label", task="classification")
    p = prepare(spec)
    frame = p.raw["frame"]
    assert len(frame) == len(p.split.test) and list(p.raw["frame_rows"]) == list(p.split.test)
    assert len(p.names) == 400 and p.names[0] == "row 1" and p.names[-1] == "row 400" and p.names[5:7] == ["row 6", "row 7"]
    report = {"confusion_matrix": [[1]], "predictions": [0] * len(p.split.test),
              "confidences": [0.5] * len(p.split.test), "mistakes": []}
    out = ev.raw_examples(report, p.y[p.split.test], "table", p.raw, p.split.test)
    from layerlab.data.tables import read_table

    full = read_table(str(path)).frame
    rows = [int(p.split.test[i]) for i in out["examples"]["positions"]]
    want = [[ev._cut(ev._plain(v), 1000) for v in r] for r in full[out["examples"]["columns"]].iloc[rows]
            .itertuples(index=False, name=None)]
    assert out["examples"]["rows"] == want


def test_labels_from_distinct_values_match_one_str_per_row():
    import pandas as pd

    from layerlab.prep.prepare import labels as _labels

    for values in (["b", "a", "b", "10", "9"], [3.0, 1.0, 3.0, 2.5], np.array([1, "1", "x", 2], dtype=object),
                   [True, False, False]):
        s = pd.Series(values)
        names = sorted({str(v) for v in s}, key=lambda t: (0, float(t), t) if t.replace(".", "").isdigit() else (1, 0.0, t))
        y, got = _labels(s, "t")
        assert got == names and [got[i] for i in y] == [str(v) for v in s]


def test_rows_sorted_by_class_are_mixed_when_there_are_more_than_the_shuffle_buffer():
    """A buffer of 10,000 alone left a sorted file's epochs starting on one class (or topic)."""
    from layerlab.data.info import DataInfo
    from layerlab.prep import tf_pipeline
    from layerlab.spec import load_spec

    n = 3 * tf_pipeline.SHUFFLE_BUFFER
    y = np.repeat(np.arange(3), n // 3)  # sorted: all of class 0, then 1, then 2
    x = {"v": y.astype("float32").reshape(-1, 1), "id": np.arange(n).reshape(-1, 1)}
    spec = load_spec({"data": {"kind": "table", "source": "sample:test"}, "train": {"batch_size": 256}})
    info = DataInfo("table", "classification", (2,), ["0", "1", "2"])
    first = [b for _, b in tf_pipeline.make_dataset(info, x, y, spec, training=True).take(2)]
    assert all(set(np.asarray(b).tolist()) == {0, 1, 2} for b in first)
    seen = np.concatenate([np.asarray(a["id"]).ravel() for a, _ in tf_pipeline.make_dataset(info, x, y, spec, training=True)])
    assert sorted(seen.tolist()) == list(range(n)), "every row once an epoch"
    (xa, ya), = [next(iter(tf_pipeline.make_dataset(info, x, y, spec, training=True)))]
    assert np.array_equal(np.asarray(xa["v"]).ravel(), np.asarray(ya, dtype="float32")), "rows keep their labels"
    evaluated = next(iter(tf_pipeline.make_dataset(info, x, y, spec, training=False)))[1]
    assert set(np.asarray(evaluated).tolist()) == {0}, "evaluation keeps the order"
