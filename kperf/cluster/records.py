"""The records a built cluster is made of: nodes, pods, Services and external hosts.

They are plain ``slots`` dataclasses (no validation, small, fast to create 150,000 of)
holding addresses as ints (see :mod:`kperf.cluster.addr`). The datapath engine reads
them directly: ``Pod.node`` is a node *index* into ``Cluster.nodes``, ``Pod.uid`` is
the pod's index into ``Cluster.pods`` and ``Service.endpoints`` lists pod uids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import NamedTuple

from kperf.cluster.addr import ip_str


@dataclass(slots=True)
class Node:
    """A node: its IP on the node network and the pod ranges its CNI routes to it.

    ``pod_ranges`` is one range for host-local IPAM (``10.244.1.0/24``), the claimed
    /26 blocks for Calico IPAM, and the shared first range for ``ipam: none``.
    """

    index: int
    name: str
    ip: int
    pod_ranges: list[IPv4Network]
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def ip_str(self) -> str:
        return ip_str(self.ip)


class ContainerPort(NamedTuple):
    """A port a container declares (Kubernetes ``ContainerPort``).

    ``host_port`` is the node's port forwarded to it, 0 for none. In a host-network
    pod every container port is a port of the node, so ``host_port == port``.
    """

    container: str
    port: int
    protocol: str
    host_port: int = 0


@dataclass(slots=True)
class Pod:
    """A pod: one network namespace, one IP shared by all its containers (localhost).

    ``uid`` is stable across :meth:`Cluster.recreate_pod` (kperf keeps the pod's slot;
    Kubernetes would issue a new ``metadata.uid``); ``generation`` counts recreations
    and ``ip`` changes with each one. A host-network pod has its node's IP.
    ``ports``: the ports its containers declare, in container order (one tuple shared
    by the replicas of a deployment). The simulation binds none of them: only the
    conformance check reads them.
    """

    uid: int
    name: str
    namespace: str
    node: int
    ip: int
    labels: dict[str, str]
    containers: tuple[str, ...]
    deployment: str | None = None
    app_workers: int = 4
    host_network: bool = False
    generation: int = 0
    ports: tuple[ContainerPort, ...] = ()

    @property
    def ip_str(self) -> str:
        return ip_str(self.ip)

    @property
    def key(self) -> str:
        """``namespace/name``, unique in the cluster."""
        return f"{self.namespace}/{self.name}"


@dataclass(slots=True)
class Service:
    """A Service: a stable ClusterIP load-balancing to the pods its selector matches.

    ``endpoints`` are pod uids in ascending order (the order kube-proxy sees them in
    the EndpointSlice is not semantically meaningful; ascending keeps runs
    deterministic). ``endpoints_version`` increases each time the set of endpoint
    addresses changes (a pod behind it was recreated), like an EndpointSlice's
    resourceVersion; the datapath engine uses it to model programming delay.
    """

    index: int
    name: str
    namespace: str
    cluster_ip: int
    port: int
    target_port: int
    protocol: str
    type: str
    node_port: int | None
    session_affinity: str
    external_traffic_policy: str
    selector: dict[str, str]
    endpoints: list[int]
    endpoints_version: int = 0
    load_balancer_ip: int = 0
    """type LoadBalancer: its external address (0: none)."""
    health_check_node_port: int | None = None
    """type LoadBalancer with externalTrafficPolicy Local: the port kube-proxy answers
    load-balancer health checks on (200 only on nodes with a ready local endpoint)."""

    @property
    def cluster_ip_str(self) -> str:
        return ip_str(self.cluster_ip)

    @property
    def external(self) -> bool:
        """Whether traffic from outside the cluster can reach it (it has a NodePort)."""
        return self.node_port is not None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(slots=True)
class ExternalHost:
    """A host outside the cluster: a replica of a ``placement: external`` deployment.

    Not a pod: no pod IP, no veth, no CNI; its own NIC and cores (the testbed's), which
    reach the cluster only through a Service's NodePort or load balancer. ``index`` is
    its position in ``Cluster.external_hosts``; ``network`` is ``node`` (on the node
    network) or ``router`` (its own subnet, one router hop away). ``host_network`` is
    True (it runs the host stack only), ``uid`` is ``-1 - index`` so no pod uid is
    shared. The engine gives it the resource index ``len(nodes) + index``
    (:attr:`engine_index`, set when the cluster is built).
    """

    index: int
    name: str
    ip: int
    deployment: str
    network: str
    engine_index: int
    labels: dict[str, str] = field(default_factory=dict)
    host_network: bool = True
    generation: int = 0

    @property
    def uid(self) -> int:
        return -1 - self.index

    @property
    def node(self) -> int:
        """The engine index of its own machine (not a cluster node)."""
        return self.engine_index

    @property
    def ip_str(self) -> str:
        return ip_str(self.ip)

    @property
    def namespace(self) -> str:
        return "external"

    @property
    def key(self) -> str:
        return f"external/{self.name}"
