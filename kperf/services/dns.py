"""Cluster DNS over the engine: CoreDNS behind kube-dns, caches, NodeLocal DNSCache.

A lookup (``getaddrinfo``) from a pod walks the candidates of
:mod:`kperf.services.resolvconf` one at a time. For each candidate the A and AAAA
queries leave in parallel on one UDP socket (so through a kube-proxy mode the first
pays the first-packet cost and creates the conntrack entry, the second follows it);
each crosses the engine to a CoreDNS pod chosen by the client node's kube-dns
endpoints, waits in that pod's worker pool for its service time, and the answer
crosses back. The candidate's round ends when both answers are in. A query or answer
lost on the way (a full queue, ``loss``, a full conntrack table, a stale CoreDNS
endpoint) is noticed after the resolver timeout, 5 s (glibc ``RES_TIMEOUT``), and the
round is sent again, up to 2 tries (``RES_DFLRETRY``); a round that never gets its
answers ends the lookup unresolved (TRY_AGAIN stops glibc's search).

CoreDNS
    Service time per query: 2 vCPU / 33.7 k queries/s = 59.3 µs of one core
    (CALIBRATION.md "Cluster DNS": one 2-vCPU replica served about 33.7 k queries/s;
    taken as reference-core time and divided by the testbed's ``cpu_speed_factor``).
    A replica serves with as many workers as its pod's ``app_workers``.
    In-cluster names are answered by the ``kubernetes`` plugin from memory; names
    outside the cluster zone are forwarded upstream (``forward . /etc/resolv.conf``):
    a miss in the replica's cache (``cache 30``) adds ``upstream_s`` (default 1 ms,
    estimated: a resolver in the same data centre).
Where CoreDNS comes from
    The cluster's own ``kube-dns`` Service in ``kube-system`` when it has one (add it
    with :func:`coredns_spec`); else a Service over the cluster's ``coredns`` pods in
    ``kube-system``; else kperf simulates two replicas on node-1 and node-2 (node-1
    only on a one-node cluster), 2 workers each, behind a ``kube-dns`` Service at the
    service CIDR's .10 address. Those simulated replicas are not added to the
    cluster's pod list and run with host networking (kperf's cluster has no pod
    slots for them), so their side of the path skips the pod veth stages.
Caches
    * client-side (optional, off by default since glibc does not cache): per pod,
      the final answer for its TTL: 5 s for cluster names (``kubernetes`` plugin
      ``ttl``), 30 s for forwarded ones (CoreDNS ``cache 30``);
    * CoreDNS replica cache for forwarded names, 30 s;
    * NodeLocal DNSCache (optional): a host-network cache on every node that pods
      query first (link-local 169.254.20.10, NOTRACK: no conntrack, no Service
      rules); hits answered locally, misses forwarded to CoreDNS over a kept-open TCP
      connection; success and denial cached for the answer's TTL (node-local-dns
      ``cache`` block: ``success 9984 30``, ``denial 9984 5``).
Each pod's resolv.conf
    From its deployment's (or imported pod's) ``dns_policy`` and ``dns_config`` and the
    cluster's ``host_search``, as kubelet writes it
    (:func:`~kperf.services.resolvconf.pod_resolv_conf`): the search list and ``ndots``
    decide the candidates. A pod whose first nameserver is not the cluster DNS (the
    kube-dns ClusterIP or NodeLocal's 169.254.20.10) -- a ``Default``-policy pod, or
    ``None`` with other nameservers -- asks a resolver outside the cluster: each round
    takes ``upstream_s`` (the same estimated round trip as CoreDNS's forward; the
    resolver's network is not simulated, nor losses on it), and cluster names are
    NXDOMAIN there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import TYPE_CHECKING, Any, NamedTuple

from kperf.cluster.records import Pod, Service
from kperf.engine.routes import Surcharge
from kperf.services.resolvconf import (
    RECORD_TYPES,
    RESOLVER_ATTEMPTS,
    RESOLVER_TIMEOUT_S,
    ResolvConf,
    Zone,
    answers,
    candidates,
    pod_resolv_conf,
)

if TYPE_CHECKING:
    from kperf.engine.flow import Flow

    # the layer that owns this DNS, typed by what DNS uses of it (kperf.services.layer
    # imports this module, so importing it back would close a circle)
    from kperf.services.dnsowner import DnsOwner as ServiceLayer

COREDNS_QUERY_S = 2.0 / 33_700.0
"""Seconds of one core per query: CALIBRATION.md "Cluster DNS" (2 vCPU, 33.7 k q/s)."""
COREDNS_WORKERS = 2
"""Workers of a simulated CoreDNS replica: the 2 vCPU of the calibration replica."""
NODELOCAL_WORKERS = 1
"""Workers of a simulated node-local-dns pod (estimated: it requests 25 m CPU, no limit)."""
UPSTREAM_S = 1e-3
"""Round trip to the upstream resolver for a forwarded name (estimated)."""
DENIAL_TTL_S = 5.0
"""NXDOMAIN/NODATA TTL: the ``kubernetes`` plugin's SOA minimum and node-local-dns
``denial 9984 5``."""
NODELOCAL_IP = "169.254.20.10"
"""NodeLocal DNSCache's link-local listen address (the kubernetes.io NodeLocal DNSCache
task's default ``__PILLAR__LOCAL__DNS__``)."""
SIMULATED_UID_BASE = 1 << 40
"""Uids of simulated pods (CoreDNS, node-local-dns) sit far above any cluster pod uid."""
EDNS_OPT_BYTES = 11
ANSWER_BYTES = {"A": 16, "AAAA": 28}
NEGATIVE_BYTES = 72
"""An SOA record in the authority section of a negative answer (approximate)."""


def query_bytes(fqdn: str) -> int:
    """UDP payload of a query: header 12 + QNAME + QTYPE/QCLASS 4 + EDNS OPT 11."""
    return 12 + len(fqdn.rstrip(".")) + 2 + 4 + EDNS_OPT_BYTES


def answer_bytes(fqdn: str, qtype: str, found: bool) -> int:
    """UDP payload of the answer (the query echoed plus one record or an SOA)."""
    return query_bytes(fqdn) + (ANSWER_BYTES[qtype] if found else NEGATIVE_BYTES)


def coredns_spec(replicas: int = 2, app_workers: int = COREDNS_WORKERS,
                 service_cidr: str = "10.96.0.0/12") -> tuple[dict[str, Any], dict[str, Any]]:
    """A ``coredns`` deployment and its ``kube-dns`` Service, as cluster spec entries::

        dep, svc = coredns_spec()
        Cluster.build(nodes=4, deployments=[dep, ...], services=[svc, ...])
    """
    ip = str(IPv4Network(service_cidr).network_address + 10)
    dep = {"name": "coredns", "namespace": "kube-system", "replicas": replicas,
           "labels": {"k8s-app": "kube-dns"}, "app_workers": app_workers}
    svc = {"name": "kube-dns", "namespace": "kube-system", "selector": {"k8s-app": "kube-dns"},
           "port": 53, "protocol": "UDP", "cluster_ip": ip}
    return dep, svc


@dataclass
class _Lookup:
    client: Any
    name: str
    tried: list[str]
    on_done: Callable[[float, int, bool], None]
    queries: int = 0
    index: int = 0
    attempt: int = 0
    outside: bool = False  # the pod's nameserver is not the cluster DNS


class DnsSystem:
    """kube-dns for one :class:`~kperf.services.layer.ServiceLayer`."""

    def __init__(self, layer: ServiceLayer, *, nodelocal: bool = False,
                 client_cache: bool = False, loss: float = 0.0,
                 upstream_s: float = UPSTREAM_S) -> None:
        if not 0.0 <= loss < 1.0:
            raise ValueError("loss must be in [0, 1)")
        self.layer = layer
        self.sim = layer.sim
        self.nodelocal = nodelocal
        self.client_cache = client_cache
        self.loss = loss
        self.upstream_s = upstream_s
        self.query_s = COREDNS_QUERY_S / float(layer.sim.testbed.cpu_speed_factor)
        self.simulated = False
        self.service = self._find_or_make_service()
        self.zone = zone_of(layer.cluster, (self.service.namespace, self.service.name))
        self._resolv: dict[tuple[str, str | None, str], ResolvConf] = {}
        self._client: dict[int, dict[str, float]] = {}
        self._coredns_cache: dict[int, dict[tuple[str, str], float]] = {}
        self._nodelocal_cache: dict[int, dict[tuple[str, str], float]] = {}
        self._nodelocal_pods: dict[int, Pod] = {}
        self._flow_of_node: dict[int, int] = {}

    # -- where CoreDNS is ------------------------------------------------------------
    def _find_or_make_service(self) -> Any:
        cluster = self.layer.cluster
        for s in cluster.services:
            if s.name == "kube-dns" and s.namespace == "kube-system":
                return s
        pods = [p.uid for p in cluster.pods
                if p.namespace == "kube-system" and p.deployment == "coredns"]
        if not pods:
            self.simulated = True
            n = len(cluster.nodes)
            nodes = [0, 1] if n > 1 else [0]
            for k, node in enumerate(nodes):
                uid = SIMULATED_UID_BASE + k
                pod = Pod(uid, f"coredns-sim-{k}", "kube-system", node, cluster.nodes[node].ip,
                          {"k8s-app": "kube-dns"}, ("coredns",), "coredns", COREDNS_WORKERS,
                          True, 0)
                self.layer.add_synthetic_pod(pod)
                pods.append(uid)
        cidr = cluster.spec.service_cidr
        ip = int(cidr.network_address) + 10
        return Service(len(cluster.services), "kube-dns", "kube-system", ip, 53, 53, "UDP",
                       "ClusterIP", None, "None", "Cluster", {"k8s-app": "kube-dns"},
                       sorted(pods))

    def nodelocal_pod(self, node: int) -> Pod:
        """The node-local-dns pod of ``node`` (simulated, host network)."""
        p = self._nodelocal_pods.get(node)
        if p is None:
            cluster = self.layer.cluster
            p = Pod(SIMULATED_UID_BASE + (1 << 20) + node, f"node-local-dns-{node + 1}",
                    "kube-system", node, cluster.nodes[node].ip, {"k8s-app": "node-local-dns"},
                    ("node-cache",), "node-local-dns", NODELOCAL_WORKERS, True, 0)
            self._nodelocal_pods[node] = p
        return p

    # -- a lookup ----------------------------------------------------------------------
    def resolve(self, client: Any, name: str, on_done: Callable[[float, int, bool], None]
                ) -> None:
        c = self.layer.counters
        c["dns_lookups"] += 1
        now = self.sim.now
        if self.client_cache:
            exp = self._client.get(client.uid, {}).get(name)
            if exp is not None and exp > now:
                c["dns_client_cache_hits"] += 1
                self.sim.at(now, lambda: on_done(now, 0, True))
                return
        rc = self.resolv_conf(client)
        tried = candidates(name, client.namespace, ndots=rc.ndots, search=rc.search,
                           cluster_domain=self.zone.cluster_domain)
        outside = not self.is_cluster_dns(rc.nameservers[0] if rc.nameservers else "")
        self._round(_Lookup(client, name, tried, on_done, outside=outside))

    # -- each pod's resolv.conf ---------------------------------------------------------
    def is_cluster_dns(self, nameserver: str) -> bool:
        """Whether ``nameserver`` is the cluster DNS (kube-dns, or NodeLocal's address)."""
        return nameserver in (self.service.cluster_ip_str, NODELOCAL_IP)

    def resolv_conf(self, client: Any) -> ResolvConf:
        """The resolv.conf kubelet writes for ``client`` (cached per deployment)."""
        key = (client.namespace, client.deployment,
               client.name if client.deployment is None else "")
        rc = self._resolv.get(key)
        if rc is None:
            rc = resolv_conf_of(self.layer.cluster, client, self.service.cluster_ip_str)
            self._resolv[key] = rc
        return rc

    def _round(self, lk: _Lookup) -> None:
        """Send the A and AAAA queries of candidate ``lk.index``."""
        sim = self.sim
        t0 = sim.now
        fqdn = lk.tried[lk.index]
        found = answers(self.zone, fqdn, not lk.outside)
        state = {"left": len(RECORD_TYPES), "lost": False, "over": False}

        def answered(t: float) -> None:
            if state["over"]:
                return
            state["left"] -= 1
            if state["left"] == 0:
                state["over"] = True
                self._round_done(lk, t, found)

        def lost(_t: float, _why: str = "") -> None:
            if state["lost"]:
                return
            state["lost"] = True
            sim.at(t0 + RESOLVER_TIMEOUT_S, timed_out)

        def timed_out() -> None:
            if state["over"]:
                return
            state["over"] = True
            self.layer.counters["dns_timeouts"] += 1
            lk.attempt += 1
            if lk.attempt < RESOLVER_ATTEMPTS:
                self._round(lk)
            else:
                self._finish(lk, sim.now, False)

        self._send_queries(lk.client, fqdn, found, answered, lost, lk)

    def _round_done(self, lk: _Lookup, t: float, found: bool) -> None:
        if found:
            self._finish(lk, t, True)
            return
        lk.index += 1
        lk.attempt = 0
        if lk.index >= len(lk.tried):
            self._finish(lk, t, False)
        else:
            self._round(lk)

    def _finish(self, lk: _Lookup, t: float, ok: bool) -> None:
        if not ok:
            self.layer.counters["dns_failures"] += 1
        elif self.client_cache:
            fqdn = lk.tried[lk.index]
            self._client.setdefault(lk.client.uid, {})[lk.name] = t + self.zone.ttl_s(fqdn)
        lk.on_done(t, lk.queries, ok)

    # -- queries over the engine ---------------------------------------------------------
    def _dropped(self) -> bool:
        return self.loss > 0.0 and float(self.layer.rng.random()) < self.loss

    def _send_queries(self, client: Any, fqdn: str, found: bool,
                      answered: Callable[[float], None],
                      lost: Callable[[float, str], None], lk: _Lookup) -> None:
        layer, sim = self.layer, self.sim
        c = layer.counters
        if lk.outside:  # a resolver outside the cluster: a round trip, not simulated
            t = sim.now + self.upstream_s
            for _qtype in RECORD_TYPES:
                lk.queries += 1
                c["dns_queries"] += 1
                sim.at(t, lambda: answered(sim.now))
            return
        if self.nodelocal:
            node = client.node
            local = self.nodelocal_pod(node)
            for qtype in RECORD_TYPES:
                lk.queries += 1
                c["dns_queries"] += 1
                self._via_nodelocal(client, local, fqdn, qtype, found, answered, lost)
            return
        conn = layer.connect_udp(client, self.service)
        flow_id = sim.new_flow_id()
        flow = (sim.open_flow(client, conn.backend, flow_id=flow_id, udp=True)
                if conn.backend is not None else None)
        for i, qtype in enumerate(RECORD_TYPES):
            lk.queries += 1
            c["dns_queries"] += 1
            if flow is None or self._dropped():
                sim.at(sim.now, lambda: lost(sim.now, "lost"))
                continue
            extra = conn.extra_first_s if i == 0 else layer.established_extra_s(self.service)
            self._query(flow, _Question(fqdn, qtype, found), extra, answered, lost,
                        forward_ok=True)

    def _query(self, flow: Flow, q: _Question, extra: float,
               answered: Callable[[float], None], lost: Callable[[float, str], None], *,
               forward_ok: bool) -> None:
        """client → CoreDNS → client for one query, on ``flow`` (client to server)."""
        sim = self.sim
        server = flow.dst
        fqdn, qtype, found = q

        def reply(_t: float) -> None:
            flow.reverse.send(answer_bytes(fqdn, qtype, found), answered, lost)

        def served(t: float) -> None:
            if forward_ok and not self.zone.in_zone(fqdn):
                cache = self._coredns_cache.setdefault(server.uid, {})
                exp = cache.get((fqdn, qtype))
                if exp is None or exp <= t:
                    cache[(fqdn, qtype)] = t + self.upstream_s + self.zone.ttl_s(fqdn)
                    sim.at(t + self.upstream_s, lambda: reply(sim.now))
                    return
            reply(t)

        def arrived(_t: float) -> None:
            sim.serve_app(server, self.query_s, served)

        flow.send(query_bytes(fqdn), arrived, lost, True, Surcharge(extra))

    def _via_nodelocal(self, client: Any, local: Pod, fqdn: str, qtype: str, found: bool,
                       answered: Callable[[float], None],
                       lost: Callable[[float, str], None]) -> None:
        sim, layer = self.sim, self.layer
        node = local.node
        flow = sim.open_flow(client, node, flow_id=sim.new_flow_id(), udp=True)

        def reply(_t: float) -> None:
            flow.reverse.send(answer_bytes(fqdn, qtype, found), answered, lost)

        def served(t: float) -> None:
            cache = self._nodelocal_cache.setdefault(node, {})
            exp = cache.get((fqdn, qtype))
            if exp is not None and exp > t:
                layer.counters["dns_nodelocal_hits"] += 1
                reply(t)
                return
            # forward to CoreDNS over the cache's kept-open TCP connection
            upstream = self._upstream_of(node)
            if upstream is None:
                lost(t, "no-endpoints")
                return
            ttl = self.zone.ttl_s(fqdn) if found else DENIAL_TTL_S

            def back(t2: float) -> None:
                cache[(fqdn, qtype)] = t2 + ttl
                reply(t2)

            self._query(sim.open_flow(node, upstream, flow_id=self._node_flow(node)),
                        _Question(fqdn, qtype, found), layer.established_extra_s(self.service),
                        back, lost, forward_ok=True)

        def arrived(_t: float) -> None:
            sim.serve_app(local, self.query_s, served)

        if self._dropped():
            sim.at(sim.now, lambda: lost(sim.now, "lost"))
            return
        flow.send(query_bytes(fqdn), arrived, lost)

    def _node_flow(self, node: int) -> int:
        f = self._flow_of_node.get(node)
        if f is None:
            f = self.sim.new_flow_id()
            self._flow_of_node[node] = f
        return f

    def _upstream_of(self, node: int) -> Any | None:
        """The CoreDNS pod a node-local cache forwards to (its node's view of kube-dns)."""
        layer = self.layer
        layer.views.sync(self.service, self.sim.now)
        eps = layer.views.view(self.service.index, node, self.sim.now)
        live = [e for e in eps if layer.views.is_live(e)]
        if not live:
            return None
        return layer.pod(live[mix(node) % len(live)][0])


def zone_of(cluster: Any, dns_service: tuple[str, str] = ("kube-system", "kube-dns")
            ) -> Zone:
    """What ``cluster``'s DNS answers: its Services (headless ones too) and kube-dns;
    names under the cluster's ``host_search`` domains do not exist."""
    names = {(s.namespace, s.name) for s in cluster.services}
    names.update((s.namespace, s.name) for s in getattr(cluster, "headless_services", ()))
    names.add(dns_service)
    host = tuple(d.removesuffix(".") for d in getattr(cluster.spec, "host_search", ()))
    return Zone(names, private_domains=host)


def cluster_dns_ip(cluster: Any) -> str:
    """The cluster DNS address kubelet writes (``--cluster-dns``): the ClusterIP of
    ``kube-system/kube-dns``, else the service CIDR's .10 (where kperf simulates it)."""
    for s in cluster.services:
        if s.name == "kube-dns" and s.namespace == "kube-system":
            return str(s.cluster_ip_str)
    return str(IPv4Network(cluster.spec.service_cidr).network_address + 10)


def resolv_conf_of(cluster: Any, pod: Any, cluster_dns_ip: str) -> ResolvConf:
    """The resolv.conf kubelet writes for ``pod`` of ``cluster``: its deployment's (or,
    imported, its own pod entry's) ``dns_policy`` and ``dns_config``, the cluster's
    ``host_search``; ClusterFirst without either for pods the spec does not name."""
    spec = cluster.spec
    entry: Any = None
    if pod.deployment is not None:
        entry = next((d for d in spec.deployments if d.name == pod.deployment
                      and d.namespace == pod.namespace), None)
    else:
        entry = next((p for p in spec.pods if p.name == pod.name
                      and p.namespace == pod.namespace), None)
    policy = getattr(entry, "dns_policy", "ClusterFirst")
    config = getattr(entry, "dns_config", None)
    return pod_resolv_conf(pod.namespace, policy, bool(pod.host_network), config,
                           cluster_dns_ip=cluster_dns_ip,
                           host_search=tuple(getattr(spec, "host_search", ())))


class _Question(NamedTuple):
    """One DNS question: the name asked, the record type, and whether it exists."""

    fqdn: str
    qtype: str
    found: bool


def mix(node: int) -> int:
    """Which upstream a node's cache keeps its TCP connection to (stable per node)."""
    from kperf.services.balancer import mix64

    return mix64(node, 53)
