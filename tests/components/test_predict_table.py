"""components.predict.table: the form's number fields follow the training data's range."""

from __future__ import annotations

from components.predict.table import number_field


def test_number_fields_keep_the_training_range():
    f = number_field({"min": 13.1, "max": 21.5, "default": 17.3, "integer": False})
    assert (f["min_value"], f["max_value"], f["value"], f["step"]) == (13.1, 21.5, 17.3, 0.01)
    i = number_field({"min": 172.0, "max": 231.0, "default": 197.0, "integer": True})
    assert (i["min_value"], i["max_value"], i["value"], i["step"]) == (172, 231, 197, 1)
    assert number_field({"min": 5.0, "max": 5.0, "default": 5.0, "integer": False})["value"] == 5.0
