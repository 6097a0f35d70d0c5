"""Antrea with kube-proxy: ClusterIP packets go out through antrea-gw0 to the host's
kube-proxy rules and back into OVS (``CniProfile.service_hairpin``, issue 19).

The hairpin is three stages composed from costs fixed elsewhere (veth-tx, host-forward,
ovs-datapath-tx), paid per segment on the client node's core: on transmit for requests,
on receive for replies. CAL:A's ClusterIP UDP row (8.62 against 9.80 Gbit/s pod to pod)
is the check: tests/test_calibration.py runs it; here the mechanism itself.
"""

from __future__ import annotations

from typing import Any

import pytest

from kperf.cluster.build import Cluster
from kperf.engine.sim import Simulation
from kperf.profiles import get_cni, get_testbed
from kperf.spec import ClusterSpec, parse
from kperf.spec.workload import StreamWorkload
from kperf.workloads.simulate import simulate
from tests.helpers import two_node_spec

TB = get_testbed("10g-xeon-2015")
HAIRPIN = ("antrea-gw0 to host", "kube-proxy NAT via host", "antrea-gw0 back into OVS")


def _sim(cni: str, proxy: str = "iptables") -> tuple[Simulation, Any, Any]:
    cluster = Cluster.build(parse(ClusterSpec, two_node_spec(cni, proxy=proxy)))
    return Simulation(cluster, TB), cluster.pod("client-0"), cluster.pod("server-0")


def _names(hop: Any) -> list[str]:
    return [s.name for s in hop.cpu.components]


@pytest.mark.parametrize("proxy", ["iptables", "ipvs", "nftables"])
def test_antrea_clusterip_packets_pay_the_hairpin_on_the_client_node(proxy: str) -> None:
    sim, client, server = _sim("antrea-geneve", proxy)
    table = sim.paths
    assert table.hairpins(client)
    fwd = table.service_path(client, server)
    back = table.service_path(client, server, reverse=True)
    plain, plain_back = table.path(client, server), table.path(server, client)
    # requests: the client's transmit core, between the pod's stages and the encap
    names = _names(fwd.hops[0])
    assert names[names.index("ovs-datapath-tx") + 1:][:3] == list(HAIRPIN)
    assert names.index("geneve-encap") > names.index(HAIRPIN[-1])
    # replies: the client's receive core (the last hop); the server side is unchanged
    assert set(HAIRPIN) <= set(_names(back.hops[-1]))
    assert _names(back.hops[0]) == _names(plain_back.hops[0])
    assert not set(HAIRPIN) & set(_names(plain.hops[0]))
    extra = fwd.hops[0].cpu.per_segment_s - plain.hops[0].cpu.per_segment_s
    stages = get_cni("antrea-geneve").service_hairpin
    assert extra == pytest.approx(sum(s.per_segment_us for s in stages) * 1e-6
                                  / TB.cpu_speed_factor)
    assert extra == pytest.approx((0.3 + 0.6 + 1.0) * 1e-6)  # veth-tx, host-forward, OVS


def test_no_hairpin_without_kube_proxy_or_for_other_cnis_or_host_clients() -> None:
    sim, client, server = _sim("antrea-geneve", "ebpf")  # Services not in the host
    assert not sim.paths.hairpins(client)
    assert sim.paths.service_path(client, server) is sim.paths.path(client, server)
    for cni in ("flannel-vxlan", "calico-bgp", "cilium-native", "kube-ovn-geneve"):
        sim, client, server = _sim(cni)
        assert not sim.paths.hairpins(client), cni
        assert sim.paths.service_path(client, server) is sim.paths.path(client, server)
    sim, _client, server = _sim("antrea-geneve")
    assert not sim.paths.hairpins(0)  # a host-network client reaches kube-proxy directly


def _udp_gbps(target: str, cni: str = "antrea-geneve") -> float:
    spec = parse(ClusterSpec, two_node_spec(cni, proxy="iptables", pod_mtu_bytes=8950))
    wl = StreamWorkload(protocol="udp", target=target, warmup_s=0.002, duration_s=0.02)
    return float(simulate(TB, spec, [wl], seed=1).summary["throughput_gbps"])


def test_udp_to_a_clusterip_is_slower_by_the_hairpin_only_for_antrea() -> None:
    pod, svc = _udp_gbps("server"), _udp_gbps("svc/server")
    # the sender's core is the bottleneck once it pays 1.9 us more per 8,922-byte datagram
    assert svc < 0.97 * pod
    per_dgram_us = 8922 * 8 / (svc * 1e9) * 1e6
    assert per_dgram_us - 8922 * 8 / (pod * 1e9) * 1e6 <= 1.9 + 1e-6
    assert _udp_gbps("svc/server", "flannel-vxlan") == _udp_gbps("server", "flannel-vxlan")
