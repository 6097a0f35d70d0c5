"""Cluster spec validation: every bad field is a one-line SpecError naming its path."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from kperf.errors import SpecError
from kperf.spec import ClusterSpec, load_cluster, parse


def err(data: dict, prefix: str = "") -> SpecError:
    with pytest.raises(SpecError) as info:
        parse(ClusterSpec, data, prefix)
    return info.value


def test_defaults_follow_kubernetes() -> None:
    spec = parse(ClusterSpec, {})
    assert spec.node_cidr == IPv4Network("192.168.1.0/24")
    assert spec.pod_cidr == IPv4Network("10.244.0.0/16")
    assert spec.service_cidr == IPv4Network("10.96.0.0/12")
    assert spec.node_pod_prefix == 24
    assert spec.max_pods_per_node == 110
    assert spec.effective_ipam == "host-local"  # flannel-vxlan


def test_issue_example_parses() -> None:
    spec = parse(ClusterSpec, {
        "nodes": 2, "cni": "flannel-vxlan", "proxy": "iptables",
        "node_cidr": "192.168.1.0/24", "pod_cidr": "10.244.0.0/16",
        "deployments": [{"name": "web", "replicas": 4, "labels": {"app": "web"},
                         "placement": "spread"}],
        "services": [{"name": "web", "selector": {"app": "web"}, "port": 80}],
    })
    assert spec.node_count == 2
    assert spec.deployments[0].containers[0].name == "web"


@pytest.mark.parametrize(
    ("data", "path", "needle"),
    [
        ({"nodes": 0}, "nodes", "node count >= 1"),
        ({"nodes": -3}, "nodes", "node count >= 1"),
        ({"nodes": []}, "nodes", "non-empty"),
        ({"bogus": 1}, "bogus", "unknown key"),
        ({"deployments": [{"name": "w", "replicaz": 2}]}, "deployments.0.replicaz",
         "unknown key"),
        ({"cni": "flanel"}, "cni", "flannel-vxlan"),
        ({"proxy": "userspace"}, "proxy", "iptables"),
        ({"nodes": 300}, "node_cidr", "300 nodes"),
        ({"pod_cidr": "10.96.0.0/16"}, "service_cidr", "overlaps"),
        ({"node_cidr": "10.244.1.0/24"}, "pod_cidr", "overlaps"),
        ({"node_pod_prefix": 12}, "node_pod_prefix", "prefix length from 16"),
        ({"nodes": 5, "pod_cidr": "10.244.0.0/22"}, "pod_cidr", "4 per-node /24"),
        ({"deployments": [{"name": "w", "replicas": 0}]}, "deployments.0.replicas",
         "greater than or equal to 1"),
        ({"deployments": [{"name": "w", "replicas": -1}]}, "deployments.0.replicas", ""),
        ({"max_pods_per_node": 0}, "max_pods_per_node", ""),
        ({"deployments": [{"name": "Web"}]}, "deployments.0.name", "lower-case"),
        ({"deployments": [{"name": "w"}, {"name": "w"}]}, "deployments.1.name", "unique"),
        ({"services": [{"name": "kubernetes"}]}, "services.0.name", "API server"),
        ({"services": [{"name": "a"}, {"name": "a"}]}, "services.1.name", "unique"),
        ({"services": [{"name": "a", "cluster_ip": "10.200.0.1"}]}, "services.0.cluster_ip",
         "service_cidr"),
        ({"services": [{"name": "a", "cluster_ip": "10.96.0.1"}]}, "services.0.cluster_ip",
         "default/kubernetes"),
        ({"services": [{"name": "a", "node_port": 30001}]}, "services.0.node_port",
         "type: NodePort"),
        ({"services": [{"name": "a", "type": "ExternalName"}]}, "services.0.type", "LoadBalancer"),
        ({"nodes": [{"name": "a", "ip": "10.0.0.1"}]}, "nodes.0.ip", "node_cidr"),
        ({"nodes": [{"name": "a", "ip": "192.168.1.5"}, {"name": "b", "ip": "192.168.1.5"}]},
         "nodes.1.ip", "unique"),
        ({"nodes": [{"name": "a"}, {"name": "a"}]}, "nodes", "unique node names"),
    ],
)
def test_bad_fields_name_their_path(data: dict, path: str, needle: str) -> None:
    e = err(data)
    assert e.path == path
    assert needle in str(e)
    assert "\n" not in str(e)


def test_prefix_in_experiment_files(tmp_path) -> None:
    f = tmp_path / "exp.yaml"
    f.write_text("name: x\ncluster:\n  nodes: 2\n  cni: nope\n")
    with pytest.raises(SpecError) as info:
        load_cluster(f)
    assert info.value.path == "cluster.cni"


def test_malformed_yaml_names_file_and_line(tmp_path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("nodes: 2\ncni: [flannel-vxlan\nproxy: iptables\n\tbad: 1\n")
    with pytest.raises(SpecError) as info:
        load_cluster(f)
    assert str(f) in info.value.path
    assert "malformed YAML" in str(info.value)
