import io
import zipfile

import numpy as np
import pytest

from layerlab.data.image_cache import load_images
from layerlab.data.images import decode_image, open_images
from layerlab.data.split import split_indices
from layerlab.data.zipsafe import extract_zip
from layerlab.errors import DataError
from layerlab.spec import ImagePrep, SplitSpec
from tests.engine.imagezips import class_image, encode, make_class_zip


def test_digits_sample():
    src = open_images("sample:digits")
    assert len(src) == 1797 and src.class_names == [str(i) for i in range(10)]
    assert src.suggest_prep() == ImagePrep(height=8, width=8, color="grayscale")
    data = load_images(src, ImagePrep(height=8, width=8, color="grayscale"))
    assert data.images.shape == (1797, 8, 8, 1) and data.images.dtype == np.uint8 and data.images.max() == 255


def test_zip_of_class_folders_mixed_formats_and_modes(tmp_path):
    z = make_class_zip(tmp_path / "d.zip", classes=3, per_class=14, wrapper="dataset/",
                       extras={"dataset/class_0/broken.png": b"\x89PNG not really", "dataset/readme.txt": b"hi",
                               "dataset/class_1/notes.txt": b"x"})
    src = open_images(str(z))
    assert src.class_names == ["class_0", "class_1", "class_2"]
    assert sum(src.counts().values()) == 43  # 42 images + the broken png
    prep = src.suggest_prep()
    assert (prep.height, prep.width, prep.color) == (48, 48, "rgb")
    data = load_images(src, prep)
    assert data.images.shape == (42, 48, 48, 3)
    reasons = dict(data.skipped)
    assert "broken.png" in reasons and "class_1/notes.txt" in reasons and "readme.txt" in reasons


def test_grayscale_conversion_and_transparency():
    rgba = np.zeros((10, 12, 3), np.uint8)
    png = encode(rgba, "PNG", "RGBA")
    arr = decode_image(png, ImagePrep(height=8, width=8, color="grayscale"))
    assert arr.shape == (8, 8, 1)
    assert decode_image(png).shape == (10, 12, 3)


def test_animated_gif_uses_first_frame():
    from PIL import Image

    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    arr = decode_image(buf.getvalue())
    assert arr[0, 0, 0] > 200 and arr[0, 0, 2] < 50


def test_decompression_bomb_refused(monkeypatch):
    monkeypatch.setenv("LAYERLAB_IMAGE_PIXELS", "1000")
    with pytest.raises(DataError, match="limit of 1,000"):
        decode_image(encode(np.zeros((100, 100, 3), np.uint8), "PNG"))


def test_no_images_or_one_class_refused(tmp_path):
    empty = tmp_path / "e.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("a/readme.txt", "hello")
    with pytest.raises(DataError, match="No images found"):
        open_images(str(empty))
    one = make_class_zip(tmp_path / "one.zip", classes=1, per_class=5)
    with pytest.raises(DataError, match="Only one class"):
        open_images(str(one))
    with pytest.raises(DataError, match="not a zip"):
        (tmp_path / "x.txt").write_text("x")
        open_images(str(tmp_path / "x.txt"))


def test_zip_path_traversal_and_symlinks_stay_inside(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../escape.png", b"x")
        zf.writestr("/abs.png", b"x")
        zf.writestr("ok/a.png", encode(class_image(0, np.random.default_rng(0)), "PNG"))
        link = zipfile.ZipInfo("ok/link.png")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    dest, skipped = extract_zip(z, tmp_path / "out")
    assert not (tmp_path / "escape.png").exists()
    assert {p.name for p in dest.rglob("*") if p.is_file()} == {"a.png"}
    assert {name for name, _ in skipped} == {"../escape.png", "/abs.png", "ok/link.png"}


def test_zip_bomb_refused_before_extracting(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_EXTRACTED_MB", "1")
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/zeros.png", b"\0" * (5 * 2**20))
    with pytest.raises(DataError, match="limit"):
        extract_zip(z, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_stratified_split_is_seeded_and_disjoint():
    labels = np.repeat(np.arange(4), [50, 30, 12, 3])
    a = split_indices(len(labels), SplitSpec(seed=1), labels)
    b = split_indices(len(labels), SplitSpec(seed=1), labels)
    assert all(np.array_equal(x, y) for x, y in zip((a.train, a.validation, a.test), (b.train, b.validation, b.test)))
    allidx = np.concatenate([a.train, a.validation, a.test])
    assert len(allidx) == len(set(allidx.tolist())) == len(labels)
    for part in (a.train, a.validation, a.test):
        assert set(labels[part].tolist()) == {0, 1, 2, 3}  # every class in every part
    assert abs(len(a.test) / len(labels) - 0.15) < 0.05


def test_split_refuses_class_with_one_example():
    with pytest.raises(DataError, match="fewer than 2"):
        split_indices(5, SplitSpec(), np.array([0, 0, 0, 0, 1]))


def test_a_class_with_one_example_is_named_not_numbered():
    with pytest.raises(DataError, match="The class `zebra` has fewer than 2 examples"):
        split_indices(5, SplitSpec(), np.array([0, 0, 0, 0, 1]), ["cat", "zebra"])
    with pytest.raises(DataError, match="The classes `cat`, `zebra` have fewer than 2 examples each"):
        split_indices(6, SplitSpec(), np.array([0, 1, 2, 2, 2, 2]), ["cat", "zebra", "dog"])


def test_a_table_whose_rare_class_has_one_row_names_it(tmp_path):
    import pandas as pd

    from layerlab.prep.prepare import prepare
    from layerlab.project import new_project

    rows = [{"weight": (i % 7) * 1.5, "animal": "cat" if i % 2 else "dog"} for i in range(40)] + [{"weight": 2.5, "animal": "okapi"}]
    pd.DataFrame(rows).to_csv(tmp_path / "animals.csv", index=False)
    spec = new_project(str(tmp_path / "animals.csv"), target="animal", task="classification")
    with pytest.raises(DataError, match="`okapi`"):
        prepare(spec)


def test_test_duplicates_of_training_examples_are_dropped():
    from layerlab.data.split import Split, drop_test_duplicates

    split = Split(np.array([0, 1, 2]), np.array([3]), np.array([4, 5, 6]))
    keys = np.array(["a", "b", "c", "d", "a", "e", "c"], dtype=object)
    new, dropped = drop_test_duplicates(split, keys)
    assert dropped == 2 and new.test.tolist() == [5] and new.train.tolist() == [0, 1, 2]
    same, none = drop_test_duplicates(Split(split.train, split.validation, np.array([4])), keys)
    assert none == 0 and same.test.tolist() == [4]  # never empties the test set


def test_nested_zip_encrypted_zip_and_too_many_members(tmp_path, monkeypatch):
    inner = tmp_path / "inner.zip"
    make_class_zip(inner, classes=2, per_class=3)
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "a/inner.zip")
        zf.writestr("a/x.png", encode(class_image(0, np.random.default_rng(0)), "PNG"))
    dest, skipped = extract_zip(outer, tmp_path / "o")
    assert ("a/inner.zip", "zips inside the zip are not opened") in skipped
    # An encrypted member: set the flag bit the way encrypting tools do.
    enc = tmp_path / "enc.zip"
    with zipfile.ZipFile(enc, "w") as zf:
        zf.writestr("a/secret.png", b"x")
    raw = bytearray(enc.read_bytes())
    for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # the 'encrypted' flag in both headers
        i = raw.find(sig)
        raw[i + at] |= 0x1
    enc.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="password"):
        extract_zip(enc, tmp_path / "e")
    monkeypatch.setenv("LAYERLAB_ZIP_MEMBERS", "1000")
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(3000):
            zf.writestr(f"c{i % 2}/{i}.png", b"")
    with pytest.raises(DataError, match="3,000 entries"):
        extract_zip(many, tmp_path / "m")
    assert not (tmp_path / "m").exists()
