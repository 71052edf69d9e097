"""Build page: each kind of stack that cannot work is explained on the page, naming the layer and the fix.

The engine tests (tests/engine/test_build.py) check every message word for word; these check that the
user sees it on the page, on the failing layer's card as well as in the check panel, and that nothing
crashes or trains.
"""

from __future__ import annotations


import pytest

from layerlab.project import new_project

from tests.pages.markdown import plain

# a fresh LAYERLAB_HOME per test; Keras loaded, so the page checks the model at once (tests/pages/conftest.py)
pytestmark = pytest.mark.usefixtures("home", "keras_loaded")

PAGE = "pages/build.py"


def _open(app, source: str, layers: list[tuple[str, dict]]):
    spec = new_project(source).edit(**{"model.layers": [{"type": t, "params": p} for t, p in layers]})
    return app(PAGE, state={"project": spec})


def _errors(at) -> str:
    return plain(" ".join(e.value for e in at.error))


POOL = ("MaxPooling2D", {"padding": "valid"})

CASES = {
    # wrong rank for a convolution: a flat vector reaches Conv2D
    "conv_after_flatten": (
        "sample:digits",
        [("Conv2D", {}), ("Flatten", {}), ("Conv2D", {}), ("Flatten", {})],
        ["Conv2D (layer 3) needs an image-shaped input (height, width, channels)",
         "Remove Flatten (layer 2) so the image shape reaches it, or use Dense."],
    ),
    # wrong rank for a pooling layer: image pooling on a table row
    "pooling_on_a_table": (
        "sample:penguins",
        [("MaxPooling2D", {}), ("Flatten", {})],
        ["MaxPooling2D (layer 1) needs an image-shaped input", "Dense"],
    ),
    # wrong rank for a recurrent layer: images straight into an LSTM
    "recurrent_on_images": (
        "sample:digits",
        [("LSTM", {}), ("Dense", {})],
        ["LSTM (layer 1) needs a sequence", "image-shaped tensor (8, 8, 1)", "Conv2D"],
    ),
    # a recurrent layer after one that returns only its last state
    "recurrent_after_a_non_sequence": (
        "sample:sunspots",
        [("LSTM", {"units": 8}), ("GRU", {"units": 8})],
        ["GRU (layer 2) needs a sequence (steps, features)", "outputs a flat vector of 8",
         "Turn on return_sequences in LSTM (layer 1)"],
    ),
    # attention after the sequence was pooled away
    "attention_without_a_sequence": (
        "sample:tweets",
        [("Embedding", {}), ("GlobalAveragePooling1D", {}), ("TransformerEncoder", {})],
        ["TransformerEncoder (layer 3) needs a sequence (steps, features) to attend over",
         "Remove GlobalAveragePooling1D (layer 2)"],
    ),
    # pooling 8×8 digits four times: 4 → 2 → 1 → nothing
    "shrinks_below_one_pixel": (
        "sample:digits",
        [POOL, POOL, POOL, POOL, ("Flatten", {})],
        ["MaxPooling2D (layer 4) needs at least 2×2 pixels", "the data has shrunk too far", "padding 'same'"],
    ),
    # 8 × 8 × 1,024 values into an 8,192-unit Dense: 537 million weights, far over the parameter limit
    "too_large": (
        "sample:digits",
        [("Conv2D", {"filters": 1024}), ("Flatten", {}), ("Dense", {"units": 8192})],
        ["Dense (layer 3) alone has", "more than the limit of 50,000,000", "GlobalAveragePooling2D instead of Flatten"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_shape_error_is_explained_on_the_page(app, case: str):
    source, layers, phrases = CASES[case]
    at = _open(app, source, layers)

    assert not at.exception
    message = _errors(at)
    for phrase in phrases:
        assert phrase in message, f"{case}: {phrase!r} not in {message!r}"
    assert len(at.error) >= 2, "shown in the check panel and on the failing layer's card"
    assert not at.success, "a model that cannot be built is never called fine"
    assert "cannot be built" in at.get("graphviz_chart")[0].proto.spec
