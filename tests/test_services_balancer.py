"""Endpoint choice (issue 4): uniform for random and rr, IPVS lc/sh, Maglev, affinity.

Uniformity is tested with Pearson's chi-square at significance α = 0.01 on counts from
a fixed seed (the test is deterministic; α says how unlikely a fair balancer is to fail).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.stats import chisquare

from kperf.cluster import Cluster
from kperf.engine.sim import Simulation
from kperf.services import ServiceLayer
from kperf.services.balancer import (
    MAGLEV_TABLE_SIZE,
    Balancer,
    iptables_cascade,
    ipvs_sh_bucket,
    maglev_table,
)

ALPHA = 0.01


def _layer(proxy: str, replicas: int = 5, scheduler: str | None = None,
           affinity: bool = False, **kw: Any) -> tuple[Cluster, ServiceLayer]:
    cluster = Cluster.build(
        nodes=3, cni="calico-bgp", proxy=proxy,
        deployments=[{"name": "client", "replicas": 1, "placement": "node-1"},
                     {"name": "web", "replicas": replicas}],
        services=[{"name": "web", "selector": {"app": "web"},
                   "session_affinity": "ClientIP" if affinity else "None"}],
    )
    sim = Simulation(cluster, "10g-xeon-2015", seed=3)
    return cluster, ServiceLayer(sim, rng=np.random.default_rng(7), scheduler=scheduler, **kw)


def test_iptables_cascade_is_uniform_and_walks_n_plus_1_over_2_rules() -> None:
    rng = np.random.default_rng(11)
    n, draws = 7, 70_000
    counts = np.zeros(n)
    walked = 0
    for _ in range(draws):
        i, w = iptables_cascade(n, rng)
        counts[i] += 1
        walked += w
    assert chisquare(counts).pvalue > ALPHA
    assert walked / draws == pytest.approx((n + 1) / 2, rel=0.01)


@pytest.mark.parametrize(("proxy", "scheduler"), [
    ("iptables", None), ("nftables", None), ("ipvs", "rr"), ("ebpf", "random"),
    ("ebpf", "maglev"),
])
def test_layer_choice_is_uniform(proxy: str, scheduler: str | None) -> None:
    cluster, layer = _layer(proxy, replicas=5, scheduler=scheduler)
    client, svc = cluster.pod("client-0"), cluster.service("web")
    counts: dict[str, int] = {}
    for _ in range(10_000):
        c = layer.connect(client, svc)
        assert c.failed is None and c.backend is not None
        counts[c.backend.name] = counts.get(c.backend.name, 0) + 1
    assert len(counts) == 5
    obs = np.array(list(counts.values()), dtype=float)
    assert chisquare(obs).pvalue > ALPHA
    if scheduler == "rr":
        assert set(counts.values()) == {2_000}  # round robin is exactly even


def test_ipvs_lc_prefers_the_endpoint_with_fewest_active_connections() -> None:
    cluster, layer = _layer("ipvs", replicas=3, scheduler="lc")
    client, svc = cluster.pod("client-0"), cluster.service("web")
    conns = [layer.connect(client, svc) for _ in range(6)]
    names = [c.backend.name for c in conns if c.backend is not None]
    assert sorted(names.count(n) for n in set(names)) == [2, 2, 2]
    # close both connections of one backend: the next two go there
    victim = conns[0].backend
    for c in conns:
        if c.backend is victim:
            c.close()
    assert [layer.connect(client, svc).backend for _ in range(2)] == [victim, victim]


def test_ipvs_sh_sticks_per_source_and_spreads_sources() -> None:
    rng = np.random.default_rng(5)
    ips = rng.integers(0x0AF40000, 0x0AF4FFFF, size=20_000)
    b = Balancer("sh", rng)
    eps = [(u, 100 + u) for u in range(4)]
    counts = np.zeros(4)
    for ip in ips:
        first = b.choose(0, 1, eps, client_ip=int(ip)).index
        assert b.choose(0, 1, eps, client_ip=int(ip)).index == first
        counts[first] += 1
    assert chisquare(counts).pvalue > ALPHA
    assert 0 <= ipvs_sh_bucket(0xFFFFFFFF) < 256


def test_maglev_table_is_balanced_and_consistent() -> None:
    keys = [(u, 1000 + u) for u in range(7)]
    table = maglev_table(keys)
    shares = np.bincount(table, minlength=7)
    assert shares.sum() == MAGLEV_TABLE_SIZE
    assert shares.max() - shares.min() <= 1 + MAGLEV_TABLE_SIZE // 7 // 50  # within 2 %
    # removing one backend moves little more than that backend's own slots
    smaller = maglev_table(keys[:-1])
    moved = sum(1 for a, b in zip(table, smaller, strict=True)
                if a != 6 and keys[a] != keys[b])
    assert moved / MAGLEV_TABLE_SIZE < 0.05


@pytest.mark.parametrize("proxy", ["iptables", "ipvs"])
def test_client_ip_affinity_sticks_until_timeout(proxy: str) -> None:
    cluster, layer = _layer(proxy, replicas=5, affinity=True)
    client, svc = cluster.pod("client-0"), cluster.service("web")
    first = layer.connect(client, svc).backend
    assert all(layer.connect(client, svc).backend is first for _ in range(200))
    # a different client is balanced independently; the timeout is 10,800 s
    b = layer.balancer
    eps = [(u, u) for u in range(5)]
    hit = b.choose(2, 9, eps, client_ip=1, now=0.0, affinity=True)
    assert b.choose(2, 9, eps, client_ip=1, now=10_800.0, affinity=True).affinity_hit
    late = b.choose(2, 9, eps, client_ip=1, now=2 * 10_800.0 + 1, affinity=True)
    assert not late.affinity_hit
    assert hit.index in range(5)


def test_iptables_affinity_walks_recent_rules_first() -> None:
    b = Balancer("random", np.random.default_rng(1), cascade=True)
    eps = [(u, u) for u in range(4)]
    miss = b.choose(0, 1, eps, client_ip=9, affinity=True)
    assert miss.rules_walked >= 4 + 1  # 4 `recent` checks, then the cascade
    hit = b.choose(0, 1, eps, client_ip=9, affinity=True)
    assert hit.affinity_hit and hit.rules_walked == miss.index + 1


def test_unknown_scheduler_is_refused() -> None:
    with pytest.raises(ValueError, match="allowed"):
        Balancer("wrr", np.random.default_rng(0))


@pytest.mark.parametrize("policy", ["Cluster", "Local"])
def test_node_port_external_traffic_policy(policy: str) -> None:
    cluster = Cluster.build(
        nodes=3, cni="calico-bgp", proxy="iptables",
        deployments=[{"name": "web", "replicas": 2, "placement": "node-2"}],
        services=[{"name": "web", "selector": {"app": "web"}, "type": "NodePort",
                   "external_traffic_policy": policy}],
    )
    sim = Simulation(cluster, "10g-xeon-2015")
    layer = ServiceLayer(sim, rng=np.random.default_rng(0))
    svc = cluster.service("web")
    on_node1 = layer.connect_node_port(0, svc, via_node=0)  # node-1 has no endpoint
    on_node2 = layer.connect_node_port(0, svc, via_node=1)
    if policy == "Local":
        assert on_node1.failed == "no-endpoints" and on_node1.backend is None
        assert on_node2.backend is not None and not on_node2.snat and on_node2.via_node is None
    else:
        assert on_node1.backend is not None and on_node1.backend.node == 1
        assert on_node1.via_node == 0 and on_node1.snat  # extra hop, source NATed
        assert on_node2.via_node is None and not on_node2.snat
    # NodePort traffic walks all of KUBE-SERVICES before KUBE-NODEPORTS
    if on_node2.backend is not None:
        clusterip = layer.connect(cluster.pods[0], svc)
        assert on_node2.extra_first_s >= clusterip.extra_first_s
