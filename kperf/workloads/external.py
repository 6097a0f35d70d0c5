"""Clients outside the cluster: targets ``nodeport/NAME`` and ``lb/NAME``, and what they
measure.

A workload whose ``clients`` deployment has ``placement: external`` runs on hosts
outside the cluster (:class:`kperf.cluster.records.ExternalHost`). They reach pods
only through a Service's NodePort or its load balancer:

``nodeport/NAME``
    The NodePort of a NodePort or LoadBalancer Service on one node, picked per new
    connection by ``entry_node``: ``round-robin`` (each client walks the nodes in turn,
    client *k* starting at node *k*) or a node name (every connection there).
``lb/NAME``
    A LoadBalancer Service's external address: the cluster's load balancer
    (``ClusterSpec.load_balancer``) picks the node per connection
    (:mod:`kperf.services.external`).

Either way the entry node's kube-proxy decides (``externalTrafficPolicy``): with
``Cluster`` any endpoint, one on another node through an extra hop with SNAT; with
``Local`` only the node's own, and a node without one drops the connection (counted as
``no-local-endpoint``: a real client's SYNs would go unanswered until it gives up; kperf
fails the request at once). rr, crr and http workloads only (streams and callgraph
frontends are pods).

What is counted (requests that start inside the measurement window): per node, the
requests that entered the cluster there and those a pod there served; per endpoint pod,
those it served; how many were served on another node than the one they entered at.
:func:`external_summary` turns these into summary columns and per-node rows of the
resources table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kperf.errors import SpecError

NODEPORT = "nodeport/"
LB = "lb/"
EXTERNAL_KINDS = ("rr", "crr", "http")
"""Workload kinds that may run on external clients."""


@dataclass
class ExternalTarget:
    """A Service reached from outside the cluster: ``via`` ``nodeport`` (the NodePort
    of ``entry_node``, or round robin when it is None) or ``lb`` (the load balancer).
    Stands where a workload keeps its Service; the connection code asks it for each new
    connection's entry node (:meth:`entry`)."""

    service: Any
    via: str
    entry_node: int | None
    node_count: int
    router_latency_us: float | None = None
    _cursors: dict[int, int] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return str(self.service.name)

    @property
    def index(self) -> int:
        return int(self.service.index)

    def entry(self, client: Any, layer: Any) -> int | None:
        """The node a new connection of ``client`` enters at (None: nowhere, the load
        balancer has no node to send it to)."""
        if self.via == "lb":
            node: int | None = layer.load_balancer_entry(self.service)
            return node
        if self.entry_node is not None:
            return self.entry_node
        k = client.index
        turn = self._cursors.get(k, 0)
        self._cursors[k] = turn + 1
        return (k + turn) % self.node_count


@dataclass
class ExternalStats:
    """Requests of external clients that started inside the measurement window: per
    node where they entered (``entry``) and where a pod served them (``serving``), per
    endpoint pod uid (``endpoints``), how many crossed to another node (``off_node``)."""

    nodes: int
    entry: list[int] = field(init=False)
    serving: list[int] = field(init=False)
    endpoints: dict[int, int] = field(default_factory=dict)
    requests: int = 0
    off_node: int = 0
    services: set[int] = field(default_factory=set)
    """Indices of the Services the requests went to."""

    def __post_init__(self) -> None:
        self.entry = [0] * self.nodes
        self.serving = [0] * self.nodes

    def count(self, entry: int, backend: Any | None) -> None:
        """One request that entered at node ``entry`` (-1: it reached no node) and was
        served by pod ``backend`` (None: it failed before reaching one)."""
        self.requests += 1
        if entry >= 0:
            self.entry[entry] += 1
        if backend is not None:
            self.serving[backend.node] += 1
            self.endpoints[backend.uid] = self.endpoints.get(backend.uid, 0) + 1
            if backend.node != entry:
                self.off_node += 1

    def merge(self, other: ExternalStats) -> None:
        for i, n in enumerate(other.entry):
            self.entry[i] += n
        for i, n in enumerate(other.serving):
            self.serving[i] += n
        for uid, n in other.endpoints.items():
            self.endpoints[uid] = self.endpoints.get(uid, 0) + n
        self.requests += other.requests
        self.off_node += other.off_node
        self.services |= other.services


def external_hosts(cluster: Any, deployment: str) -> list[Any]:
    """The hosts of ``deployment`` when it is ``placement: external`` (else [])."""
    of = getattr(cluster, "external_of", None)
    return list(of(deployment)) if of is not None else []


def is_external_target(target: str) -> bool:
    return target.startswith((NODEPORT, LB))


def external_targets(cluster: Any, spec: Any, path: str
                     ) -> tuple[list[Any], ExternalTarget, list[list[Any]]]:
    """The external client hosts of workload ``spec``, its :class:`ExternalTarget` and,
    per client, ``[None]`` (the Service picks the pod); a SpecError names the field
    under ``path`` for every combination kperf cannot run."""
    hosts = external_hosts(cluster, spec.clients)
    target: str = spec.target
    if not hosts:
        raise SpecError(
            f"{path}.target", target,
            "allowed: nodeport/ and lb/ targets from clients of a deployment with "
            "placement: external (pods reach a Service through svc/NAME)")
    if spec.kind not in EXTERNAL_KINDS:
        raise SpecError(
            f"{path}.clients", spec.clients,
            f"is placement: external; allowed: workload kinds {', '.join(EXTERNAL_KINDS)} "
            f"from external clients ({spec.kind} clients must be pods)")
    if not is_external_target(target):
        raise SpecError(
            f"{path}.target", target,
            "allowed: nodeport/NAME or lb/NAME for clients placed external: from outside "
            "the cluster pods are reachable only through a Service's NodePort or load "
            "balancer (ClusterIPs and pod IPs are not routed outside the cluster)")
    if spec.resolve_dns:
        raise SpecError(f"{path}.resolve_dns", True,
                        "allowed: false for clients placed external (cluster DNS serves "
                        "pods)")
    if getattr(spec, "dns_name", None) is not None:
        raise SpecError(f"{path}.dns_name", spec.dns_name,
                        "allowed: unset for clients placed external (cluster DNS serves "
                        "pods)")
    if spec.locality != "any":
        raise SpecError(f"{path}.locality", spec.locality,
                        "allowed: any for clients placed external (they are on no node)")
    via = "lb" if target.startswith(LB) else "nodeport"
    name = target[len(LB):] if via == "lb" else target[len(NODEPORT):]
    ok = [s for s in cluster.services
          if (s.type == "LoadBalancer" if via == "lb" else s.node_port is not None)]
    svc = next((s for s in cluster.services if s.name == name), None)
    kinds = "a LoadBalancer Service" if via == "lb" else "a NodePort or LoadBalancer Service"
    names = ", ".join(sorted(s.name for s in ok)) or "none"
    if svc is None or svc not in ok:
        what = "no such Service" if svc is None else f"Service {name} is type {svc.type}"
        raise SpecError(f"{path}.target", target,
                        f"{what}; allowed: {via}/ and {kinds} of the cluster ({names})")
    entry: int | None = None
    if spec.entry_node != "round-robin":
        if via != "nodeport":
            raise SpecError(f"{path}.entry_node", spec.entry_node,
                            "allowed: round-robin (the default) with lb/ targets: the load "
                            "balancer picks the node; a node only with nodeport/NAME")
        names_nodes = [n.name for n in cluster.nodes]
        if spec.entry_node not in names_nodes:
            shown = ", ".join(names_nodes[:8]) + (", ..." if len(names_nodes) > 8 else "")
            raise SpecError(f"{path}.entry_node", spec.entry_node,
                            f"allowed: round-robin or a node name ({shown})")
        entry = names_nodes.index(spec.entry_node)
    router = cluster.spec.external_clients.router_latency_us
    ext = ExternalTarget(svc, via, entry, len(cluster.nodes), router)
    return hosts, ext, [[None] for _ in hosts]


def check_entry_node(spec: Any, path: str) -> None:
    """``entry_node`` is for nodeport/ targets only (a SpecError otherwise)."""
    if spec.entry_node != "round-robin" and not spec.target.startswith(NODEPORT):
        raise SpecError(f"{path}.entry_node", spec.entry_node,
                        "allowed: round-robin (the default); a node only with target "
                        "nodeport/NAME")


def _imbalance(counts: list[int]) -> float:
    """max / mean of ``counts`` (NaN when empty or all zero)."""
    total = sum(counts)
    if not counts or total == 0:
        return float("nan")
    return max(counts) / (total / len(counts))


def external_summary(summary: dict[str, Any], stats: ExternalStats, cluster: Any,
                     layer: Any) -> list[tuple[str, int, int, str, float, float, int, int]]:
    """Add external traffic's columns to ``summary`` and return per-node rows for the
    resources table (``requests:entry`` and ``requests:serving``: ``served`` is the
    node's request count, busy time and utilisation NaN).

    Columns: ``external_requests`` (requests of external clients started in the
    window), ``entry_node_requests_max`` and ``entry_node_imbalance`` (max / mean over
    all nodes of the requests that entered there: 1 is even, n/k when k of n nodes
    take all), ``serving_node_imbalance`` (the same over the nodes holding endpoints
    of the Services reached, of the requests their pods served), ``endpoint_imbalance``
    (over those endpoint pods), ``off_node_share`` (served requests that crossed from
    their entry node to another: the extra hop of ``Cluster``), and the Services
    layer's ``svc_nodeport_*`` counters (connections, not requests)."""
    summary["external_requests"] = stats.requests
    summary["entry_node_requests_max"] = max(stats.entry, default=0)
    summary["entry_node_imbalance"] = _imbalance(stats.entry)
    services = [cluster.services[i] for i in sorted(stats.services)]
    ep_nodes = sorted({cluster.pods[u].node for s in services for u in s.endpoints
                       if 0 <= u < len(cluster.pods)})
    summary["serving_node_imbalance"] = _imbalance([stats.serving[n] for n in ep_nodes])
    uids = sorted({u for s in services for u in s.endpoints})
    summary["endpoint_imbalance"] = _imbalance([stats.endpoints.get(u, 0) for u in uids])
    served = sum(stats.serving)
    summary["off_node_share"] = stats.off_node / served if served else float("nan")
    if layer is not None:
        for key, value in layer.nodeport_counters.items():
            summary[f"svc_nodeport_{key}"] = value
    rows = []
    nan = float("nan")
    for n, node in enumerate(cluster.nodes):
        rows.append(("requests:entry", n, 0, f"{node.name} entry", nan, nan,
                     stats.entry[n], 0))
        rows.append(("requests:serving", n, 0, f"{node.name} serving", nan, nan,
                     stats.serving[n], 0))
    return rows
