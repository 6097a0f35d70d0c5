"""The built cluster: nodes with addresses and pod ranges, placed pods, Services.

:meth:`Cluster.build` turns a :class:`~kperf.spec.ClusterSpec` into concrete records,
the way Kubernetes would:

- node *k* gets the *k*-th host address of ``node_cidr`` (node-1 = 192.168.1.1)
  unless it is given an ``ip``;
- each node gets its pod range(s) from the IPAM style (:mod:`kperf.cluster.ipam`);
- explicit ``pods:`` entries are placed first (an explicit ``ip`` is kept), then each
  deployment's replicas, named ``<deployment>-<index>`` from 0, by its placement
  policy (:mod:`kperf.cluster.placement`); a host-network pod gets its node's IP;
- each pod records the ports its containers declare (:class:`ContainerPort`); the
  placement does not look at them (kube-scheduler's NodePorts filter would keep a
  pod off a node where its host port is taken; kperf places it and the conformance
  check reports the clash);
- the first host address of ``service_cidr`` (10.96.0.1) is the ``kubernetes``
  Service in namespace ``default``, as kube-apiserver allocates it
  (kubernetes.io/docs/concepts/services-networking/cluster-ip-allocation/). kperf
  includes it as Service 0 with port 443 → 6443 and no selector; its endpoint is the
  API server on node-1's IP (host network), not a pod, so its ``endpoints`` list is
  empty and the data-plane counts add that one endpoint explicitly;
- user Services get the next addresses in order (or their ``cluster_ip``), their
  NodePorts the next free port from 30000 (or their ``node_port``), and their
  endpoints are the pods their selector matches, looked up in a label index;
  NodePort and LoadBalancer Services get a NodePort; a LoadBalancer Service also
  gets an external address (its ``load_balancer_ip``, or the next free address of
  ``load_balancer_cidr``) and, with ``externalTrafficPolicy: Local``, a
  ``healthCheckNodePort`` (the next free port, as kube-apiserver allocates it);
- the replicas of a ``placement: external`` deployment are not pods but
  :class:`ExternalHost` records outside the cluster (``external_hosts``): on the node
  network they take addresses from the top of ``node_cidr`` down (skipping node
  IPs), on a router's subnet the addresses after the router's (its first host).

Every error a user can cause is a one-line :class:`~kperf.errors.SpecError` naming
the field; a cluster that builds may still violate the network model, which
:meth:`Cluster.conformance` reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network
from typing import TYPE_CHECKING, Any

from kperf.cluster.addr import ip_int, ip_str, net_bounds
from kperf.cluster.ipam import Ipam, IpamExhausted, make_ipam
from kperf.cluster.labels import ZONE_LABEL, LabelIndex, matches
from kperf.cluster.placement import Placer
from kperf.cluster.records import ContainerPort, ExternalHost, Node, Pod, Service
from kperf.errors import SpecError
from kperf.gctools import paused_gc
from kperf.profiles import CniProfile, ProxyMode, get_cni, get_proxy
from kperf.spec import ClusterSpec, ContainerSpec, parse

if TYPE_CHECKING:
    import pandas as pd

    from kperf.cluster.conformance import ConformanceReport

API_SERVER_PORT = 443
API_SERVER_TARGET_PORT = 6443
NODE_PORT_FIRST = 30000
NODE_PORT_LAST = 32767

Route = str
"""One of ``loopback``, ``same-node``, ``cross-node-routed``, ``cross-node-overlay``,
``unreachable`` (see :meth:`Cluster.route`)."""


def port_records(containers: Iterable[ContainerSpec], host_network: bool
                 ) -> tuple[ContainerPort, ...]:
    """The ports a pod's containers declare; in a host-network pod each is a host port
    (the API server defaults ``hostPort`` to ``containerPort`` there)."""
    return tuple(
        ContainerPort(c.name, port, protocol, port if host_network else (host_port or 0))
        for c in containers
        for _, port, protocol, host_port in c.declared_ports()
    )


def _first_names(names: Iterable[str], limit: int = 8) -> str:
    items = list(names)
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


class Cluster:
    """A concrete cluster built from a spec. Build it with :meth:`build`.

    Attributes the datapath engine relies on: ``spec``, ``cni`` (the CNI profile),
    ``proxy`` (the proxy mode), ``ipam`` (the IPAM style's name), ``nodes``,
    ``pods`` (``pods[uid]``), ``services`` (``services[index]``; index 0 is the
    ``kubernetes`` API server Service) and ``external_hosts`` (hosts outside the
    cluster, the replicas of ``placement: external`` deployments).

    ``headless_services`` holds the headless Services (``cluster_ip: None``): no
    ClusterIP and no proxy rules, so they are not in ``services`` (which every proxy
    and conformance count reads); only cluster DNS and workload targets use them
    (``index`` -1, ``cluster_ip`` 0, ``endpoints`` the selected pods).
    """

    spec: ClusterSpec
    cni: CniProfile
    proxy: ProxyMode
    ipam: str
    nodes: list[Node]
    pods: list[Pod]
    services: list[Service]
    headless_services: list[Service]
    external_hosts: list[ExternalHost]

    def __init__(self, spec: ClusterSpec) -> None:
        self.spec = spec
        self.cni = get_cni(spec.cni)
        self.proxy = get_proxy(spec.proxy)
        self.ipam = spec.effective_ipam
        self.nodes = []
        self.pods = []
        self.services = []
        self.headless_services = []
        self.external_hosts = []
        self._external_names: dict[str, int] = {}
        self._pods_by_node: list[list[int]] = []
        self._pod_keys: dict[str, int] = {}
        self._pod_names: dict[str, list[int]] | None = None
        self._node_names: dict[str, int] = {}
        self._service_keys: dict[str, int] = {}
        self._labels = LabelIndex()
        self._routable: bytearray | None = None
        # nearly every object made here stays alive: a collection would only walk
        # them (a third of a 5,000-node, 150,000-pod build's time)
        with paused_gc():
            self._build_nodes()
            self._build_pods()
            self._build_services()

    # ------------------------------------------------------------------ building

    @classmethod
    def build(cls, spec: ClusterSpec | None = None, **kwargs: Any) -> Cluster:
        """Build a cluster from ``spec``, from keyword fields, or from both.

        ``Cluster.build(nodes=8, cni="calico-bgp")`` validates the keywords as a
        :class:`ClusterSpec` (bad ones raise the same one-line SpecError a file
        would); with a ``spec`` the keywords override its fields.
        """
        if spec is None:
            spec = parse(ClusterSpec, kwargs)
        elif kwargs:
            spec = parse(ClusterSpec, {**spec.model_dump(exclude_unset=True), **kwargs})
        return cls(spec)

    def _build_nodes(self) -> None:
        spec = self.spec
        lo, hi = net_bounds(spec.node_cidr)
        first_host, last_host = (lo + 1, hi - 1) if spec.node_cidr.num_addresses > 2 else (lo, hi)
        entries: list[tuple[str, int | None, IPv4Network | None, dict[str, str]]]
        if isinstance(spec.nodes, int):
            entries = [(f"node-{k}", None, None, {}) for k in range(1, spec.nodes + 1)]
        else:
            entries = [
                (e.name, int(e.ip) if e.ip is not None else None, e.pod_cidr, dict(e.labels))
                for e in spec.nodes
            ]
        taken = {ip for _, ip, _, _ in entries if ip is not None}
        span = last_host - first_host + 1
        for k, (name, ip, _, labels) in enumerate(entries):
            if ip is None:
                cand = first_host + k
                for _ in range(span):
                    if cand > last_host:
                        cand = first_host
                    if cand not in taken:
                        break
                    cand += 1
                else:  # pragma: no cover - the spec checks node_cidr holds the nodes
                    raise SpecError("node_cidr", str(spec.node_cidr), "no free node address")
                ip = cand
                taken.add(ip)
            node = Node(index=k, name=name, ip=ip, pod_ranges=[], labels=labels)
            self.nodes.append(node)
            self._node_names[name] = k
            self._pods_by_node.append([])
        try:
            self._ipam: Ipam = make_ipam(
                self.ipam,
                spec.pod_cidr,
                spec.node_pod_prefix,
                spec.calico_block_prefix,
                [e[2] for e in entries],
            )
        except IpamExhausted:
            raise SpecError(
                "pod_cidr",
                str(spec.pod_cidr),
                "no free per-node range left beside the explicit node pod_cidr ranges; "
                "allowed: a larger pod CIDR or a longer node_pod_prefix",
            ) from None
        for node in self.nodes:
            node.pod_ranges = self._ipam.ranges[node.index]
        self._placer = Placer(len(self.nodes), spec.max_pods_per_node, self._ipam.can_allocate)

    def _node_index(self, name: str, path: str) -> int:
        idx = self._node_names.get(name)
        if idx is None:
            raise SpecError(
                path, name, f"unknown node; allowed: {_first_names(self._node_names)}"
            )
        return idx

    def _capacity_detail(self, room: int, before: int) -> str:
        spec = self.spec
        max_pods = spec.max_pods_per_node
        ipam_txt = self._ipam.capacity_text()
        n = len(self.nodes)
        per_range = min((self._ipam.usable(i) for i in range(n)), default=0)
        if self.ipam != "calico-blocks" and per_range < max_pods:
            head = (f"{n} nodes × {per_range} pods each ({ipam_txt}, below "
                    f"max_pods_per_node {max_pods})")
        else:
            head = f"{n} nodes × {max_pods} max_pods_per_node ({ipam_txt})"
        return f"{head} leave room for {room} ({before} pods placed before these)"

    def _room(self, nodes: Iterable[int]) -> int:
        """Pods that still fit on ``nodes`` (max-pods and addresses, pool shared)."""
        max_pods = self.spec.max_pods_per_node
        total, wanting = 0, 0
        for n in nodes:
            slots = max(max_pods - self._placer.counts[n], 0)
            own = min(slots, self._ipam.free_addresses(n))
            total += own
            wanting += slots - own
        return total + min(wanting, self._ipam.pool_free())

    def _add_pod(
        self,
        name: str,
        namespace: str,
        node: int,
        ip: int,
        labels: dict[str, str],
        containers: tuple[str, ...],
        deployment: str | None,
        app_workers: int,
        host_network: bool,
        ports: tuple[ContainerPort, ...],
        path: str,
    ) -> int:
        uid = len(self.pods)
        key = f"{namespace}/{name}"
        if key in self._pod_keys:
            raise SpecError(
                path, name, f"pod {key} already exists; allowed: a name unique in its namespace"
            )
        self._pod_keys[key] = uid
        self.pods.append(
            Pod(uid, name, namespace, node, ip, labels, containers, deployment, app_workers,
                host_network, 0, ports)
        )
        self._pods_by_node[node].append(uid)
        self._placer.placed(node)
        return uid

    def _build_pods(self) -> None:
        spec = self.spec
        max_pods = spec.max_pods_per_node
        # explicit addresses first, so no allocation hands them out
        for i, entry in enumerate(spec.pods):
            if entry.ip is not None and not entry.host_network:
                node = self._node_index(entry.node, f"pods.{i}.node")
                self._ipam.reserve(node, int(entry.ip))
        for i, entry in enumerate(spec.pods):
            path = f"pods.{i}"
            node = self._node_index(entry.node, f"{path}.node")
            if self._placer.counts[node] >= max_pods:
                raise SpecError(
                    f"{path}.node",
                    entry.node,
                    f"{entry.node} already holds {max_pods} pods (max_pods_per_node "
                    f"{max_pods}); allowed: another node or a larger max_pods_per_node",
                )
            if entry.host_network:
                ip = self.nodes[node].ip
            elif entry.ip is not None:
                ip = int(entry.ip)
            else:
                try:
                    ip = self._ipam.allocate(node)
                except IpamExhausted:
                    raise SpecError(
                        f"{path}.node",
                        entry.node,
                        f"no free pod address on {entry.node} ({self._ipam.capacity_text()}); "
                        "allowed: another node or a larger pod range",
                    ) from None
            containers = tuple(c.name for c in entry.containers) or (entry.name,)
            uid = self._add_pod(
                entry.name, entry.namespace, node, ip, dict(entry.labels), containers, None, 4,
                entry.host_network, port_records(entry.containers, entry.host_network),
                f"{path}.name",
            )
            self._labels.add((uid,), entry.namespace, entry.labels)
        for d, dep in enumerate(spec.deployments):
            if dep.external:
                self._add_external(d, dep)
            else:
                self._place_deployment(d, dep)

    def _place_deployment(self, d: int, dep: Any) -> None:
        path = f"deployments.{d}"
        placement: str = dep.placement
        pinned: int | None = None
        if placement not in ("spread", "binpack"):
            if placement not in self._node_names:
                raise SpecError(
                    f"{path}.placement",
                    placement,
                    f"unknown node; allowed: spread, binpack or a node name "
                    f"({_first_names(self._node_names)})",
                )
            pinned = self._node_names[placement]
        labels = dep.labels  # shared by all replicas (records are read-only by convention)
        containers = tuple(c.name for c in dep.containers)
        host_network: bool = dep.host_network
        ports = port_records(dep.containers, host_network)  # shared by all replicas too
        first_uid = len(self.pods)
        room_before: int | None = None
        placer = self._placer
        for r in range(dep.replicas):
            # a host-network replica needs no pod address when pinned; spread and
            # binpack pass over nodes whose pod range is full whatever the pod
            if pinned is not None:
                node: int | None = (pinned if placer.has_room(pinned, not host_network)
                                    else None)
            elif placement == "spread":
                node = placer.spread()
            else:
                node = placer.binpack()
            if node is None:
                room_before = r + self._room([pinned] if pinned is not None else
                                             range(len(self.nodes)))
                break
            ip = self.nodes[node].ip if host_network else self._ipam.allocate(node)
            self._add_pod(
                f"{dep.name}-{r}", dep.namespace, node, ip, labels, containers, dep.name,
                dep.app_workers, host_network, ports, f"{path}.name",
            )
        if room_before is not None:
            self._capacity_error(path, dep.replicas, room_before, pinned, first_uid)
        self._labels.add(range(first_uid, len(self.pods)), dep.namespace, labels)

    def _add_external(self, d: int, dep: Any) -> None:
        """The replicas of a ``placement: external`` deployment: hosts outside the
        cluster, named like pods (``<deployment>-<index>``), each with an address on
        its network (see :class:`ExternalHost`)."""
        spec = self.spec
        ext = spec.external_clients
        path = f"deployments.{d}"
        if ext.network == "router":
            lo, _hi = net_bounds(ext.cidr)
            # lo + 1 is the router; hosts follow it, deployment after deployment
            first = max((h.ip for h in self.external_hosts), default=lo + 1) + 1
            addresses = [first + k for k in range(dep.replicas)]
        else:
            lo, hi = net_bounds(spec.node_cidr)
            taken = {n.ip for n in self.nodes} | {h.ip for h in self.external_hosts}
            addresses = []
            cand = hi - 1
            while len(addresses) < dep.replicas and cand > lo:
                if cand not in taken:
                    addresses.append(cand)
                cand -= 1
            if len(addresses) < dep.replicas:  # pragma: no cover - the spec checks room
                raise SpecError(f"{path}.replicas", dep.replicas,
                                "allowed: as many external hosts as node_cidr has free "
                                "addresses")
        for r, ip in enumerate(addresses):
            name = f"{dep.name}-{r}"
            key = f"{dep.namespace}/{name}"
            if key in self._pod_keys or name in self._external_names:
                raise SpecError(f"{path}.name", dep.name,
                                f"{key} already exists; allowed: a name unique in its "
                                "namespace")
            k = len(self.external_hosts)
            self.external_hosts.append(ExternalHost(
                k, name, ip, dep.name, ext.network, len(self.nodes) + k, dict(dep.labels)))
            self._external_names[name] = k

    def external_host(self, name: str) -> ExternalHost:
        """The external host called ``name`` (``client-0``); KeyError if unknown."""
        k = self._external_names.get(name)
        if k is None:
            raise KeyError(f"unknown external host {name!r}")
        return self.external_hosts[k]

    def external_of(self, deployment: str) -> list[ExternalHost]:
        """The hosts of the ``placement: external`` deployment ``deployment``."""
        return [h for h in self.external_hosts if h.deployment == deployment]

    def _capacity_error(
        self, path: str, replicas: int, room: int, pinned: int | None, before: int
    ) -> None:
        spec = self.spec
        if pinned is not None:
            node = self.nodes[pinned]
            where = (
                f"{node.name} holds at most {spec.max_pods_per_node} pods "
                f"(max_pods_per_node) and {self._ipam.usable(pinned)} addresses in "
                f"{', '.join(str(r) for r in node.pod_ranges) or 'its range'} "
                f"({self._ipam.capacity_text()}) and has room for {room}"
            )
            more = "fewer replicas, placement spread, or a larger max_pods_per_node"
        else:
            where = self._capacity_detail(room, before)
            more = "fewer replicas, more nodes, a larger max_pods_per_node or larger pod ranges"
        raise SpecError(
            f"{path}.replicas",
            replicas,
            f"{replicas} pods do not fit: {where}; allowed: at most {room} replicas "
            f"({more})",
        )

    def _build_services(self) -> None:
        spec = self.spec
        services = spec.all_services()
        lo, hi = net_bounds(spec.service_cidr)
        api_ip = lo + 1
        taken = {api_ip}
        taken.update(int(ip) for s in services if (ip := s.fixed_ip) is not None)
        ports_taken = {s.node_port for s in services if s.node_port is not None}
        self.services.append(
            Service(0, "kubernetes", "default", api_ip, API_SERVER_PORT, API_SERVER_TARGET_PORT,
                    "TCP", "ClusterIP", None, "None", "Cluster", {}, [])
        )
        self._service_keys["default/kubernetes"] = 0
        nxt, next_port = api_ip + 1, NODE_PORT_FIRST
        lb_lo, lb_hi = net_bounds(spec.load_balancer_cidr)
        lb_taken: set[int] = set()
        lb_cursor = [lb_lo + 1 if spec.load_balancer_cidr.num_addresses > 2 else lb_lo]

        def lb_next(path: str) -> int:
            """The next free address of load_balancer_cidr (not a node's, an external
            host's or a Service's given ``load_balancer_ip``)."""
            if not lb_taken:  # first use: what is taken (most clusters never get here)
                lb_taken.update({n.ip for n in self.nodes}, {h.ip for h in self.external_hosts},
                                {int(s.load_balancer_ip) for s in services
                                 if s.load_balancer_ip is not None}, {-1})
            cand = lb_cursor[0]
            while cand in lb_taken:
                cand += 1
            if cand >= lb_hi:
                raise SpecError(
                    "load_balancer_cidr", str(spec.load_balancer_cidr),
                    f"no free address left for {path}; allowed: a larger "
                    "load_balancer_cidr, or load_balancer_ip on the Service")
            lb_taken.add(cand)
            lb_cursor[0] = cand + 1
            return cand

        for i, s in enumerate(services):
            path = f"services.{i}" if i < len(spec.services) else "extra_services"
            key = f"{s.namespace}/{s.name}"
            if key in self._service_keys:
                raise SpecError(
                    f"{path}.name", s.name,
                    f"Service {key} already exists (kperf creates default/kubernetes itself); "
                    "allowed: a name unique in its namespace",
                )
            if s.headless:  # DNS names only: no ClusterIP, no NodePort, no proxy rules
                self.headless_services.append(
                    Service(-1, s.name, s.namespace, 0, s.port, s.target_port or s.port,
                            s.protocol, s.type, None, s.session_affinity,
                            s.external_traffic_policy, dict(s.selector),
                            self._labels.select(s.namespace, s.selector)))
                continue
            fixed = s.fixed_ip
            if fixed is not None:
                cip = int(fixed)
            else:
                while nxt in taken:
                    nxt += 1
                if nxt >= hi:
                    raise SpecError(
                        "service_cidr", str(spec.service_cidr),
                        f"holds {hi - lo - 1} ClusterIPs but {len(services) + 1} "
                        "Services need one; allowed: a larger service CIDR",
                    )
                cip, nxt = nxt, nxt + 1
            node_port: int | None = None
            health_port: int | None = None
            if s.type in ("NodePort", "LoadBalancer"):
                if s.node_port is not None:
                    node_port = s.node_port
                else:
                    node_port, next_port = self._free_node_port(next_port, ports_taken, path)
                if s.type == "LoadBalancer" and s.external_traffic_policy == "Local":
                    health_port, next_port = self._free_node_port(next_port, ports_taken,
                                                                  path)
            endpoints = self._labels.select(s.namespace, s.selector)
            idx = len(self.services)
            self.services.append(
                Service(idx, s.name, s.namespace, cip, s.port, s.target_port or s.port,
                        s.protocol, s.type, node_port, s.session_affinity,
                        s.external_traffic_policy, dict(s.selector), endpoints)
            )
            if s.type == "LoadBalancer":
                svc = self.services[idx]
                svc.health_check_node_port = health_port
                svc.load_balancer_ip = (int(s.load_balancer_ip) if s.load_balancer_ip
                                        is not None else lb_next(path))
            self._service_keys[key] = idx

    @staticmethod
    def _free_node_port(next_port: int, taken: set[int], path: str) -> tuple[int, int]:
        """The next free NodePort from ``next_port`` (and the cursor after it)."""
        while next_port in taken:
            next_port += 1
        if next_port > NODE_PORT_LAST:
            raise SpecError(
                f"{path}.node_port", None,
                "no free NodePort left; allowed: at most 2768 NodePort Services",
            )
        return next_port, next_port + 1

    @property
    def allocator(self) -> Ipam:
        """The IPAM allocator (per-node ranges, free addresses) behind ``ipam``."""
        return self._ipam

    # ------------------------------------------------------------------ lookups

    def pod(self, name: str) -> Pod:
        """The pod called ``name`` (``web-0``) or ``namespace/name``; KeyError if unknown
        or ambiguous across namespaces."""
        if "/" in name:
            uid = self._pod_keys.get(name)
            if uid is None:
                raise KeyError(f"unknown pod {name!r}")
            return self.pods[uid]
        uid = self._pod_keys.get(f"default/{name}")
        if uid is not None:
            return self.pods[uid]
        if self._pod_names is None:
            by_name: dict[str, list[int]] = {}
            for p in self.pods:
                by_name.setdefault(p.name, []).append(p.uid)
            self._pod_names = by_name
        hits = self._pod_names.get(name, [])
        if len(hits) == 1:
            return self.pods[hits[0]]
        if not hits:
            raise KeyError(f"unknown pod {name!r}")
        raise KeyError(
            f"pod name {name!r} is ambiguous; allowed: one of "
            f"{', '.join(self.pods[u].key for u in hits)}"
        )

    def service(self, name: str) -> Service:
        """The Service called ``name`` or ``namespace/name``; KeyError if unknown."""
        key = name if "/" in name else f"default/{name}"
        idx = self._service_keys.get(key)
        if idx is None and "/" not in name:
            hits = [s for s in self.services if s.name == name]
            if len(hits) == 1:
                return hits[0]
        if idx is None:
            raise KeyError(f"unknown Service {name!r}")
        return self.services[idx]

    def node(self, name: str) -> Node:
        """The node called ``name``; KeyError if unknown."""
        idx = self._node_names.get(name)
        if idx is None:
            raise KeyError(f"unknown node {name!r}")
        return self.nodes[idx]

    def pods_on(self, node_index: int) -> list[Pod]:
        """The pods on node ``node_index``, in creation order."""
        return [self.pods[u] for u in self._pods_by_node[node_index]]

    def pod_counts(self) -> list[int]:
        """Pods per node (host-network pods included), by node index."""
        return [len(u) for u in self._pods_by_node]

    def endpoints(self, service: Service | str) -> list[Pod]:
        """The pods behind ``service``, in endpoint order."""
        svc = self.service(service) if isinstance(service, str) else service
        return [self.pods[u] for u in svc.endpoints]

    def endpoint_ips(self, service: Service | str) -> list[int]:
        """The current addresses of the pods behind ``service``."""
        return [p.ip for p in self.endpoints(service)]

    # ------------------------------------------------------------------ routing

    def encapsulated(self, src_node: int, dst_node: int) -> bool:
        """True when traffic from ``src_node`` to pods on ``dst_node`` is encapsulated.

        Overlay modes always encapsulate between nodes; cross-subnet modes (Calico
        ``CrossSubnet``) only between nodes in different subnets, which kperf takes to
        be nodes whose ``topology.kubernetes.io/zone`` labels differ; routed modes never.
        """
        if src_node == dst_node:
            return False
        if self.cni.routing == "overlay":
            return True
        if self.cni.routing == "cross-subnet":
            a = self.nodes[src_node].labels.get(ZONE_LABEL)
            b = self.nodes[dst_node].labels.get(ZONE_LABEL)
            return a != b
        return False

    def routable(self) -> bytearray:
        """Per pod uid, 1 when other nodes can deliver to the pod's IP.

        A host-network pod is reachable at its node's IP on the node network. Any
        other pod is reachable from other nodes when the CNI installs cross-node
        routes (routing is not ``none``), its IP is unique among pod IPs, and it lies
        in a pod range that belongs to its own node and to no other node (the route
        for that range points at the right node). Cached; rebuilt after a recreate.
        """
        if self._routable is None:
            from kperf.cluster.conformance import compute_routable

            self._routable = compute_routable(self)
        return self._routable

    def route(self, src: Pod, dst: Pod) -> Route:
        """How a packet from pod ``src`` reaches pod ``dst``.

        ``loopback`` (the same pod: containers share a network namespace),
        ``same-node`` (veth/bridge or eBPF redirect on one node),
        ``cross-node-routed`` (plain routing via the destination node's IP),
        ``cross-node-overlay`` (encapsulated through the tunnel device), or
        ``unreachable`` (no route: no CNI, a duplicate IP, a range owned by several
        nodes).
        """
        if src.uid == dst.uid:
            return "loopback"
        if src.node == dst.node:
            return "same-node"
        return self._cross(src.node, dst)

    def node_to_pod(self, node_index: int, pod: Pod) -> Route:
        """How node ``node_index`` (its host network namespace) reaches ``pod``."""
        if node_index == pod.node:
            return "same-node"
        return self._cross(node_index, pod)

    def _cross(self, src_node: int, dst: Pod) -> Route:
        if dst.host_network:
            return "cross-node-routed"  # the node IP, on the node network
        if not self.routable()[dst.uid]:
            return "unreachable"
        return "cross-node-overlay" if self.encapsulated(src_node, dst.node) else (
            "cross-node-routed")

    # ------------------------------------------------------------------ churn

    def recreate_pod(self, pod: Pod | str) -> Pod:
        """Recreate a pod (restart, rolling update) on the same node: new IP, same uid.

        The old address goes back to the IPAM and the new one comes from it the way
        that IPAM does (host-local continues after the last address it handed out;
        Calico takes the front of the block's unallocated list, where the freed address
        went to the back), so the new IP differs unless the range is full. The pod's
        ``generation`` increases; every Service selecting it keeps its ClusterIP and
        gets ``endpoints_version`` + 1 (its endpoint addresses changed). Returns the new
        record; ``cluster.pods[uid]`` is replaced, the old record is left untouched.
        """
        old = self.pod(pod) if isinstance(pod, str) else self.pods[pod.uid]
        if old.host_network:
            ip = self.nodes[old.node].ip
        else:
            self._ipam.release(old.node, old.ip)
            try:
                ip = self._ipam.allocate(old.node)
            except IpamExhausted:  # pragma: no cover - release freed one address
                raise SpecError(old.key, old.name, "no free pod address on its node") from None
        new = Pod(old.uid, old.name, old.namespace, old.node, ip, old.labels, old.containers,
                  old.deployment, old.app_workers, old.host_network, old.generation + 1,
                  old.ports)
        self.pods[old.uid] = new
        self._routable = None
        if ip != old.ip:
            for svc in self.services:
                if svc.namespace == new.namespace and matches(svc.selector, new.labels):
                    svc.endpoints_version += 1
        return new

    # ------------------------------------------------------------------ reports

    def conformance(self) -> ConformanceReport:
        """Check the Kubernetes network model; see :mod:`kperf.cluster.conformance`."""
        from kperf.cluster.conformance import check

        return check(self)

    def dataplane_state(self, cores_per_node: int | None = None) -> pd.DataFrame:
        """Per-node data-plane entries; see :mod:`kperf.cluster.dataplane`."""
        from kperf.cluster.dataplane import dataplane_state

        return dataplane_state(self, cores_per_node)

    def dataplane_totals(
        self, cores_per_node: int | None = None, state: pd.DataFrame | None = None
    ) -> dict[str, int]:
        """Cluster-wide sums of :meth:`dataplane_state` (BGP sessions counted once)."""
        from kperf.cluster.dataplane import dataplane_totals

        return dataplane_totals(self, cores_per_node, state)

    def selector_warnings(self) -> list[str]:
        """One line per user Service whose selector matches no pod (a warning only)."""
        out = []
        for i, s in enumerate(self.services[1:]):
            if s.selector and not s.endpoints:
                sel = ", ".join(f"{k}={v}" for k, v in s.selector.items())
                out.append(
                    f"services.{i}.selector: {{{sel}}} matches no pod in namespace "
                    f"{s.namespace!r}; Service {s.name} will have no endpoints"
                )
        return out

    def nodes_df(self) -> pd.DataFrame:
        from kperf.cluster.tables import nodes_df

        return nodes_df(self)

    def pods_df(self) -> pd.DataFrame:
        from kperf.cluster.tables import pods_df

        return pods_df(self)

    def services_df(self) -> pd.DataFrame:
        from kperf.cluster.tables import services_df

        return services_df(self)

    def summary(self) -> str:
        from kperf.cluster.tables import summary

        return summary(self)

    def __repr__(self) -> str:
        ext = (f", {len(self.external_hosts)} external hosts" if self.external_hosts
               else "")
        return (
            f"<Cluster {len(self.nodes)} nodes, {len(self.pods)} pods, "
            f"{len(self.services)} Services{ext}, cni={self.cni.name}, "
            f"proxy={self.proxy.name}, ipam={self.ipam}>"
        )


__all__ = ["API_SERVER_PORT", "ZONE_LABEL", "Cluster", "Route", "ip_int", "ip_str"]
