"""The engine's shortcuts change nothing: results with and without them are identical.

Chunks *run ahead* (take their next hop at once when nothing else on SimPy's queue is
due before it), open-loop clients share one pending event (``ArrivalMerger``), and flows
hold their route and last cost table. The engine's reference mode
(``EngineOptions(reference=True)``) does none of these; every summary figure and
resource row must be equal to it, bit for bit, over workloads that queue, drop,
retransmit and go through Services.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
import simpy

from kperf.cluster import Cluster
from kperf.engine.arrivals import ArrivalMerger
from kperf.engine.clock import call_at
from kperf.engine.queues import FifoServer
from kperf.engine.routes import Surcharge
from kperf.engine.sim import EngineOptions, Simulation
from kperf.engine.transit import MAX_CACHED_ROUTES
from kperf.profiles import get_testbed
from kperf.spec import ClusterSpec, parse
from kperf.spec.workload import CrrWorkload, HttpWorkload, RrWorkload, StreamWorkload
from kperf.workloads.simulate import simulate
from tests.helpers import two_node_spec

TB = "10g-xeon-2015"


def _incast_spec() -> ClusterSpec:
    return parse(ClusterSpec, {
        "nodes": 9, "node_cidr": "192.168.1.0/24",
        "deployments": [{"name": "client", "replicas": 8, "placement": "spread"},
                        {"name": "server", "replicas": 1, "placement": "node-9"}],
    })


def _service_spec() -> ClusterSpec:
    return parse(ClusterSpec, {
        "nodes": 6, "cni": "calico-bgp",
        "deployments": [{"name": "client", "replicas": 6}, {"name": "server", "replicas": 6}],
        "services": [{"name": "server", "selector": {"app": "server"}}],
    })


def _cases() -> list[tuple[str, ClusterSpec, Any]]:
    two = parse(ClusterSpec, two_node_spec("flannel-vxlan"))
    many = _service_spec()
    return [
        ("rr open loop, queueing", two, RrWorkload(rate_per_s=60_000, duration_s=0.01)),
        ("rr closed loop", two, RrWorkload(requests=500, duration_s=1, outstanding=3)),
        ("rr through a Service, 6 clients", many,
         RrWorkload(target="svc/server", rate_per_s=5_000, duration_s=0.01)),
        ("crr through a Service", two, CrrWorkload(duration_s=0.003, target="svc/server")),
        ("http", two, HttpWorkload(rate_per_s=40_000, duration_s=0.005)),
        ("tcp stream", two, StreamWorkload(duration_s=0.003)),
        ("udp incast with drops", _incast_spec(),
         StreamWorkload(protocol="udp", duration_s=0.002, placement="all-to-all",
                        locality="cross-node")),
    ]


def _run(spec: ClusterSpec, wl: Any, engine: EngineOptions | None = None
         ) -> tuple[dict[str, Any], pd.DataFrame]:
    res = simulate(get_testbed(TB), spec, [wl], seed=5, engine=engine)
    return res.summary, res.resources


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if set(a) != set(b):
        return False
    return all(x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y))
               for x, y in ((a[k], b[k]) for k in a))


@pytest.mark.parametrize("name", [c[0] for c in _cases()])
def test_the_reference_mode_gives_the_same_results(name: str) -> None:
    _, spec, wl = next(c for c in _cases() if c[0] == name)
    fast = _run(spec, wl)
    # every hop through SimPy's queue, one event per arrival source, nothing held
    plain = _run(spec, wl, EngineOptions(reference=True))
    assert _same(fast[0], plain[0])
    pd.testing.assert_frame_equal(fast[1], plain[1], check_exact=True)
    if name == "udp incast with drops":
        assert fast[0]["packets_dropped"] > 0


def test_the_reference_mode_takes_more_events() -> None:
    """The reference mode really is the plain engine: with every hop and arrival
    through SimPy's queue it processes more events than the fast engine."""
    spec = parse(ClusterSpec, two_node_spec("calico-bgp"))
    counts = []
    for reference in (False, True):
        cluster = Cluster.build(spec)
        sim = Simulation(cluster, get_testbed(TB), seed=1, reference=reference)
        flow = sim.open_flow(cluster.pod("client-0"), cluster.pod("server-0"))
        for k in range(50):
            sim.at(k * 1e-4, lambda f=flow: f.send(100, lambda _t: None))
        events = 0
        while sim.env.peek() != float("inf"):
            sim.env.step()
            events += 1
        counts.append(events)
        assert sim.transit.counters.chunks_delivered == 50
    assert counts[1] > counts[0]


def test_arrival_merger_runs_sources_in_time_order() -> None:
    env = simpy.Environment()
    merger = ArrivalMerger(env)
    seen: list[tuple[float, str]] = []

    def source(name: str, times: list[float]) -> Any:
        it = iter(times)

        def arrive() -> float | None:
            seen.append((env.now, name))
            return next(it, None)

        return arrive, next(it)

    a, a0 = source("a", [1.0, 4.0, 6.0])
    b, b0 = source("b", [2.0, 3.0, 7.0])
    merger.add(a0, a)
    merger.add(b0, b)
    # registered while running, earlier than what is pending: the pending wake-up is
    # superseded, not run twice
    c, c0 = source("c", [2.5, 5.0])
    call_at(env, 0.5, lambda: merger.add(c0, c))
    env.run()
    assert seen == [(1.0, "a"), (2.0, "b"), (2.5, "c"), (3.0, "b"), (4.0, "a"),
                    (5.0, "c"), (6.0, "a"), (7.0, "b")]


def test_long_run_gc_restores_the_collector_after_nested_runs() -> None:
    import gc

    from kperf.gctools import GC_YOUNG_THRESHOLD, long_run_gc

    before = gc.get_threshold()
    with long_run_gc():
        assert gc.get_threshold()[0] == max(before[0], GC_YOUNG_THRESHOLD)
        assert gc.get_freeze_count() > 0
        with long_run_gc():  # a second run (another thread) while the first goes on
            pass
        assert gc.get_threshold()[0] == max(before[0], GC_YOUNG_THRESHOLD)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_paused_gc_nests_and_restores_the_collector() -> None:
    import gc

    from kperf.gctools import paused_gc

    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():  # nested, or another thread's build
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def test_simulate_leaves_the_collector_as_it_found_it() -> None:
    import gc

    before = (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count())
    res = simulate(get_testbed(TB), parse(ClusterSpec, two_node_spec("calico-bgp")),
                   [RrWorkload(requests=200, duration_s=1)], seed=1)
    assert res.summary["completed"] == 200
    assert (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()) == before
    cluster = Cluster.build(parse(ClusterSpec, two_node_spec("calico-bgp")))
    assert len(cluster.pods) == 2 and gc.isenabled()


@pytest.mark.parametrize("kind", ["rr", "http"])
def test_shared_arrival_event_changes_nothing(kind: str) -> None:
    spec = _service_spec()
    wl: Any = (RrWorkload(target="svc/server", rate_per_s=8_000, duration_s=0.01)
               if kind == "rr" else
               HttpWorkload(target="svc/server", rate_per_s=8_000, duration_s=0.01))
    merged = _run(spec, wl)
    direct = _run(spec, wl, EngineOptions(reference=True))
    assert merged[0]["completed"] > 100
    assert _same(merged[0], direct[0])
    pd.testing.assert_frame_equal(merged[1], direct[1], check_exact=True)


def test_dropping_the_route_cache_keeps_every_count() -> None:
    """Connect-per-request traffic makes a new flow, so a new route, per transaction; past
    ``max_routes`` the cache is dropped and its counts folded. Dropping it every few
    routes must give the same results as never dropping it."""
    spec = parse(ClusterSpec, two_node_spec("calico-bgp"))
    wl = CrrWorkload(duration_s=0.004, target="svc/server", outstanding=4)
    kept = _run(spec, wl)
    dropped = _run(spec, wl, EngineOptions(max_routes=5))
    s = dropped[0]
    assert s["completed"] > 50
    assert s["packets_sent"] == s["packets_delivered"] + s["packets_dropped"]
    # busy time and CPU per category are folded in another order: equal to rounding
    busy = ("cpu_cores_busy_max", "link_utilisation_max")
    assert _same({k: v for k, v in kept[0].items() if k not in busy},
                 {k: v for k, v in s.items() if k not in busy})
    for k in busy:
        assert s[k] == pytest.approx(kept[0][k], rel=1e-12)
    pd.testing.assert_frame_equal(kept[1], dropped[1], check_exact=False, rtol=1e-12)


def _count_every_admission(monkeypatch: pytest.MonkeyPatch
                           ) -> dict[FifoServer, list[float]]:
    """Count busy time and customers per server the plain way, at each admission."""
    counted: dict[FifoServer, list[float]] = {}
    admit = FifoServer.admit

    def counting(self: FifoServer, now: float, service_s: float, size: float = 1.0,
                 bounded: bool = True) -> float | None:
        dep = admit(self, now, service_s, size, bounded)
        if dep is not None:
            c = counted.setdefault(self, [0.0, 0])
            c[0] += service_s
            c[1] += 1
        return dep

    monkeypatch.setattr(FifoServer, "admit", counting)
    return counted


def _check_use(sim: Simulation, counted: dict[FifoServer, list[float]]) -> int:
    use = sim.transit.server_use()  # beyond what the servers' own counts hold (folded)
    assert set(use) <= set(counted)
    total = 0
    for server, (want_busy, want_n) in counted.items():
        busy, served = use.get(server, (0.0, 0))
        assert served + server.served == want_n
        assert busy + server.busy_s == pytest.approx(want_busy, rel=1e-12)
        total += served + server.served
    return total


def test_server_use_is_what_every_admission_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Servers do not count chunks; their busy time and customers are derived from the
    programs' delivered and dropped-per-hop counts and the chunks in flight. Checked
    against counting at each admission, mid-run (chunks on the way, some dropped: UDP
    incast into small buffers) and after, with the route cache dropped every 3 routes."""
    counted = _count_every_admission(monkeypatch)
    cluster = Cluster.build(_incast_spec())
    sim = Simulation(cluster, get_testbed(TB), seed=1, max_routes=3)
    server = cluster.pod("server-0")
    for k in range(8):
        flow = sim.open_flow(cluster.pod(f"client-{k}"), server, flow_id=k + 1, udp=True)
        for m in range(40):
            sim.at(m * 2e-6, lambda f=flow: f.send(30_000, lambda t: None))
    sim.run(until=40e-6)
    assert sim.transit.counters.chunks_in_flight > 0
    mid = _check_use(sim, counted)
    sim.run()
    assert sim.transit.counters.chunks_dropped > 0
    assert _check_use(sim, counted) > mid
    res = sim.resources_df()
    assert res[res.resource.isin(["cpu", "nic", "port"])].served.sum() == sum(
        int(n) for _, n in counted.values())


@pytest.mark.parametrize("max_routes", [MAX_CACHED_ROUTES, 3])
def test_held_routes_change_nothing(max_routes: int) -> None:
    """An rr connection's flows hold their route and last cost table: the same results
    as looking them up for every message (the reference mode), also when the engine
    drops its route cache every 3 routes (a held route's epoch goes stale)."""
    wl = RrWorkload(target="svc/server", rate_per_s=20_000, duration_s=0.01, outstanding=2)
    cached = _run(_service_spec(), wl, EngineOptions(max_routes=max_routes))
    plain = _run(_service_spec(), wl, EngineOptions(reference=True, max_routes=max_routes))
    assert cached[0]["completed"] > 500
    busy = ("cpu_cores_busy_max", "link_utilisation_max")  # folded in another order
    assert _same({k: v for k, v in cached[0].items() if k not in busy},
                 {k: v for k, v in plain[0].items() if k not in busy})
    for k in busy:
        assert cached[0][k] == pytest.approx(plain[0][k], rel=1e-12)
    pd.testing.assert_frame_equal(cached[1], plain[1], check_exact=False, rtol=1e-12)


def test_a_flow_refreshes_its_route_when_the_epoch_moves() -> None:
    cluster = Cluster.build(parse(ClusterSpec, two_node_spec("calico-bgp")))
    sim = Simulation(cluster, get_testbed(TB), seed=1)
    flow = sim.open_flow(cluster.pod("client-0"), cluster.pod("server-0"), flow_id=7)
    done: list[float] = []
    flow.send(100, done.append)
    first = flow.route()
    assert flow.epoch == sim.transit.epoch and first is not None
    flow.send(100, done.append)
    assert flow.route() is first  # held: no lookup
    sim.transit.retire_routes()
    assert flow.epoch != sim.transit.epoch  # stale
    flow.send(100, done.append)
    assert flow.epoch == sim.transit.epoch and flow.route() is not first
    sim.run()
    assert len(done) == 3 and sim.transit.counters.chunks_delivered == 3


def test_a_held_program_is_keyed_by_value() -> None:
    """A flow holds the program of its last one-chunk message with its own surcharge,
    keyed by the size; another size or surcharge takes the route's lookup, which is
    keyed by value (an equal surcharge in another object finds the same program), and a
    multi-chunk message is never held. Every message is charged its own kind's cost."""
    cluster = Cluster.build(parse(ClusterSpec, two_node_spec("calico-bgp")))
    sim = Simulation(cluster, get_testbed(TB), seed=1)
    extra = 3e-6
    flow = sim.open_flow(cluster.pod("client-0"), cluster.pod("server-0"), flow_id=7,
                         surcharge=Surcharge(extra))
    done: list[float] = []
    for nbytes in [100, 100, 2000, 2000, 100, 200_000, 100]:
        flow.send(nbytes, done.append)
        sim.run()
    route = flow.route()
    assert route is not None
    progs = route.progs
    assert progs[(100, extra, 0.0)].delivered == 4
    assert progs[(2000, extra, 0.0)].delivered == 2
    # an equal surcharge, another float object: the same program, by value
    flow.send(100, done.append, surcharge=Surcharge(float(str(extra))))
    # no surcharge: a program of its own
    flow.send(100, done.append, surcharge=Surcharge())
    sim.run()
    assert progs[(100, extra, 0.0)].delivered == 5
    assert progs[(100, 0.0, 0.0)].delivered == 1
    assert len(done) == 9
    assert sum(p.delivered for p in progs.values()) == sim.transit.counters.chunks_delivered
    # the surcharge is CPU on the sender's core, category proxy
    cost = progs[(100, extra, 0.0)].plan.categories["proxy"]
    assert cost == pytest.approx(extra)


def test_an_app_pool_handle_serves_and_counts_like_the_pod() -> None:
    cluster = Cluster.build(parse(ClusterSpec, two_node_spec("calico-bgp")))
    sim = Simulation(cluster, get_testbed(TB), seed=1)
    pod = cluster.pod("server-0")
    ends: list[float] = []
    sim.serve_app(pod, 2e-6, ends.append)
    app = sim.app_pool(pod)
    assert sim.app_pool(pod) is app
    sim.serve_on(app, 3e-6, ends.append)
    sim.serve_app(pod, 5e-6, ends.append)
    sim.run()
    pool = sim.network.apps[pod.uid]
    assert pool is app and pool.served == 3
    assert ends == sorted(ends) and ends[0] == pytest.approx(2e-6)
    assert sim.app_cpu_s == {(pod.node, "app"): 2e-6 + 3e-6 + 5e-6}
    res = sim.resources_df()
    assert res[res.resource == "cpu:app"].busy_s.tolist() == [2e-6 + 3e-6 + 5e-6]
