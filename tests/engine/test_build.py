"""Model assembly: heads, names, plain-words shape errors, the live check, compile, probabilities."""

from __future__ import annotations

import resource
import time

import numpy as np
import pytest

from layerlab.errors import LayerlabError
from layerlab.models.build import BuildError, build_model, check_model, compile_model, probabilities, resolve_layers
from layerlab.spec import LayerSpec

CNN = [("Conv2D", {"filters": 8}), ("MaxPooling2D", {}), ("Flatten", {}), ("Dense", {"units": 16})]


def _error(spec, info) -> BuildError:
    with pytest.raises(BuildError) as err:
        build_model(spec, info)
    report = check_model(spec, info)  # the live check says the same, without raising
    assert not report.ok and report.error == err.value.message and report.error_index == err.value.layer_index
    assert report.hint == err.value.hint
    return err.value


# ---- heads and names ----------------------------------------------------------------------------


@pytest.mark.parametrize("classes, units, activation", [(3, 3, "softmax"), (2, 1, "sigmoid")])
def test_classification_heads(classes, units, activation, tiny_info, tiny_spec):
    info = tiny_info("images", classes=classes)
    model = build_model(tiny_spec(info, CNN), info)
    head = model.get_layer("head")
    assert head.units == units and head.activation.__name__ == activation
    assert head.dtype_policy.name == "float32" and model.output.shape[1:] == (units,)


def test_regression_and_forecasting_heads(tiny_info, tiny_spec):
    info = tiny_info("table", "regression", outputs=2)
    model = build_model(tiny_spec(info, [("Dense", {"units": 4})]), info)
    assert model.output.shape[1:] == (2,) and model.get_layer("head").activation.__name__ == "linear"
    info = tiny_info("series", horizon=4, targets=3)
    model = build_model(tiny_spec(info, [("LSTM", {"units": 5})]), info)
    assert model.get_layer("head").units == 12 and model.output.shape[1:] == (4, 3)


def test_one_class_is_not_a_classification(tiny_info, tiny_spec):
    info = tiny_info("table", classes=1)
    err = _error(tiny_spec(info, [("Dense", {})]), info)
    assert "at least 2 classes" in err.message and err.layer_index is None


def test_layers_get_stable_readable_names(tiny_info, tiny_spec):
    info = tiny_info("table")
    spec = tiny_spec(info, [("Dense", {}), ("Dropout", {}), ("Dense", {})])
    spec.model.layers[2].name = "my wide/layer"
    model = build_model(spec, info)
    assert [layer.name for layer in model.layers] == ["input", "00_dense", "01_dropout", "my_wide_layer", "head"]
    spec.model.layers[0].name = "same"
    spec.model.layers[1].name = "same"
    names = [layer.name for layer in build_model(spec, info).layers]
    assert len(set(names)) == len(names) and "same" in names


def test_explicit_layers_override_the_spec_and_an_empty_body_is_a_linear_model(tiny_info, tiny_spec):
    info = tiny_info("images")
    spec = tiny_spec(info, CNN)
    assert [s.type for s in resolve_layers(spec)] == [t for t, _ in CNN]
    only = [LayerSpec(type="Flatten")]
    assert resolve_layers(spec, only) == only
    assert build_model(spec, info, only).count_params() == 64 * 3 + 3
    table = tiny_info("table", "regression")
    model = build_model(tiny_spec(table), table)  # no body: linear regression on the features
    assert [layer.name for layer in model.layers] == ["input", "head"] and model.count_params() == 7


# ---- plain-words shape errors -------------------------------------------------------------------


def test_conv_after_flatten_names_the_layer_and_the_fix(tiny_info, tiny_spec):
    info = tiny_info("images")
    err = _error(tiny_spec(info, [("Conv2D", {}), ("Flatten", {}), ("Conv2D", {"filters": 2})]), info)
    assert err.message == ("Conv2D (layer 3) needs an image-shaped input (height, width, channels) "
                           "but the layer before it (Flatten) outputs a flat vector of 2048.")
    assert err.hint == "Remove Flatten (layer 2) so the image shape reaches it, or use Dense."
    assert err.layer_index == 2


def test_image_layer_on_a_table_or_a_sequence(tiny_info, tiny_spec):
    info = tiny_info("table")
    err = _error(tiny_spec(info, [("MaxPooling2D", {})]), info)
    assert "MaxPooling2D (layer 1) needs an image-shaped input" in err.message
    assert "the input data is a flat vector of 6" in err.message and "Dense" in err.hint
    info = tiny_info("series")
    err = _error(tiny_spec(info, [("Conv2D", {})]), info)
    assert "a sequence of 10 steps × 2 features" in err.message and err.hint == "Use Conv1D for sequences."


def test_recurrent_layer_after_a_non_sequence(tiny_info, tiny_spec):
    info = tiny_info("series")
    err = _error(tiny_spec(info, [("LSTM", {"units": 4}), ("GRU", {"units": 4})]), info)
    assert err.message.startswith("GRU (layer 2) needs a sequence (steps, features) but the layer before it (LSTM) "
                                  "outputs a flat vector of 4")
    assert "Turn on return_sequences in LSTM (layer 1)" in err.hint and err.layer_index == 1
    info = tiny_info("table")
    err = _error(tiny_spec(info, [("Dense", {}), ("LSTM", {})]), info)
    assert "LSTM (layer 2) needs a sequence" in err.message and "Reshape" in err.hint
    info = tiny_info("images")
    err = _error(tiny_spec(info, [("SimpleRNN", {})]), info)
    assert "image-shaped tensor (8, 8, 1)" in err.message and "Conv2D" in err.hint


def test_attention_without_a_sequence(tiny_info, tiny_spec):
    info = tiny_info("text")
    body = [("Embedding", {}), ("GlobalAveragePooling1D", {}), ("TransformerEncoder", {})]
    err = _error(tiny_spec(info, body), info)
    assert err.message.startswith("TransformerEncoder (layer 3) needs a sequence (steps, features) to attend over")
    assert "Remove GlobalAveragePooling1D (layer 2)" in err.hint and err.layer_index == 2
    info = tiny_info("images")
    err = _error(tiny_spec(info, [("TransformerEncoder", {})]), info)
    assert "PatchEmbedding" in err.hint


def test_too_many_poolings_shrink_below_one_pixel(tiny_info, tiny_spec):
    info = tiny_info("images")  # 8×8: 4 → 2 → 1 → nothing
    pool = ("MaxPooling2D", {"padding": "valid"})
    err = _error(tiny_spec(info, [pool, pool, pool, pool, ("Flatten", {})]), info)
    assert err.message == ("MaxPooling2D (layer 4) needs at least 2×2 pixels (its window) but the layer before it "
                           "(MaxPooling2D) outputs an image-shaped tensor (1, 1, 1): the data has shrunk too far.")
    assert "padding 'same'" in err.hint and err.layer_index == 3


def test_valid_convolutions_and_patches_larger_than_the_image(tiny_info, tiny_spec):
    info = tiny_info("images")
    conv = ("Conv2D", {"kernel_size": 5, "padding": "valid"})
    err = _error(tiny_spec(info, [conv, conv, ("Flatten", {})]), info)  # 8 → 4 → (needs 5)
    assert "Conv2D (layer 2) needs at least 5×5 pixels" in err.message
    err = _error(tiny_spec(info, [("PatchEmbedding", {"patch_size": 16}), ("Flatten", {})]), info)
    assert "PatchEmbedding (layer 1)" in err.message and err.hint == "Use a patch_size of at most 8."
    info = tiny_info("series")  # 10 steps
    err = _error(tiny_spec(info, [("Conv1D", {"kernel_size": 11, "padding": "valid"}), ("Flatten", {})]), info)
    assert "needs at least 11 steps" in err.message


def test_a_model_too_large_is_refused_before_any_weight_exists(tiny_info, tiny_spec):
    info = tiny_info("images", shape=(128, 128, 64))
    spec = tiny_spec(info, [("Flatten", {}), ("Dense", {"units": 8192})])  # 8.6 billion parameters: 34 GB
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    err = _error(spec, info)
    assert time.perf_counter() - start < 10
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 500_000  # KiB: nothing was allocated
    assert "Dense (layer 2) alone has 8,589,942,784" in err.message and "more than the limit of 50,000,000" in err.message
    assert "GlobalAveragePooling2D instead of Flatten" in err.hint and err.layer_index == 1


def test_the_parameter_limit_is_a_setting(tiny_info, tiny_spec, monkeypatch):
    info = tiny_info("table")
    spec = tiny_spec(info, [("Dense", {"units": 1000})])
    assert check_model(spec, info).ok
    monkeypatch.setenv("LAYERLAB_MODEL_PARAMS", "5000")
    report = check_model(spec, info)
    assert not report.ok and "limit of 5,000" in report.error and report.error_index == 0
    spec = tiny_spec(info, [("Dense", {"units": 500})])  # 3,500 in the body; the head tips it over
    report = check_model(spec, tiny_info("table", classes=10))
    assert not report.ok and "the output head alone has 5,010" in report.error and report.error_index is None


def test_head_needs_a_flat_vector(tiny_info, tiny_spec):
    info = tiny_info("images")
    err = _error(tiny_spec(info, [("Conv2D", {"filters": 64}), ("MaxPooling2D", {}), ("MaxPooling2D", {})]), info)
    assert err.message == ("the last layer (MaxPooling2D, layer 3) outputs an image-shaped tensor (2, 2, 64) "
                           "but the output head needs a flat vector.")
    assert err.hint == "Add Flatten or GlobalAveragePooling2D at the end." and err.layer_index == 2
    info = tiny_info("series")
    err = _error(tiny_spec(info, [("LSTM", {"units": 4, "return_sequences": True}), ("Dropout", {})]), info)
    assert "a sequence of 10 steps × 4 features" in err.message
    assert "GlobalAveragePooling1D or Flatten" in err.hint and "return_sequences in LSTM (layer 1)" in err.hint
    info = tiny_info("images")
    report = check_model(tiny_spec(info), info, layers=[])
    assert not report.ok and report.error.startswith("the input data is an image-shaped tensor (8, 8, 1)")
    assert report.error_index is None


def test_text_must_start_with_an_embedding(tiny_info, tiny_spec):
    info = tiny_info("text")
    err = _error(tiny_spec(info, [("Dense", {}), ("Embedding", {})]), info)
    assert "Dense (layer 1) receives token ids" in err.message and "Embedding" in err.hint
    err = _error(tiny_spec(info, [("Embedding", {}), ("Embedding", {})]), info)
    assert "Embedding (layer 2) must read the token ids" in err.message and "top" in err.hint
    info = tiny_info("images")
    err = _error(tiny_spec(info, [("Embedding", {})]), info)
    assert "this project's data is images" in err.message and err.layer_index == 0


def test_reshape_sizes_and_text_are_checked(tiny_info, tiny_spec):
    info = tiny_info("table")  # 6 features
    err = _error(tiny_spec(info, [("Reshape", {"target_shape": "4,2"}), ("Flatten", {})]), info)
    assert err.message == "Reshape (layer 1) cannot turn 6 values into 4,2 (8 values)." and err.layer_index == 0
    err = _error(tiny_spec(info, [("Reshape", {"target_shape": "two,3"}), ("Flatten", {})]), info)
    assert "not a list of whole numbers" in err.message
    model = build_model(tiny_spec(info, [("Reshape", {"target_shape": "3,-1"}), ("Conv1D", {}), ("Flatten", {})]), info)
    assert model.get_layer("00_reshape").output.shape[1:] == (3, 2)


def test_unknown_or_invalid_layers_are_reported_not_raised(tiny_info, tiny_spec):
    info = tiny_info("table")
    report = check_model(tiny_spec(info), info, [LayerSpec(type="Dense"), LayerSpec(type="Dense2")])
    assert not report.ok and "unknown layer type `Dense2`" in report.error and report.error_index == 1
    assert [r["name"] for r in report.rows] == ["input", "00_dense"]  # how far it got
    report = check_model(tiny_spec(info), info, [LayerSpec(type="Dense", params={"units": -3})])
    assert not report.ok and "between 1 and 8192" in report.error and report.error_index == 0


# ---- the live check -----------------------------------------------------------------------------


def test_check_model_rows_and_totals(tiny_info, tiny_spec):
    info = tiny_info("images", classes=10)
    spec = tiny_spec(info, [("Conv2D", {"filters": 8}), ("BatchNormalization", {}), ("MaxPooling2D", {}),
                            ("Flatten", {}), ("Dense", {"units": 16})], batch_size=32)
    report = check_model(spec, info)
    assert report.ok and report.error is None and report.error_index is None
    assert [r["index"] for r in report.rows] == [None, 0, 1, 2, 3, 4, None]
    assert report.rows[0] == {"index": None, "name": "input", "type": "Input", "output_shape": "(8, 8, 1)", "params": 0}
    assert report.rows[1] == {"index": 0, "name": "00_conv2d", "type": "Conv2D", "output_shape": "(8, 8, 8)", "params": 80}
    assert report.rows[4]["output_shape"] == "(128)"
    assert report.rows[-1] == {"index": None, "name": "head", "type": "Dense", "output_shape": "(10)", "params": 170}
    model = build_model(spec, info)
    assert report.total_params == model.count_params() == sum(r["params"] for r in report.rows)
    assert report.trainable_params == report.total_params - 16  # BatchNorm's moving mean and variance
    elements = 64 + 512 + 512 + 128 + 128 + 16 + 10
    assert report.memory_mb == pytest.approx((report.total_params * 16 + 32 * elements * 8) / 2**20, abs=0.01)
    assert check_model(spec, info, batch_size=256).memory_mb > report.memory_mb


def test_check_model_is_fast_and_leaves_no_pending_weights(tiny_info, tiny_spec):
    from keras.src.backend.common import global_state

    from layerlab.models.templates import template_layers

    info = tiny_info("images", shape=(48, 48, 3))
    spec = tiny_spec(info)
    check_model(spec, info)  # warm up (imports)
    start = time.perf_counter()
    for name in ("small_cnn", "deeper_cnn", "tiny_vit"):
        assert check_model(spec, info, template_layers(name, info)).ok
    assert time.perf_counter() - start < 3
    assert not global_state.get_global_attribute("uninitialized_variables")


def test_a_real_build_has_real_weights(tiny_info, tiny_spec):
    info = tiny_info("table")
    model = build_model(tiny_spec(info, [("Dense", {"units": 4})]), info)
    kernel = model.get_layer("00_dense").kernel.numpy()
    assert kernel.shape == (6, 4) and np.abs(kernel).sum() > 0


# ---- compile and probabilities ----------------------------------------------------------------


@pytest.mark.parametrize("optimizer, cls", [("adam", "Adam"), ("adamw", "AdamW"), ("sgd", "SGD"), ("rmsprop", "RMSprop")])
def test_compile_uses_the_named_optimizer_and_rate(optimizer, cls, tiny_info, tiny_spec):
    info = tiny_info("table", classes=3)
    spec = tiny_spec(info, [("Dense", {"units": 4})], optimizer=optimizer, learning_rate=0.01)
    model = build_model(spec, info)
    compile_model(model, spec.train, info)
    assert type(model.optimizer).__name__ == cls
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.01)
    if optimizer == "sgd":
        assert model.optimizer.momentum == 0.9
    assert model.loss == "sparse_categorical_crossentropy"


@pytest.mark.slow
@pytest.mark.parametrize("kind, task, classes, loss, metric", [
    ("table", "classification", 3, "sparse_categorical_crossentropy", "accuracy"),
    ("table", "classification", 2, "binary_crossentropy", "accuracy"),
    ("table", "regression", 0, "mse", "mae"),
    ("series", "forecasting", 0, "mse", "mae"),
])
def test_compile_matches_loss_and_metric_to_the_task(kind, task, classes, loss, metric, tiny_info, tiny_spec):
    info = tiny_info(kind, task, classes=classes)
    spec = tiny_spec(info, [("Flatten", {}), ("Dense", {"units": 4})])
    model = build_model(spec, info)
    compile_model(model, spec.train, info)
    assert model.loss == loss
    rng = np.random.default_rng(0)
    x = rng.random((16, *info.input_shape), dtype=np.float32)
    y = np.arange(16) % classes if classes else rng.random((16, *model.output.shape[1:]), dtype=np.float32)
    logs = model.fit(x, y, epochs=1, batch_size=8, verbose=0).history
    assert metric in logs and np.isfinite(logs["loss"][0])
    if metric == "accuracy":
        assert 0 <= logs["accuracy"][0] <= 1


def test_probabilities_for_two_and_three_classes(tiny_info):
    two = tiny_info("table", classes=2)
    p = probabilities(np.array([[0.2], [0.9]]), two)
    np.testing.assert_allclose(p, [[0.8, 0.2], [0.1, 0.9]], rtol=1e-6)
    np.testing.assert_allclose(probabilities(np.array([0.25]), two), [[0.75, 0.25]])
    three = tiny_info("table", classes=3)
    raw = np.array([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]], dtype=np.float32)
    p = probabilities(raw, three)
    np.testing.assert_allclose(p, raw)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    assert p.argmax(axis=1).tolist() == [1, 2]
    with pytest.raises(LayerlabError, match="3 classes"):
        probabilities(np.zeros((2, 4)), three)
    with pytest.raises(LayerlabError, match="only for classification"):
        probabilities(np.zeros((2, 1)), tiny_info("table", "regression"))


def test_probabilities_from_a_real_binary_model(tiny_info, tiny_spec):
    info = tiny_info("table", classes=2)
    model = build_model(tiny_spec(info, [("Dense", {"units": 4})]), info)
    x = np.random.default_rng(0).random((5, 6), dtype=np.float32)
    p = probabilities(model.predict(x, verbose=0), info)
    assert p.shape == (5, 2) and np.allclose(p.sum(axis=1), 1) and ((p >= 0) & (p <= 1)).all()
