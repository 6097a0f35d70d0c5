"""Datapath and engine validation (issue 3): idle paths, line rate, overheads, conservation.

Tolerances: idle latency equals the explain breakdown to 1e-9 µs (exact arithmetic of the
same stage times); bulk throughput within 1 % of line rate × MSS / (MSS + headers +
framing); conservation exact.
"""

from __future__ import annotations

import pytest

from kperf.cluster import Cluster
from kperf.datapath.explain import explain
from kperf.datapath.segmentation import ETHERNET_FRAMING_BYTES
from kperf.engine.sim import Simulation
from kperf.profiles import CNI_PROFILES, get_testbed
from kperf.spec import ClusterSpec, parse
from kperf.spec.workload import RrWorkload, StreamWorkload
from kperf.workloads.simulate import simulate
from tests.helpers import fast_cpu, two_node_spec

# CALIBRATION.md encapsulation table: Geneve is 50 bytes without options, 100 reserved
# with OVN-style options (Kube-OVN; NSX-T's Geneve carries options too).
ENCAP_BYTES = {"vxlan": {50}, "geneve": {50, 100}, "ipip": {20}}
STACKED = {"weave-encrypted": 50 + 36}
"""VXLAN 50 plus ESP in transport mode 36 (RFC 4303/4106; tests/test_profiles.py)."""


def _one_message_us(sim: Simulation, src: object, dst: object, nbytes: int) -> float:
    out: list[float] = []
    t0 = 1e-3
    sim.at(t0, lambda: sim.send(src, dst, nbytes, lambda t: out.append(t - t0), flow_id=7))
    sim.run()
    assert len(out) == 1
    return out[0] * 1e6


@pytest.mark.parametrize(
    "cni", ["flannel-vxlan", "calico-bgp", "cilium-native", "calico-wireguard"]
)
@pytest.mark.parametrize("nbytes", [1, 1400, 20_000, 60_000])
def test_idle_message_takes_sum_of_stage_times(cni: str, nbytes: int) -> None:
    cluster = Cluster.build(parse(ClusterSpec, two_node_spec(cni)))
    client, server = cluster.pod("client-0"), cluster.pod("server-0")
    for src, dst in [(client, server), (server, client), (client, 1), (0, server),
                     (client, client)]:
        sim = Simulation(cluster, "10g-xeon-2015")
        got = _one_message_us(sim, src, dst, nbytes)
        want = float(explain(sim.path(src, dst), nbytes).time_us.sum())
        assert got == pytest.approx(want, abs=1e-9)


def test_cross_rack_path_adds_uplink_and_spine() -> None:
    tb = get_testbed("10g-xeon-2015").model_copy(update={"racks": 2, "oversubscription": 4})
    cluster = Cluster.build(nodes=4, deployments=[{"name": "a", "replicas": 4}])
    pods = [p for p in cluster.pods]
    sim = Simulation(cluster, tb)
    far = next(p for p in pods if sim.paths.rack_of(p.node) != sim.paths.rack_of(pods[0].node))
    hops = [h.kind for h in sim.path(pods[0], far).hops]
    assert hops.count("uplink") == 2
    got = _one_message_us(sim, pods[0], far, 5000)
    assert got == pytest.approx(float(explain(sim.path(pods[0], far), 5000).time_us.sum()))


@pytest.mark.parametrize("cni", sorted(n for n, p in CNI_PROFILES.items()
                                       if p.encapsulation in ENCAP_BYTES))
def test_header_overhead_shrinks_mss_as_encapsulation_says(cni: str) -> None:
    profile = CNI_PROFILES[cni]
    tb = get_testbed("10g-xeon-2015")
    cluster = Cluster.build(parse(ClusterSpec, two_node_spec(cni)))
    sim = Simulation(cluster, tb)
    path = sim.path(cluster.pod("client-0"), cluster.pod("server-0"))
    assert path.seg.encap_bytes == profile.encap_bytes
    allowed = {STACKED[cni]} if cni in STACKED else ENCAP_BYTES[profile.encapsulation]
    assert profile.encap_bytes in allowed
    assert path.seg.mtu_bytes == tb.mtu_bytes - profile.mtu_overhead_bytes
    # IPv4 20 + TCP 20 + timestamps 12 (Linux default tcp_timestamps=1)
    assert tb.tcp_timestamps
    assert path.seg.mss_bytes == tb.mtu_bytes - profile.mtu_overhead_bytes - 52
    assert path.seg.per_packet_overhead_bytes == 52 + profile.encap_bytes + ETHERNET_FRAMING_BYTES


@pytest.mark.parametrize("cni,mtu", [("calico-bgp", 1500), ("flannel-vxlan", 1500),
                                     ("calico-ipip", 9000)])
def test_bulk_transfer_reaches_line_rate_times_header_efficiency(cni: str, mtu: int) -> None:
    tb = fast_cpu(get_testbed("10g-xeon-2015")).model_copy(update={"mtu_bytes": mtu})
    spec = parse(ClusterSpec, two_node_spec(cni))
    wl = StreamWorkload(warmup_s=0.002, duration_s=0.02, target="server")
    res = simulate(tb, spec, [wl], seed=1)
    sim = Simulation(Cluster.build(spec), tb)
    seg = sim.path(Cluster.build(spec).pod("client-0"), Cluster.build(spec).pod("server-0")).seg
    want = tb.nic_rate_gbps * seg.efficiency()
    assert res.summary["throughput_gbps"] == pytest.approx(want, rel=0.01)
    assert res.summary["drops"] == 0


def test_nothing_is_lost_silently_under_incast() -> None:
    """Eight UDP senders into one receiver: drops happen and are all accounted for."""
    spec = parse(ClusterSpec, {
        "nodes": 9,
        "node_cidr": "192.168.1.0/24",
        "deployments": [
            {"name": "client", "replicas": 8, "placement": "spread"},
            {"name": "server", "replicas": 1, "placement": "node-9"},
        ],
    })
    tb = get_testbed("10g-xeon-2015")
    wl = StreamWorkload(protocol="udp", duration_s=0.003, placement="all-to-all",
                        locality="cross-node")
    res = simulate(tb, spec, [wl], seed=3)
    s = res.summary
    assert s["packets_dropped"] > 0
    assert s["packets_sent"] == s["packets_delivered"] + s["packets_dropped"]


def test_unreachable_without_cni() -> None:
    spec = parse(ClusterSpec, two_node_spec("none"))
    res = simulate(get_testbed("10g-xeon-2015"), spec, [RrWorkload(duration_s=0.001)], seed=1)
    assert res.summary["completed"] == 0
    assert res.summary["failed"] > 0
    assert res.summary["failed_unreachable"] == res.summary["failed"]
