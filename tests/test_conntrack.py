"""Conntrack (issue 4): table size, timeouts, eviction, and full-table SYN retries."""

from __future__ import annotations

import numpy as np
import pytest

from kperf.cluster import Cluster
from kperf.engine.routes import Surcharge
from kperf.engine.sim import Simulation
from kperf.services import ServiceLayer
from kperf.services.conntrack import (
    SYN_GIVE_UP_S,
    TIMEOUTS_S,
    ConntrackTable,
    conntrack_max,
)


def _layer(entries: int, proxy: str = "iptables") -> tuple[Cluster, Simulation, ServiceLayer]:
    cluster = Cluster.build(
        nodes=2, cni="calico-bgp", proxy=proxy,
        deployments=[{"name": "client", "replicas": 1, "placement": "node-1"},
                     {"name": "web", "replicas": 2, "placement": "node-2"}],
        services=[{"name": "web", "selector": {"app": "web"}},
                  {"name": "dns", "selector": {"app": "web"}, "protocol": "UDP", "port": 53}],
    )
    sim = Simulation(cluster, "10g-xeon-2015", seed=1)
    return cluster, sim, ServiceLayer(sim, rng=np.random.default_rng(1),
                                      conntrack_entries=entries)


def test_table_size_is_kube_proxys() -> None:
    assert conntrack_max(1) == 131_072
    assert conntrack_max(4) == 131_072
    assert conntrack_max(8) == 262_144
    assert conntrack_max(32) == 1_048_576
    cluster = Cluster.build(nodes=2)
    sim = Simulation(cluster, "10g-xeon-2015")
    layer = ServiceLayer(sim, rng=np.random.default_rng(0))
    assert layer.conntrack(0).max_entries == 262_144  # testbed A: 8 cores
    assert int(cluster.dataplane_state(8).conntrack_max.iloc[0]) == 262_144


@pytest.mark.parametrize("state", sorted(TIMEOUTS_S))
def test_entries_expire_after_their_timeout(state: str) -> None:
    t = ConntrackTable(10)
    assert t.insert(1, state, 0.0)
    timeout = TIMEOUTS_S[state]
    assert t.count(timeout - 1e-6) == 1
    assert t.count(timeout) == 0


def test_kube_proxy_timeouts() -> None:
    assert TIMEOUTS_S["established"] == 86_400.0
    assert TIMEOUTS_S["close_wait"] == 3_600.0
    assert TIMEOUTS_S["time_wait"] == 120.0
    assert TIMEOUTS_S["udp"] == 30.0


def test_full_table_evicts_closing_entries_but_drops_when_all_established() -> None:
    t = ConntrackTable(3)
    for k in range(3):
        t.insert(k, "established", 0.0)
    assert not t.insert(10, "established", 1.0)
    assert t.drops == 1
    t.set_state(0, "time_wait", 2.0)  # a connection closed
    assert t.insert(11, "established", 3.0)
    assert t.evictions == 1 and t.count(3.0) == 3 and 0 not in t


def _preload(layer: ServiceLayer, expiring: dict[float, int]) -> None:
    """Fill node-1's table with ESTABLISHED entries idle for so long that ``n`` of them
    expire at each time ``t`` of ``expiring``; the rest stay."""
    table = layer.conntrack(0)
    key = -1
    for t, n in expiring.items():
        for _ in range(n):
            table.insert(key, "established", 0.0, at=t - TIMEOUTS_S["established"])
            key -= 1
    while table.count(0.0) < table.max_entries:
        table.insert(key, "established", 0.0)
        key -= 1


def test_full_table_drops_syns_and_clients_retry_at_1_and_3_s() -> None:
    cluster, sim, layer = _layer(100)
    _preload(layer, {0.5: 10, 2.5: 10})
    client, svc = cluster.pod("client-0"), cluster.service("web")
    latencies: list[float] = []
    failures: list[tuple[str, float]] = []

    def attempt() -> None:
        t0 = sim.now
        c = layer.connect(client, svc)
        if c.failed is not None:
            failures.append((c.failed, c.setup_delay_s))
            return
        backend = c.backend
        assert backend is not None

        flow = sim.open_flow(client, backend, flow_id=0)

        def synack(_t: float) -> None:
            flow.reverse.send(0, lambda t: latencies.append(t - t0))

        def syn() -> None:
            flow.send(0, synack, surcharge=Surcharge(c.extra_first_s))

        sim.at(t0 + c.setup_delay_s, syn)

    for k in range(30):
        sim.at(k * 1e-3, attempt)
    sim.run()
    lat = np.array(latencies)
    # the latency histogram has two steps: 1 s (first retransmit) and 3 s (second)
    assert len(lat) == 20
    assert ((lat >= 1.0) & (lat < 1.01)).sum() == 10
    assert ((lat >= 3.0) & (lat < 3.01)).sum() == 10
    assert (lat < 1.0).sum() == 0
    assert failures == [("conntrack-full", SYN_GIVE_UP_S)] * 10
    c = layer.counters
    assert c["drops"] == 10 * 1 + 10 * 2 + 10 * 7  # every dropped SYN counted
    assert c["syn_retries"] == 10 * 1 + 10 * 2 + 10 * 6
    assert c["conntrack_full"] == 10


def test_udp_on_a_full_table_is_dropped_without_retry() -> None:
    cluster, _sim, layer = _layer(20)
    _preload(layer, {})
    c = layer.connect(cluster.pod("client-0"), cluster.service("dns"))
    assert c.failed == "conntrack-full" and c.setup_delay_s == 0.0
    assert layer.counters["syn_retries"] == 0 and layer.counters["drops"] == 1


def test_closed_connections_make_room() -> None:
    cluster, _sim, layer = _layer(10)
    client, svc = cluster.pod("client-0"), cluster.service("web")
    conns = [layer.connect(client, svc) for _ in range(10)]
    assert all(c.failed is None for c in conns)
    assert layer.connect(client, svc).failed == "conntrack-full"
    for c in conns:
        c.close()
    assert layer.conntrack(0).state_counts(0.0) == {"time_wait": 10}
    assert layer.connect(client, svc).failed is None  # a TIME_WAIT entry was evicted


def test_ebpf_socket_lb_uses_no_netfilter_conntrack() -> None:
    cluster, _sim, layer = _layer(5, proxy="ebpf")
    client, svc = cluster.pod("client-0"), cluster.service("web")
    assert all(layer.connect(client, svc).failed is None for _ in range(50))
    assert layer.counters["conntrack_inserts"] == 0
