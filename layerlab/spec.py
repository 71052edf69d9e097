"""The project spec: the one versioned document that holds a user's work.

Widgets edit it, the engine consumes it, and the same JSON file trains headless
(`python -m layerlab train project.json`). `load_spec` is the one entry point: it
upgrades old versions, fills defaults, validates, and names the field at fault.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from layerlab.errors import SpecError
from layerlab.settings import limits

SPEC_VERSION = 1

DataKind = Literal["images", "table", "text", "series"]
Task = Literal["classification", "regression", "forecasting"]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _ui(label: str, **extra: Any) -> dict[str, Any]:
    """A field's words for the UI (read by spec_meta): its label, and optionally `choices`
    ({value: words}), `step`, `log`, or `limit` (the server limit that caps it)."""
    return {"label": label, **extra}


SCALES = {"standardize": "Standardise (mean 0, spread 1)", "minmax": "Min–max (0 to 1)", "none": "No scaling"}


class DataSpec(_Base):
    """Where the data comes from and what each part of it means."""

    kind: DataKind = "images"
    source: str = Field(min_length=1, max_length=4096, description="`sample:NAME`, or a path to a file or folder")
    task: Task = "classification"
    target: str | None = Field(None, max_length=500, description="label column of a table")
    text: str | None = Field(None, max_length=500, description="text column")
    date: str | None = Field(None, max_length=500, description="date/time column of a series")
    features: list[str] | None = Field(None, description="columns used as inputs; None means all but target/ignored")
    ignore: list[str] = Field(default_factory=list)


class ImagePrep(_Base):
    height: int = Field(32, ge=4, le=512, json_schema_extra=_ui("Height"), description=(
        "Height every image is resized to, in pixels. Smaller trains faster; too small loses detail."))
    width: int = Field(32, ge=4, le=512, json_schema_extra=_ui("Width"),
                       description="Width every image is resized to, in pixels.")
    color: Literal["grayscale", "rgb"] = Field("rgb", json_schema_extra=_ui("Colour"), description=(
        "Grayscale keeps one channel (faster, enough for digits or scans); RGB keeps colour."))
    rescale: bool = Field(True, json_schema_extra=_ui("Rescale pixels to 0–1"), description=(
        "Divide pixel values by 255 so they lie between 0 and 1: networks learn much better from small numbers."))


class TablePrep(_Base):
    impute_numeric: Literal["mean", "median", "constant"] = Field(
        "median", description="What replaces a missing number. The median is robust to outliers.",
        json_schema_extra=_ui("Fill missing numbers with", choices={
            "median": "Median (middle value)", "mean": "Mean (average)", "constant": "A fixed value"}))
    fill_value: float = Field(0.0, ge=-1e12, le=1e12, json_schema_extra=_ui("Fill value", step=1.0),
                              description="The number that replaces missing numbers (impute_numeric 'constant').")
    impute_categorical: Literal["most_frequent", "missing_token"] = Field(
        "missing_token", description="What replaces a missing category.",
        json_schema_extra=_ui("Fill missing categories with", choices={
            "missing_token": "Its own category, “[missing]”", "most_frequent": "The most frequent category"}))
    scale: Literal["standardize", "minmax", "none"] = Field(
        "standardize", json_schema_extra=_ui("Scale numbers", choices=SCALES), description=(
            "Networks learn best from numbers of similar size; scaling is learned on the training rows."))
    encode: Literal["one_hot", "integer", "embedding"] = Field(
        "one_hot", description="How categories become numbers. One-hot suits few categories; an embedding suits many.",
        json_schema_extra=_ui("Encode categories", choices={
            "one_hot": "One-hot (one 0/1 value per category)", "integer": "Integer (one number)",
            "embedding": "Embedding (learned vectors)"}))
    embedding_dim: int = Field(4, ge=1, le=64, json_schema_extra=_ui("Embedding size"),
                               description="Length of the learned vector per category.")
    drop_constant_and_ids: bool = Field(True, json_schema_extra=_ui("Drop constant and ID-like columns"), description=(
        "Leave out columns with the same value everywhere, and ID-like columns where every row differs: they teach "
        "the model nothing."))


class TextPrep(_Base):
    lowercase: bool = Field(True, json_schema_extra=_ui("Lower-case"),
                            description="“Good” and “good” become the same word.")
    strip_punctuation: bool = Field(True, json_schema_extra=_ui("Strip punctuation"),
                                    description="Remove punctuation so “good!” and “good” are the same word.")
    # The upper bound is the server's LAYERLAB_VOCABULARY limit, read when a spec is validated (not at import).
    vocab_size: int = Field(10_000, ge=100, json_schema_extra=_ui("Vocabulary size", step=500, log=True,
                                                                   limit="vocabulary"), description=(
        "How many of the most frequent words the model knows; the rest become one 'unknown' word."))
    sequence_length: int = Field(120, ge=4, le=2_000, json_schema_extra=_ui("Sequence length"), description=(
        "Words per text the model reads: longer texts are cut, shorter ones padded."))
    ngrams: Literal[1, 2] = Field(1, json_schema_extra=_ui("Tokens", choices={
        1: "Single words", 2: "Single words and word pairs"}), description=(
        "Word pairs (“not good”) capture a little word order, at the cost of a larger vocabulary."))

    @field_validator("vocab_size")
    @classmethod
    def _within_vocabulary_limit(cls, value: int) -> int:
        limit = limits().vocabulary
        if value > limit:
            raise ValueError(f"a vocabulary of at most {limit:,} words is allowed on this server (its "
                             f"LAYERLAB_VOCABULARY limit); choose {limit:,} or fewer")
        return value


class SeriesPrep(_Base):
    fill: Literal["interpolate", "ffill", "drop"] = Field(
        "interpolate", description="Missing time steps are added at the series' frequency, then filled this way.",
        json_schema_extra=_ui("Fill missing time steps", choices={
            "interpolate": "Interpolate (a straight line between neighbours)", "ffill": "Repeat the last known value",
            "drop": "Drop the rows (no filling)"}))
    scale: Literal["standardize", "minmax", "none"] = Field(
        "standardize", json_schema_extra=_ui("Scale values", choices=SCALES),
        description="Scaling is learned on the training part of the series only.")
    window: int = Field(24, ge=2, le=2_000, json_schema_extra=_ui("Window length"),
                        description="How many past time steps each forecast looks at.")
    horizon: int = Field(1, ge=1, le=500, json_schema_extra=_ui("Horizon"),
                         description="How many steps ahead to forecast.")
    stride: int = Field(1, ge=1, le=500, json_schema_extra=_ui("Stride"), description=(
        "Steps between the starts of two windows: 1 uses every window; more gives fewer, less similar examples."))
    predict: Literal["change", "level"] = Field(
        "change", json_schema_extra=_ui("Learn to forecast", choices={
            "change": "The change from the last value", "level": "The values themselves"}), description=(
            "Learning the change from each window's last value copes with trends the training part never reached "
            "(a rising CO₂ level, growing sales); the values themselves suit series that stay in one range."))
    targets: list[str] | None = Field(None, description="columns to forecast; None means the data's target column")


class SplitSpec(_Base):
    validation: float = Field(0.15, ge=0.05, le=0.5, json_schema_extra=_ui("Validation share", step=0.05),
                              description="Share held back during training to watch for overfitting "
                                          "(checked after every epoch).")
    test: float = Field(0.15, ge=0.05, le=0.5, json_schema_extra=_ui("Test share", step=0.05),
                        description="Share kept aside until the end, for an honest final score.")
    seed: int = Field(42, ge=0, le=2**31 - 1, json_schema_extra=_ui("Random seed"),
                      description="The same seed gives the same split every time.")
    stratify: bool = Field(True, json_schema_extra=_ui("Keep class balance in each split"),
                           description="Keep each class's share the same in every split.")

    @model_validator(mode="after")
    def _leave_training_data(self) -> "SplitSpec":
        if self.validation + self.test > 0.7:
            raise ValueError("validation + test must leave at least 30% of the data for training")
        return self

    @property
    def train(self) -> float:
        return round(1.0 - self.validation - self.test, 6)


class StepSpec(_Base):
    """One preparation or augmentation step: a registered `type` and its parameters."""

    type: str = Field(min_length=1, max_length=100)
    params: dict[str, Any] = Field(default_factory=dict)


class LayerSpec(_Base):
    """One layer of the model body: a registered `type` and its parameters."""

    type: str = Field(min_length=1, max_length=100)
    params: dict[str, Any] = Field(default_factory=dict)
    name: str | None = Field(None, max_length=100)
    trainable: bool = Field(True, description=(
        "False freezes the layer: its weights stay as they are while training (a pretrained backbone in the first "
        "phase of fine-tuning, or a layer kept from an earlier model). Batch normalisation inside a frozen layer "
        "stays in inference mode."))


class PrepareSpec(_Base):
    image: ImagePrep = Field(default_factory=ImagePrep)
    table: TablePrep = Field(default_factory=TablePrep)
    text: TextPrep = Field(default_factory=TextPrep)
    series: SeriesPrep = Field(default_factory=SeriesPrep)
    class_weights: bool = Field(False, description="weight classes inversely to their frequency while training")
    split: SplitSpec = Field(default_factory=SplitSpec)
    augment: list[StepSpec] = Field(default_factory=list, max_length=20)


class ModelSpec(_Base):
    template: str = Field("small_cnn", max_length=100, json_schema_extra=_ui("Template"),
                          description="The starting model the layers came from.")
    layers: list[LayerSpec] = Field(default_factory=list, max_length=200)
    start_from_run: str | None = Field(None, max_length=64, pattern=r"^[0-9]{8}-[0-9]{6}-[a-f0-9]{6}$", description=(
        "Transfer learning: the body layers came from this earlier run (same data kind), and training starts from "
        "that run's weights for every layer whose name and shape match; the head is new, so the classes or the "
        "target may differ."))


class TrainSpec(_Base):
    # Defaults that learn (#15): up to 100 epochs, stopped when the validation loss has not improved for
    # 5, the best epoch's weights kept, the learning rate halved after 2 epochs without improvement.
    # A saved project keeps the values it holds.
    epochs: int = Field(100, ge=1, le=1000, json_schema_extra=_ui("Epochs"),
                        description="Passes over the training data at most; early stopping usually ends sooner.")
    batch_size: int = Field(32, ge=1, le=4096, json_schema_extra=_ui("Batch size"), description=(
        "Examples per training step. Larger is faster per epoch but needs more memory."))
    optimizer: Literal["adam", "adamw", "sgd", "rmsprop"] = Field(
        "adam", description="How the weights are updated from the gradients. Adam is a good default.",
        json_schema_extra=_ui("Optimizer", choices={
            "adam": "Adam", "adamw": "AdamW", "sgd": "SGD (momentum 0.9)", "rmsprop": "RMSprop"}))
    learning_rate: float = Field(1e-3, gt=0, le=1.0, json_schema_extra=_ui("Learning rate", log=True), description=(
        "Step size of the optimizer (log scale). Too high: the loss jumps or rises; too low: it barely moves."))
    seed: int = Field(42, ge=0, le=2**31 - 1, json_schema_extra=_ui("Seed"),
                      description="The same seed and settings give the same run (on the same machine).")
    lr_schedule: Literal["constant", "plateau", "cosine", "exponential"] = Field(
        "plateau", description="How the learning rate changes during the run.",
        json_schema_extra=_ui("Schedule", choices={
            "constant": "Constant", "plateau": "Lower on plateau", "cosine": "Cosine decay",
            "exponential": "Exponential decay"}))
    lr_decay: float = Field(0.5, gt=0, lt=1, json_schema_extra=_ui("Decay factor"),
                            description="plateau: the factor per cut; exponential: the factor per epoch.")
    early_stopping_patience: int = Field(5, ge=0, le=100, json_schema_extra=_ui("Patience"), description=(
        "Stop after this many epochs without a better value (counted in epochs); 0 turns early stopping off."))
    early_stopping_metric: Literal["val_loss", "val_accuracy", "val_mae"] = Field(
        "val_loss", description="The metric early stopping watches.", json_schema_extra=_ui("Watch", choices={
            "val_loss": "validation loss", "val_accuracy": "validation accuracy", "val_mae": "validation MAE"}))
    restore_best_weights: bool = Field(True, json_schema_extra=_ui("Finish with the best weights"), description=(
        "At the end, go back to the best epoch's weights (from early stopping or the kept checkpoint) instead of "
        "the last epoch's."))
    keep_best_checkpoint: bool = Field(True, json_schema_extra=_ui("Keep the best checkpoint"), description=(
        "Save the weights of the epoch with the lowest validation loss (best.keras)."))
    mixed_precision: bool = Field(False, json_schema_extra=_ui("Mixed precision (float16)"), description=(
        "Compute in float16 with float32 weights: faster and lighter on recent GPUs (no effect on a CPU)."))
    xla: bool = Field(False, json_schema_extra=_ui("XLA compilation"), description=(
        "Compile the training step with XLA; some layers (augmentation, LSTM) turn it off."))
    fast_gpu: bool = Field(False, json_schema_extra=_ui("Fast-GPU profile"), description=(
        "For a recent NVIDIA GPU: compute in bfloat16 (half the memory traffic, float32 weights), compile the "
        "training step with XLA, run several steps per call, and train on 4× larger batches with the learning "
        "rate raised to match. Often 2-4× faster on a GPU; on a CPU it is usually slower."))
    steps_per_execution: int = Field(1, ge=1, le=1000, json_schema_extra=_ui("Steps per call"), description=(
        "Training steps the device runs before coming back to Python: more hides Python's overhead on a fast "
        "GPU; the live curve then moves in jumps of this many steps. The fast-GPU profile uses at least 16."))
    init_from_run: str | None = Field(None, max_length=64, pattern=r"^[0-9]{8}-[0-9]{6}-[a-f0-9]{6}$",
                                      description="fine-tune: start from this run's best weights")
    fine_tune_layers: int = Field(0, ge=0, le=1000, json_schema_extra=_ui("Unfreeze top layers (phase 2)"),
                                  description=(
        "Two-phase fine-tuning: after the first phase (frozen layers stay frozen, only the rest learns), unfreeze "
        "this many of the frozen part's top layers and train again at a lower learning rate. 0 skips phase 2."))
    fine_tune_epochs: int = Field(10, ge=1, le=1000, json_schema_extra=_ui("Phase 2 epochs"),
                                  description="Epochs of the second phase at most (early stopping applies).")
    fine_tune_lr_factor: float = Field(0.1, gt=0, le=1.0, json_schema_extra=_ui("Phase 2 learning-rate factor",
                                                                               log=True), description=(
        "Phase 2's learning rate is the first phase's times this: small steps keep the pretrained weights from "
        "being wrecked."))


class ProjectSpec(_Base):
    version: int = SPEC_VERSION
    name: str = Field("Untitled project", min_length=1, max_length=100)
    data: DataSpec
    prepare: PrepareSpec = Field(default_factory=PrepareSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)

    @model_validator(mode="after")
    def _check_registries(self) -> "ProjectSpec":
        # Imported here: the registries import this module's types for their own checks.
        from layerlab.prep.augment import AUGMENTATIONS
        from layerlab.models.layers import LAYERS

        for i, layer in enumerate(self.model.layers):
            where = f"model.layers[{i}]"
            entry = LAYERS.get(layer.type, f"{where}.type")
            layer.__dict__["params"] = entry.validate(layer.params, f"{where}.params")
        for i, step in enumerate(self.prepare.augment):
            where = f"prepare.augment[{i}]"
            entry = AUGMENTATIONS.get(step.type, f"{where}.type")
            step.__dict__["params"] = entry.validate(step.params, f"{where}.params")
        return self

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(path)
        return path

    def edit(self, **changes: Any) -> "ProjectSpec":
        """A validated copy with dotted-path changes, e.g. edit(**{"train.epochs": 5})."""
        data = self.to_dict()
        for dotted, value in changes.items():
            node = data
            *parents, last = dotted.split(".")
            for key in parents:
                node = node[key]
            node[last] = value
        return load_spec(data)


def _upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Bring an older document up to SPEC_VERSION (version 1 is the first)."""
    version = data.get("version", SPEC_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise SpecError("version", f"expected an integer, received {version!r}.")
    if version > SPEC_VERSION:
        raise SpecError(
            "version",
            f"this project was written by a newer Layerlab (version {version}; this one reads up to {SPEC_VERSION}).",
            "Update Layerlab to open it.",
        )
    if version < 1:
        raise SpecError("version", f"expected a version between 1 and {SPEC_VERSION}, received {version}.")
    return {**data, "version": SPEC_VERSION}


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_spec(source: dict[str, Any] | str | Path | ProjectSpec) -> ProjectSpec:
    """Parse a dict, a JSON text or a JSON file into a validated ProjectSpec.

    Raises:
        SpecError: naming the first field at fault and what was expected.
    """
    if isinstance(source, ProjectSpec):
        return source
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("{")):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SpecError("", f"no project file at {path}.", "Check the path, or create one with `python -m layerlab init`.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError("", f"cannot read the project file {path}: {exc}.") from None
        source = text
    if isinstance(source, str):
        try:
            source = json.loads(source)
        except json.JSONDecodeError as exc:
            raise SpecError("", f"the project file is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
        except RecursionError:
            raise SpecError("", "the project file is nested too deeply to be a project.") from None
    if not isinstance(source, dict):
        raise SpecError("", "a project must be a JSON object with `data`, `prepare`, `model` and `train`.")
    data = _upgrade(dict(source))
    try:
        return ProjectSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = _where(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field; remove it or check its spelling"
        elif err["type"] == "missing":
            msg = "this field is required"
        received = err.get("input")
        shown = repr(received)
        if len(shown) > 80:  # a hostile file's megabyte-long value stays out of the message
            shown = shown[:60] + f"… ({len(shown):,} characters)"
        tail = "" if err["type"] in ("missing", "extra_forbidden") or isinstance(received, dict) else f" (received {shown})"
        raise SpecError(where, f"{msg}{tail}.") from None
