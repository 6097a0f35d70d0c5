"""The flow API: what a flow holds, what its messages report, and when it looks again."""

from __future__ import annotations

import pytest

from kperf.cluster import Cluster
from kperf.engine.plans import ClassStats
from kperf.engine.sim import Simulation
from kperf.engine.transit import FlowHooks
from kperf.spec import ClusterSpec, parse
from tests.helpers import two_node_spec

TB = "10g-xeon-2015"


def _sim(cni: str = "calico-bgp") -> tuple[Simulation, Cluster]:
    cluster = Cluster.build(parse(ClusterSpec, two_node_spec(cni)))
    return Simulation(cluster, TB, seed=1), cluster


def test_a_flow_and_its_reverse_share_the_flow_id_and_the_stats() -> None:
    sim, cluster = _sim()
    stats = ClassStats()
    chunks: list[tuple[float, int]] = []
    a, b = cluster.pod("client-0"), cluster.pod("server-0")
    flow = sim.open_flow(a, b, hooks=FlowHooks(stats, on_chunk=lambda t, n: chunks.append(
        (t, n))))
    assert flow.reverse.flow_id == flow.flow_id and flow.reverse.reverse is flow
    assert (flow.reverse.src, flow.reverse.dst) == (b, a)
    done: list[float] = []
    flow.send(200_000, done.append)  # 4 chunks of about 64 KiB
    sim.run()
    flow.reverse.send(100, done.append)
    flow.send(100, done.append, measure=False)  # feeds no stats
    sim.run()
    assert len(done) == 3
    assert sum(n for _, n in chunks) == 200_000 + 100  # per-chunk calls: forward only
    assert sum(stats.plan_chunks.values()) == 4 + 1  # measured chunks, both ways
    assert stats.by_category()["stack"] > 0


def test_an_unreachable_flow_drops_every_message_and_counts_it() -> None:
    cluster = Cluster.build(nodes=2, pods=[{"name": "a", "node": "node-1", "ip": "10.244.1.2"},
                                           {"name": "b", "node": "node-2"}])
    sim = Simulation(cluster, TB, seed=1)
    flow = sim.open_flow(cluster.pod("b"), cluster.pod("a"))
    why: list[str] = []
    assert flow.send(100, lambda _t: None, lambda _t, r: why.append(r)) is None
    sim.run()
    assert why == ["unreachable"] and sim.transit.counters.unreachable == 1
    assert flow.route() is None


def test_a_recreated_pod_gets_a_path_of_its_own() -> None:
    """Without a CNI, pod a's address lies in node-2's range, so b cannot reach it;
    recreated, a gets an address of its own node and a new flow to it is delivered
    (paths are keyed by the pod's generation, not only its uid)."""
    cluster = Cluster.build(nodes=2, pods=[{"name": "a", "node": "node-1", "ip": "10.244.1.2"},
                                           {"name": "b", "node": "node-2"}])
    sim = Simulation(cluster, TB, seed=1)
    b = cluster.pod("b")
    assert sim.path(b, cluster.pod("a")).unreachable
    new_a = cluster.recreate_pod("a")
    done: list[float] = []
    sim.open_flow(b, new_a).send(100, done.append)
    sim.run()
    assert len(done) == 1 and not sim.path(b, new_a).unreachable


def test_a_one_off_send_is_a_flow_of_its_own() -> None:
    sim, cluster = _sim()
    a, b = cluster.pod("client-0"), cluster.pod("server-0")
    one: list[float] = []
    kept: list[float] = []
    sim.send(a, b, 1000, one.append, flow_id=7)
    sim.run()
    flow = sim.open_flow(a, b, flow_id=7)
    sim.at(sim.now, lambda: flow.send(1000, lambda t, t0=sim.now: kept.append(t - t0)))
    sim.run()
    assert one[0] == pytest.approx(kept[0], rel=1e-12)  # idle either way: same latency
