"""Conformance with the Kubernetes network model.

The model (kubernetes.io/docs/concepts/services-networking/#the-kubernetes-network-model,
kubernetes.io/docs/concepts/cluster-administration/networking/): every pod gets its
own IP, unique in the cluster; pods on any node reach pods on every node, and nodes
reach every pod, without NAT. kperf checks a built cluster against it:

``pod-ips-unique``
    no two (non-host-network) pods share an address, and no pod has a node's address.
    Host-network pods use their node's IP and are not conflicts.
``cidrs-disjoint``
    node, pod and service CIDRs do not overlap, and no two nodes' pod ranges overlap
    (with ``ipam: none`` every node has the same range).
``pod-ranges-in-pod-cidr``
    every node's pod range lies inside the cluster pod CIDR.
``pod-ips-in-node-range``
    every pod's IP lies inside one of its node's pod ranges (otherwise the routes,
    which point a range at a node, send its traffic elsewhere).
``node-capacity``
    no node holds more pods than ``max_pods_per_node`` or more pod IPs than its ranges.
``cluster-ips``
    ClusterIPs are unique and inside the service CIDR.
``pod-to-pod`` and ``node-to-pod``
    reachability without NAT under the CNI's routing. Every CNI that routes at all
    installs, on every node, a route per remote pod range: via the remote node's IP
    (routed modes) or via the tunnel device (overlays); ``none`` installs none. So
    node A reaches a pod on node B (A != B) iff A has a route for the range holding
    the pod's IP, that range belongs to B alone, and the IP is unique. This is
    decided per destination pod, not per pair: at 150,000 pods there are 2.25e10
    pairs, so unreachable pairs are counted arithmetically as
    sum over nodes B of (unroutable pods on B) x (pods not on B), and
    (unroutable pods on B) x (nodes - 1) for node-to-pod. Pods on the same node always
    reach each other (bridge or host routes); a host-network pod is reached at its
    node's IP over the node network.

No path in these models uses NAT between pods: kube-proxy DNATs only traffic to
Service IPs, and overlays encapsulate rather than translate.

A pod is one network namespace, so its containers share its ports as they share its
IP: "containers within a Pod must coordinate port usage"
(kubernetes.io/docs/concepts/cluster-administration/networking/). Three checks read
the ports the pods declare (``Pod.ports``):

``container-ports-unique``
    no two containers of a pod declare one port and protocol (the API server only
    warns, "duplicate port definition"; the second container cannot bind it). 53/UDP
    and 53/TCP are two ports.
``host-ports-unique``
    no two pods on a node claim one host port and protocol. A pod claims its
    ``host_port`` values, and a host-network pod every container port (it is in the
    node's namespace; the API server sets ``hostPort`` to ``containerPort``).
    kube-scheduler's NodePorts filter (and the kubelet's admission, for a pod bound
    to its node) keeps such a pod off that node; kperf places it anyway and says so.
``daemon-ports-free``
    no pod's host port takes a port a node daemon holds (:data:`NODE_DAEMON_PORTS`:
    the kubelet; kube-proxy unless the proxy mode is ``ebpf``, which replaces it) or
    the NodePort of a Service (every proxy mode, the eBPF one included, sends
    ``node:nodePort`` traffic to the Service). A daemon bound to 127.0.0.1 only
    clashes with host-network pods (their containers bind the node's addresses; a
    bind to every address fails while 127.0.0.1 holds the port); a ``host_port``
    clashes with the daemons on the node's addresses (its DNAT rule takes their
    traffic). The free range of NodePorts, 30000-32767, is not held: kube-proxy
    stopped opening NodePort sockets (kubernetes/kubernetes#108496, 1.24 and back to
    1.21), so only allocated NodePorts clash. Nothing checks these in Kubernetes.

These checks cost one pass over the pods (their ports are judged once per distinct
tuple: the replicas of a deployment share theirs) and one over the host-port claims.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kperf.cluster.addr import ip_str, net_bounds

if TYPE_CHECKING:
    from kperf.cluster.records import ContainerPort, Pod
    from kperf.cluster.view import ClusterView

MAX_ROWS_PER_CHECK = 1000
"""Violation rows kept per check; counts in ``checks`` stay exact."""

# reasons a pod is not routable from other nodes
_OK, _NO_ROUTES, _DUPLICATE, _SHARED_RANGE, _OUTSIDE = 0, 1, 2, 3, 4
_REASONS = {
    _NO_ROUTES: "the CNI installs no cross-node routes",
    _DUPLICATE: "its IP is used by another pod",
    _SHARED_RANGE: "its pod range also belongs to another node",
    _OUTSIDE: "its IP is outside its node's pod ranges",
}

CHECKS: dict[str, tuple[str, str]] = {
    "pod-ips-unique": ("pod IPs unique cluster-wide", "duplicated addresses"),
    "cidrs-disjoint": ("node, pod, service CIDRs and node pod ranges disjoint",
                       "overlaps"),
    "pod-ranges-in-pod-cidr": ("every node pod range inside the pod CIDR", "ranges outside"),
    "pod-ips-in-node-range": ("every pod IP inside its node's pod ranges", "pods outside"),
    "node-capacity": ("no node over max_pods_per_node or its range", "nodes over"),
    "cluster-ips": ("ClusterIPs unique and inside the service CIDR", "bad ClusterIPs"),
    "pod-to-pod": ("every pod reaches every pod without NAT", "unreachable pod pairs"),
    "node-to-pod": ("every node reaches every pod without NAT", "unreachable node-pod pairs"),
    "container-ports-unique": ("no two containers of a pod on one port and protocol",
                               "pods with a shared port"),
    "host-ports-unique": ("no two pods of a node on one host port and protocol",
                          "host ports claimed by several pods"),
    "daemon-ports-free": ("host ports clear of kubelet, kube-proxy and NodePorts",
                          "host ports a daemon or NodePort holds"),
}
"""Check name -> (what it checks, what its count counts)."""


@dataclass(frozen=True)
class DaemonPort:
    """A port a daemon holds on every node."""

    port: int
    protocol: str
    daemon: str
    localhost: bool
    """Bound to 127.0.0.1 only (by default)."""
    kube_proxy: bool
    """Held by kube-proxy, so free when the proxy mode replaces it (``ebpf``)."""
    source: str
    itself: str = ""
    """A pod in ``kube-system`` whose name starts with this is the daemon itself."""


_PORTS_PAGE = "kubernetes.io/docs/reference/networking/ports-and-protocols/"
NODE_DAEMON_PORTS: tuple[DaemonPort, ...] = (
    DaemonPort(10250, "TCP", "the kubelet API", False, False,
               f"{_PORTS_PAGE}: worker nodes, TCP 10250, Kubelet API"),
    DaemonPort(10248, "TCP", "the kubelet's health check", True, False,
               "kubernetes.io/docs/reference/command-line-tools-reference/kubelet/: "
               "--healthz-port 10248, --healthz-bind-address 127.0.0.1"),
    DaemonPort(10256, "TCP", "kube-proxy's health check", False, True,
               f"{_PORTS_PAGE}: worker nodes, TCP 10256, kube-proxy; "
               "kubernetes.io/docs/reference/command-line-tools-reference/kube-proxy/: "
               "--healthz-bind-address 0.0.0.0:10256", "kube-proxy"),
    DaemonPort(10249, "TCP", "kube-proxy's metrics server", True, True,
               "kubernetes.io/docs/reference/command-line-tools-reference/kube-proxy/: "
               "--metrics-bind-address 127.0.0.1:10249", "kube-proxy"),
)
"""What the node daemons kperf models listen on, on every node: the kubelet and, unless
the proxy mode replaces it, kube-proxy. (The API server, etcd, kube-scheduler and
kube-controller-manager run on control-plane nodes, which kperf does not mark;
10255, the kubelet's read-only port, is off by default in the kubelet's config file.)"""

KUBE_PROXY_REPLACEMENTS = ("ebpf",)
"""Proxy modes that run no kube-proxy (Cilium's and Calico's eBPF data planes)."""


@dataclass
class ConformanceReport:
    """The result of :func:`check`.

    ``checks``: one row per check (``name``, ``passed``, ``count``, ``unit``,
    ``description``). ``violations``: one row per problem (``check``, ``subject``,
    ``detail``), at most :data:`MAX_ROWS_PER_CHECK` per check.
    """

    checks: pd.DataFrame
    violations: pd.DataFrame
    unreachable_pod_pairs: int = 0
    unreachable_node_pod_pairs: int = 0
    cni: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the cluster conforms to the Kubernetes network model."""
        return bool(self.checks["passed"].all())

    def summary(self, max_violations: int = 20) -> str:
        """A readable multi-line verdict: each check, then the first violations."""
        failed = int((~self.checks["passed"]).sum())
        total = len(self.checks)
        if failed == 0:
            head = f"conformance: OK — all {total} checks of the Kubernetes network model pass"
        else:
            head = (f"conformance: VIOLATED — {failed} of {total} checks fail "
                    f"(cni {self.cni})")
        lines = [head]
        for row in self.checks.itertuples(index=False):
            mark = "ok  " if row.passed else "FAIL"
            extra = "" if row.passed else f"  ({row.count:,} {row.unit})"
            lines.append(f"  {mark} {row.name:<24} {row.description}{extra}")
        if len(self.violations):
            shown = self.violations.head(max_violations)
            lines.append(f"violations ({len(shown)} of {len(self.violations)} rows shown):")
            for v in shown.itertuples(index=False):
                lines.append(f"  {v.check}: {v.subject}: {v.detail}")
        return "\n".join(lines)


@dataclass
class _Analysis:
    ips: np.ndarray
    nodes: np.ndarray
    host: np.ndarray
    reason: np.ndarray  # per pod, _OK or why it is unroutable from other nodes
    dup: np.ndarray
    in_own: np.ndarray
    shared_groups: list[list[tuple[IPv4Network, int]]]


def _range_table(
    cluster: ClusterView,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[IPv4Network]]:
    firsts, lasts, owners, nets = [], [], [], []
    for node in cluster.nodes:
        for net in node.pod_ranges:
            lo, hi = net_bounds(net)
            firsts.append(lo)
            lasts.append(hi)
            owners.append(node.index)
            nets.append(net)
    return (np.array(firsts, dtype=np.int64), np.array(lasts, dtype=np.int64),
            np.array(owners, dtype=np.int64), nets)


def _analyse(cluster: ClusterView) -> _Analysis:
    pods = cluster.pods
    n = len(pods)
    ips = np.fromiter((p.ip for p in pods), dtype=np.int64, count=n)
    nodes = np.fromiter((p.node for p in pods), dtype=np.int64, count=n)
    host = np.fromiter((p.host_network for p in pods), dtype=bool, count=n)

    # duplicate addresses among pod-network pods
    dup = np.zeros(n, dtype=bool)
    pn = ~host
    if pn.any():
        _, inv, counts = np.unique(ips[pn], return_inverse=True, return_counts=True)
        dup[pn] = counts[inv] > 1

    # pod ranges: which overlap a range of another node ("shared")
    firsts, lasts, owners, nets = _range_table(cluster)
    order = np.argsort(firsts, kind="stable")
    shared = np.zeros(len(firsts), dtype=bool)
    groups: list[list[tuple[IPv4Network, int]]] = []
    group: list[int] = []
    group_end = -1
    for k in order.tolist():
        if group and firsts[k] <= group_end:
            group.append(k)
            group_end = max(group_end, int(lasts[k]))
            continue
        if len({int(owners[g]) for g in group}) > 1:
            shared[group] = True
            groups.append([(nets[g], int(owners[g])) for g in group])
        group, group_end = [k], int(lasts[k])
    if len({int(owners[g]) for g in group}) > 1:
        shared[group] = True
        groups.append([(nets[g], int(owners[g])) for g in group])

    # is each pod inside a range of its own node, and is that range its node's alone
    in_unique = np.zeros(n, dtype=bool)
    in_own = np.zeros(n, dtype=bool)
    uniq = ~shared
    if uniq.any() and n:
        uf, ul, uo = firsts[uniq], lasts[uniq], owners[uniq]
        o = np.argsort(uf)
        uf, ul, uo = uf[o], ul[o], uo[o]
        idx = np.searchsorted(uf, ips, side="right") - 1
        valid = idx >= 0
        idx_c = np.where(valid, idx, 0)
        in_unique = valid & (ips <= ul[idx_c]) & (uo[idx_c] == nodes)
    in_own |= in_unique
    if shared.any():
        by_node: dict[int, list[tuple[int, int]]] = {}
        for k in np.flatnonzero(shared).tolist():
            by_node.setdefault(int(owners[k]), []).append((int(firsts[k]), int(lasts[k])))
        cand = np.flatnonzero(~in_unique & np.isin(nodes, list(by_node)))
        for u in cand.tolist():
            ip = int(ips[u])
            if any(lo <= ip <= hi for lo, hi in by_node[int(nodes[u])]):
                in_own[u] = True

    reason = np.full(n, _OK, dtype=np.int8)
    if cluster.cni.routing == "none":
        reason[:] = _NO_ROUTES
    else:
        reason[~in_own] = _OUTSIDE
        reason[in_own & ~in_unique] = _SHARED_RANGE
        reason[dup] = _DUPLICATE
    reason[host] = _OK
    return _Analysis(ips, nodes, host, reason, dup, in_own, groups)


def compute_routable(cluster: ClusterView) -> bytearray:
    """Per pod uid: 1 when pods and nodes elsewhere can reach it (see module docs)."""
    return bytearray((_analyse(cluster).reason == _OK).astype(np.uint8).tobytes())


class _Rows:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []
        self.kept: dict[str, int] = {}

    def add(self, check: str, subject: str, detail: str) -> None:
        k = self.kept.get(check, 0)
        if k < MAX_ROWS_PER_CHECK:
            self.rows.append((check, subject, detail))
        self.kept[check] = k + 1

    def full(self, check: str) -> bool:
        """True when ``check`` keeps no more rows (count the problem, skip its text;
        only the counts in ``checks`` are exact past :data:`MAX_ROWS_PER_CHECK`)."""
        return self.kept.get(check, 0) >= MAX_ROWS_PER_CHECK


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _names(cluster: ClusterView, uids: list[int], limit: int = 6) -> str:
    shown = [f"{cluster.pods[u].key} ({cluster.nodes[cluster.pods[u].node].name})"
             for u in uids[:limit]]
    more = f", ... ({len(uids)} pods)" if len(uids) > limit else ""
    return ", ".join(shown) + more


def _how(pod: Pod, cp: ContainerPort) -> str:
    """How a pod holds a host port: ``container app, host network`` or ``container
    app, hostPort 8080 -> 80``."""
    if pod.host_network:
        return f"container {cp.container}, host network"
    return f"container {cp.container}, hostPort {cp.host_port} → {cp.port}"


def _shared_ports(ports: tuple[ContainerPort, ...]) -> list[str]:
    """Each port and protocol two or more containers of one pod declare."""
    if len(ports) < 2:
        return []
    by_port: dict[tuple[int, str], list[str]] = {}
    for cp in ports:
        names = by_port.setdefault((cp.port, cp.protocol), [])
        if cp.container not in names:  # one container may list a port twice: harmless
            names.append(cp.container)
    return [f"containers {', '.join(names[:-1])} and {names[-1]} all declare {port}/{proto}"
            if len(names) > 2 else
            f"containers {names[0]} and {names[1]} both declare {port}/{proto}"
            for (port, proto), names in by_port.items() if len(names) > 1]


def _port_checks(cluster: ClusterView, rows: _Rows, counts: dict[str, int]) -> None:
    """``container-ports-unique``, ``host-ports-unique`` and ``daemon-ports-free``."""
    pods, nodes = cluster.pods, cluster.nodes
    # per distinct ports tuple (the replicas of a deployment share one object, which
    # the pods keep alive during the check: its id is a safe key)
    judged: dict[int, tuple[list[str], list[ContainerPort]]] = {}
    claims: dict[tuple[int, int, str], list[tuple[Pod, ContainerPort]]] = {}
    for pod in pods:
        ports = pod.ports
        if not ports:
            continue
        seen = judged.get(id(ports))
        if seen is None:
            seen = judged[id(ports)] = (_shared_ports(ports),
                                        [cp for cp in ports if cp.host_port])
        shared, host = seen
        if shared:
            counts["container-ports-unique"] += 1
            if not rows.full("container-ports-unique"):
                rows.add("container-ports-unique", pod.key,
                         f"{'; '.join(shared)}, in one network namespace (IP "
                         f"{pod.ip_str} on {nodes[pod.node].name}): only one of them can "
                         "bind it")
        for cp in host:
            claims.setdefault((pod.node, cp.host_port, cp.protocol), []).append((pod, cp))
    if not claims:
        return

    # two or more pods on one host port (claims are in pod order; rows in port order)
    for key in sorted(k for k, holders in claims.items() if len(holders) > 1):
        holders = claims[key]
        if len({p.uid for p, _ in holders}) < 2:
            continue
        counts["host-ports-unique"] += 1
        if rows.full("host-ports-unique"):
            continue
        node, port, proto = key
        shown = ", ".join(f"{p.key} ({_how(p, cp)})" for p, cp in holders[:6])
        more = f", ... ({len(holders)} in all)" if len(holders) > 6 else ""
        rows.add("host-ports-unique", f"{nodes[node].name} {port}/{proto}",
                 f"{len(holders)} pods claim host port {port}/{proto} on "
                 f"{nodes[node].name}: {shown}{more}; only one can run there "
                 "(kube-scheduler's NodePorts filter keeps the others Pending; a kubelet "
                 "refuses a pod bound to its node)")

    # a host port a node daemon or a NodePort holds
    kube_proxy = cluster.proxy.name not in KUBE_PROXY_REPLACEMENTS
    daemons = {(d.port, d.protocol): d for d in NODE_DAEMON_PORTS
               if kube_proxy or not d.kube_proxy}
    node_ports = {(s.node_port, s.protocol): s for s in cluster.services
                  if s.node_port is not None}
    proxy = (f"kube-proxy's ({cluster.proxy.name}) rules send" if kube_proxy
             else "the eBPF kube-proxy replacement sends")
    held = sorted(k for k in claims if (k[1], k[2]) in daemons or (k[1], k[2]) in node_ports)
    for key in held:
        node, port, proto = key
        daemon = daemons.get((port, proto))
        svc = node_ports.get((port, proto))
        where = f"{nodes[node].name} {port}/{proto}"
        for pod, cp in claims[key]:
            if daemon is not None and not (daemon.localhost and not pod.host_network) and not (
                    daemon.itself and pod.namespace == "kube-system"
                    and pod.name.startswith(daemon.itself)):
                counts["daemon-ports-free"] += 1
                why = ("the pod and the daemon cannot both bind it" if pod.host_network
                       else "the pod's DNAT rule takes the daemon's traffic")
                local = " (127.0.0.1 only)" if daemon.localhost else ""
                rows.add("daemon-ports-free", where,
                         f"{pod.key} ({_how(pod, cp)}) takes {port}/{proto}, where "
                         f"{daemon.daemon} listens on every node{local}: {why}")
            if svc is not None:
                counts["daemon-ports-free"] += 1
                rows.add("daemon-ports-free", where,
                         f"{pod.key} ({_how(pod, cp)}) takes {port}/{proto}, the NodePort "
                         f"of Service {svc.key}: {proxy} traffic for "
                         f"{nodes[node].ip_str}:{port} to the Service, not to the pod")


def check(cluster: ClusterView) -> ConformanceReport:
    """Run every conformance check on ``cluster``."""
    spec = cluster.spec
    a = _analyse(cluster)
    rows = _Rows()
    counts: dict[str, int] = dict.fromkeys(CHECKS, 0)

    # pod-ips-unique
    dup_uids = np.flatnonzero(a.dup)
    if len(dup_uids):
        ips_d = a.ips[dup_uids]
        o = np.argsort(ips_d, kind="stable")
        ips_d, dup_sorted = ips_d[o], dup_uids[o]
        bounds = np.flatnonzero(np.diff(ips_d)) + 1
        for grp in np.split(dup_sorted, bounds):
            ip = int(a.ips[grp[0]])
            counts["pod-ips-unique"] += 1
            rows.add("pod-ips-unique", ip_str(ip),
                     f"{len(grp)} pods share this IP: {_names(cluster, grp.tolist())}")
    node_ips = np.array([nd.ip for nd in cluster.nodes], dtype=np.int64)
    clash = np.flatnonzero(~a.host & np.isin(a.ips, node_ips))
    for u in clash.tolist():
        counts["pod-ips-unique"] += 1
        p = cluster.pods[u]
        rows.add("pod-ips-unique", ip_str(p.ip), f"pod {p.key} has a node's IP")

    # cidrs-disjoint
    cidrs = {"node_cidr": spec.node_cidr, "pod_cidr": spec.pod_cidr,
             "service_cidr": spec.service_cidr}
    keys = list(cidrs)
    for i, x in enumerate(keys):
        for y in keys[i + 1:]:
            if cidrs[x].overlaps(cidrs[y]):
                counts["cidrs-disjoint"] += 1
                rows.add("cidrs-disjoint", f"{x} {cidrs[x]}", f"overlaps {y} {cidrs[y]}")
    for grp_nets in a.shared_groups:
        counts["cidrs-disjoint"] += 1
        nets = sorted({str(net) for net, _ in grp_nets})
        owners = [cluster.nodes[o].name for _, o in grp_nets]
        shown = ", ".join(owners[:8]) + (f", ... ({len(owners)} nodes)" if len(owners) > 8
                                         else "")
        rows.add("cidrs-disjoint", ", ".join(nets[:4]),
                 f"pod range(s) claimed by {len(set(owners))} nodes: {shown}")

    # pod-ranges-in-pod-cidr
    for node in cluster.nodes:
        for net in node.pod_ranges:
            if not net.subnet_of(spec.pod_cidr):
                counts["pod-ranges-in-pod-cidr"] += 1
                rows.add("pod-ranges-in-pod-cidr", node.name,
                         f"pod range {net} is outside pod_cidr {spec.pod_cidr}")

    # pod-ips-in-node-range
    outside = np.flatnonzero(~a.host & ~a.in_own)
    counts["pod-ips-in-node-range"] = len(outside)
    for u in outside[:MAX_ROWS_PER_CHECK].tolist():
        p = cluster.pods[u]
        node = cluster.nodes[p.node]
        rows.add("pod-ips-in-node-range", p.key,
                 f"IP {p.ip_str} is outside {node.name}'s pod ranges "
                 f"({', '.join(map(str, node.pod_ranges)) or 'none'})")
    rows.kept["pod-ips-in-node-range"] = len(outside)

    # node-capacity
    per_node = np.bincount(a.nodes, minlength=len(cluster.nodes)) if len(a.nodes) else (
        np.zeros(len(cluster.nodes), dtype=np.int64))
    addr_node = np.bincount(a.nodes[~a.host], minlength=len(cluster.nodes)) if len(
        a.nodes) else np.zeros(len(cluster.nodes), dtype=np.int64)
    ipam = cluster.allocator
    for node in cluster.nodes:
        c, c_addr = int(per_node[node.index]), int(addr_node[node.index])
        usable = ipam.usable(node.index)
        if c > spec.max_pods_per_node or c_addr > usable:
            counts["node-capacity"] += 1
            rows.add("node-capacity", node.name,
                     f"{c} pods ({c_addr} with pod IPs) but max_pods_per_node "
                     f"{spec.max_pods_per_node} and {usable} usable addresses")

    # cluster-ips
    seen: dict[int, str] = {}
    lo, hi = net_bounds(spec.service_cidr)
    for svc in cluster.services:
        if not lo < svc.cluster_ip < hi:
            counts["cluster-ips"] += 1
            rows.add("cluster-ips", svc.key,
                     f"ClusterIP {svc.cluster_ip_str} outside service_cidr {spec.service_cidr}")
        if svc.cluster_ip in seen:
            counts["cluster-ips"] += 1
            rows.add("cluster-ips", svc.key,
                     f"ClusterIP {svc.cluster_ip_str} also used by {seen[svc.cluster_ip]}")
        seen.setdefault(svc.cluster_ip, svc.key)

    # reachability, per destination node
    n_nodes, n_pods = len(cluster.nodes), len(cluster.pods)
    unroutable = a.reason != _OK
    bad_node = np.bincount(a.nodes[unroutable], minlength=n_nodes) if n_pods else np.zeros(
        n_nodes, dtype=np.int64)
    pod_pairs = int(np.sum(bad_node * (n_pods - per_node))) if n_pods else 0
    node_pairs = int(bad_node.sum()) * (n_nodes - 1)
    counts["pod-to-pod"] = pod_pairs
    counts["node-to-pod"] = node_pairs
    if n_nodes > 1:
        for b in np.flatnonzero(bad_node).tolist():
            uids = np.flatnonzero(unroutable & (a.nodes == b))
            others = n_pods - int(per_node[b])
            reasons = sorted({int(r) for r in a.reason[uids]})
            why = "; ".join(_REASONS[r] for r in reasons)
            ips_txt = ", ".join(ip_str(int(ip)) for ip in a.ips[uids[:4]])
            if len(uids) > 4:
                ips_txt += ", ..."
            node_name = cluster.nodes[b].name
            if others:
                rows.add("pod-to-pod", f"pods on {node_name}",
                         f"{len(uids)} of {int(per_node[b])} pods ({ips_txt}) unreachable "
                         f"from the {_plural(others, 'pod')} on other nodes "
                         f"({len(uids) * others:,} pairs): {why}")
            rows.add("node-to-pod", f"pods on {node_name}",
                     f"{len(uids)} pods unreachable from the {_plural(n_nodes - 1, 'other node')}: "
                     f"{why}")

    _port_checks(cluster, rows, counts)

    check_rows = [
        (name, counts[name] == 0, counts[name], unit, desc)
        for name, (desc, unit) in CHECKS.items()
    ]
    checks = pd.DataFrame(check_rows, columns=["name", "passed", "count", "unit", "description"])
    checks["passed"] = checks["passed"].astype(bool)
    order = {name: k for k, name in enumerate(CHECKS)}
    ordered = sorted(rows.rows, key=lambda r: order[r[0]])  # stable: per check, found order
    violations = pd.DataFrame(ordered, columns=["check", "subject", "detail"])
    return ConformanceReport(checks, violations, pod_pairs, node_pairs, cluster.cni.name)
