"""Which node traffic from outside the cluster enters at: load balancers and health checks.

A LoadBalancer Service's external address leads to a node chosen by the cluster's load
balancer (:mod:`kperf.profiles.loadbalancers`, ``ClusterSpec.load_balancer``):

* ``spread: hash`` (``cloud-l4``): per connection, uniformly over the nodes that pass
  the load balancer's health check (a 5-tuple hash over equally weighted targets: the
  Kubernetes docs note that cloud load balancers weigh every node alike, whatever its
  pod count); one random draw per connection from the stream this module is given.
* ``spread: leader`` (``metallb-l2``): every connection to one node, the leader for
  the Service's address: among the eligible nodes, the one whose
  ``sha256(node name + "#" + address)`` sorts first (MetalLB's speaker,
  ``speaker/layer2_controller.go``), so different Services may have different
  leaders but one Service always has one.

Health checks: with ``externalTrafficPolicy: Local`` a node passes only while it has a
ready local endpoint (kube-proxy's ``healthCheckNodePort`` answers 503 otherwise); with
``Cluster`` every node passes (kube-proxy's own health). kperf takes the health
checks as already converged: a node passes exactly while the cluster lists an endpoint
of the Service on it (the probes' interval and thresholds, seconds in practice, are not
modelled). No node passing: a load balancer that ``fails_open`` sends to every node
(where kube-proxy, with no local endpoint, drops the traffic); MetalLB announces
nothing, so connections fail as ``no-endpoints``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from kperf.cluster.addr import ip_str
from kperf.profiles.loadbalancers import LoadBalancerProfile


def endpoint_nodes(cluster: Any, service: Any) -> list[int]:
    """The nodes holding at least one endpoint of ``service``, ascending."""
    pods = cluster.pods
    return sorted({pods[u].node for u in service.endpoints if 0 <= u < len(pods)})


def healthy_nodes(cluster: Any, service: Any) -> list[int]:
    """The nodes that pass a load balancer's health check for ``service``: every node
    (``Cluster``), or those with a local endpoint (``Local``)."""
    if service.external_traffic_policy == "Local":
        return endpoint_nodes(cluster, service)
    return list(range(len(cluster.nodes)))


def metallb_leader(names: Sequence[str], candidates: Sequence[int], address: int) -> int | None:
    """MetalLB layer 2's announcing node among ``candidates`` (node indices): the one
    whose ``sha256(name + "#" + address)`` is smallest; None without candidates."""
    key = ip_str(address)
    best: tuple[bytes, int] | None = None
    for n in candidates:
        h = hashlib.sha256(f"{names[n]}#{key}".encode()).digest()
        if best is None or h < best[0]:
            best = (h, n)
    return None if best is None else best[1]


class EntryChooser:
    """Per Service, the nodes a load balancer may send to, and the choice per
    connection (see the module doc). Cached per endpoint version of the Service.
    Without ``rng`` it only reports (:meth:`targets`), as ``kperf inspect`` does."""

    def __init__(self, cluster: Any, profile: LoadBalancerProfile,
                 rng: np.random.Generator | None = None) -> None:
        self.cluster = cluster
        self.profile = profile
        self.rng = rng
        self._targets: dict[int, tuple[int, tuple[int, ...], bool]] = {}

    def targets(self, service: Any) -> tuple[tuple[int, ...], bool]:
        """(nodes the load balancer sends to, whether they passed the health check):
        the healthy nodes; with none, every node if the profile fails open (False),
        else none; for a leader profile, the one leader among them."""
        got = self._targets.get(service.index)
        if got is not None and got[0] == service.endpoints_version:
            return got[1], got[2]
        healthy = healthy_nodes(self.cluster, service)
        if not service.endpoints:
            healthy = []
        ok = bool(healthy)
        nodes: list[int] = healthy
        if not ok and self.profile.fails_open:
            nodes = list(range(len(self.cluster.nodes)))
        if self.profile.spread == "leader":
            names = [n.name for n in self.cluster.nodes]
            leader = metallb_leader(names, nodes, service.load_balancer_ip)
            nodes = [] if leader is None else [leader]
        out = tuple(nodes)
        self._targets[service.index] = (service.endpoints_version, out, ok)
        return out, ok

    def pick(self, service: Any) -> int | None:
        """The entry node of a new connection to ``service``'s external address, or
        None when the load balancer has nowhere to send it."""
        nodes, _ok = self.targets(service)
        if not nodes:
            return None
        if len(nodes) == 1:
            return nodes[0]
        if self.rng is None:
            raise ValueError("an EntryChooser without a random stream cannot pick")
        return nodes[int(self.rng.integers(len(nodes)))]
