"""A click on a confusion-matrix cell picks that (true, predicted) pair for the examples below it."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from components.evaluate import confusion

EV = {"class_names": ["cat", "dog", "bird"], "confusion_matrix": [[5, 1, 0], [2, 6, 1], [0, 3, 4]]}


def test_every_cell_marker_carries_its_true_and_predicted_class():
    fig = confusion.confusion_figure(EV["confusion_matrix"], EV["class_names"])
    cells = next(d for d in fig.data if d.name == "cells")
    names = EV["class_names"]
    assert len(cells.customdata) == 9
    for x, y, data in zip(cells.x, cells.y, cells.customdata):
        t, p, count = data[0], data[1], data[2]
        assert (y, x) == (names[t], names[p]) and count == EV["confusion_matrix"][t][p]


def _clicked(payload):
    """The evaluate page's handler run on a selection payload as Streamlit stores it, then the pair pickers."""
    def script(payload, ev):
        import streamlit as st

        from components.evaluate import confusion

        if payload is not None:
            st.session_state["evaluate_confusion"] = payload
            confusion._on_cell_click("evaluate_confusion", "run-1")
        confusion.pick_cell(ev, "run-1")

    at = AppTest.from_function(script, kwargs={"payload": payload, "ev": EV}, default_timeout=30)
    return at.run()


def test_a_click_on_a_cell_sets_the_pair_pickers():
    # Plotly's selection for one point of the "cells" trace: its customdata is [true, predicted, count, share]
    at = _clicked({"selection": {"points": [{"curve_number": 1, "point_index": 5, "x": "bird", "y": "dog",
                                             "customdata": [1, 2, 1, 0.111]}], "point_indices": [5]}})
    assert not at.exception
    true_key, pred_key = confusion.cell_keys("run-1")
    assert (at.selectbox(key=true_key).value, at.selectbox(key=pred_key).value) == (1, 2)


def test_a_click_on_the_heatmap_itself_or_an_empty_selection_keeps_the_default_pair():
    default = confusion.default_cell(EV["confusion_matrix"])
    true_key, pred_key = confusion.cell_keys("run-1")
    for payload in ({"selection": {"points": [{"curve_number": 0, "x": 1, "y": 1}]}},  # no customdata
                    {"selection": {"points": []}}, None):
        at = _clicked(payload)
        assert not at.exception
        assert (at.selectbox(key=true_key).value, at.selectbox(key=pred_key).value) == default
