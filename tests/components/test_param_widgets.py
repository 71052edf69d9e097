"""The one widget generator: a layer setting and a spec field get their widget by the same rule."""

from __future__ import annotations

from layerlab import spec_meta
from layerlab.models.layers import LAYERS
from components.param_widgets import widget_kind


def test_spec_fields_and_layer_settings_share_the_widget_rule():
    assert widget_kind(spec_meta.field_param("train.epochs")) == "number"  # 1–1000: too many steps for a slider
    assert widget_kind(spec_meta.field_param("prepare.split.validation")) == "slider"
    assert widget_kind(spec_meta.field_param("prepare.text.vocab_size")) == "number"  # log scale: typed
    assert widget_kind(spec_meta.field_param("prepare.table.scale")) == "selectbox"
    assert widget_kind(spec_meta.field_param("train.xla")) == "toggle"
    assert widget_kind(LAYERS.get("Dropout").param("rate")) == "slider"
