"""Building clusters: addressing, IPAM styles, placement, Services, lookups, churn."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from kperf.cluster import Cluster, ip_int, ip_str
from kperf.errors import SpecError
from kperf.spec import ClusterSpec, parse


def ips(cluster: Cluster) -> list[str]:
    return [p.ip_str for p in cluster.pods]


# ---------------------------------------------------------------- addressing


def test_one_node_three_pods_get_dot_2_3_4() -> None:
    c = Cluster.build(nodes=1, deployments=[{"name": "web", "replicas": 3}])
    assert c.nodes[0].ip_str == "192.168.1.1"
    assert c.nodes[0].pod_ranges == [IPv4Network("10.244.0.0/24")]
    assert ips(c) == ["10.244.0.2", "10.244.0.3", "10.244.0.4"]
    assert [p.name for p in c.pods] == ["web-0", "web-1", "web-2"]


def test_host_local_gives_node_i_the_ith_range() -> None:
    c = Cluster.build(nodes=3, deployments=[{"name": "web", "replicas": 6}])
    assert [n.ip_str for n in c.nodes] == ["192.168.1.1", "192.168.1.2", "192.168.1.3"]
    assert [str(n.pod_ranges[0]) for n in c.nodes] == [
        "10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]
    # spread: web-0 node-1, web-1 node-2, web-2 node-3, web-3 node-1 ...
    assert [c.nodes[p.node].name for p in c.pods] == ["node-1", "node-2", "node-3"] * 2
    assert ips(c)[:4] == ["10.244.0.2", "10.244.1.2", "10.244.2.2", "10.244.0.3"]


def test_host_local_usable_is_size_minus_three() -> None:
    # /28 = 16 addresses: network, .1 gateway and broadcast are not handed out
    c = Cluster.build(nodes=1, node_pod_prefix=28, deployments=[{"name": "w", "replicas": 13}])
    got = [ip_int(x) for x in ips(c)]
    assert got == list(range(ip_int("10.244.0.2"), ip_int("10.244.0.15")))
    assert c.allocator.usable(0) == 13


def test_containers_share_the_pod_ip() -> None:
    c = Cluster.build(nodes=1, deployments=[
        {"name": "web", "replicas": 1, "containers": [{"name": "nginx"}, {"name": "sidecar"}]}])
    pod = c.pod("web-0")
    assert pod.containers == ("nginx", "sidecar")
    assert c.route(pod, pod) == "loopback"


def test_calico_blocks_are_claimed_on_demand() -> None:
    c = Cluster.build(nodes=2, cni="calico-bgp",
                      deployments=[{"name": "v", "replicas": 1, "placement": "node-2"},
                                   {"name": "w", "replicas": 70, "placement": "node-1"}])
    assert c.ipam == "calico-blocks"
    # node-2 claims the first /26; node-1 needs 70 addresses: its first /26 fills (all
    # 64 addresses usable), then it claims the next free block
    assert [str(r) for r in c.nodes[1].pod_ranges] == ["10.244.0.0/26"]
    assert [str(r) for r in c.nodes[0].pod_ranges] == ["10.244.0.64/26", "10.244.0.128/26"]
    assert c.pod("v-0").ip_str == "10.244.0.0"  # every address of a block is usable
    assert c.pod("w-0").ip_str == "10.244.0.64"
    assert c.pod("w-63").ip_str == "10.244.0.127"
    assert c.pod("w-64").ip_str == "10.244.0.128"
    assert c.conformance().ok


def test_block_prefix_is_configurable() -> None:
    c = Cluster.build(nodes=1, cni="calico-bgp", calico_block_prefix=28,
                      deployments=[{"name": "w", "replicas": 20}])
    assert [str(r) for r in c.nodes[0].pod_ranges] == ["10.244.0.0/28", "10.244.0.16/28"]


def test_ipam_none_hands_out_the_same_range_on_every_node() -> None:
    c = Cluster.build(nodes=2, cni="none", deployments=[{"name": "web", "replicas": 2}])
    assert c.ipam == "none"
    assert c.nodes[0].pod_ranges == c.nodes[1].pod_ranges == [IPv4Network("10.244.0.0/24")]
    assert ips(c) == ["10.244.0.2", "10.244.0.2"]


def test_ipam_override_beats_the_cni_default() -> None:
    c = Cluster.build(nodes=2, cni="calico-bgp", ipam="host-local",
                      deployments=[{"name": "w", "replicas": 2}])
    assert c.ipam == "host-local"
    assert str(c.nodes[1].pod_ranges[0]) == "10.244.1.0/24"


def test_explicit_nodes_pods_and_service_ips_are_kept() -> None:
    c = Cluster.build(
        nodes=[{"name": "a", "ip": "192.168.1.20"}, {"name": "b"},
               {"name": "c", "pod_cidr": "10.244.7.0/24"}],
        pods=[{"name": "fixed", "node": "c", "ip": "10.244.7.9"},
              {"name": "auto", "node": "c"},
              {"name": "hn", "node": "a", "host_network": True}],
        services=[{"name": "s1", "cluster_ip": "10.96.5.5"}, {"name": "s2"}],
    )
    assert [n.ip_str for n in c.nodes] == ["192.168.1.20", "192.168.1.2", "192.168.1.3"]
    # a, b take the first free ranges; c keeps its own
    assert [str(n.pod_ranges[0]) for n in c.nodes] == [
        "10.244.0.0/24", "10.244.1.0/24", "10.244.7.0/24"]
    assert c.pod("fixed").ip_str == "10.244.7.9"
    assert c.pod("auto").ip_str == "10.244.7.10"  # host-local continues after the last
    assert c.pod("hn").ip_str == "192.168.1.20"  # host network: the node's IP
    assert c.service("s1").cluster_ip_str == "10.96.5.5"
    assert c.service("s2").cluster_ip_str == "10.96.0.2"
    assert c.conformance().ok


def test_explicit_node_ip_is_skipped_by_automatic_ones() -> None:
    c = Cluster.build(nodes=[{"name": "a"}, {"name": "b", "ip": "192.168.1.1"}])
    assert [n.ip_str for n in c.nodes] == ["192.168.1.2", "192.168.1.1"]


# ---------------------------------------------------------------- placement


def test_binpack_fills_node_one_first() -> None:
    c = Cluster.build(nodes=3, max_pods_per_node=4,
                      deployments=[{"name": "w", "replicas": 6, "placement": "binpack"}])
    assert [c.nodes[p.node].name for p in c.pods] == ["node-1"] * 4 + ["node-2"] * 2


def test_spread_starts_at_the_least_loaded_node() -> None:
    c = Cluster.build(nodes=3, deployments=[
        {"name": "a", "replicas": 2, "placement": "node-1"},
        {"name": "b", "replicas": 4}])
    b_nodes = [c.nodes[p.node].name for p in c.pods if p.deployment == "b"]
    assert b_nodes == ["node-2", "node-3", "node-2", "node-3"]
    assert c.pod_counts() == [2, 2, 2]


def test_pinned_placement() -> None:
    c = Cluster.build(nodes=2, deployments=[{"name": "w", "replicas": 3, "placement": "node-2"}])
    assert {p.node for p in c.pods} == {1}
    assert [p.name for p in c.pods_on(1)] == ["w-0", "w-1", "w-2"]


@pytest.mark.parametrize(
    ("kwargs", "path", "needle"),
    [
        (dict(nodes=2, deployments=[{"name": "w", "replicas": 500}]),
         "deployments.0.replicas", "2 nodes × 110 max_pods_per_node"),
        (dict(nodes=2, node_pod_prefix=28, deployments=[{"name": "w", "replicas": 27}]),
         "deployments.0.replicas", "13 pods each"),
        (dict(nodes=1, deployments=[{"name": "a", "replicas": 100},
                                    {"name": "w", "replicas": 11}]),
         "deployments.1.replicas", "at most 10 replicas"),
        (dict(nodes=2, deployments=[{"name": "w", "replicas": 111, "placement": "node-1"}]),
         "deployments.0.replicas", "node-1 holds at most 110"),
        (dict(nodes=2, cni="calico-bgp", pod_cidr="10.244.0.0/25", node_pod_prefix=26,
              deployments=[{"name": "w", "replicas": 129}]),
         "deployments.0.replicas", "at most 128"),
        (dict(nodes=2, deployments=[{"name": "w", "placement": "node-7"}]),
         "deployments.0.placement", "node-1, node-2"),
        (dict(nodes=2, pods=[{"name": "p", "node": "nope"}]), "pods.0.node", "node-1"),
        (dict(nodes=1, deployments=[{"name": "w"}], pods=[{"name": "w-0", "node": "node-1"}]),
         "deployments.0.name", "already exists"),
        (dict(nodes=1, max_pods_per_node=1,
              pods=[{"name": "a", "node": "node-1"}, {"name": "b", "node": "node-1"}]),
         "pods.1.node", "max_pods_per_node"),
    ],
)
def test_build_errors_name_the_field(kwargs: dict, path: str, needle: str) -> None:
    with pytest.raises(SpecError) as info:
        Cluster.build(**kwargs)
    assert info.value.path == path
    assert needle in str(info.value), str(info.value)


def test_build_kwargs_are_validated_like_a_file() -> None:
    with pytest.raises(SpecError) as info:
        Cluster.build(nodes=2, cni="calico-bpg")
    assert info.value.path == "cni"


def test_build_spec_with_overrides() -> None:
    spec = parse(ClusterSpec, {"nodes": 2, "deployments": [{"name": "w", "replicas": 4}]})
    c = Cluster.build(spec, nodes=4)
    assert len(c.nodes) == 4 and len(c.pods) == 4
    assert c.spec.deployments[0].name == "w"


# ---------------------------------------------------------------- Services


def test_kubernetes_service_is_first_and_user_services_follow() -> None:
    c = Cluster.build(nodes=2, deployments=[{"name": "web", "replicas": 3}],
                      services=[{"name": "web", "selector": {"app": "web"}, "port": 80,
                                 "target_port": 8080},
                                {"name": "np", "type": "NodePort", "selector": {"app": "web"}}])
    k = c.services[0]
    assert (k.name, k.namespace, k.cluster_ip_str, k.port, k.target_port) == (
        "kubernetes", "default", "10.96.0.1", 443, 6443)
    assert k.endpoints == [] and k.selector == {}
    web = c.service("web")
    assert web.cluster_ip_str == "10.96.0.2" and web.target_port == 8080
    assert web.endpoints == [0, 1, 2]
    assert c.service("np").node_port == 30000
    assert [ip_str(x) for x in c.endpoint_ips("web")] == ips(c)


def test_selectors_respect_namespaces_and_all_labels() -> None:
    c = Cluster.build(nodes=1, deployments=[
        {"name": "a", "labels": {"app": "x", "tier": "fe"}},
        {"name": "b", "labels": {"app": "x", "tier": "be"}},
        {"name": "c", "namespace": "other", "labels": {"app": "x", "tier": "fe"}}],
        services=[{"name": "fe", "selector": {"app": "x", "tier": "fe"}},
                  {"name": "all", "selector": {"app": "x"}},
                  {"name": "none", "selector": {"app": "y"}}])
    assert [c.pods[u].name for u in c.service("fe").endpoints] == ["a-0"]
    assert [c.pods[u].name for u in c.service("all").endpoints] == ["a-0", "b-0"]
    assert c.service("none").endpoints == []
    assert c.selector_warnings() == [
        "services.2.selector: {app=y} matches no pod in namespace 'default'; "
        "Service none will have no endpoints"]


# ---------------------------------------------------------------- lookups, routes


def test_lookups() -> None:
    c = Cluster.build(nodes=2, deployments=[{"name": "web", "replicas": 2},
                                            {"name": "dns", "namespace": "kube-system"}])
    assert c.pod("web-1").uid == 1
    assert c.pod("default/web-1").uid == 1
    assert c.pod("dns-0").namespace == "kube-system"
    assert c.pod("kube-system/dns-0").name == "dns-0"
    assert c.node("node-2").index == 1
    assert c.service("kubernetes").index == 0
    with pytest.raises(KeyError):
        c.pod("web-9")
    with pytest.raises(KeyError):
        c.node("node-9")
    with pytest.raises(KeyError):
        c.service("nope")


@pytest.mark.parametrize(
    ("cni", "cross"),
    [("flannel-vxlan", "cross-node-overlay"), ("flannel-host-gw", "cross-node-routed"),
     ("calico-bgp", "cross-node-routed"), ("calico-ipip", "cross-node-overlay"),
     ("cilium-native", "cross-node-routed"), ("none", "unreachable")],
)
def test_routes(cni: str, cross: str) -> None:
    c = Cluster.build(nodes=2, cni=cni, deployments=[{"name": "w", "replicas": 4}])
    w0, w1, w2 = c.pod("w-0"), c.pod("w-1"), c.pod("w-2")
    assert c.route(w0, w0) == "loopback"
    assert c.route(w0, w2) == "same-node"
    assert c.route(w0, w1) == cross
    assert c.node_to_pod(0, w0) == "same-node"
    assert c.node_to_pod(0, w1) == cross


def test_host_network_pods_are_reached_over_the_node_network() -> None:
    c = Cluster.build(nodes=2, cni="none",
                      pods=[{"name": "hn", "node": "node-2", "host_network": True},
                            {"name": "p", "node": "node-1"}])
    assert c.route(c.pod("p"), c.pod("hn")) == "cross-node-routed"
    assert c.route(c.pod("hn"), c.pod("p")) == "unreachable"


def test_cross_subnet_encapsulates_only_between_zones() -> None:
    c = Cluster.build(nodes=[{"name": "a", "labels": {"topology.kubernetes.io/zone": "z1"}},
                             {"name": "b", "labels": {"topology.kubernetes.io/zone": "z1"}},
                             {"name": "c", "labels": {"topology.kubernetes.io/zone": "z2"}}])
    c.cni = c.cni.model_copy(update={"routing": "cross-subnet"})  # no catalog entry uses it yet
    assert not c.encapsulated(0, 1)
    assert c.encapsulated(0, 2)


# ---------------------------------------------------------------- churn


def test_recreate_changes_the_pod_ip_not_the_cluster_ip() -> None:
    c = Cluster.build(nodes=2, deployments=[{"name": "web", "replicas": 3}],
                      services=[{"name": "web", "selector": {"app": "web"}}])
    svc = c.service("web")
    cip, before = svc.cluster_ip, list(c.endpoint_ips(svc))
    old = c.pod("web-0")
    new = c.recreate_pod("web-0")
    assert (old.ip_str, new.ip_str) == ("10.244.0.2", "10.244.0.4")  # continues after .3
    assert new.uid == old.uid and new.generation == 1 and old.generation == 0
    assert c.pods[old.uid] is new
    assert svc.cluster_ip == cip
    assert svc.endpoints_version == 1
    after = c.endpoint_ips(svc)
    assert after != before and new.ip in after and old.ip not in after
    assert c.conformance().ok
    # the freed address is not reused at once
    assert c.recreate_pod(new).ip_str == "10.244.0.5"


def test_recreate_under_calico_takes_the_next_address_of_the_block() -> None:
    c = Cluster.build(nodes=1, cni="calico-bgp", deployments=[{"name": "w", "replicas": 2}])
    assert c.recreate_pod("w-0").ip_str == "10.244.0.2"


def test_recreate_wraps_in_a_full_range() -> None:
    c = Cluster.build(nodes=1, node_pod_prefix=29, deployments=[{"name": "w", "replicas": 5}])
    # a /29 has 5 usable addresses, all taken: the freed one is the only one left
    assert c.recreate_pod("w-2").ip_str == c.pods[2].ip_str == "10.244.0.4"


def test_tables_and_summary() -> None:
    c = Cluster.build(nodes=2, deployments=[{"name": "web", "replicas": 2}],
                      services=[{"name": "web", "selector": {"app": "web"}}])
    nodes = c.nodes_df()
    assert list(nodes["ip"]) == ["192.168.1.1", "192.168.1.2"]
    assert list(nodes["pod_ranges"]) == ["10.244.0.0/24", "10.244.1.0/24"]
    pods = c.pods_df()
    assert list(pods["ip"]) == ["10.244.0.2", "10.244.1.2"]
    assert list(pods["node"]) == ["node-1", "node-2"]
    svcs = c.services_df()
    assert list(svcs["cluster_ip"]) == ["10.96.0.1", "10.96.0.2"]
    assert svcs.loc[1, "endpoint_ips"] == ["10.244.0.2", "10.244.1.2"]
    text = c.summary()
    assert "2 nodes, 2 pods, 2 Services" in text and "10.96.0.1" in text
