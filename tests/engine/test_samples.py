"""Bundled non-image samples: offline, fast, real, and their default roles match what infer_roles finds."""

from __future__ import annotations

import socket
import time

import pandas as pd
import pytest

from layerlab.data.health import health_report
from layerlab.data.profile import infer_roles, profile
from layerlab.errors import DataError
from layerlab.samples import SAMPLES, get_sample
from layerlab.spec import DataSpec

# name: (kind, rows, task, target, text, date)
EXPECTED = {
    "penguins": ("table", 344, "classification", "species", None, None),
    "diabetes": ("table", 442, "regression", "progression", None, None),
    "tweets": ("text", 38158, "classification", "sentiment", "text", None),
    "sunspots": ("series", 309, "forecasting", "sunspots", None, "year"),
    "co2": ("series", 2225, "forecasting", "co2", None, "date"),
}


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("a sample tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_every_non_image_sample_is_registered_with_words_for_users():
    names = {n for n, s in SAMPLES.items() if s.kind != "images"}
    assert names == set(EXPECTED)
    for name in EXPECTED:
        s = SAMPLES[name]
        assert s.title and s.description and s.source and s.kind == EXPECTED[name][0]
        assert len(s.description) < 300 and "\n" not in s.description


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_loads_offline_fast_and_matches_its_default_roles(name, offline):
    kind, rows, task, target, text, date = EXPECTED[name]
    sample = get_sample(name)
    start = time.perf_counter()
    df = sample.load()
    assert time.perf_counter() - start < 5
    assert isinstance(df, pd.DataFrame) and len(df) == rows
    roles = {"target": target, "text": text, "date": date, "task": task}
    assert sample.defaults == {k: v for k, v in roles.items() if v}
    # The defaults are valid DataSpec fields.
    DataSpec(kind=kind, source=f"sample:{name}", **sample.defaults)

    roles = infer_roles(df, prof=profile(df))
    assert (roles.kind, roles.task, roles.target, roles.text, roles.date) == (kind, task, target, text, date)
    assert not [f for f in health_report(df, roles) if f.level == "error"]


def test_penguins_is_real_and_has_missing_values():
    df = get_sample("penguins").load()
    assert df["species"].value_counts().to_dict() == {"Adelie": 152, "Gentoo": 124, "Chinstrap": 68}
    assert df["sex"].isna().sum() == 11 and df["bill_length_mm"].isna().sum() == 2
    assert infer_roles(df).features == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                       "body_mass_g", "sex", "year"]


def test_tweets_are_clean_text_with_three_labels():
    df = get_sample("tweets").load()
    assert df["sentiment"].value_counts().to_dict() == {"negative": 16186, "neutral": 15018, "positive": 6954}
    text = df["text"].to_numpy(dtype=object)
    assert all(isinstance(t, str) and t.isascii() and t == t.strip() for t in text[:2000])
    found = {f.title for f in health_report(df, infer_roles(df))}
    assert {"Duplicate rows", "Duplicate texts"} <= found


def test_diabetes_matches_scikit_learn():
    from sklearn.datasets import load_diabetes

    ours = get_sample("diabetes").load()
    theirs = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    pd.testing.assert_frame_equal(ours, theirs)


def test_series_samples_have_dates():
    co2 = get_sample("co2").load()
    assert pd.api.types.is_datetime64_any_dtype(co2["date"]) and co2["date"].is_monotonic_increasing
    sun = get_sample("sunspots").load()
    assert sun["year"].tolist()[:3] == [1700, 1701, 1702] and sun["sunspots"].iloc[0] == 5.0


def test_unknown_sample():
    with pytest.raises(DataError, match="no bundled sample called `nope`"):
        get_sample("nope")


def test_digits_are_scikit_learns_read_without_importing_it():
    """Importing scikit-learn costs a page switch ~1 s: the sample reads its file directly."""
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from layerlab.samples import SAMPLES\n"
            "images, labels, classes = SAMPLES['digits'].load()\n"
            "assert 'sklearn' not in sys.modules\n"
            "from sklearn.datasets import load_digits\n"
            "b = load_digits()\n"
            "assert images.shape == (1797, 8, 8, 1) and images.dtype == np.uint8 and images.max() == 255\n"
            "assert (images[..., 0] == np.round(b.images * (255 / 16)).astype('uint8')).all()\n"
            "assert (labels == b.target).all() and classes == [str(c) for c in b.target_names]\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name, horizon", [("sunspots", 5), ("co2", 4)])
def test_series_samples_forecast_several_steps_as_their_descriptions_say(name, horizon):
    from layerlab.project import describe_data, new_project

    spec = new_project(f"sample:{name}")
    assert spec.prepare.series.horizon == horizon
    assert f"next {horizon} " in SAMPLES[name].description
    assert describe_data(spec).outputs == horizon  # the output head forecasts every step
