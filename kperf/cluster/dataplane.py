"""Data-plane state each node carries: routes, neighbour entries, BGP, Service rules.

Later layers turn these counts into costs (rule walks, programming delay, memory);
here they are derived from the built cluster. Per node:

``routes``
    routes to *remote* pod ranges. Routed modes (Flannel host-gw, Calico BGP,
    Cilium native routing): one per remote range via that node's IP. Flannel VXLAN:
    one per remote node's range via ``flannel.1`` (Canal likewise); Calico IP-in-IP /
    VXLAN / WireGuard: one per
    remote /26 block via ``tunl0`` / ``vxlan.calico`` (docs.tigera.io/calico/latest/
    networking/configuring/vxlan-ipip). Cilium and Weave overlays route the whole
    pod CIDR into their device (1 route) and keep per-node state in their own maps
    (``tunnel_endpoints``). ``none``: no routes.
``local_routes``
    Calico and Canal (routed veths): one /32 per local pod (``cali*`` veth), plus a
    blackhole per local block under Calico IPAM; bridge CNIs and Cilium: one per local
    range.
``arp_entries`` / ``fdb_entries``
    VXLAN overlays programmed by the CNI (Flannel, Canal, Calico VXLAN): one ARP and one FDB
    entry per remote node's VTEP (CALIBRATION.md, "Cluster limits and addressing
    facts": Flannel VXLAN keeps one route, one ARP and one FDB entry per remote node).
``tunnel_endpoints``
    remote nodes reached through encapsulation (VTEPs, IP-in-IP peers, Cilium tunnel
    map entries, WireGuard peers). Cross-subnet modes count only nodes in other zones.
``bgp_sessions``
    Calico's BGP full mesh (calico-bgp, calico-ipip, and the Calico eBPF and WireGuard
    modes in their default BGP setup) and kube-router: n - 1 per node, n(n-1)/2
    cluster-wide (CALIBRATION.md, "Calico BGP full mesh"). Calico VXLAN uses no BGP.
    Route reflectors are not modelled.
Service rules (the same on every node; with S Services and E_s endpoints each, the
``kubernetes`` Service counted with its one API-server endpoint)
    iptables (kube-proxy ``pkg/proxy/iptables/proxier.go``; CALIBRATION.md "Service
    load balancing"): per Service with endpoints 1 KUBE-SERVICES jump + 1 KUBE-SVC
    masquerade rule + E_s KUBE-SVC probability rules + 2 rules in each of E_s KUBE-SEP
    chains (masquerade for hairpin, DNAT) = 2 + 3 E_s; +E_s for ClientIP affinity;
    +3 for a NodePort (KUBE-NODEPORTS jump, KUBE-EXT chain); a Service without
    endpoints gets 1 REJECT rule; plus 12 fixed rules (estimated: KUBE-POSTROUTING,
    KUBE-MARK-MASQ, jumps from PREROUTING/OUTPUT). ``kube_services_rules`` = 2 S, the
    rules a first packet walks linearly (CALIBRATION.md: "about 2 rules per Service").
    IPVS: one virtual server per ClusterIP plus one per NodePort Service (one node
    address assumed), each with E_s real servers (estimated from kube-proxy's IPVS
    proxier). nftables (kube-proxy nftables mode, KEP-3866): one ``service-ips`` map
    element per Service, one ``service-nodeports`` element per NodePort, E_s elements
    in each Service's endpoint vmap, one ``no-endpoint-services`` element per Service
    without endpoints. eBPF (Cilium kube-proxy replacement lbmap, estimated): per
    frontend (ClusterIP, plus NodePort) 1 + E_s service-map slots, plus one backend
    entry per distinct endpoint.
``conntrack_max``
    max(131,072, 32,768 × cores): kube-proxy's ``--conntrack-min`` and
    ``--conntrack-max-per-core`` defaults (CALIBRATION.md). Cores default to 8 until
    a testbed is given.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kperf.cluster.labels import ZONE_LABEL

if TYPE_CHECKING:
    from kperf.cluster.view import ClusterView

DEFAULT_CORES = 8
IPTABLES_FIXED_RULES = 12
CONNTRACK_MIN = 131_072
CONNTRACK_PER_CORE = 32_768

_FDB_PLUGINS = ("flannel", "calico", "canal")
"""Plugins that program a kernel VXLAN device with static ARP and FDB entries per VTEP."""

_PROXY_COLUMNS = ("iptables_rules", "kube_services_rules", "ipvs_virtual_servers",
                  "ipvs_real_servers", "nft_elements", "ebpf_map_entries")


def conntrack_max(cores: int) -> int:
    """kube-proxy's conntrack table size for a node with ``cores`` cores."""
    return max(CONNTRACK_MIN, CONNTRACK_PER_CORE * cores)


def proxy_entries(cluster: ClusterView) -> dict[str, int]:
    """What the cluster's proxy mode programs on each node (see module docs)."""
    out = dict.fromkeys(_PROXY_COLUMNS, 0)
    mode = cluster.proxy.name
    counts = [len(s.endpoints) for s in cluster.services]
    counts[0] = max(counts[0], 1)  # the kubernetes Service: the API server endpoint
    services = cluster.services
    if mode == "iptables":
        rules = IPTABLES_FIXED_RULES
        for s, e in zip(services, counts, strict=True):
            if e == 0:
                rules += 1
                continue
            rules += 2 + 3 * e
            if s.session_affinity == "ClientIP":
                rules += e
            if s.type == "NodePort":
                rules += 3
        out["iptables_rules"] = rules
        out["kube_services_rules"] = 2 * len(services)
    elif mode == "ipvs":
        vs = rs = 0
        for s, e in zip(services, counts, strict=True):
            frontends = 2 if s.type == "NodePort" else 1
            vs += frontends
            rs += frontends * e
        out["ipvs_virtual_servers"] = vs
        out["ipvs_real_servers"] = rs
    elif mode == "nftables":
        out["nft_elements"] = sum(
            1 + e + (1 if s.type == "NodePort" else 0) + (1 if e == 0 else 0)
            for s, e in zip(services, counts, strict=True)
        )
    elif mode == "ebpf":
        slots = 0
        keys: list[np.ndarray] = []
        for s, e in zip(services, counts, strict=True):
            frontends = 2 if s.type == "NodePort" else 1
            slots += frontends * (1 + e)
            if s.endpoints:
                keys.append(np.asarray(s.endpoints, dtype=np.int64) * 65536 + s.target_port)
        backends = len(np.unique(np.concatenate(keys))) if keys else 0
        out["ebpf_map_entries"] = slots + backends + 1  # +1: the API server backend
    return out


def _uses_bgp(cluster: ClusterView) -> bool:
    cni = cluster.cni
    if cni.routing == "none":
        return False
    plugin = cni.plugin.lower()
    if "kube-router" in plugin:
        return True
    return "calico" in plugin and cni.encapsulation in ("none", "ipip", "wireguard")


def dataplane_state(cluster: ClusterView, cores_per_node: int | None = None) -> pd.DataFrame:
    """One row per node: the entries its data plane holds (columns in module docs)."""
    cni = cluster.cni
    plugin = cni.plugin.lower()
    n = len(cluster.nodes)
    cores = cores_per_node or DEFAULT_CORES
    ranges = np.array([len(nd.pod_ranges) for nd in cluster.nodes], dtype=np.int64)
    total_ranges = int(ranges.sum())
    pods = np.array(cluster.pod_counts(), dtype=np.int64)
    pod_ip_pods = np.zeros(n, dtype=np.int64)
    for p in cluster.pods:
        if not p.host_network:
            pod_ip_pods[p.node] += 1

    routes = np.zeros(n, dtype=np.int64)
    local = np.zeros(n, dtype=np.int64)
    arp = np.zeros(n, dtype=np.int64)
    fdb = np.zeros(n, dtype=np.int64)
    tunnels = np.zeros(n, dtype=np.int64)
    bgp = np.zeros(n, dtype=np.int64)
    remote_nodes = n - 1
    if cni.routing != "none" and n > 0:
        whole_cidr_device = cni.is_overlay and ("cilium" in plugin or "weave" in plugin)
        routes[:] = (1 if remote_nodes else 0) if whole_cidr_device else total_ranges - ranges
        if "calico" in plugin or cni.same_node == "routed":
            # a /32 per local pod on its cali* veth, plus a blackhole per local block
            local[:] = pod_ip_pods + (ranges if cluster.ipam == "calico-blocks" else 0)
        else:
            local[:] = ranges
        if cni.routing == "overlay":
            encap_peers = np.full(n, remote_nodes, dtype=np.int64)
        elif cni.routing == "cross-subnet":
            zones = [nd.labels.get(ZONE_LABEL) for nd in cluster.nodes]
            size = Counter(zones)
            encap_peers = np.array([n - size[z] for z in zones], dtype=np.int64)
        else:
            encap_peers = np.zeros(n, dtype=np.int64)
        if cni.encapsulation == "wireguard":
            encap_peers = np.full(n, remote_nodes, dtype=np.int64)
        tunnels[:] = encap_peers
        if cni.encapsulation == "vxlan" and any(p in plugin for p in _FDB_PLUGINS):
            arp[:] = encap_peers
            fdb[:] = encap_peers
        if _uses_bgp(cluster):
            bgp[:] = remote_nodes
    proxy = proxy_entries(cluster)
    df = pd.DataFrame({
        "node": [nd.name for nd in cluster.nodes],
        "pod_ranges": ranges,
        "pods": pods,
        "routes": routes,
        "local_routes": local,
        "arp_entries": arp,
        "fdb_entries": fdb,
        "tunnel_endpoints": tunnels,
        "bgp_sessions": bgp,
        **{k: np.full(n, v, dtype=np.int64) for k, v in proxy.items()},
        "conntrack_max": np.full(n, conntrack_max(cores), dtype=np.int64),
    })
    return df


def dataplane_totals(
    cluster: ClusterView, cores_per_node: int | None = None, state: pd.DataFrame | None = None
) -> dict[str, int]:
    """Cluster-wide sums of :func:`dataplane_state` (pass ``state`` if already computed);
    a BGP session joins two nodes, so ``bgp_sessions`` is n(n-1)/2 for a full mesh."""
    df = dataplane_state(cluster, cores_per_node) if state is None else state
    out = {"nodes": len(cluster.nodes), "services": len(cluster.services)}
    for col in df.columns[1:]:
        out[col] = int(df[col].sum())
    out["bgp_sessions"] //= 2
    return out
