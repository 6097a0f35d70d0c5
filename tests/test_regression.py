"""Optimisation must not change results: a few summary numbers pinned exactly.

The values below were produced by this code (``scenario_summaries()``)
when the test was written; a change to the engine that moves any of them changes the
model, not just its speed, and must update them deliberately. Tolerance 1e-9 relative
(float summation order only).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from kperf.profiles import get_testbed
from kperf.spec import ClusterSpec, parse
from kperf.spec.workload import CrrWorkload, HttpWorkload, RrWorkload, StreamWorkload
from kperf.workloads.simulate import simulate
from tests.helpers import two_node_spec

KEYS = ("latency_mean_us", "latency_p99_us", "throughput_gbps", "completed", "cpu_cores_busy_max")


def scenario_summaries() -> dict[str, dict[str, Any]]:
    tb = get_testbed("10g-xeon-2015")
    out: dict[str, dict[str, Any]] = {}
    for cni in ("flannel-vxlan", "calico-bgp"):
        spec = parse(ClusterSpec, two_node_spec(cni))
        for wl in (
            RrWorkload(requests=2000, duration_s=10, outstanding=2),
            CrrWorkload(duration_s=0.005, target="svc/server"),
            StreamWorkload(duration_s=0.005),
            HttpWorkload(rate_per_s=30_000, duration_s=0.01),
        ):
            s = simulate(tb, spec, [wl], seed=3).summary
            out[f"{cni}/{wl.kind}"] = {k: s[k] for k in KEYS}
    return out


PINNED: dict[str, dict[str, Any]] = {
    "calico-bgp/crr": {
        "completed": 41,
        "cpu_cores_busy_max": 0.5507583590634055,
        "latency_mean_us": 123.51228902438964,
        "latency_p99_us": 128.15985000000015,
        "throughput_gbps": 0.000128,
    },
    "calico-bgp/http": {
        "completed": 275,
        "cpu_cores_busy_max": 0.2764924766656183,
        "latency_mean_us": 157.83319496058732,
        "latency_p99_us": 497.73744818362894,
        "throughput_gbps": 0.4779872,
    },
    "calico-bgp/rr": {
        "completed": 2000,
        "cpu_cores_busy_max": 0.8234836709795741,
        "latency_mean_us": 24.09328160000407,
        "latency_p99_us": 24.093250000009615,
        "throughput_gbps": 3.2e-06,
    },
    "calico-bgp/stream": {
        "completed": 0,
        "cpu_cores_busy_max": 0.3776072525072801,
        "latency_mean_us": math.nan,
        "latency_p99_us": math.nan,
        "throughput_gbps": 9.7472512,
    },
    "flannel-vxlan/crr": {
        "completed": 50,
        "cpu_cores_busy_max": 0.5603593878339038,
        "latency_mean_us": 100.17105199999995,
        "latency_p99_us": 104.57985200000141,
        "throughput_gbps": 0.0001568,
    },
    "flannel-vxlan/http": {
        "completed": 275,
        "cpu_cores_busy_max": 0.27545656026749055,
        "latency_mean_us": 157.90426110773186,
        "latency_p99_us": 497.81963036362873,
        "throughput_gbps": 0.4779872,
    },
    "flannel-vxlan/rr": {
        "completed": 2000,
        "cpu_cores_busy_max": 0.8174476334174096,
        "latency_mean_us": 24.173303600001944,
        "latency_p99_us": 24.173252000006528,
        "throughput_gbps": 3.2e-06,
    },
    "flannel-vxlan/stream": {
        "completed": 0,
        "cpu_cores_busy_max": 0.37954163044875083,
        "latency_mean_us": math.nan,
        "latency_p99_us": math.nan,
        "throughput_gbps": 9.7466912,
    },
}


@pytest.fixture(scope="module")
def summaries() -> dict[str, dict[str, Any]]:
    return scenario_summaries()


def test_pinned_summaries_unchanged(summaries: dict[str, dict[str, Any]]) -> None:
    assert set(summaries) == set(PINNED)
    for name, want in PINNED.items():
        got = summaries[name]
        for key, value in want.items():
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(got[key]), (name, key)
            else:
                assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (name, key)
