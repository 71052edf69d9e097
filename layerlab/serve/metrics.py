"""The model server's counters and histograms, written in Prometheus' text format for `GET /metrics`.

A few dozen lines instead of `prometheus_client`: the server needs four families, and this keeps it free of a
dependency that Layerlab does not otherwise install. Updated from the event loop only (one thread), so no lock.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


@dataclass
class Histogram:
    """Cumulative-bucket histogram per label value, as Prometheus expects."""

    buckets: tuple[float, ...]
    counts: dict[str, list[int]] = field(default_factory=dict)
    sums: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def observe(self, label: str, value: float) -> None:
        row = self.counts.setdefault(label, [0] * (len(self.buckets) + 1))
        row[bisect.bisect_left(self.buckets, value)] += 1
        self.sums[label] += value


@dataclass
class Metrics:
    """What `/metrics` reports: requests by model, route and status code; errors, latency and batch sizes by model."""

    requests: dict[tuple[str, str, int], int] = field(default_factory=lambda: defaultdict(int))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    latency: Histogram = field(default_factory=lambda: Histogram(LATENCY_BUCKETS))
    batch: Histogram = field(default_factory=lambda: Histogram(BATCH_BUCKETS))

    def request(self, model: str, route: str, code: int, seconds: float) -> None:
        """Count one answered request (its model is "" when it named none)."""
        self.requests[(model, route, code)] += 1
        if code >= 400:
            self.errors[model] += 1
        if model:
            self.latency.observe(model, seconds)

    def text(self) -> str:
        """Everything in Prometheus' text exposition format (version 0.0.4)."""
        out = ["# HELP layerlab_requests_total Requests answered, by model, route and status code.",
               "# TYPE layerlab_requests_total counter"]
        out += [f'layerlab_requests_total{{model="{_esc(m)}",route="{_esc(r)}",code="{c}"}} {n}'
                for (m, r, c), n in sorted(self.requests.items())]
        out += ["# HELP layerlab_request_errors_total Requests answered with a 4xx or 5xx status, by model.",
                "# TYPE layerlab_request_errors_total counter"]
        out += [f'layerlab_request_errors_total{{model="{_esc(m)}"}} {n}' for m, n in sorted(self.errors.items())]
        out += _histogram("layerlab_request_duration_seconds", "Time from request to answer, by model.",
                          self.latency)
        out += _histogram("layerlab_batch_size", "Inputs per model call (requests gathered into one batch).",
                          self.batch)
        return "\n".join(out) + "\n"


def _histogram(name: str, help_text: str, h: Histogram) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    for label, row in sorted(h.counts.items()):
        m, total = _esc(label), 0
        for bound, n in zip([*map(_num, h.buckets), "+Inf"], row):
            total += n
            lines.append(f'{name}_bucket{{model="{m}",le="{bound}"}} {total}')
        lines += [f'{name}_sum{{model="{m}"}} {h.sums[label]:.6f}', f'{name}_count{{model="{m}"}} {total}']
    return lines


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
