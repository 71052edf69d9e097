"""The Prepare page's figures (no AppTest): the split in time and one window before and after."""

from __future__ import annotations

from components.prepare.figures import split_figure, window_figure


def test_the_split_figure_shades_validation_and_test_from_their_first_steps():
    plan = {"x": list(range(100)), "y": [float(i) for i in range(100)], "targets": ["<b>sales</b>"],
            "x_bounds": [70, 85]}
    fig = split_figure(plan, "day")
    assert fig.data[0].name == "&lt;b&gt;sales&lt;/b&gt;", "a column name that looks like HTML shows as text"
    assert [(s.x0, s.x1) for s in fig.layout.shapes] == [(70, 85), (85, 99)]


def test_the_window_figure_shows_the_window_its_augmented_copy_and_the_targets():
    before = [[0.0, 1.0], [0.5, 1.5], [1.0, 2.0]]
    after = [[0.1, 1.0], [0.4, 1.5], [1.1, 2.0]]
    fig = window_figure(before, after, [[2.0], [3.0]], ["a", "b"], [0])
    names = [t.name for t in fig.data]
    assert names == ["a (window)", "a (augmented)", "b (window)", "b (augmented)", "a (to forecast)"]
    assert list(fig.data[0].x) == [-2, -1, 0] and list(fig.data[-1].x) == [1, 2]
