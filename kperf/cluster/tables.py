"""Tables (pandas DataFrames, IPs as text) and a text summary of a built cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from kperf.cluster.addr import ip_str

if TYPE_CHECKING:
    from kperf.cluster.view import ClusterView


def nodes_df(cluster: ClusterView) -> pd.DataFrame:
    """One row per node: index, name, ip, pod_ranges (comma-separated), pods."""
    counts = cluster.pod_counts()
    return pd.DataFrame({
        "index": [n.index for n in cluster.nodes],
        "name": [n.name for n in cluster.nodes],
        "ip": [ip_str(n.ip) for n in cluster.nodes],
        "pod_ranges": [", ".join(str(r) for r in n.pod_ranges) for n in cluster.nodes],
        "pods": counts,
    })


def pods_df(cluster: ClusterView) -> pd.DataFrame:
    """One row per pod: uid, namespace, name, node (name), ip, deployment, host_network,
    generation, containers (comma-separated)."""
    names = [n.name for n in cluster.nodes]
    pods = cluster.pods
    return pd.DataFrame({
        "uid": [p.uid for p in pods],
        "namespace": [p.namespace for p in pods],
        "name": [p.name for p in pods],
        "node": [names[p.node] for p in pods],
        "ip": [ip_str(p.ip) for p in pods],
        "deployment": [p.deployment for p in pods],
        "host_network": [p.host_network for p in pods],
        "generation": [p.generation for p in pods],
        "containers": [",".join(p.containers) for p in pods],
    })


def services_df(cluster: ClusterView) -> pd.DataFrame:
    """One row per Service: ClusterIP, ports, type, endpoint count and addresses."""
    pods = cluster.pods
    svcs = cluster.services
    return pd.DataFrame({
        "index": [s.index for s in svcs],
        "namespace": [s.namespace for s in svcs],
        "name": [s.name for s in svcs],
        "cluster_ip": [ip_str(s.cluster_ip) for s in svcs],
        "port": [s.port for s in svcs],
        "target_port": [s.target_port for s in svcs],
        "protocol": [s.protocol for s in svcs],
        "type": [s.type for s in svcs],
        "node_port": pd.array([s.node_port for s in svcs], dtype="Int64"),
        "session_affinity": [s.session_affinity for s in svcs],
        "selector": [",".join(f"{k}={v}" for k, v in s.selector.items()) for s in svcs],
        "endpoints": [len(s.endpoints) for s in svcs],
        "endpoint_ips": [[ip_str(pods[u].ip) for u in s.endpoints] for s in svcs],
    })


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def summary(cluster: ClusterView) -> str:
    """A few lines: sizes, CNI/proxy/IPAM, the address plan, pods per node."""
    spec = cluster.spec
    cni = cluster.cni
    counts = cluster.pod_counts()
    n = len(cluster.nodes)
    encap = f", {cni.encapsulation}" if cni.encapsulation != "none" else ""
    per = (f"/{spec.calico_block_prefix} blocks claimed on demand"
           if cluster.ipam == "calico-blocks"
           else "the same first range on every node" if cluster.ipam == "none"
           else f"a /{spec.node_pod_prefix} per node")
    lines = [
        f"cluster: {_n(n, 'node')}, {_n(len(cluster.pods), 'pod')}, "
        f"{_n(len(cluster.services), 'Service')} (incl. default/kubernetes)",
        f"cni {cni.name} (routing {cni.routing}{encap}), proxy {cluster.proxy.name}, "
        f"ipam {cluster.ipam}",
        f"node network {spec.node_cidr}; pod CIDR {spec.pod_cidr}, {per}",
        f"service CIDR {spec.service_cidr}; "
        f"{ip_str(cluster.services[0].cluster_ip)} is the kubernetes API server Service",
    ]
    if n:
        lines.append(
            f"pods per node: min {min(counts)}, max {max(counts)}, "
            f"max_pods_per_node {spec.max_pods_per_node}"
        )
    return "\n".join(lines)
