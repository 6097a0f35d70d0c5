"""Conntrack as a datapath cost (issue 19 item 3): where a new connection gets an
nf_conntrack entry, what it costs each end, and what the crr workload charges."""

from __future__ import annotations

from typing import Any

import pytest

from kperf.calibration.cases import CalibrationCase, load_cases, select
from kperf.calibration.validate import build_run
from kperf.cluster import Cluster
from kperf.datapath.conntrack import (
    connection_costs_us,
    connection_parts,
    conntrack_nodes,
)
from kperf.datapath.explain import connection_rows
from kperf.engine.sim import Simulation
from kperf.errors import SpecError
from kperf.profiles import CNI_PROFILES, get_testbed
from kperf.profiles.cni import CALICO_NEW_CONNECTION_US, CALICO_NEW_FLOW_US, CONNTRACK_NEW_US
from kperf.spec import ClusterSpec, parse
from kperf.spec.loader import parse as parse_model
from kperf.workloads.rr import connection_costs_s
from tests.helpers import two_node_spec

TB = get_testbed("10g-xeon-2015")


def _cluster(cni: str, proxy: str) -> Any:
    data = two_node_spec(cni)
    data["proxy"] = proxy
    return Cluster.build(parse(ClusterSpec, data))


def _pods(cluster: Any) -> tuple[Any, Any]:
    """A pod on node-1 and one on node-2."""
    a = next(p for p in cluster.pods if p.node == 0 and not p.host_network)
    b = next(p for p in cluster.pods if p.node == 1 and not p.host_network)
    return a, b


NETFILTER_CNIS = sorted(n for n, p in CNI_PROFILES.items() if p.netfilter_conntrack)
EBPF_CNIS = ["cilium-native", "cilium-vxlan", "calico-ebpf"]


def test_netfilter_cnis_are_the_ones_with_netfilter_or_ovs_ct() -> None:
    assert set(NETFILTER_CNIS) == {
        "calico-bgp", "calico-ipip", "calico-vxlan", "calico-wireguard", "canal",
        "weave-fastdp", "weave-encrypted", "kube-router", "antrea-geneve", "kube-ovn-geneve",
        "cisco-aci",
        "nsx-t"}
    for name in ("flannel-vxlan", "flannel-host-gw", *EBPF_CNIS):
        assert not CNI_PROFILES[name].netfilter_conntrack


@pytest.mark.parametrize("cni", ["flannel-vxlan", "flannel-host-gw", *EBPF_CNIS])
@pytest.mark.parametrize("proxy", ["iptables", "ipvs", "nftables"])
def test_kube_proxy_brings_conntrack_to_every_node(cni: str, proxy: str) -> None:
    cluster = _cluster(cni, proxy)
    a, b = _pods(cluster)
    assert conntrack_nodes(cluster, a, b) == [("client", 0), ("server", 1)]


@pytest.mark.parametrize("cni", EBPF_CNIS)
def test_ebpf_with_kube_proxy_replacement_has_no_nf_conntrack(cni: str) -> None:
    cluster = _cluster(cni, "ebpf")
    a, b = _pods(cluster)
    assert conntrack_nodes(cluster, a, b) == []
    names = [p.stage for p in connection_parts(cluster, TB, a, b)]
    assert names == ["tcp connect (socket)", "tcp accept (socket)"]


def test_flannel_without_kube_proxy_has_none() -> None:
    # Flannel's own datapath (bridge, VXLAN) uses no conntrack: only kube-proxy does
    cluster = _cluster("flannel-vxlan", "ebpf")
    a, b = _pods(cluster)
    assert conntrack_nodes(cluster, a, b) == []


@pytest.mark.parametrize("cni", NETFILTER_CNIS)
def test_netfilter_cnis_track_whatever_the_proxy(cni: str) -> None:
    cluster = _cluster(cni, "ebpf")
    a, b = _pods(cluster)
    assert conntrack_nodes(cluster, a, b) == [("client", 0), ("server", 1)]


def test_one_entry_per_node_for_a_same_node_connection() -> None:
    cluster = _cluster("calico-bgp", "iptables")
    a, _b = _pods(cluster)
    other = next((p for p in cluster.pods if p.node == a.node and p is not a), None)
    target = other if other is not None else 0  # the node itself, host network
    assert conntrack_nodes(cluster, a, target) == [("client", 0)]


def test_host_network_override() -> None:
    cluster = _cluster("flannel-vxlan", "iptables")
    assert conntrack_nodes(cluster, 0, 1) == [("client", 0), ("server", 1)]
    cluster.conntrack_override = False
    assert conntrack_nodes(cluster, 0, 1) == []
    a, b = _pods(cluster)  # pod traffic is not overridden
    assert conntrack_nodes(cluster, a, b) == [("client", 0), ("server", 1)]
    ebpf = _cluster("cilium-native", "ebpf")
    assert conntrack_nodes(ebpf, 0, 1) == []
    ebpf.conntrack_override = True
    assert conntrack_nodes(ebpf, 0, 1) == [("client", 0), ("server", 1)]


def test_calico_total_per_end_is_kept_and_split() -> None:
    assert pytest.approx(CALICO_NEW_CONNECTION_US) == CALICO_NEW_FLOW_US + CONNTRACK_NEW_US
    cluster = _cluster("calico-bgp", "iptables")
    a, b = _pods(cluster)
    connect, accept = connection_costs_us(cluster, TB, a, b)
    assert connect == pytest.approx(TB.tcp_connect_us + CALICO_NEW_CONNECTION_US)
    assert accept == pytest.approx(TB.tcp_accept_us + CALICO_NEW_CONNECTION_US)
    stages = {(p.side, p.stage): p.us for p in connection_parts(cluster, TB, a, b)}
    assert stages[("client", "conntrack new (node-1 host netns)")] == CONNTRACK_NEW_US
    assert stages[("server", "conntrack new (node-2 host netns)")] == CONNTRACK_NEW_US
    assert stages[("client", "calico policy, new flow")] == CALICO_NEW_FLOW_US
    assert stages[("server", "calico policy, new flow")] == CALICO_NEW_FLOW_US


def test_flannel_pays_conntrack_only_with_kube_proxy() -> None:
    with_kp = _cluster("flannel-vxlan", "iptables")
    without = _cluster("flannel-vxlan", "ebpf")
    a, b = _pods(with_kp)
    c, s = connection_costs_us(with_kp, TB, a, b)
    a2, b2 = _pods(without)
    c2, s2 = connection_costs_us(without, TB, a2, b2)
    assert (c - c2, s - s2) == pytest.approx((CONNTRACK_NEW_US, CONNTRACK_NEW_US))


def test_workload_charges_the_parts_on_the_testbed_core() -> None:
    tb = get_testbed("100g-ryzen-2021")
    cluster = _cluster("calico-bgp", "iptables")
    a, b = _pods(cluster)
    sim = Simulation(cluster, tb)
    connect_s, accept_s = connection_costs_s(sim, a, b)
    assert connection_costs_s(sim, a, b) == (connect_s, accept_s)  # memoised, the same
    rows = connection_rows(cluster, tb, a, b)
    client_us = sum(r["time_us"] for r in rows if r["end"] == "client")
    server_us = sum(r["time_us"] for r in rows if r["end"] == "server")
    assert connect_s * 1e6 == pytest.approx(client_us)
    assert accept_s * 1e6 == pytest.approx(server_us)
    ct = [r for r in rows if r["stage"].startswith("conntrack new")]
    assert [r["node"] for r in ct] == ["node-1", "node-2"]
    assert ct[0]["time_us"] == pytest.approx(CONNTRACK_NEW_US / tb.cpu_speed_factor)


def _case(name: str) -> CalibrationCase:
    return select(load_cases(), name)


@pytest.mark.parametrize("name,tracked", [
    ("c-node-to-node-tcp-crr", False),           # CAL:C baseline: no Kubernetes
    ("c-cilium-ebpf-tcp-crr", False),            # eBPF + kube-proxy replacement, No CT
    ("c-calico-ebpf-tcp-crr", False),
    ("c-calico-tcp-crr", True),                  # Calico iptables + kube-proxy
    ("c-host-conntrack-tcp-crr-32", True),
    ("c-host-no-conntrack-tcp-crr-32", False),
])
def test_calibration_crr_cases_track_as_documented(name: str, tracked: bool) -> None:
    case = _case(name)
    _tb, cluster, _wl = build_run(case)
    client = next(p for p in cluster.pods if p.node == 0)
    server = next(p for p in cluster.pods if p.node == 1)
    nodes = conntrack_nodes(cluster, client, server)
    assert nodes == ([("client", 0), ("server", 1)] if tracked else [])


def test_case_conntrack_field_validates() -> None:
    base = {"name": "x", "testbed": "100g-ryzen-2021", "tool": "netperf-tcp-crr",
            "metric": "requests_per_s", "published": 1.0, "units": "/s", "source": "s"}
    ok = parse_model(CalibrationCase, {**base, "network": "host", "conntrack": False})
    assert ok.conntrack == "off"  # YAML's unquoted off
    with pytest.raises(SpecError) as err:
        parse_model(CalibrationCase, {**base, "cni": "calico-bgp", "conntrack": "on"})
    assert "conntrack" in str(err.value) and "network: host" in str(err.value)
    with pytest.raises(SpecError) as err:
        parse_model(CalibrationCase, {**base, "network": "host", "conntrack": "maybe"})
    assert "conntrack" in str(err.value)
