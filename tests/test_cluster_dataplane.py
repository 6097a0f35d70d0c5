"""Per-node data-plane state derived from the cluster."""

from __future__ import annotations

import pytest

from kperf.cluster import Cluster
from kperf.cluster.dataplane import conntrack_max


def state(cluster: Cluster, **kw: int) -> dict[str, int]:
    df = cluster.dataplane_state(**kw)
    return {k: int(v) for k, v in df.iloc[0].items() if k != "node"}


def test_flannel_vxlan_one_route_arp_fdb_per_remote_node() -> None:
    c = Cluster.build(nodes=5, cni="flannel-vxlan", deployments=[{"name": "w", "replicas": 10}])
    s = state(c)
    assert (s["routes"], s["arp_entries"], s["fdb_entries"]) == (4, 4, 4)
    assert s["bgp_sessions"] == 0
    assert c.dataplane_totals()["routes"] == 20


def test_host_gw_routes_via_node_ip_without_neighbour_entries() -> None:
    s = state(Cluster.build(nodes=4, cni="flannel-host-gw"))
    assert (s["routes"], s["arp_entries"], s["fdb_entries"], s["tunnel_endpoints"]) == (
        3, 0, 0, 0)


def test_calico_bgp_full_mesh_and_per_block_routes() -> None:
    c = Cluster.build(nodes=6, cni="calico-bgp",
                      deployments=[{"name": "w", "replicas": 70, "placement": "node-1"},
                                   {"name": "v", "replicas": 5}])
    df = c.dataplane_state()
    assert list(df["bgp_sessions"]) == [5] * 6
    assert c.dataplane_totals()["bgp_sessions"] == 6 * 5 // 2
    # node-1 holds two /26 blocks, the others one each: 7 blocks in all
    assert list(df["pod_ranges"]) == [2, 1, 1, 1, 1, 1]
    assert list(df["routes"]) == [5, 6, 6, 6, 6, 6]
    assert df["local_routes"].iloc[0] == 70 + 2  # a /32 per pod, a blackhole per block


def test_calico_vxlan_uses_no_bgp() -> None:
    s = state(Cluster.build(nodes=3, cni="calico-vxlan"))
    assert s["bgp_sessions"] == 0
    assert (s["arp_entries"], s["fdb_entries"]) == (2, 2)


def test_no_cni_has_no_routes() -> None:
    s = state(Cluster.build(nodes=3, cni="none"))
    assert s["routes"] == s["tunnel_endpoints"] == 0


def spec_with_services(proxy: str) -> Cluster:
    return Cluster.build(
        nodes=2, proxy=proxy,
        deployments=[{"name": "a", "replicas": 3}, {"name": "b", "replicas": 2}],
        services=[{"name": "a", "selector": {"app": "a"}},
                  {"name": "b", "selector": {"app": "b"}, "type": "NodePort",
                   "session_affinity": "ClientIP"},
                  {"name": "empty", "selector": {"app": "nothing"}}])


def test_iptables_rule_count_formula() -> None:
    s = state(spec_with_services("iptables"))
    # fixed 12; kubernetes (1 API endpoint) 2+3; a: 2+3*3; b: 2+3*2 +2 affinity +3 NodePort;
    # empty: 1 REJECT
    assert s["iptables_rules"] == 12 + 5 + 11 + 13 + 1
    assert s["kube_services_rules"] == 2 * 4
    assert s["ipvs_virtual_servers"] == s["nft_elements"] == s["ebpf_map_entries"] == 0


def test_ipvs_nftables_ebpf_counts() -> None:
    ipvs = state(spec_with_services("ipvs"))
    assert ipvs["ipvs_virtual_servers"] == 1 + 1 + 2 + 1
    assert ipvs["ipvs_real_servers"] == 1 + 3 + 2 * 2 + 0
    assert ipvs["iptables_rules"] == 0
    nft = state(spec_with_services("nftables"))
    assert nft["nft_elements"] == (1 + 1) + (1 + 3) + (1 + 2 + 1) + (1 + 0 + 1)
    ebpf = state(spec_with_services("ebpf"))
    assert ebpf["ebpf_map_entries"] == (2 + 4 + 2 * 3 + 1) + 5 + 1


@pytest.mark.parametrize(("cores", "expected"), [(None, 262_144), (2, 131_072), (16, 524_288)])
def test_conntrack_max(cores: int | None, expected: int) -> None:
    c = Cluster.build(nodes=1)
    assert state(c, cores_per_node=cores)["conntrack_max"] == expected  # type: ignore[arg-type]
    if cores:
        assert conntrack_max(cores) == expected
