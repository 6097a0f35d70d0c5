"""Per-workload latency records: raw samples up to a limit, then a quantile sketch.

Percentiles are exact (numpy's linear interpolation) while every sample is kept; past
``max_samples`` all values also go into a :class:`QuantileSketch`, and percentiles come
from it with relative error <= 0.5 % (its alpha). Means and maxima stay exact.
"""

from __future__ import annotations

import functools
import math
import operator
from array import array

import numpy as np

from kperf.metrics.sketch import QuantileSketch

PERCENTILES: tuple[tuple[str, float], ...] = (
    ("latency_p50_us", 50.0),
    ("latency_p90_us", 90.0),
    ("latency_p99_us", 99.0),
    ("latency_p999_us", 99.9),
)


class LatencyRecorder:
    """Latencies (seconds) of completed requests, and failures by reason.

    Samples (and start times) are kept as C doubles (``array('d')``), not Python
    floats: a sample holds no object, so a long run's records do not spread a float
    object per request over memory, and numpy reads them as one buffer."""

    def __init__(self, max_samples: int = 1_000_000, keep_times: bool = False) -> None:
        self.max_samples = max_samples
        self.samples: array[float] = array("d")
        self.starts: array[float] = array("d")
        self.keep_times = keep_times
        self.sketch: QuantileSketch | None = None
        self.count = 0
        self.total_s = 0.0
        self.max_s = 0.0
        self.failed: dict[str, int] = {}
        self.failed_starts: list[tuple[float, str]] = []

    def add(self, start_s: float, latency_s: float) -> None:
        self.count += 1
        self.total_s += latency_s
        if latency_s > self.max_s:
            self.max_s = latency_s
        if self.sketch is not None:
            self.sketch.add(latency_s)
            return
        self.samples.append(latency_s)
        if self.keep_times:
            self.starts.append(start_s)
        if len(self.samples) >= self.max_samples:
            self.sketch = QuantileSketch()
            self.sketch.extend(np.asarray(self.samples))

    def fail(self, start_s: float, reason: str) -> None:
        self.failed[reason] = self.failed.get(reason, 0) + 1
        if self.keep_times and len(self.failed_starts) < self.max_samples:
            self.failed_starts.append((start_s, reason))

    @property
    def n_failed(self) -> int:
        return sum(self.failed.values())

    def percentiles_us(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.count == 0:
            return {name: math.nan for name, _ in PERCENTILES}
        if self.sketch is None:
            arr = np.asarray(self.samples)
            vals = np.percentile(arr, [p for _, p in PERCENTILES])
            for (name, _), v in zip(PERCENTILES, vals, strict=True):
                out[name] = float(v) * 1e6
        else:
            for name, p in PERCENTILES:
                out[name] = self.sketch.quantile(p / 100.0) * 1e6
        return out

    def summary(self) -> dict[str, float]:
        out = {"latency_mean_us": (self.total_s / self.count * 1e6) if self.count else math.nan}
        out.update(self.percentiles_us())
        out["latency_max_us"] = self.max_s * 1e6 if self.count else math.nan
        return out

    def merge_into(self, other: LatencyRecorder) -> None:
        """Add this recorder's samples to ``other`` (for run-wide totals)."""
        if self.sketch is not None:
            if other.sketch is None:
                other.sketch = QuantileSketch()
                other.sketch.extend(np.asarray(other.samples))
            other.sketch.merge(self.sketch)
            other.count += self.count
            other.total_s += self.total_s
            other.max_s = max(other.max_s, self.max_s)
        elif other.sketch is None and len(other.samples) + len(self.samples) < other.max_samples:
            # what add() per sample does, in C loops: the sum in the same order (exact)
            samples = self.samples
            if samples:
                other.count += len(samples)
                other.total_s = functools.reduce(operator.add, samples, other.total_s)
                other.max_s = max(other.max_s, max(samples))
                other.samples.extend(samples)
                if other.keep_times:
                    other.starts.extend(array("d", bytes(8 * len(samples))))
        else:
            for s in self.samples:
                other.add(0.0, s)
        for k, v in self.failed.items():
            other.failed[k] = other.failed.get(k, 0) + v
