"""The network-model conformance check, including its arithmetic at scale."""

from __future__ import annotations

import itertools

import pytest

from kperf.cluster import Cluster
from kperf.cluster.conformance import CHECKS


def failed(cluster: Cluster) -> set[str]:
    checks = cluster.conformance().checks
    return set(checks.loc[~checks["passed"], "name"])


def brute_force_unreachable(c: Cluster) -> tuple[int, int]:
    pods = [c.pods[u] for u in range(len(c.pods))]
    pairs = sum(c.route(a, b) == "unreachable" for a, b in itertools.permutations(pods, 2))
    node_pairs = sum(c.node_to_pod(n.index, p) == "unreachable" for n in c.nodes for p in pods)
    return pairs, node_pairs


def test_conformant_cluster_report() -> None:
    c = Cluster.build(nodes=3, deployments=[{"name": "w", "replicas": 9}])
    r = c.conformance()
    assert r.ok
    assert list(r.checks.columns[:3]) == ["name", "passed", "count"]
    assert list(r.checks["name"]) == list(CHECKS)
    assert list(r.violations.columns) == ["check", "subject", "detail"]
    assert r.violations.empty
    assert "conformance: OK" in r.summary()


def test_no_cni_reports_duplicates_overlaps_and_unreachable_pairs() -> None:
    c = Cluster.build(nodes=2, cni="none", deployments=[{"name": "web", "replicas": 4}])
    r = c.conformance()
    assert not r.ok
    assert failed(c) == {"pod-ips-unique", "cidrs-disjoint", "pod-to-pod", "node-to-pod"}
    dup = r.violations[r.violations["check"] == "pod-ips-unique"]
    assert list(dup["subject"]) == ["10.244.0.2", "10.244.0.3"]
    assert "default/web-0 (node-1)" in dup.iloc[0]["detail"]
    assert "default/web-1 (node-2)" in dup.iloc[0]["detail"]
    # each of the 4 pods is unreachable from the 2 pods on the other node
    assert r.unreachable_pod_pairs == 8
    assert r.unreachable_node_pod_pairs == 4
    assert (r.unreachable_pod_pairs, r.unreachable_node_pod_pairs) == brute_force_unreachable(c)
    assert "VIOLATED" in r.summary() and "10.244.0.2" in r.summary()


def test_no_cni_with_one_node_is_conformant() -> None:
    c = Cluster.build(nodes=1, cni="none", deployments=[{"name": "web", "replicas": 3}])
    assert c.conformance().ok


def test_no_cni_with_pods_on_one_node_still_fails_node_to_pod() -> None:
    c = Cluster.build(nodes=2, cni="none",
                      deployments=[{"name": "web", "replicas": 2, "placement": "node-1"}])
    assert failed(c) == {"cidrs-disjoint", "node-to-pod"}  # same range on both nodes
    assert c.conformance().unreachable_node_pod_pairs == 2


def test_routes_with_ipam_none_but_a_routing_cni_are_ambiguous() -> None:
    c = Cluster.build(nodes=3, cni="flannel-host-gw", ipam="none",
                      deployments=[{"name": "w", "replicas": 6}])
    r = c.conformance()
    assert {"pod-ips-unique", "cidrs-disjoint", "pod-to-pod"} <= failed(c)
    assert (r.unreachable_pod_pairs, r.unreachable_node_pod_pairs) == brute_force_unreachable(c)
    assert r.unreachable_pod_pairs == 6 * 4


def test_host_network_pods_are_not_conflicts() -> None:
    c = Cluster.build(nodes=2, pods=[
        {"name": "a", "node": "node-1", "host_network": True},
        {"name": "b", "node": "node-1", "host_network": True},
        {"name": "c", "node": "node-2"}])
    assert c.pod("a").ip == c.pod("b").ip == c.nodes[0].ip
    assert c.conformance().ok


def test_explicit_duplicate_ip_and_ip_outside_the_node_range() -> None:
    c = Cluster.build(nodes=2, pods=[
        {"name": "a", "node": "node-1", "ip": "10.244.0.9"},
        {"name": "b", "node": "node-2", "ip": "10.244.0.9"},
        {"name": "d", "node": "node-2", "ip": "10.244.0.20"}])
    r = c.conformance()
    assert {"pod-ips-unique", "pod-ips-in-node-range", "pod-to-pod"} <= failed(c)
    outside = r.violations[r.violations["check"] == "pod-ips-in-node-range"]
    assert set(outside["subject"]) == {"default/b", "default/d"}
    assert (r.unreachable_pod_pairs, r.unreachable_node_pod_pairs) == brute_force_unreachable(c)
    # a keeps 10.244.0.9 but shares it; b and d sit in node-1's range
    assert c.route(c.pod("b"), c.pod("a")) == "unreachable"


def test_node_range_outside_the_pod_cidr() -> None:
    c = Cluster.build(nodes=[{"name": "a", "pod_cidr": "10.245.0.0/24"}, {"name": "b"}],
                      pods=[{"name": "p", "node": "a"}])
    assert "pod-ranges-in-pod-cidr" in failed(c)
    assert c.pod("p").ip_str == "10.245.0.2"


def test_overlapping_explicit_node_ranges() -> None:
    c = Cluster.build(nodes=[{"name": "a", "pod_cidr": "10.244.0.0/23"},
                             {"name": "b", "pod_cidr": "10.244.1.0/24"}])
    r = c.conformance()
    assert "cidrs-disjoint" in failed(c)
    row = r.violations[r.violations["check"] == "cidrs-disjoint"].iloc[0]
    assert "a, b" in row["detail"]


@pytest.mark.parametrize("cni", ["flannel-vxlan", "calico-bgp", "calico-vxlan",
                                 "cilium-native", "weave-fastdp", "none"])
def test_arithmetic_counts_match_brute_force(cni: str) -> None:
    c = Cluster.build(nodes=4, cni=cni, deployments=[
        {"name": "a", "replicas": 5}, {"name": "b", "replicas": 3, "placement": "node-3"}],
        pods=[{"name": "hn", "node": "node-2", "host_network": True}])
    r = c.conformance()
    assert (r.unreachable_pod_pairs, r.unreachable_node_pod_pairs) == brute_force_unreachable(c)
    assert r.ok == (cni != "none")


def test_recreate_keeps_conformance_and_route_cache_fresh() -> None:
    c = Cluster.build(nodes=2, pods=[{"name": "a", "node": "node-1", "ip": "10.244.1.2"},
                                     {"name": "b", "node": "node-2"}])
    assert c.route(c.pod("b"), c.pod("a")) == "unreachable"  # a's IP lies in node-2's range
    c.recreate_pod("a")
    assert c.pod("a").ip_str == "10.244.0.2"
    assert c.route(c.pod("b"), c.pod("a")) == "cross-node-overlay"
    assert c.conformance().ok


def test_large_no_cni_cluster_counts_exactly_without_enumerating() -> None:
    c = Cluster.build(nodes=200, node_cidr="10.0.0.0/16", cni="none",
                      deployments=[{"name": "w", "replicas": 2000}])
    r = c.conformance()
    # 10 pods per node; each is unreachable from the 1,990 pods and 199 nodes elsewhere
    assert r.unreachable_pod_pairs == 2000 * 1990
    assert r.unreachable_node_pod_pairs == 2000 * 199
    checks = r.checks.set_index("name")
    assert checks.loc["pod-ips-unique", "count"] == 10  # 10.244.0.2 .. .11, each on 200 nodes
    assert len(r.violations[r.violations["check"] == "pod-to-pod"]) == 200
