"""Endpoint churn (issue 4): programming delay law, stale views, failures only when stale.

Tolerances: the delay law reproduces KEP-3453's p50 at 5,000 nodes (27 s full, 13 s
partial restore; CALIBRATION.md) within 15 %; the median of 4,000 draws is within 5 %
of the configured median.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import pytest

from kperf.cluster import Cluster
from kperf.engine.sim import Simulation
from kperf.profiles import get_proxy
from kperf.services import ServiceLayer
from kperf.services.churn import MIN_SYNC_PERIOD_S, ProgrammingDelay
from kperf.services.proxycost import resync_times

KEP_RULES = 12 + 10_000 * (2 + 3 * 15)  # 10k Services × 15 endpoints (150k), the limits


def test_delay_law_reproduces_kep_3453_at_the_tested_limits() -> None:
    mode = get_proxy("iptables")
    r = resync_times(mode, entries=KEP_RULES, kube_services_rules=20_000, changed_endpoints=15)
    full = ProgrammingDelay.for_mode(mode, r, restore="full")
    partial = ProgrammingDelay.for_mode(mode, r)  # iptables default: partial restore
    assert full.median_s == pytest.approx(27.0, rel=0.15)
    assert partial.median_s == pytest.approx(13.0, rel=0.15)


def test_delay_has_a_floor_and_grows_with_rules() -> None:
    mode = get_proxy("iptables")
    medians = [ProgrammingDelay.for_mode(mode, resync_times(
        mode, entries=12 + s * 5, kube_services_rules=2 * s, changed_endpoints=1)).median_s
        for s in (10, 1_000, 100_000, 200_000)]
    assert medians[0] == medians[1] == MIN_SYNC_PERIOD_S["iptables"]
    assert medians[3] == pytest.approx(2 * medians[2], rel=0.05)
    nft = get_proxy("nftables")
    inc = resync_times(nft, entries=200_000, changed_endpoints=10)
    assert ProgrammingDelay.for_mode(nft, inc).median_s == MIN_SYNC_PERIOD_S["nftables"]


def test_delay_draws_are_lognormal_around_the_median_and_deterministic() -> None:
    d = ProgrammingDelay(median_s=4.0, sigma=0.5, seed=9)
    draws = np.array([d.draw(1, k, n) for k in range(100) for n in range(40)])
    assert float(np.median(draws)) == pytest.approx(4.0, rel=0.05)
    assert float(np.std(np.log(draws))) == pytest.approx(0.5, rel=0.05)
    assert d.draw(1, 2, 3) == ProgrammingDelay(median_s=4.0, sigma=0.5, seed=9).draw(1, 2, 3)


def _churn_run(failure: Literal["refused", "timeout"]
               ) -> tuple[Cluster, ServiceLayer, list[tuple[float, int, str, float]]]:
    cluster = Cluster.build(
        nodes=4, cni="calico-bgp", proxy="iptables",
        deployments=[{"name": "client", "replicas": 4}, {"name": "web", "replicas": 4}],
        services=[{"name": "web", "selector": {"app": "web"}}],
    )
    sim = Simulation(cluster, "10g-xeon-2015", seed=2)
    layer = ServiceLayer(sim, rng=np.random.default_rng(3), churn_failure=failure,
                         programming_delay=ProgrammingDelay(median_s=2.0, sigma=0.5, seed=5))
    svc = cluster.service("web")
    clients = [p for p in cluster.pods if p.deployment == "client"]
    layer.rolling_update("web", start_s=1.0, interval_s=2.0)
    out: list[tuple[float, int, str, float]] = []

    def attempt(client_uid: int) -> Callable[[], None]:
        def go() -> None:
            client = cluster.pods[client_uid]  # the client pods are never recreated
            c = layer.connect(client, svc)
            if c.failed is not None:
                out.append((sim.now, client.node, c.failed, c.setup_delay_s))
        return go

    for k in range(1_000):
        for cl in clients:
            sim.at(k * 0.02, attempt(cl.uid))
    sim.run()
    return cluster, layer, out


def test_churn_failures_happen_only_inside_the_stale_window() -> None:
    cluster, layer, failures = _churn_run("refused")
    svc = cluster.service("web")
    assert layer.counters["recreations"] == 4
    assert len({p.ip for p in cluster.pods if p.deployment == "web" and p.generation == 1}) == 4
    assert len(failures) > 20
    assert layer.counters["stale_failures"] == len(failures)
    for t, node, reason, delay in failures:
        assert reason == "refused" and delay == 0.0
        windows = layer.stale_windows(svc, node)
        assert any(a <= t < b for a, b in windows), (t, node, windows)
    # every node was stale at some point, and recovered: no failure after all windows
    last = max(b for n in range(4) for _, b in layer.stale_windows(svc, n))
    assert all(t < last for t, *_ in failures)
    assert {n for _, n, _, _ in failures} == {0, 1, 2, 3}


def test_churn_timeout_mode_delays_the_failure() -> None:
    _cluster, layer, failures = _churn_run("timeout")
    assert failures
    assert {(r, d) for _, _, r, d in failures} == {("timeout", layer.connect_timeout_s)}


def test_views_lag_per_node() -> None:
    cluster = Cluster.build(
        nodes=3, cni="calico-bgp", proxy="nftables",
        deployments=[{"name": "web", "replicas": 2}],
        services=[{"name": "web", "selector": {"app": "web"}}],
    )
    sim = Simulation(cluster, "10g-xeon-2015")
    layer = ServiceLayer(sim, rng=np.random.default_rng(0),
                         programming_delay=ProgrammingDelay(median_s=1.0, seed=1))
    svc = cluster.service("web")
    old_ip = cluster.pod("web-0").ip
    layer.crash_loop(cluster.pod("web-0"), start_s=0.5, period_s=100.0, count=1)
    sim.run()
    new_ip = cluster.pod("web-0").ip
    assert new_ip != old_ip
    for node in range(3):
        (a, b), = layer.stale_windows(svc, node)
        assert a == 0.5
        before = layer.views.view(svc.index, node, b - 1e-9)
        after = layer.views.view(svc.index, node, b)
        assert (cluster.pod("web-0").uid, old_ip) in before
        assert (cluster.pod("web-0").uid, new_ip) in after
