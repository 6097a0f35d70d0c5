"""The latency recorder: merging recorders equals adding their samples one by one."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from kperf.metrics.latency import LatencyRecorder

_lat = st.floats(1e-7, 1e-2, allow_nan=False)


def _one_by_one(into: LatencyRecorder, source: LatencyRecorder) -> LatencyRecorder:
    for s in source.samples:
        into.add(0.0, s)
    return into


def _filled(values: list[float], max_samples: int, keep_times: bool = False) -> LatencyRecorder:
    r = LatencyRecorder(max_samples, keep_times=keep_times)
    for v in values:
        r.add(1.0, v)
    return r


@settings(max_examples=100, deadline=None)
@given(st.lists(_lat, max_size=40), st.lists(_lat, max_size=40), st.integers(5, 100),
       st.booleans())
def test_merge_equals_adding_each_sample(before: list[float], merged: list[float],
                                         max_samples: int, keep_times: bool) -> None:
    """Bit-identical count, sum (same order), max, samples and percentiles, also when the
    merge crosses ``max_samples`` and the target switches to its sketch."""
    fast = _filled(before, max_samples, keep_times)
    slow = _filled(before, max_samples, keep_times)
    source = _filled(merged, 10**6)
    source.merge_into(fast)
    _one_by_one(slow, source)
    assert (fast.count, fast.total_s, fast.max_s) == (slow.count, slow.total_s, slow.max_s)
    assert fast.samples == slow.samples and fast.starts == slow.starts
    assert (fast.sketch is None) == (slow.sketch is None)
    a, b = fast.summary(), slow.summary()
    assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)
