"""Templates: the promised set per data kind, sized to the data, and each one trains a step."""

from __future__ import annotations

import numpy as np
import pytest

from layerlab.errors import SpecError
from layerlab.models.layers import LAYERS
from layerlab.models.templates import TEMPLATES, default_template, template_layers, templates_for

SCRATCH_IMAGES = {"small_cnn", "deeper_cnn", "tiny_vit"}
PRETRAINED_IMAGES = {"mobilenet_v3_small", "efficientnet_b0", "resnet50v2"}  # see test_backbones.py
EXPECTED = {
    "images": SCRATCH_IMAGES | PRETRAINED_IMAGES,
    "text": {"bag_of_embeddings", "bilstm", "gru", "transformer"},
    "table": {"mlp", "mlp_bn_dropout", "residual_mlp"},
    "series": {"lstm_forecaster", "cnn_1d", "transformer_series"},
}
DEFAULTS = {"images": "small_cnn", "text": "bag_of_embeddings", "table": "mlp", "series": "lstm_forecaster"}


def test_each_kind_has_its_templates_default_first():
    for kind, names in EXPECTED.items():
        listed = templates_for(kind)
        assert {t.name for t in listed} == names
        assert listed[0].name == default_template(kind) == DEFAULTS[kind]
        for t in listed:
            assert t.group == kind and t.title and t.help
    assert len(TEMPLATES) == sum(len(v) for v in EXPECTED.values())


def test_unknown_kind_or_template_is_refused_in_plain_words(tiny_info):
    with pytest.raises(SpecError, match="unknown data kind"):
        default_template("audio")
    with pytest.raises(SpecError, match="unknown template `nope`"):
        template_layers("nope", tiny_info("images"))
    with pytest.raises(SpecError, match="for images data, but this project's data is text") as err:
        template_layers("small_cnn", tiny_info("text"))
    assert "bag_of_embeddings" in err.value.hint


def test_template_layers_are_validated_specs(tiny_info):
    layers = template_layers("small_cnn", tiny_info("images"))
    assert [layer.type for layer in layers][:2] == ["Conv2D", "MaxPooling2D"]
    for layer in layers:
        entry = LAYERS.get(layer.type)
        assert set(layer.params) == {p.name for p in entry.params}  # defaults filled in


@pytest.mark.parametrize("shape", [(8, 8, 1), (4, 4, 1), (5, 7, 1), (3, 3, 1), (28, 28, 1), (48, 48, 3),
                                   (128, 128, 3), (64, 32, 3)])
def test_image_templates_fit_any_image_size(shape, tiny_info, tiny_spec):
    from layerlab.models.build import check_model

    info = tiny_info("images", shape=shape, classes=4)
    for name in SCRATCH_IMAGES:
        report = check_model(tiny_spec(info), info, template_layers(name, info))
        assert report.ok, (name, shape, report.error)
        spatial = [r for r in report.rows if r["output_shape"].count(",") == 2]
        assert all(min(int(d) for d in r["output_shape"][1:-1].split(",")[:2]) >= 1 for r in spatial)
        assert report.total_params < 2_000_000, (name, shape, report.total_params)


def test_small_cnn_keeps_small_images_at_two_pixels_or_more(tiny_info):
    layers = template_layers("small_cnn", tiny_info("images", shape=(8, 8, 1)))
    assert [layer.type for layer in layers].count("MaxPooling2D") == 2  # 8 → 4 → 2, never 1
    big = template_layers("small_cnn", tiny_info("images", shape=(128, 128, 3)))
    assert "GlobalAveragePooling2D" in [layer.type for layer in big]  # no huge Flatten → Dense


@pytest.mark.parametrize("window", [3, 10, 200])
def test_series_templates_fit_any_window(window, tiny_info, tiny_spec):
    from layerlab.models.build import check_model

    info = tiny_info("series", shape=(window, 3), horizon=2, targets=2)
    for name in EXPECTED["series"]:
        report = check_model(tiny_spec(info), info, template_layers(name, info))
        assert report.ok, (name, window, report.error)
        assert report.rows[-1]["output_shape"] == "(2, 2)"


def _batch(info, n: int = 8):
    rng = np.random.default_rng(1)
    if info.kind == "text":
        x = rng.integers(0, info.extra["vocab_size"], size=(n, *info.input_shape)).astype("int32")
    else:
        x = rng.random((n, *info.input_shape), dtype=np.float32)
    if info.task == "classification":
        y = np.arange(n) % info.n_classes
    elif info.task == "forecasting":
        y = rng.random((n, info.extra["horizon"], info.extra["n_targets"]), dtype=np.float32)
    else:
        y = rng.random((n, info.outputs), dtype=np.float32)
    return x, y


KIND_INFO = {
    "images": dict(shape=(8, 8, 1), classes=3),
    "text": dict(shape=(10,), classes=2, vocab=30),
    "table": dict(task="regression", shape=(5,), outputs=2),
    "series": dict(shape=(12, 2), horizon=3, targets=2),
}


@pytest.mark.slow  # fits a model
@pytest.mark.parametrize("name", [n for names in EXPECTED.values() for n in sorted(names - PRETRAINED_IMAGES)])
def test_every_template_trains_one_step(name, tiny_info, tiny_spec):
    import keras

    from layerlab.models.build import build_model, compile_model

    kind = TEMPLATES.get(name).group
    info = tiny_info(kind, **KIND_INFO[kind])
    spec = tiny_spec(info)
    keras.utils.set_random_seed(0)
    model = build_model(spec, info, template_layers(name, info))
    compile_model(model, spec.train, info)
    x, y = _batch(info)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    loss = history.history["loss"][0]
    assert np.isfinite(loss)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights())), "one step must change weights"
    assert model.predict(x[:2], verbose=0).shape == (2, *model.output.shape[1:])
