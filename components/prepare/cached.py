"""`layerlab.preview` cached per source stamp and settings, so a rerun only unpickles what it draws.

Each function takes the spec (its hashed JSON keys the cache) and the stamp of its source: the
rules are all in `layerlab.preview`, nothing is worked out here.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from components.table_view import read_frame
from layerlab.spec import ProjectSpec, StepSpec, load_spec
from layerlab.workspace import source_stamp


def _frame(spec: ProjectSpec) -> pd.DataFrame:
    return read_frame(spec.data.source, source_stamp(spec.data.source))["frame"]


def _key(spec: ProjectSpec, *parts: str) -> tuple[str, tuple[float, int]]:
    """The spec's data and the preparation parts a preview depends on, as JSON, and the source's stamp."""
    prepare = spec.prepare.model_dump(mode="json")
    chosen = {"data": spec.data.model_dump(mode="json"), "prepare": {p: prepare[p] for p in parts}}
    return json.dumps(chosen, sort_keys=True), source_stamp(spec.data.source)


def _spec(key: str) -> ProjectSpec:
    return load_spec(json.loads(key))


def steps_json(spec: ProjectSpec) -> str:
    """The steps that apply to the project's kind of data, as a cache key."""
    from layerlab.preview import usable_steps

    return json.dumps([s.model_dump(mode="json") for s in usable_steps(spec)])


def _steps(steps: str) -> list[StepSpec]:
    return [StepSpec.model_validate(s) for s in json.loads(steps)]


@st.cache_data(max_entries=32, show_spinner=False)
def _split_sizes(key: str, stamp: tuple[float, int]) -> dict[str, int]:
    from layerlab.preview import image_split_sizes, split_sizes

    spec = _spec(key)
    return image_split_sizes(spec) if spec.data.kind == "images" else split_sizes(_frame(spec), spec)


def split_sizes(spec: ProjectSpec) -> dict[str, int]:
    return _split_sizes(*_key(spec, "split"))


@st.cache_resource(max_entries=4, show_spinner=False)
def _text_sample(key: str, stamp: tuple[float, int]) -> Any:
    """A Keras layer inside: cached as a resource, never changed."""
    from layerlab.preview import text_sample

    spec = _spec(key)
    return text_sample(_frame(spec), spec)


@st.cache_data(max_entries=16, show_spinner=False)
def _text_coverage(key: str, stamp: tuple[float, int]) -> dict[str, Any]:
    from layerlab.preview import text_coverage

    return text_coverage(_text_sample(key, stamp))


def text_coverage(spec: ProjectSpec) -> dict[str, Any]:
    return _text_coverage(*_key(spec, "text", "split"))


@st.cache_data(max_entries=16, show_spinner=False)
def _text_augmented(key: str, stamp: tuple[float, int], steps: str, seed: int) -> pd.DataFrame:
    from layerlab.preview import text_augmented

    return text_augmented(_text_sample(key, stamp), _steps(steps), seed)


def text_augmented(spec: ProjectSpec, seed: int) -> pd.DataFrame:
    return _text_augmented(*_key(spec, "text", "split"), steps_json(spec), seed)


@st.cache_data(max_entries=16, show_spinner=False)
def _table_rows(key: str, stamp: tuple[float, int], steps: str, seed: int) -> dict[str, Any]:
    from components.model_view import describe
    from layerlab.preview import table_rows

    spec = _spec(key)
    return table_rows(_frame(spec), spec, describe(spec), _steps(steps), seed)  # describe: cached column fit


def table_rows(spec: ProjectSpec, seed: int) -> dict[str, Any]:
    return _table_rows(*_key(spec, "table", "text", "series"), steps_json(spec), seed)


@st.cache_data(max_entries=16, show_spinner=False)
def _series_plan(key: str, stamp: tuple[float, int]) -> dict[str, Any]:
    from layerlab.preview import series_plan

    spec = _spec(key)
    return series_plan(_frame(spec), spec)


def series_plan(spec: ProjectSpec) -> dict[str, Any]:
    """Raises DataError when the windows do not fit the series: the check a series edit goes through."""
    return _series_plan(*_key(spec, "series", "split"))


@st.cache_data(max_entries=16, show_spinner=False)
def series_augmented(window: list[list[float]], steps: str, seed: int) -> list[list[float]]:
    from layerlab.preview import series_augmented as augmented

    return augmented(window, _steps(steps), seed)


@st.cache_data(max_entries=32, show_spinner=False)
def _image_examples(key: str, stamp: tuple[float, int], steps: str, seed: int) -> list[tuple[str, list[Any]]]:
    from layerlab.preview import image_examples

    return image_examples(_spec(key), seed)


def image_examples(spec: ProjectSpec, seed: int) -> list[tuple[str, list[Any]]]:
    # The steps are in the key so that a changed step renews the examples.
    return _image_examples(*_key(spec, "image", "split", "augment"), steps_json(spec), seed)
