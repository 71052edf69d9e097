"""layerlab/preview.py shows what training does: the same split (stratified with the same class
indices), the same rows left out, the same windows per part."""

from __future__ import annotations

import numpy as np
import pytest

from layerlab import preview
from layerlab.prep.prepare import prepare
from layerlab.prep.series import make_windows, window_parts
from layerlab.project import new_project
from layerlab.samples import SAMPLES


@pytest.mark.parametrize("sample", ["penguins", "tweets"])
def test_split_sizes_are_the_split_training_makes(sample):
    spec = new_project(f"sample:{sample}")
    sizes = preview.split_sizes(SAMPLES[sample].load(), spec)
    prepared = prepare(spec)
    assert sum(sizes.values()) == len(prepared.y)
    assert sizes["train"] == len(prepared.split.train)
    assert sizes["validation"] == len(prepared.split.validation)


def test_series_plan_counts_the_windows_training_cuts():
    spec = new_project("sample:sunspots")
    plan = preview.series_plan(SAMPLES["sunspots"].load(), spec)
    prepared = prepare(spec)
    assert plan["sizes"] == {k: len(getattr(prepared.split, k)) for k in ("train", "validation", "test")}
    assert plan["examples"] and len(plan["examples"][0]["x"]) == spec.prepare.series.window


def test_window_parts_without_cutting_match_make_windows():
    spec = new_project("sample:sunspots")
    values = np.random.default_rng(0).normal(size=(500, 2))
    win = make_windows(values, [0], spec.prepare.series, spec.prepare.split)
    starts, parts, bounds = window_parts(500, spec.prepare.series, spec.prepare.split)
    assert bounds == win.bounds and all(np.array_equal(parts[k], win.parts[k]) for k in parts)
    assert np.array_equal(starts, win.start)


def test_text_coverage_and_augmented_texts():
    spec = new_project("sample:tweets")
    ts = preview.text_sample(SAMPLES["tweets"].load(), spec)
    cov = preview.text_coverage(ts)
    assert 0 < cov["heldout"] <= 1 and cov["vocab"] > 100 and cov["sample"] == len(ts.sample)
    frame = preview.text_augmented(ts, [], seed=1)
    assert list(frame.columns) == ["as the model reads it", "after augmentation"] and len(frame) == 4
