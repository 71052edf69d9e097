"""Build page: templates, the layer editor (edit, move, duplicate, delete, add) and the live check."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from components.layer_editor import report_dot
from layerlab.project import describe_data, new_project
from layerlab.spec import load_spec

from tests.pages.markdown import plain

# a fresh LAYERLAB_HOME per test; Keras loaded, so the page checks the model at once (tests/pages/conftest.py)
pytestmark = pytest.mark.usefixtures("home", "keras_loaded")

PAGE = "pages/build.py"


@pytest.fixture
def digits(app):
    """The Build page open on the digits sample with its Small CNN."""
    return app(PAGE, state={"project": new_project("sample:digits")})


def _spec(at):
    return at.session_state["project"]


def _types(at) -> list[str]:
    return [layer.type for layer in _spec(at).model.layers]


def _summary(at):
    return at.dataframe[0].value


def _figures(at) -> dict[str, str]:
    """The check's figures as shown: parameters, trainable and memory (written out in the text)."""
    text = " ".join(m.value for m in at.markdown)
    found = re.search(r"\*\*([\d,]+)\*\* parameters, \*\*([\d,]+)\*\* of them trainable, and about "
                      r"\*\*([^*]+)\*\* of memory", text)
    assert found, "the check states the model's size"
    return dict(zip(("Parameters", "Trainable", "Memory"), found.groups()))


def _errors(at) -> str:
    return plain(" ".join(e.value for e in at.error))


def test_build_needs_data_first(app):
    at = app(PAGE)

    assert not at.exception
    assert at.title[0].value == "Build"
    assert "No data chosen yet" in at.info[0].value


def test_build_shows_the_model_its_check_and_diagram(digits):
    at = digits
    from layerlab.models.build import check_model

    spec = _spec(at)
    report = check_model(spec, describe_data(spec))

    assert not at.exception and not at.error
    assert at.title[0].value == "Build"
    assert "fits the data" in at.success[0].value
    table = _summary(at)
    assert list(table.columns) == ["Layer", "Output shape", "Parameters"]
    assert table["Layer"].iloc[0] == "Input" and table["Output shape"].iloc[0] == "(8, 8, 1)"
    assert table["Layer"].iloc[1] == "1. Conv2D" and table["Parameters"].iloc[1] == 320
    assert table["Layer"].iloc[-1] == "Output (Dense)" and table["Output shape"].iloc[-1] == "(10)"
    assert len(table) == len(spec.model.layers) + 2
    assert _figures(at)["Parameters"] == f"{report.total_params:,}"
    assert _figures(at)["Memory"].endswith("MB")
    # the locked ends and one card per body layer, with the layer's shape and size
    text = " ".join(m.value for m in at.markdown)
    assert "**Input** — grayscale images of 8 × 8 pixels" in text
    assert "**Output** — Dense with 10 units and softmax" in text
    assert "**1. Conv2D** :gray[· (8, 8, 32) · 320 params]" in text
    for i in range(len(spec.model.layers)):
        assert at.button(key=f"build.l{i}.delete")
    assert at.button(key="build.l0.up").disabled and at.button(key=f"build.l{len(spec.model.layers) - 1}.down").disabled
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "1. Conv2D" in dot and "Output · Dense" in dot and dot.count("->") == len(spec.model.layers) + 1
    assert any(p.proto.label == "Next: Train" for p in at.get("page_link"))


def test_the_check_shows_its_figures_whole(app):
    """#15 item 8: st.metric cut the figures off in the narrow check column ("397,… 397,… 48.9 …")."""
    from layerlab.models.build import check_model

    spec = new_project("sample:digits").edit(**{"model.layers": [{"type": "Flatten"},
                                                                 {"type": "Dense", "params": {"units": 6000}}]})
    at = app(PAGE, state={"project": spec})
    report = check_model(spec, describe_data(spec))

    assert not at.exception and report.total_params > 100_000
    assert not at.metric, "no figure is drawn as a metric, which cuts long numbers off"
    figures = _figures(at)
    assert figures["Parameters"] == f"{report.total_params:,}" and figures["Trainable"] == f"{report.trainable_params:,}"
    assert figures["Memory"].endswith("MB") and "…" not in figures["Memory"]


def test_editing_a_layer_setting_rechecks_the_model(digits, home: Path):
    at = digits
    dense = _types(at).index("Dense")
    at.button(key=f"build.l{dense}.toggle").click().run()
    units = at.number_input(key=f"build.l{dense}.Dense.units")
    assert units.value == 64 and "neurons" in units.help
    before = _figures(at)["Parameters"]

    units.set_value(32).run()

    assert not at.exception and not at.error
    assert _spec(at).model.layers[dense].params["units"] == 32
    assert _summary(at)["Output shape"].iloc[dense + 1] == "(32)"
    assert _figures(at)["Parameters"] != before
    saved = load_spec(home / "projects" / f"{at.session_state['pid']}.json")
    assert saved.model.layers[dense].params["units"] == 32


def test_deleting_flatten_explains_the_problem_and_the_fix(digits):
    at = digits
    flatten = _types(at).index("Flatten")
    at.button(key=f"build.l{flatten}.delete").click().run()

    assert not at.exception
    assert "Flatten" not in _types(at)
    message = _errors(at)
    assert "needs a flat vector" in message
    assert "Add Flatten or GlobalAveragePooling2D at the end" in message
    assert "Dropout, layer 6" in message, "the message names the layer"
    # shown in the check panel and on the layer card
    assert len(at.error) >= 2
    assert "cannot be built" in at.get("graphviz_chart")[0].proto.spec
    # the code appears once the model can be built again
    at.session_state["build.show_code"] = True
    at.run()
    assert "fix the problem shown above first" in " ".join(i.value for i in at.info)


def test_moving_duplicating_and_adding_layers(digits):
    at = digits
    start = _types(at)

    at.button(key="build.l1.up").click().run()
    assert _types(at) == [start[1], start[0], *start[2:]]
    at.button(key="build.l0.down").click().run()
    assert _types(at) == start

    at.button(key="build.l0.dup").click().run()
    assert _types(at) == [start[0], start[0], *start[1:]]
    assert at.number_input(key="build.l1.Conv2D.filters").value == 32, "the copy opens with its settings"

    # add a BatchNormalization right after the first convolution
    at.selectbox(key="build.add_group").set_value("Core").run()
    at.selectbox(key="build.add_type.Core").set_value("BatchNormalization")
    at.selectbox(key="build.add_position").set_value(1)
    at.button(key="build.add").click().run()

    assert not at.exception and not at.error
    assert _types(at)[:3] == ["Conv2D", "BatchNormalization", "Conv2D"]
    assert _summary(at)["Layer"].iloc[2] == "2. BatchNormalization"
    assert "works as it is" in " ".join(c.value for c in at.caption), "a layer without settings says so"


def test_a_layer_that_does_not_fit_names_itself(digits):
    at = digits
    at.selectbox(key="build.add_group").set_value("Recurrent").run()
    at.selectbox(key="build.add_type.Recurrent").set_value("LSTM")
    at.button(key="build.add").click().run()  # at the end: after Dropout, a flat vector

    assert not at.exception
    assert _types(at)[-1] == "LSTM"
    assert "LSTM (layer 8) needs a sequence" in _errors(at)


def test_applying_a_template_asks_first(digits):
    at = digits
    at.selectbox(key="build.template").set_value("deeper_cnn").run()
    assert "Pairs of Conv2D" in " ".join(c.value for c in at.caption)
    before = _types(at)

    at.button(key="build.apply").click().run()
    assert _types(at) == before, "nothing is replaced before the user confirms"
    assert "Replace your 7 layers" in at.warning[0].value
    at.button(key="build.confirm_no").click().run()
    assert not at.warning and _types(at) == before

    at.button(key="build.apply").click().run()
    at.button(key="build.confirm_yes").click().run()

    assert not at.exception and not at.error
    spec = _spec(at)
    assert spec.model.template == "deeper_cnn"
    assert _types(at) != before and "BatchNormalization" in _types(at)
    assert "fits the data" in at.success[0].value


def test_an_empty_model_can_start_from_a_template(app):
    spec = new_project("sample:digits").edit(**{"model.layers": []})
    at = app(PAGE, state={"project": spec})

    assert not at.exception
    assert "no layers yet" in " ".join(i.value for i in at.info)
    assert "needs a flat vector" in _errors(at)
    at.button(key="build.apply").click().run()  # no layers to lose: no question asked
    assert _types(at)[:2] == ["Conv2D", "MaxPooling2D"]


def test_a_new_image_size_reaches_the_input(app):
    spec = new_project("sample:digits").edit(**{"prepare.image.height": 16, "prepare.image.color": "rgb"})
    at = app(PAGE, state={"project": spec})

    assert not at.exception
    assert _summary(at)["Output shape"].iloc[0] == "(16, 8, 3)"
    assert "colour images of 16 × 8 pixels" in " ".join(m.value for m in at.markdown)


def test_show_code_gives_a_keras_script_to_download(digits):
    at = digits
    assert not at.code, "the code is made only when asked for"
    at.session_state["build.show_code"] = True
    at.run()

    assert not at.exception and not at.error
    code = at.code[0].value
    assert "import keras" in code and "keras.Input(shape=(8, 8, 1)" in code
    assert at.get("download_button")[0].proto.label == "Download the script"


def test_report_dot_draws_a_chain_and_the_failing_layer():
    rows = [{"index": None, "name": "input", "type": "Input", "output_shape": "(8, 8, 1)", "params": 0},
            {"index": 0, "name": "00_conv2d", "type": "Conv2D", "output_shape": "(8, 8, 4)", "params": 40}]
    spec = SimpleNamespace(model=SimpleNamespace(layers=[SimpleNamespace(type="Conv2D"), SimpleNamespace(type="LSTM")]))
    ok = report_dot(SimpleNamespace(rows=rows, ok=True, error_index=None))
    assert ok.startswith("digraph") and "n0 -> n1" in ok and "1. Conv2D\\n(8, 8, 4)\\n40 params" in ok
    bad = report_dot(SimpleNamespace(rows=rows, ok=False, error_index=1), spec)
    assert "layer 2: LSTM\\ncannot be built" in bad and "n1 -> bad" in bad
    head = report_dot(SimpleNamespace(rows=rows, ok=False, error_index=0), spec)
    assert "Output\\ncannot be built" in head, "a built layer is not blamed for the head's problem"


def test_build_works_on_an_uploaded_zip(app, tmp_path: Path):
    import io
    import zipfile

    from PIL import Image

    path = tmp_path / "colours.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for cls, colour in (("red", (200, 20, 20)), ("blue", (20, 20, 200))):
            for i in range(4):
                buf = io.BytesIO()
                Image.new("RGB", (20, 16), colour).save(buf, format="PNG")
                zf.writestr(f"{cls}/{i}.png", buf.getvalue())
    at = app(PAGE, state={"project": new_project(str(path))})

    assert not at.exception and not at.error
    table = _summary(at)
    assert table["Output shape"].iloc[0] == "(16, 20, 3)"
    assert table["Layer"].iloc[-1] == "Output (Dense)" and table["Output shape"].iloc[-1] == "(1)"
    assert "Dense with 1 unit and sigmoid" in " ".join(m.value for m in at.markdown)


@pytest.mark.parametrize("sample, words", [("digits", ("prepared images", "one probability per class")),
                                           ("penguins", ("a row's prepared numbers", "one probability per class")),
                                           ("diabetes", ("a row's prepared numbers", "the predicted number")),
                                           ("sunspots", ("a window of past values", "the next steps"))])
def test_the_intro_names_this_datas_input_and_output(app, sample, words):
    at = app(PAGE, state={"project": new_project(f"sample:{sample}")})
    assert not at.exception
    intro = at.markdown[0].value
    assert all(w in intro for w in words), intro
