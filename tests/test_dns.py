"""Cluster DNS (issue 4): resolv.conf query counts, timeouts, caches, CoreDNS capacity.

Query counts are exact. The hypothesis property checks the planner against an oracle
written from the semantics (where the answer can be found) rather than from glibc's
loop. Tolerances: CoreDNS replica throughput within 3 % of CALIBRATION.md's 33.7 k
queries/s; timeouts land on the 5 s resolver timeout to within 10 ms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kperf.cluster import Cluster
from kperf.engine.sim import Simulation
from kperf.services import ServiceLayer
from kperf.services.dns import COREDNS_QUERY_S, coredns_spec
from kperf.services.resolvconf import Zone, candidates, plan, search_list

SERVICES = {("default", "web"), ("other", "web"), ("other", "db"), ("kube-system", "kube-dns")}
ZONE = Zone(SERVICES)


@pytest.mark.parametrize(("name", "ns", "per_type", "ok"), [
    ("web", "default", 1, True),                         # short in-cluster name
    ("web.other", "default", 2, True),                   # <svc>.<ns>: second suffix
    ("web.other.svc", "default", 3, True),               # third suffix
    ("web.other.svc.cluster.local.", "default", 1, True),  # FQDN with trailing dot
    ("web.other.svc.cluster.local", "default", 4, True),  # 4 dots < 5: suffixes first
    ("example.com", "default", 4, True),                 # external: 3 failures, then itself
    ("www.example.com", "default", 4, True),
    ("a.b.c.d.e.example.com", "default", 1, True),       # >= 5 dots: as-is first
    ("nope", "default", 4, False),                       # nothing anywhere
    ("db", "default", 4, False),                         # db lives in another namespace
    ("db", "other", 1, True),
    ("10-244-1-5.default.pod", "default", 3, True),      # pod A record
])
def test_query_counts_follow_resolv_conf(name: str, ns: str, per_type: int, ok: bool) -> None:
    p = plan(name, ns, ZONE)
    assert len(p.tried) == per_type and p.ok is ok
    assert p.queries == 2 * per_type  # A and AAAA


def test_search_list_and_order() -> None:
    assert search_list("team") == ("team.svc.cluster.local", "svc.cluster.local",
                                   "cluster.local")
    assert candidates("web", "team") == ["web.team.svc.cluster.local.",
                                         "web.svc.cluster.local.", "web.cluster.local.", "web."]
    assert candidates("a.b.c.d.e.f", "x")[0] == "a.b.c.d.e.f."
    assert candidates("x.y.", "team") == ["x.y."]


_LABEL = st.sampled_from(["web", "db", "default", "other", "svc", "pod", "cluster", "local",
                          "example", "com", "10-244-1-5", "kube-system", "x1", "io"])


def _oracle(name: str, ns: str) -> tuple[int, bool]:
    """(candidates tried, resolved) from where the answer can be found."""
    if name.endswith("."):
        return 1, ZONE.exists(name)
    labels = name.split(".")
    as_is = ZONE.exists(name + ".")
    if len(labels) - 1 >= 5:
        return (1, True) if as_is else (4, False)
    # which search suffix can complete the name (the kubernetes plugin's shapes)
    if len(labels) == 1 and (ns, labels[0]) in SERVICES:
        return 1, True
    if len(labels) == 2 and (labels[1], labels[0]) in SERVICES:
        return 2, True
    if len(labels) == 3 and labels[2] == "svc" and (labels[1], labels[0]) in SERVICES:
        return 3, True
    if len(labels) == 3 and labels[2] == "pod" and labels[0] == "10-244-1-5":
        return 3, True
    return 4, as_is


@settings(max_examples=300, deadline=None)
@given(labels=st.lists(_LABEL, min_size=1, max_size=8), dot=st.booleans(),
       ns=st.sampled_from(["default", "other", "team"]))
def test_query_count_property(labels: list[str], dot: bool, ns: str) -> None:
    name = ".".join(labels) + ("." if dot else "")
    p = plan(name, ns, ZONE)
    tried, ok = _oracle(name, ns)
    assert (len(p.tried), p.ok) == (tried, ok)
    assert p.queries == 2 * tried
    assert 1 <= len(p.tried) <= 4


# -- over the engine ---------------------------------------------------------------------
def _cluster(nodes: int = 3, with_coredns: bool = False, **spec: Any) -> Cluster:
    deps: list[dict[str, Any]] = [{"name": "client", "replicas": 2, "placement": "node-1"},
                                  {"name": "web", "replicas": 2}]
    svcs: list[dict[str, Any]] = [{"name": "web", "selector": {"app": "web"}}]
    if with_coredns:
        dep, svc = coredns_spec(replicas=1)
        dep["placement"] = f"node-{nodes}"
        deps.append(dep)
        svcs.append(svc)
    return Cluster.build(nodes=nodes, cni="calico-bgp", proxy="iptables", deployments=deps,
                         services=svcs, **spec)


def _lookup_at(layer: ServiceLayer, t0: float, client: Any, name: str,
               out: list[tuple[float, int, bool]]) -> None:
    """At ``t0``, resolve ``name`` from ``client``; append (latency, queries, ok)."""

    def done(t: float, q: int, ok: bool) -> None:
        out.append((t - t0, q, ok))

    def start() -> None:
        layer.resolve(client, name, done)

    layer.sim.at(t0, start)


def test_engine_query_counts_and_latency() -> None:
    cluster = _cluster()
    sim = Simulation(cluster, "10g-xeon-2015", seed=1)
    layer = ServiceLayer(sim, rng=np.random.default_rng(1))
    client = cluster.pod("client-0")
    names = ["web", "example.com", "web.default.svc.cluster.local.", "nope"]
    results: dict[str, list[tuple[float, int, bool]]] = {n: [] for n in names}
    for n in names:
        _lookup_at(layer, 0.0, client, n, results[n])
    sim.run()
    out = {n: r[0] for n, r in results.items()}
    assert {n: out[n][1:] for n in names} == {
        "web": (2, True), "example.com": (8, True),
        "web.default.svc.cluster.local.": (2, True), "nope": (8, False)}
    assert out["web"][0] < 1e-3  # one round inside the cluster: well under a millisecond
    assert out["example.com"][0] > 1e-3  # forwarded upstream after three NXDOMAINs
    assert layer.counters["dns_queries"] == 20
    # kperf simulated CoreDNS on node-1 and node-2 without touching the cluster's pods
    assert layer.dns.simulated and [p.node for p in map(layer.pod, layer.dns.service.endpoints)
                                    ] == [0, 1]
    assert all(p.deployment != "coredns" for p in cluster.pods)
    assert layer.dns.service.cluster_ip_str == "10.96.0.10"


def test_lost_queries_wait_the_5_s_resolver_timeout_then_retry() -> None:
    cluster = _cluster()
    sim = Simulation(cluster, "10g-xeon-2015", seed=1)
    layer = ServiceLayer(sim, rng=np.random.default_rng(4), dns_loss=0.999_999)
    out: list[tuple[float, int, bool]] = []
    _lookup_at(layer, 0.0, cluster.pod("client-0"), "web", out)
    sim.run()
    (t, q, ok), = out
    assert not ok and q == 4  # 2 tries × (A + AAAA), then the search gives up
    assert t == pytest.approx(10.0, abs=0.01)
    assert layer.counters["dns_timeouts"] == 2


def test_some_loss_shows_5_s_steps() -> None:
    cluster = _cluster()
    sim = Simulation(cluster, "10g-xeon-2015", seed=1)
    layer = ServiceLayer(sim, rng=np.random.default_rng(5), dns_loss=0.2)
    client = cluster.pod("client-0")
    out: list[tuple[float, int, bool]] = []
    for k in range(400):
        _lookup_at(layer, k * 0.01, client, "web", out)
    sim.run()
    lat = np.array([t for t, _, ok in out if ok])
    fast = (lat < 0.01).sum()
    step = ((lat >= 5.0) & (lat < 5.01)).sum()
    assert fast > 200 and step > 50 and fast + step == len(lat)
    # P(a round loses one of 2 queries) = 1 - 0.8² = 0.36; both tries fail: 0.13
    failed = sum(1 for *_, ok in out if not ok)
    assert 0.08 < failed / len(out) < 0.18


def test_client_cache_honours_the_ttl() -> None:
    cluster = _cluster()
    sim = Simulation(cluster, "10g-xeon-2015", seed=1)
    layer = ServiceLayer(sim, rng=np.random.default_rng(1), dns_client_cache=True)
    client = cluster.pod("client-0")
    out: list[tuple[float, int, bool]] = []
    for t in (0.0, 1.0, 4.9, 5.1):  # the kubernetes plugin's TTL is 5 s
        _lookup_at(layer, t, client, "web", out)
    sim.run()
    assert [q for _, q, _ in out] == [2, 0, 0, 2]
    assert layer.counters["dns_client_cache_hits"] == 2


def test_nodelocal_dnscache_answers_repeat_queries_on_the_node() -> None:
    cluster = _cluster()
    sim = Simulation(cluster, "10g-xeon-2015", seed=1)
    layer = ServiceLayer(sim, rng=np.random.default_rng(1), nodelocal_dns=True)
    a, b = cluster.pod("client-0"), cluster.pod("client-1")
    first: list[tuple[float, int, bool]] = []
    second: list[tuple[float, int, bool]] = []
    _lookup_at(layer, 0.0, a, "web", first)
    _lookup_at(layer, 0.01, b, "web", second)
    sim.run()
    out = first + second
    assert [(q, ok) for _, q, ok in out] == [(2, True), (2, True)]
    assert layer.counters["dns_nodelocal_hits"] == 2  # b's A and AAAA
    coredns_served = sum(sim.network.apps[u].served for u in layer.dns.service.endpoints
                         if u in sim.network.apps)
    assert coredns_served == 2  # only a's queries reached CoreDNS
    assert out[1][0] < out[0][0]  # the cached answer is faster


def test_coredns_replica_serves_33_7k_queries_per_s() -> None:
    """One 2-vCPU replica (a cluster coredns deployment with 2 workers), offered 60 k
    lookups/s of an in-cluster name for 0.1 s: it serves ~33.7 k queries/s."""
    cluster = _cluster(with_coredns=True)
    sim = Simulation(cluster, "10g-xeon-2015", seed=1)
    layer = ServiceLayer(sim, rng=np.random.default_rng(1))
    assert not layer.dns.simulated and layer.dns.service.name == "kube-dns"
    clients = [cluster.pod("client-0"), cluster.pod("client-1")]
    n = 3_000
    done: list[float] = []

    def finished(t: float, _q: int, _ok: bool) -> None:
        done.append(t)

    def lookup(client: Any) -> Callable[[], None]:
        return lambda: layer.resolve(client, "web.default.svc.cluster.local.", finished)

    for k in range(n):  # each lookup is 2 queries: 60 k queries/s offered
        sim.at(k / 30_000, lookup(clients[k % 2]))
    sim.run()
    pool = sim.network.apps[cluster.pod("coredns-0").uid]
    assert pool.served == 2 * n and len(done) == n
    # saturated from the start: completions pace at the replica's capacity
    rate = 2 * (n - 1) / (max(done) - min(done))
    assert rate == pytest.approx(33_700, rel=0.03)
    assert pytest.approx(59.3e-6, rel=0.01) == COREDNS_QUERY_S


def test_single_node_cluster_gets_one_simulated_replica() -> None:
    cluster = Cluster.build(nodes=1, deployments=[{"name": "client"}])
    layer = ServiceLayer(Simulation(cluster, "10g-xeon-2015"), rng=np.random.default_rng(0))
    assert [layer.pod(u).node for u in layer.dns.service.endpoints] == [0]
