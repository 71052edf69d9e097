"""The Data page's component helpers (no AppTest): image thumbnails and the figures of each view."""

from __future__ import annotations

import numpy as np

from components.data_preview import class_count_figure, display_image
from components.series_view import frequency_words, series_figure
from components.table_view import class_balance_figure, missing_figure


def test_display_image_blows_up_tiny_images_sharply():
    img = np.arange(64, dtype=np.uint8).reshape(8, 8, 1)
    out = display_image(img, 64)
    assert out.shape == (64, 64)  # one channel squeezed for st.image
    assert (out[:8, :8] == img[0, 0, 0]).all() and (out[-8:, -8:] == img[7, 7, 0]).all()


def test_display_image_keeps_the_aspect_ratio():
    assert display_image(np.zeros((16, 8, 1), np.uint8), 96).shape == (96, 48)
    assert display_image(np.zeros((300, 600, 3), np.uint8), 64).shape == (32, 64, 3)


def test_class_count_figure_is_horizontal_for_many_classes():
    few = class_count_figure({"a": 3, "b": 5})
    assert few.data[0].orientation != "h" and list(few.data[0].y) == [3, 5]
    many = class_count_figure({f"c{i}": i for i in range(20)})
    assert many.data[0].orientation == "h" and list(many.data[0].y) == [f"c{i}" for i in range(20)]


def test_figures_hold_the_data():
    bars = class_balance_figure({"a": 5, "<b>b</b>": 2}, "label")
    assert list(bars.data[0].x) == ["a", "&lt;b&gt;b&lt;/b&gt;"], "a label that looks like HTML shows as text"
    assert list(bars.data[0].y) == [5, 2]
    missing = missing_figure({"x": 0, "y": 3, "z": 1}, rows=10)
    assert list(missing.data[0].y) == ["y", "z"], "complete columns are left out, most missing first"
    assert frequency_words("W-SUN") == "weekly (Sundays)" and frequency_words(None).startswith("irregular")
    many = {"x": list(range(10)), "lines": {"v": list(range(10))}, "gaps": [(i, i, 1) for i in range(200)],
            "freq": None}
    fig = series_figure(many, None)
    assert not fig.layout.shapes and fig.data[-1].name == "missing steps", "many gaps are ticks, not shading"
