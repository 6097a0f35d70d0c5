"""``--method decomposed`` for callgraph workloads (issue 22): a frontend request fans
out to several backend Services over pooled connections; the decomposed method sends a
request's calls together into each resource's model and combines the calls' latencies
(the slowest in parallel, the sum in sequence). Accuracy against the full engine with
issue 22's tolerances (p50 5 %, p99 10 %, throughput 3 %); the whole set of callgraph
scenarios is in scripts/decomposed_accuracy.py (docs/decomposed.md)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kperf.experiments.expand import expand
from kperf.spec.experiment import ExperimentSpec
from kperf.workloads.decomposed import simulate_decomposed
from kperf.workloads.decomposed.queueing import _batched_arrivals, sibling_delays
from kperf.workloads.decomposed.traffic import build_traffic
from kperf.workloads.http import KEEPALIVE_POOL
from tests.helpers import decomposed_against_full

BACKENDS = ("a", "b", "c")


def _run(parallel: bool, rate_per_s: float = 15_000, duration_s: float = 0.4,
         **workload: Any) -> Any:
    doc = {"name": "cg", "seed": 11, "testbed": "10g-xeon-2015",
           "cluster": {"nodes": 4, "cni": "calico-bgp", "proxy": "iptables",
                       "deployments": [{"name": "client", "replicas": 4}]
                       + [{"name": b, "replicas": 4} for b in BACKENDS],
                       "services": [{"name": b, "selector": {"app": b}, "port": 80}
                                    for b in BACKENDS]},
           "workload": {"kind": "callgraph", "clients": "client", "backends": list(BACKENDS),
                        "parallel": parallel, "rate_per_s": rate_per_s,
                        "duration_s": duration_s, **workload}}
    return expand(ExperimentSpec.from_data(doc))[0]


@pytest.mark.parametrize("parallel", [True, False])
def test_callgraph_agrees_with_the_full_engine(parallel: bool) -> None:
    """4 nodes, 4 frontends at 15,000 requests/s each (23,866 frontend requests and
    71,598 calls in the full engine). Measured: parallel p50 +0.2 %, p99 -3.1 %;
    in sequence p50 +0.0 %, p99 -1.6 %; throughput +0.6 % in both."""
    run = _run(parallel)
    dec, full = decomposed_against_full(run)
    # a frontend request is one request, its three calls are not
    assert dec["requests_per_s"] == pytest.approx(4 * 15_000)
    assert full["requests_per_s"] == pytest.approx(4 * 15_000, rel=0.03)


def test_callgraph_bound_by_the_cores_agrees_with_the_full_engine() -> None:
    """The backends serve in a fixed 5 µs and answer 4 KB, so the nodes' cores (0.43)
    and NIC queues (0.31), not the worker pools (0.06), are the busiest resources, and a
    request's three calls meet on the frontend's side: 4 nodes at 30,000 requests/s per
    frontend, 35,693 requests in the full engine. Measured: p50 -0.9 %, p99 +3.8 %,
    throughput +0.9 %. At 45,000 (cores 0.64) the p99 is +10.5 %, just outside issue
    22's 10 % (p50 +1.3 %); docs/decomposed.md has the larger scenarios."""
    run = _run(True, 30_000, 0.3, service_us={"dist": "fixed", "mean": 5},
               response_bytes=4000)
    decomposed_against_full(run)


def test_calls_in_sequence_add_up_in_parallel_the_slowest_wins() -> None:
    par = _run(True)
    seq = _run(False)
    p = simulate_decomposed(par.testbed, par.cluster, par.workloads, par.seed).summary
    s = simulate_decomposed(seq.testbed, seq.cluster, seq.workloads, seq.seed).summary
    # three calls of ~100 µs: the sum is well above the slowest of three
    assert s["latency_p50_us"] > 1.8 * p["latency_p50_us"]
    assert s["throughput_gbps"] == pytest.approx(p["throughput_gbps"])


def test_a_requests_calls_arrive_together_at_each_resource() -> None:
    """Per frontend, one Poisson stream of requests; each picks one pooled connection
    per backend, so every pool's connections together carry each request once, at the
    same instants (each connection 1/4 of the rate)."""
    run = _run(True)
    traffic = build_traffic(run.testbed, run.cluster, run.workloads, run.seed)
    calls = traffic.calls
    assert calls is not None and calls.parallel
    assert len(calls.pools) == 4 and all(len(p) == len(BACKENDS) for p in calls.pools)
    assert all(len(pool) == KEEPALIVE_POOL for p in calls.pools for pool in p)
    by_conn = {c: [(0, 0)] for p in calls.pools[:1] for pool in p for c in pool}
    horizon = 2.0
    times = _batched_arrivals(traffic, by_conn, np.random.default_rng(3), horizon)
    pools = calls.pools[0]
    per_pool = [np.sort(np.concatenate([times[c][0] for c in pool])) for pool in pools]
    for other in per_pool[1:]:
        np.testing.assert_array_equal(other, per_pool[0])  # the same request instants
    assert len(per_pool[0]) == pytest.approx(15_000 * horizon, rel=0.02)
    for pool in pools:
        for c in pool:
            assert len(times[c][0]) == pytest.approx(15_000 * horizon / KEEPALIVE_POOL,
                                                     rel=0.05)
    # the first call is behind no sibling; a later one waits for those ahead of it where
    # their paths share the frontend's resources (at least its NIC queue), never longer
    # than their services there
    delays = sibling_delays(traffic, 0)
    assert not delays[0].any()
    assert all((d >= 0).all() for d in delays) and delays[2].max() > 0
    assert (delays[2][:, -1] >= delays[1][:, -1] - 1e-12).mean() > 0.5
    assert traffic.request_rate_per_s == pytest.approx(4 * 15_000)
    # payload per request: every call's request and response (200 + 1,000 bytes)
    assert traffic.payload_bytes_per_request == pytest.approx(3 * 1200)


def test_the_p99_does_not_hang_on_the_service_samples_tail() -> None:
    """The p99 of the slowest of two calls reaches the 99.5th percentile of the
    backends' exponential service time: a short sample of it made the decomposed p99
    vary with the seed (8 nodes, 12 seeds: 279.1-298.6 µs, a 6.7 % range, with 8,192
    draws; with 65,536, 286.4-294.5 µs, 2.8 %). The full engine's p99 on such a cluster
    does not depend on the seed beyond its own sampling noise."""
    p99 = []
    for seed in range(1, 13):
        doc = {"name": "cg", "seed": seed, "testbed": "10g-xeon-2015",
               "cluster": {"nodes": 8, "cni": "calico-bgp", "proxy": "iptables",
                           "deployments": [{"name": "client", "replicas": 8}]
                           + [{"name": b, "replicas": 8} for b in BACKENDS[:2]],
                           "services": [{"name": b, "selector": {"app": b}, "port": 80}
                                        for b in BACKENDS[:2]]},
               "workload": {"kind": "callgraph", "clients": "client",
                            "backends": list(BACKENDS[:2]), "rate_per_s": 5000,
                            "duration_s": 0.1}}
        run = expand(ExperimentSpec.from_data(doc))[0]
        p99.append(simulate_decomposed(run.testbed, run.cluster, run.workloads,
                                       run.seed).summary["latency_p99_us"])
    spread = (max(p99) - min(p99)) / float(np.median(p99))
    assert spread < 0.04, p99
