"""What the model needs to know about the data, saved beside every run (info.json)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DataInfo:
    """Shape and labels of prepared data: enough to build the input and the output head.

    `input_shape` is what the trained (core) model takes, without the batch axis, e.g.
    (8, 8, 1) for digits. `class_names` is empty for regression and forecasting.
    `outputs` is the number of values the head predicts for regression/forecasting.
    """

    kind: str
    task: str
    input_shape: tuple[int, ...]
    class_names: list[str] = field(default_factory=list)
    outputs: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DataInfo":
        return cls(**{**d, "input_shape": tuple(d["input_shape"])})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "DataInfo":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
