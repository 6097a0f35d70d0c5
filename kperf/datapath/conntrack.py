"""What a new TCP connection costs each end, and where netfilter conntrack is on its way.

A connection's first packets cost more than its later ones: the socket work of
``connect()`` and ``accept()`` (the testbed's ``tcp_connect_us``/``tcp_accept_us``),
a conntrack entry on every node whose host network namespace tracks the connection,
and a CNI's own first-packet policy work (``CniProfile.new_flow_us``). Each part is a
:class:`ConnectionPart`; :func:`connection_parts` lists them (``kperf paths`` prints
them) and :func:`connection_costs_us` sums them per end. The per-packet conntrack
lookups of an established connection stay where they were (the CNI's netfilter stages,
``host-forward``, the proxy's ``established_per_packet_us``): only creating, confirming
and destroying the entry is charged here, once per connection per crossing.

Where conntrack is (:func:`conntrack_nodes`)
    Since Linux 4.10 conntrack registers its netfilter hooks in a network namespace only
    when a rule there needs it (Florian Westphal, "netfilter: conntrack: register hooks
    in netns when needed by ruleset": ``nf_ct_netns_get()`` is called by the ``state``,
    ``conntrack`` and NAT matches and targets when a rule using them is added), so a
    pod's own namespace, which has no rules, tracks nothing; a node's host namespace
    tracks what crosses it when something there uses conntrack:

    * kube-proxy (``proxy``: iptables, IPVS or nftables): its nat table (KUBE-SERVICES,
      masquerade marks) and filter rules use conntrack, so every connection whose
      packets cross the host namespace's hooks is tracked, to a Service or not;
    * the CNI's own netfilter datapath (:attr:`CniProfile.netfilter_conntrack`):
      Calico's iptables chains (``-m conntrack --ctstate``), Canal, Weave NPC,
      kube-router's policy chains, and OVS's ``ct()`` action (Antrea, Kube-OVN, Cisco
      ACI, NSX-T), which uses the kernel's nf_conntrack;
    * eBPF datapaths with the kube-proxy replacement (Cilium, Calico eBPF; ``proxy:
      ebpf``) keep their own BPF connection tracking, already in their programs' costs,
      and redirect pod traffic past the host's netfilter hooks: no nf_conntrack for
      pod traffic. Run with kube-proxy (``proxy: iptables``...), they pay it like
      Flannel does;
    * host-network endpoints (and traffic from outside the cluster, at the endpoint's
      node) are tracked when the host namespace has such rules (kube-proxy, or a CNI
      whose host chains use conntrack); an eBPF datapath with the kube-proxy
      replacement leaves them untracked.

    A built cluster may carry ``conntrack_override`` (True or False, set by a
    calibration case's ``conntrack: on|off``) to force the host namespaces' choice
    either way: a host "without conntrack" (the module not loaded, or NOTRACK rules)
    or with it (a stateful host firewall).

    A connection between two nodes is tracked on each (one entry per node); between
    two endpoints of one node, once (one entry in that node's host namespace).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from kperf.datapath.path import is_pod
from kperf.profiles.cni import CONNTRACK_NEW_SOURCE, CONNTRACK_NEW_US

KUBE_PROXY_MODES = frozenset({"iptables", "ipvs", "nftables"})
"""Proxy modes that are kube-proxy in the host's netfilter (all use conntrack: the
nftables mode's ``ct state`` rules too); ``ebpf`` is the replacement, which does not."""

Side = Literal["client", "server"]


@dataclass(frozen=True)
class ConnectionPart:
    """One part of a new connection's cost: on the ``side`` end's core (the client pays
    with its SYN, the server with its SYN-ACK), at node ``node`` (0-based index),
    ``us`` reference-core microseconds."""

    side: Side
    node: int
    stage: str
    category: str
    us: float
    source: str


def in_cluster(cluster: Any, endpoint: Any) -> bool:
    """A pod or node of ``cluster`` (not a host outside it)."""
    node = endpoint if isinstance(endpoint, int) else endpoint.node
    return 0 <= node < len(cluster.nodes)


def node_of(endpoint: Any) -> int:
    return endpoint if isinstance(endpoint, int) else int(endpoint.node)


def tracks(cluster: Any, pod_endpoint: bool) -> bool:
    """Does a node's host namespace run nf_conntrack on traffic of this kind (an endpoint
    that is a pod, or a host-network one)? See the module doc."""
    override = getattr(cluster, "conntrack_override", None)
    cni = cluster.cni
    proxy = cluster.spec.proxy
    if pod_endpoint:
        if cni.netfilter_conntrack:
            return True
        return proxy in KUBE_PROXY_MODES
    if override is not None:
        return bool(override)
    return cni.netfilter_conntrack or proxy in KUBE_PROXY_MODES


def conntrack_nodes(cluster: Any, client: Any, server: Any) -> list[tuple[Side, int]]:
    """The (end, node) pairs where a connection from ``client`` to ``server`` gets a
    conntrack entry; each is charged on that end's core. One entry per node: a
    connection within one node is tracked once, on the client's side."""
    out: list[tuple[Side, int]] = []
    ends: tuple[tuple[Side, Any], ...] = (("client", client), ("server", server))
    seen: set[int] = set()
    for side, ep in ends:
        if not in_cluster(cluster, ep):
            continue
        node = node_of(ep)
        if node in seen:
            continue
        if tracks(cluster, is_pod(ep)):
            out.append((side, node))
            seen.add(node)
    return out


def connection_parts(cluster: Any, testbed: Any, client: Any,
                     server: Any) -> list[ConnectionPart]:
    """Every part of a new TCP connection's cost from ``client`` to ``server`` (pods,
    node indices, or an external host as the client), in reference-core µs."""
    cni = cluster.cni
    parts: list[ConnectionPart] = []
    ct = dict((side, node) for side, node in conntrack_nodes(cluster, client, server))
    for side, ep in (("client", client), ("server", server)):
        s: Side = "client" if side == "client" else "server"
        node = node_of(ep)
        if s == "client":
            parts.append(ConnectionPart(s, node, "tcp connect (socket)", "stack",
                                        testbed.tcp_connect_us, "Testbed.tcp_connect_us"))
        else:
            parts.append(ConnectionPart(s, node, "tcp accept (socket)", "stack",
                                        testbed.tcp_accept_us, "Testbed.tcp_accept_us"))
        if s in ct:
            parts.append(ConnectionPart(
                s, ct[s], f"conntrack new (node-{ct[s] + 1} host netns)", "stack",
                CONNTRACK_NEW_US, CONNTRACK_NEW_SOURCE))
        if is_pod(ep) and cni.new_flow_us:
            parts.append(ConnectionPart(s, node, f"{cni.plugin} policy, new flow", "policy",
                                        cni.new_flow_us, cni.new_flow_source))
    return parts


def connection_costs_us(cluster: Any, testbed: Any, client: Any,
                        server: Any) -> tuple[float, float]:
    """Reference-core µs a new connection costs the client and the server end."""
    connect = accept = 0.0
    for p in connection_parts(cluster, testbed, client, server):
        if p.side == "client":
            connect += p.us
        else:
            accept += p.us
    return connect, accept
