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
        "cpu_cores_busy_max": 0.5468557720042467,
        "latency_mean_us": 122.61608902438992,
        "latency_p99_us": 127.26365000000015,
        "throughput_gbps": 0.000128,
    },
    "calico-bgp/http": {
        "completed": 275,
        "cpu_cores_busy_max": 0.27649142919287545,
        "latency_mean_us": 157.8720836878601,
        "latency_p99_us": 497.775848183629,
        "throughput_gbps": 0.4779872,
    },
    "calico-bgp/rr": {
        "completed": 2000,
        "cpu_cores_busy_max": 0.8221729614761328,
        "latency_mean_us": 24.13168640000351,
        "latency_p99_us": 24.131650000008833,
        "throughput_gbps": 3.2e-06,
    },
    "calico-bgp/stream": {
        "completed": 0,
        "cpu_cores_busy_max": 0.37187604979107747,
        "latency_mean_us": math.nan,
        "latency_p99_us": math.nan,
        "throughput_gbps": 9.680266459823809,
    },
    "flannel-vxlan/crr": {
        "completed": 49,
        "cpu_cores_busy_max": 0.5533848545626191,
        "latency_mean_us": 103.28712138775539,
        "latency_p99_us": 107.68365200000164,
        "throughput_gbps": 0.0001536,
    },
    "flannel-vxlan/http": {
        "completed": 275,
        "cpu_cores_busy_max": 0.27545551672776014,
        "latency_mean_us": 157.94321965318645,
        "latency_p99_us": 497.8580303636282,
        "throughput_gbps": 0.4779872,
    },
    "flannel-vxlan/rr": {
        "completed": 2000,
        "cpu_cores_busy_max": 0.816150832590218,
        "latency_mean_us": 24.2117084000018,
        "latency_p99_us": 24.211652000005746,
        "throughput_gbps": 3.2e-06,
    },
    "flannel-vxlan/stream": {
        "completed": 0,
        "cpu_cores_busy_max": 0.3738048842390634,
        "latency_mean_us": math.nan,
        "latency_p99_us": math.nan,
        "throughput_gbps": 9.627720057424186,
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
