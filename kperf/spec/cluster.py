"""The cluster spec: nodes, addressing, CNI and proxy mode, deployments, pods, Services.

A cluster file (a contract; later tools rely on these names)::

    nodes: 2                  # a count (node-1..node-N, IPs from node_cidr) or a list of {name, ip}
    cni: flannel-vxlan
    proxy: iptables
    node_cidr: 192.168.1.0/24
    pod_cidr: 10.244.0.0/16
    deployments:
      - name: web
        replicas: 4
        labels: {app: web}
        placement: spread     # spread | binpack | a node name such as node-1 | external
        containers:
          - {name: app, port: 8080}                     # protocol TCP by default
          - {name: dns, port: 53, protocol: UDP, ports: [{port: 53}]}  # 53/UDP and 53/TCP
          - {name: edge, port: 80, host_port: 8080}     # node port 8080 -> pod port 80
        dns_policy: ClusterFirst   # | ClusterFirstWithHostNet | Default | None (kperf.spec.dns)
        dns_config: {nameservers: [10.96.0.10], searches: [corp.example],
                     options: [{name: ndots, value: "2"}]}
    services:
      - name: web
        selector: {app: web}
        port: 80
        type: LoadBalancer    # ClusterIP | NodePort | LoadBalancer
        external_traffic_policy: Local   # Cluster | Local
      - {name: db, selector: {app: db}, cluster_ip: None}   # headless: DNS names only
    host_search: [c.my-project.internal, google.internal]  # the nodes' resolv.conf search
    load_balancer: cloud-l4   # cloud-l4 | metallb-l2: what fronts LoadBalancer Services
    external_clients: {network: node}   # where placement: external hosts sit

A deployment with ``placement: external`` is not pods: its replicas are hosts outside
the cluster (a user's machine, a load generator) with their own IP, NIC and cores,
which reach the cluster only through a Service's NodePort (``nodeport/NAME``) or load
balancer (``lb/NAME``); ``external_clients`` says where they sit: on the node network
(``network: node``, IPs from the top of ``node_cidr``) or on a subnet of their own
behind a router hop (``network: router``, IPs from ``cidr``).

Defaults follow Kubernetes: pod CIDR 10.244.0.0/16 (the kubeadm/Flannel convention),
a /24 per node (kube-controller-manager ``--node-cidr-mask-size``), service CIDR
10.96.0.0/12 (kubeadm), 110 pods per node (kubelet ``--max-pods``).
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from kperf.profiles import CNI_PROFILES, LOAD_BALANCERS
from kperf.spec.base import (
    MAX_APP_WORKERS,
    MAX_DURATION_S,
    MAX_NODES,
    MAX_PODS,
    MAX_PODS_PER_NODE,
    CniName,
    FieldProblem,
    ProxyName,
    Seconds,
    StrictModel,
    _member_of,
    at_most,
)
from kperf.spec.dns import DnsConfig, DnsPolicy, check_pod_dns, check_searches
from kperf.spec.mesh import MeshSpec, waypoint_node_index

# Kubernetes' name rules (k8s.io/apimachinery/pkg/util/validation):
_LABEL_1123 = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_1123_LABEL = re.compile(rf"^{_LABEL_1123}$")
"""Namespaces: at most 63 characters."""
_DNS_1123_SUBDOMAIN = re.compile(rf"^{_LABEL_1123}(\.{_LABEL_1123})*$")
"""Nodes, pods, deployments (and label key prefixes): at most 253 characters."""
_DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
"""Services (the name becomes a DNS label that must not look like a number): at most
63 characters."""
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
"""The name part of a label key, and a non-empty label value: at most 63 characters."""

IpamName = Literal["host-local", "calico-blocks", "none"]

SUBDOMAIN_RULE = ("at most 253 characters: lower-case letters, digits, '-' and '.', where "
                  "'.' separates parts that each start and end with a letter or digit")
DNS_1123_LABEL_RULE = ("at most 63 lower-case letters, digits and '-', starting and ending "
                       "with a letter or digit")
DNS_1035_LABEL_RULE = ("at most 63 lower-case letters, digits and '-', starting with a "
                       "letter and ending with a letter or digit")
LABEL_NAME_RULE = ("at most 63 letters, digits, '-', '_' and '.', starting and ending with a "
                   "letter or digit")


def _check_name(value: str, what: str) -> str:
    """A node, pod or deployment name: a DNS-1123 subdomain."""
    if len(value) > 253 or not _DNS_1123_SUBDOMAIN.fullmatch(value):
        raise ValueError(f"allowed: a {what} name (DNS-1123 subdomain): {SUBDOMAIN_RULE}")
    return value


def _check_namespace(value: str) -> str:
    if len(value) > 63 or not _DNS_1123_LABEL.fullmatch(value):
        raise ValueError(f"allowed: a namespace name (DNS-1123 label): {DNS_1123_LABEL_RULE}")
    return value


def _check_service_name(value: str) -> str:
    if len(value) > 63 or not _DNS_1035_LABEL.fullmatch(value):
        raise ValueError(f"allowed: a Service name (DNS-1035 label): {DNS_1035_LABEL_RULE}")
    return value


def _label_key_ok(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and (len(prefix) > 253 or not _DNS_1123_SUBDOMAIN.fullmatch(prefix)):
        return False
    return len(name) <= 63 and bool(_LABEL_NAME.fullmatch(name))


def _check_labels(labels: dict[str, str]) -> dict[str, str]:
    """Label keys and values (and selectors) as Kubernetes accepts them."""
    for key, value in labels.items():
        if not _label_key_ok(key):
            raise FieldProblem(
                key, key, "allowed: a label key: an optional prefix (a DNS-1123 subdomain, "
                "at most 253 characters) and '/', then a name of " + LABEL_NAME_RULE)
        if value and (len(value) > 63 or not _LABEL_NAME.fullmatch(value)):
            raise FieldProblem(key, value, "allowed: a label value: empty, or "
                               + LABEL_NAME_RULE)
    return labels


Labels = Annotated[dict[str, str], AfterValidator(_check_labels)]
"""Labels or a label selector: Kubernetes label keys and values."""


class NodeEntry(StrictModel):
    """One node given explicitly. ``ip`` defaults to the next free address of node_cidr."""

    name: str
    ip: IPv4Address | None = None
    pod_cidr: IPv4Network | None = Field(
        None, description="this node's pod range (as imported from a real cluster)"
    )
    labels: Labels = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check_name(v, "node")


PortProtocol = Literal["TCP", "UDP", "SCTP"]
"""A container port's protocol (Kubernetes ``ContainerPort.protocol``)."""


def _drop_late_defaults(data: Any, model: StrictModel, late: dict[str, Any]) -> Any:
    """``data`` (a model's dump) without the ``late`` fields that hold their default.

    Fields added after run ids were defined (a run id hashes the dumped cluster spec,
    :func:`kperf.experiments.expand.run_id_of`) are left out at their defaults, so a
    file that does not use them keeps its run ids and a results folder resumes."""
    if isinstance(data, dict):
        for key, default in late.items():
            if key in data and getattr(model, key) == default:
                del data[key]
    return data


def _drop_unset(data: Any, model: StrictModel, late: tuple[str, ...]) -> Any:
    """``data`` (a model's dump) without the ``late`` fields the input did not set.

    For fields added after run ids were defined that a sweep may vary: a file that
    does not use them keeps its run ids (as with :func:`_drop_late_defaults`), and one
    that sets them, even to their default, keeps them in its dump, where a sweep key
    naming them finds them (``cluster.load_balancer: [cloud-l4, metallb-l2]`` needs
    ``load_balancer:`` in the file)."""
    if isinstance(data, dict):
        for key in late:
            if key not in model.model_fields_set:
                data.pop(key, None)
    return data


class PortSpec(StrictModel):
    """One more port of a container (Kubernetes ``containerPort``, ``protocol``,
    ``hostPort``): ``ports: [{port: 53, protocol: UDP}]``."""

    port: int = Field(ge=1, le=65535, description="the container port")
    protocol: PortProtocol = "TCP"
    host_port: int | None = Field(
        None, ge=1, le=65535, description="a port of the node forwarded to this port")


class ContainerSpec(StrictModel):
    """A container of a pod. All containers of a pod share its IP (localhost), and so
    its ports: two of them cannot listen on one port and protocol.

    ``port`` (with ``protocol`` and ``host_port``) is its first port; ``ports`` lists
    more, as a Kubernetes container's ``ports`` does.
    """

    name: str
    port: int | None = Field(None, ge=1, le=65535)
    protocol: PortProtocol = Field("TCP", description="the protocol of port")
    host_port: int | None = Field(
        None, ge=1, le=65535, description="a port of the node forwarded to port")
    ports: list[PortSpec] = Field(default_factory=list, description="more ports")

    @model_validator(mode="after")
    def _port_fields(self) -> ContainerSpec:
        if self.port is None:
            for key in ("protocol", "host_port"):
                if key in self.model_fields_set:
                    raise FieldProblem(
                        key, getattr(self, key),
                        f"allowed: {key} only with port (it describes the container's "
                        "first port; more ports go in ports: [{port, protocol, host_port}])")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _drop_late_defaults(handler(self), self,
                                   {"protocol": "TCP", "host_port": None, "ports": []})

    def declared_ports(self) -> list[tuple[str, int, str, int | None]]:
        """Every port: (path of its ``port`` field inside the container, port,
        protocol, host_port)."""
        out: list[tuple[str, int, str, int | None]] = []
        if self.port is not None:
            out.append(("port", self.port, self.protocol, self.host_port))
        out += [(f"ports.{j}.port", p.port, p.protocol, p.host_port)
                for j, p in enumerate(self.ports)]
        return out


def _check_pod_ports(containers: list[ContainerSpec], host_network: bool) -> None:
    """What the API server refuses in one pod (k8s.io/kubernetes
    pkg/apis/core/validation: ``AccumulateUniqueHostPorts``, ``validateHostNetwork``):
    a host port given twice for one protocol, and in a host-network pod a host port
    other than its container port (there the container ports are the host ports).
    Two containers on one container port is allowed (a warning from the API server;
    the second container cannot bind it): the ``container-ports-unique`` check."""
    taken: dict[tuple[str, int], str] = {}
    for i, c in enumerate(containers):
        for path, port, protocol, host_port in c.declared_ports():
            host_path = f"containers.{i}.{path.removesuffix('port')}host_port"
            if host_network and host_port is not None and host_port != port:
                raise FieldProblem(
                    host_path, host_port,
                    f"allowed: in a host_network pod, host_port equal to the container "
                    f"port ({port}) or none: the container's ports are the node's ports")
            host = port if host_network else host_port
            if host is None:
                continue
            key = (protocol, host)
            if key in taken:
                where = f"containers.{i}.{path}" if host_network else host_path
                raise FieldProblem(
                    where, host,
                    f"host port {host}/{protocol} is already {taken[key]} of this pod; "
                    "allowed: each host port and protocol once per pod (the API server "
                    "refuses the pod otherwise)")
            taken[key] = (f"the port of container {c.name}" if host_network
                          else f"a host_port of container {c.name}")


EXTERNAL = "external"
"""The ``placement`` of a deployment whose replicas are hosts outside the cluster."""

_DNS_LATE_DEFAULTS: dict[str, Any] = {"dns_policy": "ClusterFirst", "dns_config": None}
"""DNS fields of deployments and pods, added after run ids were defined."""

ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer"]
"""A Service's ``type``: NodePort and LoadBalancer Services also get a NodePort."""

LoadBalancerName = Annotated[str, AfterValidator(_member_of("load balancer", LOAD_BALANCERS))]
"""A load balancer profile name (:mod:`kperf.profiles.loadbalancers`)."""


class DeploymentSpec(StrictModel):
    """A Deployment: ``replicas`` identical pods placed by ``placement``."""

    name: str
    namespace: str = "default"
    replicas: Annotated[int, at_most(MAX_PODS, "pods")] = Field(1, ge=1)
    labels: Labels = Field(default_factory=dict)
    containers: list[ContainerSpec] = Field(default_factory=list)
    placement: str = Field(
        "spread", description="spread | binpack | a node name | external (hosts outside "
        "the cluster, not pods: see external_clients)")
    app_workers: Annotated[int, at_most(MAX_APP_WORKERS, "workers")] = Field(
        4, ge=1, description="application worker threads per pod")
    host_network: bool = Field(
        False, description="pods use their node's network namespace and IP")
    # -- DNS (kperf.spec.dns): how kubelet writes the pods' resolv.conf
    dns_policy: DnsPolicy = Field(
        "ClusterFirst", description="ClusterFirst | ClusterFirstWithHostNet | Default | None "
        "(a host_network pod with ClusterFirst gets Default, as kubelet does)")
    dns_config: DnsConfig | None = Field(
        None, description="{nameservers, searches, options}: merged into the policy's")
    mesh: bool = Field(
        True, description="false: the pods stay out of the cluster's service mesh (no "
        "sidecar, not enrolled in ambient mode)")

    @model_validator(mode="after")
    def _dns(self) -> DeploymentSpec:
        if self.placement == EXTERNAL and (self.dns_config is not None
                                           or self.dns_policy != "ClusterFirst"):
            raise FieldProblem("dns_policy" if self.dns_config is None else "dns_config",
                               self.dns_policy if self.dns_config is None else "set",
                               "allowed: unset with placement: external (external hosts "
                               "are not pods; kubelet writes no resolv.conf for them)")
        check_pod_dns(self.dns_policy, self.dns_config, self.host_network)
        return self
    # -- end DNS

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check_name(v, "deployment")

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, v: str) -> str:
        return _check_namespace(v)

    @model_validator(mode="after")
    def _defaults(self) -> DeploymentSpec:
        if not self.labels:
            object.__setattr__(self, "labels", {"app": self.name})
        if not self.containers:
            object.__setattr__(self, "containers", [ContainerSpec(name=self.name)])
        names = [c.name for c in self.containers]
        if len(set(names)) != len(names):
            raise ValueError("allowed: container names unique within the pod")
        _check_pod_ports(self.containers, self.host_network)
        if self.placement == EXTERNAL and self.host_network:
            raise FieldProblem("host_network", True,
                               "allowed: false with placement: external (external hosts "
                               "are not pods; they have their own network)")
        return self

    @property
    def external(self) -> bool:
        """Whether the replicas are hosts outside the cluster (``placement: external``)."""
        return self.placement == EXTERNAL

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _drop_late_defaults(handler(self), self, {"host_network": False,
                                                         "mesh": True,
                                                         **_DNS_LATE_DEFAULTS})


class PodEntry(StrictModel):
    """A pod given explicitly (as ``kperf import`` writes them): fixed node, optional IP."""

    name: str
    namespace: str = "default"
    node: str
    ip: IPv4Address | None = None
    labels: Labels = Field(default_factory=dict)
    containers: list[ContainerSpec] = Field(default_factory=list)
    host_network: bool = False
    # -- DNS (kperf.spec.dns), as kperf import reads dnsPolicy and dnsConfig
    dns_policy: DnsPolicy = "ClusterFirst"
    dns_config: DnsConfig | None = None

    @model_validator(mode="after")
    def _dns(self) -> PodEntry:
        check_pod_dns(self.dns_policy, self.dns_config, self.host_network)
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _drop_late_defaults(handler(self), self, dict(_DNS_LATE_DEFAULTS))
    # -- end DNS

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check_name(v, "pod")

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, v: str) -> str:
        return _check_namespace(v)

    @model_validator(mode="after")
    def _ports(self) -> PodEntry:
        _check_pod_ports(self.containers, self.host_network)
        return self


class ServiceSpec(StrictModel):
    """A Service: a stable virtual IP that load-balances to the ready pods it selects."""

    name: str
    namespace: str = "default"
    selector: Labels = Field(default_factory=dict)
    port: int = Field(80, ge=1, le=65535)
    target_port: int | None = Field(None, ge=1, le=65535)
    protocol: Literal["TCP", "UDP"] = "TCP"
    type: ServiceType = "ClusterIP"
    node_port: int | None = Field(None, ge=30000, le=32767)
    session_affinity: Literal["None", "ClientIP"] = "None"
    external_traffic_policy: Literal["Cluster", "Local"] = Field(
        "Cluster", description="NodePort and LoadBalancer: Cluster (any endpoint, an extra "
        "hop and SNAT when it is on another node) or Local (the entry node's own "
        "endpoints only, client address kept)")
    cluster_ip: IPv4Address | Literal["None"] | None = Field(
        None, description="fixed ClusterIP (imported), or None (the string, as Kubernetes "
        "writes clusterIP: None) for a headless Service: no virtual IP, no proxy rules; "
        "DNS answers with its ready pods' IPs")
    load_balancer_ip: IPv4Address | None = Field(
        None, description="type LoadBalancer: its external address (default: the next "
        "free one of the cluster's load_balancer_cidr)")

    @field_validator("cluster_ip", mode="before")
    @classmethod
    def _cluster_ip(cls, v: Any) -> Any:
        if isinstance(v, str) and v != "None":
            try:
                return IPv4Address(v)
            except ValueError:
                raise ValueError("allowed: an IPv4 address, or None (the string, as "
                                 "Kubernetes writes clusterIP: None) for a headless "
                                 "Service") from None
        return v

    @property
    def headless(self) -> bool:
        """``clusterIP: None``: DNS answers with the pods' IPs; kube-proxy ignores it."""
        return self.cluster_ip == "None"

    @property
    def fixed_ip(self) -> IPv4Address | None:
        """The ClusterIP given in the spec (None: allocated, or headless)."""
        return self.cluster_ip if isinstance(self.cluster_ip, IPv4Address) else None

    @model_validator(mode="after")
    def _headless(self) -> ServiceSpec:
        if self.headless and self.type != "ClusterIP":
            raise FieldProblem("cluster_ip", "None", f"allowed: a headless Service (cluster_ip: "
                               f"None) only with type: ClusterIP, not {self.type} (the API "
                               "server requires a ClusterIP for NodePort and LoadBalancer)")
        return self

    @model_validator(mode="after")
    def _type_fields(self) -> ServiceSpec:
        if self.load_balancer_ip is not None and self.type != "LoadBalancer":
            raise FieldProblem("load_balancer_ip", str(self.load_balancer_ip),
                               "allowed: load_balancer_ip only with type: LoadBalancer")
        if self.external_traffic_policy == "Local" and self.type == "ClusterIP":
            raise FieldProblem("external_traffic_policy", "Local",
                               "allowed: Local only with type: NodePort or LoadBalancer "
                               "(as the API server requires); a ClusterIP Service takes "
                               "no external traffic")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _drop_unset(handler(self), self, ("load_balancer_ip",))

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check_service_name(v)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, v: str) -> str:
        return _check_namespace(v)


class RollingUpdateSpec(StrictModel):
    """Recreate every pod of a deployment, one every ``interval_s`` from ``start_s``
    (simulated seconds): each gets a new IP; nodes learn after a programming delay."""

    deployment: str
    start_s: Seconds = Field(0.0, ge=0)
    interval_s: Seconds = Field(0.5, gt=0)


def _overlaps(a: IPv4Network, b: IPv4Network) -> bool:
    return a.overlaps(b)


class ExternalClientsSpec(StrictModel):
    """Where the hosts of ``placement: external`` deployments sit.

    ``network: node``: on the node network itself (a user's machine beside a minikube
    node), addresses taken from the top of ``node_cidr`` down; their traffic reaches a
    node as node-to-node traffic does (NIC, switch, NIC). ``network: router``: on a
    subnet of their own (``cidr``; the router is its first address, clients the next
    ones) one router hop away: one more store-and-forward hop each way, adding
    ``router_latency_us`` (default: the testbed's ``switch_latency_us``, the
    forwarding latency kperf already uses for a switch).
    """

    network: Literal["node", "router"] = "node"
    cidr: IPv4Network = Field(
        IPv4Network("198.51.100.0/24"),
        description="network: router: the clients' subnet (default TEST-NET-2, RFC 5737)")
    router_latency_us: Annotated[float | None, at_most(MAX_DURATION_S * 1e6, "us")] = Field(
        None, ge=0, description="network: router: one-way forwarding latency of the router "
        "(default: the testbed's switch_latency_us)")


DEFAULT_LOAD_BALANCER_CIDR = IPv4Network("203.0.113.0/24")
"""Where LoadBalancer Services' external addresses come from by default (TEST-NET-3,
RFC 5737: documentation addresses, never routed)."""


class ClusterSpec(StrictModel):
    """A Kubernetes cluster to build: see the module docstring for the file format."""

    nodes: int | list[NodeEntry] = 2
    cni: CniName = "flannel-vxlan"
    proxy: ProxyName = "iptables"
    node_cidr: IPv4Network = IPv4Network("192.168.1.0/24")
    pod_cidr: IPv4Network = IPv4Network("10.244.0.0/16")
    node_pod_prefix: int = Field(24, ge=8, le=30, description="per-node pod range prefix length")
    service_cidr: IPv4Network = IPv4Network("10.96.0.0/12")
    max_pods_per_node: Annotated[int, at_most(MAX_PODS_PER_NODE, "pods")] = Field(110, ge=1)
    ipam: IpamName | None = Field(None, description="override the CNI's IPAM style")
    calico_block_prefix: int = Field(26, ge=20, le=30, description="Calico IPAM block size")
    pod_mtu_bytes: int | None = Field(None, ge=576, le=65535, description="override pod MTU")
    deployments: list[DeploymentSpec] = Field(default_factory=list)
    pods: list[PodEntry] = Field(default_factory=list)
    services: list[ServiceSpec] = Field(default_factory=list)
    extra_services: int = Field(
        0, ge=0, le=100_000,
        description="generate this many more Services (extra-0, extra-1, ...) to study "
        "how the proxy scales with the Service count",
    )
    extra_services_selector: Labels = Field(
        default_factory=dict, description="selector of the generated Services ({}: none)"
    )
    rolling_updates: list[RollingUpdateSpec] = Field(
        default_factory=list, description="rolling updates during the simulation"
    )
    load_balancer: LoadBalancerName = Field(
        "cloud-l4", description="what fronts type: LoadBalancer Services: cloud-l4 (a "
        "cloud passthrough L4 load balancer) or metallb-l2 (one leader node answers ARP)")
    load_balancer_cidr: IPv4Network = Field(
        DEFAULT_LOAD_BALANCER_CIDR,
        description="where LoadBalancer Services' external addresses come from")
    external_clients: ExternalClientsSpec = Field(
        default_factory=ExternalClientsSpec,
        description="where the hosts of placement: external deployments sit")
    # -- DNS (kperf.spec.dns)
    host_search: list[str] = Field(
        default_factory=list,
        description="the nodes' resolv.conf search domains (a cloud VM's DHCP domain: "
        "GCE c.PROJECT.internal google.internal, AWS ec2.internal or REGION.compute.internal); "
        "kubelet appends them to ClusterFirst pods' search list, Default-policy pods use "
        "them alone")

    @field_validator("host_search")
    @classmethod
    def _host_search(cls, v: list[str]) -> list[str]:
        return check_searches(v, "host_search domains")
    # -- end DNS
    mesh: MeshSpec = Field(
        default_factory=MeshSpec,
        description="service mesh data plane: {mode: none | istio-sidecar | istio-ambient "
        "| linkerd | cilium-mesh, mtls, proxy_workers, waypoint, waypoint_node, l7, l7_node} "
        "(kperf.spec.mesh)")

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        # fields added after run ids were defined: left out unless the input sets them
        return _drop_unset(handler(self), self,
                           ("load_balancer", "load_balancer_cidr", "external_clients",
                            "host_search", "mesh"))

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, v: int | list[NodeEntry]) -> int | list[NodeEntry]:
        if isinstance(v, int):
            if v < 1:
                raise ValueError("allowed: a node count >= 1, or a list of {name, ip}")
            if v > MAX_NODES:
                raise ValueError(f"allowed: at most {MAX_NODES} nodes")
            return v
        if not v:
            raise ValueError("allowed: a non-empty list of {name, ip}, or a node count >= 1")
        if len(v) > MAX_NODES:
            raise ValueError(f"allowed: at most {MAX_NODES} nodes")
        names = [n.name for n in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"allowed: unique node names (duplicated: {', '.join(dup)})")
        return v

    @model_validator(mode="after")
    def _cilium_mesh(self) -> ClusterSpec:
        """cilium-mesh is Cilium's own data plane; its mTLS is mutual authentication plus
        the CNI's transparent encryption (kperf.profiles.mesh.CILIUM_MESH_L4_SOURCE)."""
        if self.mesh.mode != "cilium-mesh":
            return self
        if not self.cni.startswith("cilium-"):
            raise FieldProblem("mesh.mode", "cilium-mesh",
                               f"allowed: cilium-mesh only with a Cilium CNI (cilium-*; cni "
                               f"is {self.cni})")
        if self.mesh.mtls and self.cni not in ("cilium-wireguard", "cilium-ipsec"):
            raise FieldProblem("mesh.mtls", True,
                               f"allowed: true with mode cilium-mesh only with an encrypting "
                               f"CNI (cilium-wireguard, cilium-ipsec; cni is {self.cni}); "
                               f"false: L4 policy without mutual TLS")
        return self

    @model_validator(mode="after")
    def _waypoint_node(self) -> ClusterSpec:
        """``mesh.waypoint_node: node-N`` names one of the cluster's nodes."""
        index = waypoint_node_index(self.mesh.waypoint_node)
        if index is not None and index >= self.node_count:
            raise FieldProblem("mesh.waypoint_node", self.mesh.waypoint_node,
                               f"allowed: server, client or node-1..node-{self.node_count}")
        return self

    @model_validator(mode="after")
    def _addressing(self) -> ClusterSpec:
        cidrs = {
            "node_cidr": self.node_cidr,
            "pod_cidr": self.pod_cidr,
            "service_cidr": self.service_cidr,
        }
        keys = list(cidrs)
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                if _overlaps(cidrs[a], cidrs[b]):
                    raise FieldProblem(
                        b,
                        str(cidrs[b]),
                        f"overlaps {a} {cidrs[a]}; allowed: node, pod and service CIDRs "
                        "that do not overlap",
                    )
        n = self.node_count
        hosts = max(self.node_cidr.num_addresses - 2, 1)
        if n > hosts:
            need = 32 - max(2, (n + 1).bit_length())
            raise FieldProblem(
                "node_cidr",
                str(self.node_cidr),
                f"holds {hosts} node IPs but {n} nodes are requested; allowed: a CIDR "
                f"with at least {n} host addresses (/{need} or larger)",
            )
        if self.node_pod_prefix < self.pod_cidr.prefixlen:
            raise FieldProblem(
                "node_pod_prefix",
                self.node_pod_prefix,
                f"allowed: a prefix length from {self.pod_cidr.prefixlen} (the pod CIDR's) "
                "to 30",
            )
        if self.effective_ipam == "host-local":
            ranges = 2 ** (self.node_pod_prefix - self.pod_cidr.prefixlen)
            if ranges < n:
                raise FieldProblem(
                    "pod_cidr",
                    str(self.pod_cidr),
                    f"holds {ranges} per-node /{self.node_pod_prefix} ranges but there are "
                    f"{n} nodes; allowed: a larger pod CIDR or a longer node_pod_prefix",
                )
        if self.calico_block_prefix < self.pod_cidr.prefixlen:
            raise FieldProblem(
                "calico_block_prefix",
                self.calico_block_prefix,
                f"allowed: a prefix length from {self.pod_cidr.prefixlen} (the pod CIDR's) to 30",
            )
        return self

    @model_validator(mode="after")
    def _unique_names_and_addresses(self) -> ClusterSpec:
        """Names unique per namespace; explicit node IPs, ClusterIPs and NodePorts unique
        and inside their CIDRs (the first service address is the ``kubernetes`` Service)."""
        if isinstance(self.nodes, list):
            seen_ip: dict[IPv4Address, str] = {}
            for i, node in enumerate(self.nodes):
                if node.ip is None:
                    continue
                net = self.node_cidr
                if node.ip not in net or node.ip in (net.network_address, net.broadcast_address):
                    raise FieldProblem(
                        f"nodes.{i}.ip", str(node.ip),
                        f"allowed: a host address of node_cidr {net}",
                    )
                if node.ip in seen_ip:
                    raise FieldProblem(
                        f"nodes.{i}.ip", str(node.ip),
                        f"already the IP of {seen_ip[node.ip]}; allowed: a unique node IP",
                    )
                seen_ip[node.ip] = node.name
        seen: set[tuple[str, str]] = set()
        for i, dep in enumerate(self.deployments):
            if (dep.namespace, dep.name) in seen:
                raise FieldProblem(
                    f"deployments.{i}.name", dep.name,
                    "allowed: a deployment name unique in its namespace",
                )
            seen.add((dep.namespace, dep.name))
        seen = {("default", "kubernetes")}
        svc_net = self.service_cidr
        api_ip = svc_net.network_address + 1
        cluster_ips: dict[IPv4Address, str] = {api_ip: "default/kubernetes"}
        node_ports: dict[int, str] = {}
        for i, svc in enumerate(self.services):
            key = (svc.namespace, svc.name)
            if key in seen:
                what = ("the API server Service kperf creates" if key == ("default", "kubernetes")
                        else "another Service")
                raise FieldProblem(
                    f"services.{i}.name", svc.name,
                    f"{svc.namespace}/{svc.name} is {what}; allowed: a Service name unique "
                    "in its namespace",
                )
            seen.add(key)
            ip = svc.fixed_ip
            if ip is not None:
                if ip not in svc_net or ip in (svc_net.network_address,
                                               svc_net.broadcast_address):
                    raise FieldProblem(
                        f"services.{i}.cluster_ip", str(ip),
                        f"allowed: a host address of service_cidr {svc_net}",
                    )
                if ip in cluster_ips:
                    raise FieldProblem(
                        f"services.{i}.cluster_ip", str(ip),
                        f"already the ClusterIP of {cluster_ips[ip]}; allowed: a unique "
                        f"address of service_cidr {svc_net}",
                    )
                cluster_ips[ip] = f"{svc.namespace}/{svc.name}"
            if svc.node_port is not None:
                if svc.type == "ClusterIP":
                    raise FieldProblem(
                        f"services.{i}.node_port", svc.node_port,
                        "allowed: node_port only with type: NodePort or LoadBalancer",
                    )
                if svc.node_port in node_ports:
                    raise FieldProblem(
                        f"services.{i}.node_port", svc.node_port,
                        f"already the NodePort of {node_ports[svc.node_port]}; allowed: a "
                        "unique port from 30000 to 32767",
                    )
                node_ports[svc.node_port] = f"{svc.namespace}/{svc.name}"
        return self

    @model_validator(mode="after")
    def _external(self) -> ClusterSpec:
        """External hosts fit their network; external and load-balancer addresses stay
        off the pod and service CIDRs; LoadBalancer addresses are unique."""
        hosts = sum(d.replicas for d in self.deployments if d.external)
        ext = self.external_clients
        inner = {"pod_cidr": self.pod_cidr, "service_cidr": self.service_cidr}
        if ext.network == "router":
            for key, net in {"node_cidr": self.node_cidr, **inner}.items():
                if ext.cidr.overlaps(net):
                    raise FieldProblem(
                        "external_clients.cidr", str(ext.cidr),
                        f"overlaps {key} {net}; allowed: a client subnet apart from the "
                        "node, pod and service CIDRs (it sits behind a router)")
            room = max(ext.cidr.num_addresses - 3, 0)  # network, broadcast, the router
            if hosts > room:
                raise FieldProblem(
                    "external_clients.cidr", str(ext.cidr),
                    f"holds {room} client addresses (its first host is the router) but "
                    f"placement: external deployments have {hosts} replicas; allowed: a "
                    "larger client subnet")
        elif hosts:
            room = max(self.node_cidr.num_addresses - 2, 1) - self.node_count
            if hosts > room:
                raise FieldProblem(
                    "node_cidr", str(self.node_cidr),
                    f"holds {room} addresses beside the {self.node_count} nodes but "
                    f"placement: external deployments have {hosts} replicas on the node "
                    "network; allowed: a larger node CIDR, or external_clients.network: "
                    "router")
        for key, net in inner.items():
            if self.load_balancer_cidr.overlaps(net):
                raise FieldProblem(
                    "load_balancer_cidr", str(self.load_balancer_cidr),
                    f"overlaps {key} {net}; allowed: addresses outside the pod and service "
                    "CIDRs")
        seen: dict[IPv4Address, str] = {}
        for i, svc in enumerate(self.services):
            ip = svc.load_balancer_ip
            if ip is None:
                continue
            if ip in seen:
                raise FieldProblem(
                    f"services.{i}.load_balancer_ip", str(ip),
                    f"already the address of {seen[ip]}; allowed: a unique address")
            if any(ip in net for net in inner.values()):
                raise FieldProblem(
                    f"services.{i}.load_balancer_ip", str(ip),
                    "allowed: an address outside the pod and service CIDRs")
            seen[ip] = f"{svc.namespace}/{svc.name}"
        return self

    @model_validator(mode="after")
    def _pod_total(self) -> ClusterSpec:
        total = len(self.pods)
        if total > MAX_PODS:
            raise FieldProblem("pods", f"{total} pods", f"allowed: at most {MAX_PODS} pods")
        for i, dep in enumerate(self.deployments):
            total += dep.replicas
            if total > MAX_PODS:
                raise FieldProblem(
                    f"deployments.{i}.replicas", dep.replicas,
                    f"brings the cluster to {total} pods; allowed: at most {MAX_PODS} pods "
                    "in all deployments and pods",
                )
        return self

    @model_validator(mode="after")
    def _rolling_updates(self) -> ClusterSpec:
        names = {d.name for d in self.deployments if not d.external}
        external = {d.name for d in self.deployments if d.external}
        for i, ru in enumerate(self.rolling_updates):
            if ru.deployment in external:
                raise FieldProblem(
                    f"rolling_updates.{i}.deployment", ru.deployment,
                    "is placement: external (hosts, not pods); allowed: a deployment of "
                    f"pods of this cluster ({', '.join(sorted(names)) or 'none'})",
                )
            if ru.deployment not in names:
                raise FieldProblem(
                    f"rolling_updates.{i}.deployment", ru.deployment,
                    f"allowed: a deployment of this cluster ({', '.join(sorted(names)) or 'none'})",
                )
        return self

    def all_services(self) -> list[ServiceSpec]:
        """The declared Services, then the ``extra_services`` generated ones."""
        extra = [
            ServiceSpec(name=f"extra-{i}", selector=dict(self.extra_services_selector))
            for i in range(self.extra_services)
        ]
        return [*self.services, *extra]

    @property
    def node_count(self) -> int:
        return self.nodes if isinstance(self.nodes, int) else len(self.nodes)

    @property
    def effective_ipam(self) -> IpamName:
        """The IPAM style in force: the explicit ``ipam`` or the CNI profile's."""
        if self.ipam is not None:
            return self.ipam
        return CNI_PROFILES[self.cni].ipam

    def selector_warnings(self) -> list[str]:
        """Services whose selector matches no pod template (a warning, not an error)."""
        label_sets = [(d.namespace, d.labels) for d in self.deployments]
        label_sets += [(p.namespace, p.labels) for p in self.pods]
        out = []
        for i, svc in enumerate(self.services):
            if not svc.selector:
                continue
            hit = any(
                ns == svc.namespace and all(lab.get(k) == v for k, v in svc.selector.items())
                for ns, lab in label_sets
            )
            if not hit:
                out.append(
                    f"services.{i}.selector: {svc.selector} matches no pod in namespace "
                    f"{svc.namespace!r}; the Service will have no endpoints"
                )
        return out


def with_host_network(cluster: ClusterSpec, workloads: Any) -> ClusterSpec:
    """``cluster`` with ``host_network: true`` on the client and target deployments of
    every workload that says ``network: host`` (a target ``svc/NAME``: the deployments
    its selector picks), so that pod-to-pod traffic becomes node-to-node without the
    CNI: the baseline a CNI's overhead is measured against. The same spec when no
    workload asks; a workload whose clients or target cannot run on the host network
    (external clients, no such deployment) is a one-line error naming its field."""
    items = list(workloads) if isinstance(workloads, (list, tuple)) else [workloads]
    names: set[str] = set()
    for i, w in enumerate(items):
        if getattr(w, "network", "pod") != "host":
            continue
        where = f"workload.{i}.network" if len(items) > 1 else "workload.network"
        by_name = {d.name: d for d in cluster.deployments}
        wanted = [w.clients]
        target = str(w.target)
        if target.startswith("svc/"):
            svc = next((s for s in cluster.services if s.name == target[4:]), None)
            if svc is None:
                raise FieldProblem(where, "host", f"target {target} is not a Service of the "
                                   "cluster; allowed: pod for it")
            wanted += [d.name for d in cluster.deployments if svc.selector and all(
                d.labels.get(k) == v for k, v in svc.selector.items())]
        elif "/" in target:
            raise FieldProblem(where, "host", f"allowed: pod with target {target} (traffic "
                               "from outside the cluster has no host-network form)")
        else:
            wanted.append(target)
        for name in wanted:
            dep = by_name.get(name)
            if dep is None:
                raise FieldProblem(where, "host", f"deployment {name!r} is not in the "
                                   f"cluster; allowed: host for a workload whose clients "
                                   "and target are deployments")
            if dep.placement == EXTERNAL:
                raise FieldProblem(where, "host", f"allowed: pod for clients {name} outside "
                                   "the cluster (external hosts are not pods)")
            names.add(name)
    if not names:
        return cluster
    data = cluster.model_dump(mode="json", exclude_unset=True)
    data["deployments"] = [
        d.model_dump(mode="json", exclude_unset=True)
        | ({"host_network": True} if d.name in names else {})
        # DNS: keep the cluster DNS the pod had (kubelet would give a host-network
        # ClusterFirst pod the node's resolv.conf; the docs' advice for such pods is
        # ClusterFirstWithHostNet), so the baseline differs in the network only
        | ({"dns_policy": "ClusterFirstWithHostNet"}
           if d.name in names and d.dns_policy == "ClusterFirst" else {})
        for d in cluster.deployments]
    return ClusterSpec.model_validate(data)  # valid already: only host_network changed
