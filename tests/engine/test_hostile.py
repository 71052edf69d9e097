"""Hostile input at the engine (issue #7): damaged zips, failing disks, compressed tables that would
unpack to gigabytes, hostile project values and models; plus checks over the code (no pickle, eval or
HTML from users) and the README (every limit documented). The pages' side is in
tests/pages/test_data_hostile.py and tests/pages/test_predict_hostile.py."""

from __future__ import annotations

import ast
import errno
import json
import time
import tracemalloc
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from layerlab.data import zipsafe
from layerlab.data.images import open_images
from layerlab.data.tables import read_table
from layerlab.data.zipsafe import extract_zip
from layerlab.errors import DataError, LayerlabError, SpecError
from layerlab.settings import Limits
from layerlab.spec import load_spec
from tests.engine.hostile import parquet_bomb, xlsx_bomb
from tests.engine.imagezips import class_image, encode, lie_about_sizes, make_class_zip, zip_bytes

ROOT = Path(__file__).resolve().parents[2]


# ---- zips ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["sizes that lie", "damaged data", "cut short"])
def test_a_damaged_member_is_refused_and_nothing_is_left(tmp_path: Path, damage: str):
    big = np.random.default_rng(0).bytes(1 << 20)
    data = zip_bytes({"a/x.png": big, "b/y.png": b"y"})
    if damage == "sizes that lie":
        data = lie_about_sizes(data)
    elif damage == "damaged data":
        raw = bytearray(zip_bytes({"a/x.png": b"hello " * 50_000, "b/y.png": b"y"}))
        raw[100:140] = b"\xff" * 40
        data = bytes(raw)
    else:  # the member's data ends early but the directory is intact: rebuild the zip around a cut member
        raw = bytearray(data)
        end = raw.find(b"PK\x03\x04", 10)  # where the second member starts
        data = bytes(raw[:end - 1000] + raw[end:])
    (tmp_path / "z.zip").write_bytes(data)

    with pytest.raises(DataError) as info:
        extract_zip(tmp_path / "z.zip", tmp_path / "out")
    assert "z.zip is damaged: a/x.png cannot be unpacked" in info.value.message
    assert not (tmp_path / "out").exists(), "what was unpacked is removed"


@pytest.mark.parametrize(("err", "words"), [(errno.ENOSPC, "No space left"), (errno.EROFS, "Read-only")])
def test_a_full_or_read_only_disk_while_unpacking_is_refused_and_nothing_is_left(tmp_path: Path, monkeypatch, err,
                                                                                 words):
    zpath = make_class_zip(tmp_path / "ok.zip", classes=2, per_class=3, size=8)
    real_open = open

    def failing_open(path, mode="r", *args, **kwargs):
        if "w" in mode:
            raise OSError(err, __import__("os").strerror(err))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(zipsafe, "open", failing_open, raising=False)
    with pytest.raises(DataError) as info:
        extract_zip(zpath, tmp_path / "out")
    assert "The server could not unpack ok.zip" in info.value.message and words in info.value.message
    assert "free disk space" in info.value.hint
    assert not (tmp_path / "out").exists()


def test_a_member_name_the_system_cannot_create_is_refused(tmp_path: Path):
    (tmp_path / "long.zip").write_bytes(zip_bytes({f"a/{'x' * 300}.png": b"x", "b/y.png": b"y"}))
    with pytest.raises(DataError, match="holds a file this server cannot create"):
        extract_zip(tmp_path / "long.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---- images ------------------------------------------------------------------------------------------------


def test_examples_report_the_unreadable_files_they_meet(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path / "home"))
    real = encode(class_image(0, np.random.default_rng(0), 16), "PNG")
    zpath = tmp_path / "m.zip"
    zpath.write_bytes(zip_bytes({"a/1.png": real, "a/fake.png": b"\x89PNG nope", "b/1.png": real,
                                 "b/cut.png": real[: len(real) // 2]}))
    src = open_images(str(zpath))
    bad: list[tuple[str, str]] = []
    examples = src.examples(per_class=6, unreadable=bad)
    assert {k: len(v) for k, v in examples.items()} == {"a": 1, "b": 1}
    assert dict(bad).keys() == {"a/fake.png", "b/cut.png"}
    assert "not an image" in dict(bad)["a/fake.png"] and "truncated" in dict(bad)["b/cut.png"]
    assert src.examples(per_class=6).keys() == examples.keys(), "without the list, nothing changes"


# ---- compressed tables ---------------------------------------------------------------------------------


def test_an_xlsx_bomb_is_refused_before_it_is_unpacked():
    data = xlsx_bomb()  # 60 MB of sheet XML in about 0.2 MB; openpyxl would take minutes of CPU
    start = time.perf_counter()
    with pytest.raises(DataError) as info:
        read_table(data, "sheet.xlsx")
    assert time.perf_counter() - start < 2
    assert "sheet.xlsx unpacks" in info.value.message and "zip bomb" in info.value.message
    assert "Save the sheet as CSV" in info.value.hint


def test_an_xlsx_over_the_unpacked_size_limit_is_refused(monkeypatch):
    monkeypatch.setenv("LAYERLAB_EXTRACTED_MB", "1")
    with pytest.raises(DataError, match="would unpack to 2 MB; the limit is 1 MB"):
        read_table(xlsx_bomb(rows=2000), "sheet.xlsx")


def test_a_parquet_bomb_is_refused_from_its_header():
    data = parquet_bomb()  # 102 million zeros (800 MB in memory) in about 2 MB
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            read_table(data, "zeros.parquet")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "510,000 rows × 200 columns" in info.value.message and "the limit is 100,000,000" in info.value.message
    assert "LAYERLAB_CELLS" in info.value.hint
    assert peak < 50 * 2**20, "refused before the values were unpacked"


# ---- project values ----------------------------------------------------------------------------------------


def test_a_huge_value_is_named_but_not_repeated_in_the_message():
    with pytest.raises(SpecError) as info:
        load_spec({"data": {"source": "sample:digits"}, "name": "x" * 1_000_000})
    assert info.value.field == "name" and len(str(info.value)) < 300
    assert "1,000,002 characters" in str(info.value)


def test_a_deeply_nested_project_text_is_refused():
    with pytest.raises(SpecError, match="nested too deeply"):
        load_spec('{"data": ' + "[" * 200_000 + "]" * 200_000 + "}")


# ---- models ------------------------------------------------------------------------------------------------


def _saved(model, path: Path) -> Path:
    model.save(path)
    return path


def test_safe_mode_refuses_lambda_layers_and_unknown_classes(tmp_path: Path):
    import keras

    from layerlab.inference.predictor import load_model_file

    lam = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2.0), keras.layers.Dense(1)])
    with pytest.raises(LayerlabError, match="Lambda"):
        load_model_file(_saved(lam, tmp_path / "lam.keras"))

    plain = _saved(keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="d")]), tmp_path / "plain.keras")
    import zipfile

    with zipfile.ZipFile(plain) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    layer = config["config"]["layers"][-1]
    layer.update(module="evil", class_name="Backdoor", registered_name="evil>Backdoor")
    members["config.json"] = json.dumps(config).encode()
    (tmp_path / "custom.keras").write_bytes(zip_bytes(members))
    with pytest.raises(LayerlabError, match="could not be loaded"):
        load_model_file(tmp_path / "custom.keras")

    (tmp_path / "random.keras").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(LayerlabError, match="could not be loaded"):
        load_model_file(tmp_path / "random.keras")


# ---- the code and the README -------------------------------------------------------------------------------

_UNSAFE_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
_UNSAFE_CALLS = {"eval", "exec", "read_pickle", "html"}  # st.html / components.html render raw HTML
# The one reviewed exception: Streamlit 1.67 can read cookies but not set them, so the owner secret's
# cookie is set by a script whose only interpolated values are the cookie's name (a constant) and a
# `secrets.token_urlsafe` value ([A-Za-z0-9_-] only). Nothing a user typed reaches it.
_ALLOWED_HTML = {("components/state.py", "_keep_cookie")}


def _app_files() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "components").rglob("*.py")),
            *sorted((ROOT / "layerlab").rglob("*.py"))]


def test_nothing_is_loaded_with_pickle_or_eval_and_no_html_is_allowed():
    problems = []
    for path in _app_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        where = path.relative_to(ROOT)
        allowed = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                   and (str(where), f.name) in _ALLOWED_HTML for n in ast.walk(f)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                problems += [f"{where}:{node.lineno} imports {a.name}" for a in node.names
                             if a.name.split(".")[0] in _UNSAFE_MODULES]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in _UNSAFE_MODULES:
                problems.append(f"{where}:{node.lineno} imports from {node.module}")
            elif isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name in _UNSAFE_CALLS and not (name == "html" and id(node) in allowed):
                    problems.append(f"{where}:{node.lineno} calls {name}()")
                for kw in node.keywords:
                    value = kw.value.value if isinstance(kw.value, ast.Constant) else "not a constant"
                    if kw.arg in ("unsafe_allow_html", "allow_pickle") and value is not False:
                        problems.append(f"{where}:{node.lineno} passes {kw.arg}={value}")
                    if kw.arg == "safe_mode" and value is not True:
                        problems.append(f"{where}:{node.lineno} passes safe_mode={value}")
    assert not problems, "\n".join(problems)


def test_every_limit_is_a_setting_documented_in_the_readme_with_its_default():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Limits and safety" in readme
    section = readme.split("## Limits and safety", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip(" `"): line.split("|")[2].strip() for line in section.splitlines()
            if line.startswith("| `LAYERLAB_")}
    for f in fields(Limits):
        name = f"LAYERLAB_{f.name.upper()}"
        assert name in rows, f"{name} is not in README's 'Limits and safety' table"
        assert rows[name] == str(f.default), f"README gives {name} as {rows[name]}, the code as {f.default}"
