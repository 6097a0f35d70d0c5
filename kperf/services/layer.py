"""The engine-facing facade: connect through a Service, resolve names, churn endpoints.

A workload calls :meth:`ServiceLayer.connect` when it opens a connection to a
Service. The layer answers from the *client node's* point of view: that node's
(possibly stale) endpoint view picks the backend with the proxy mode's scheduler,
that node's conntrack table admits (or drops) the connection, and the first packet's
CPU cost (rule walk, NAT set-up, conntrack insert) comes back as ``extra_first_s``
for the engine to charge on the client's core. Established traffic pays
:meth:`ServiceLayer.established_extra_s` per message.

Choices kperf makes here (see also ``docs/services.md``):

* The KUBE-SERVICES order (iptables): kube-proxy iterates a Go map, so the order is
  random and is redrawn at every sync; by default each connection pays the expected
  walk over those orders, half the chain (``kube_services_order="expected"``), so a
  run does not hang on one draw. ``"shuffled"`` draws one random permutation per node
  for the whole run (kperf's behaviour before issue 19), ``"index"`` uses Service
  order.
* Hash modes pay their tables' lookups (sized by the cluster's data-plane counts,
  against the testbed's caches: :mod:`kperf.services.lookupcost`) on the first packet.
* eBPF (socket LB): the backend is chosen in ``connect()``; no per-packet NAT, no
  ``nf_conntrack`` entry (Cilium's own CT map is an LRU map that evicts instead of
  dropping), so a TCP connection's ``extra_first_s`` is the socket-LB work at
  ``connect()`` and its lookups; UDP datagrams pay the mode's base and lookups.
* A connection to an endpoint that no longer exists fails with ``churn_failure``:
  ``"refused"`` (an RST or ICMP unreachable comes back: no setup delay) or
  ``"timeout"`` (``connect_timeout_s``, default Linux's 127 s of SYN retries).
* Without a CoreDNS deployment in ``kube-system``, the layer simulates one (see
  :mod:`kperf.services.dns`); the cluster's own pod and Service lists are untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from kperf.services.balancer import Balancer
from kperf.services.churn import (
    EndpointViews,
    ProgrammingDelay,
    rolling_update_times,
    schedule_recreations,
)
from kperf.services.conntrack import (
    SYN_GIVE_UP_S,
    SYN_RETRY_OFFSETS_S,
    ConntrackTable,
    conntrack_max,
)
from kperf.services.proxycost import (
    ORDER_STYLES,
    established_us,
    expected_position,
    first_packet_parts,
    kube_services_order,
    resync_table,
    resync_times,
)

if TYPE_CHECKING:
    import pandas as pd

    from kperf.engine.sim import Simulation
    from kperf.services.dns import DnsSystem

Failure = Literal["conntrack-full", "refused", "timeout", "no-endpoints"]

COUNTER_NAMES: tuple[str, ...] = (
    "connections",
    "connections_failed",
    "drops",
    "syn_retries",
    "conntrack_full",
    "conntrack_inserts",
    "stale_failures",
    "no_endpoints",
    "recreations",
    "dns_lookups",
    "dns_queries",
    "dns_timeouts",
    "dns_failures",
    "dns_client_cache_hits",
    "dns_nodelocal_hits",
)

NODEPORT_COUNTER_NAMES: tuple[str, ...] = (
    "connections",
    "snat",
    "no_local_endpoint",
    "lb_connections",
    "lb_unreachable",
)
"""Counters of traffic from outside the cluster (:meth:`ServiceLayer.connect_node_port`,
summary columns ``svc_nodeport_<name>``): connections that reached a node's NodePort;
of them those sent on to an endpoint on another node, source-NATed (the extra hop of
``externalTrafficPolicy: Cluster``); those dropped because ``Local`` found no endpoint
on the node; connections through a load balancer's address; and those the load
balancer had no node for (MetalLB announcing nothing)."""

LB_SEED_KEY = 10_001
"""The random stream of load balancers' per-connection node choices."""


@dataclass
class Connection:
    """The outcome of opening a connection through a Service.

    ``backend``: the chosen endpoint pod (None when the connection failed).
    ``extra_first_s``: CPU seconds to add on the client node's core for the first
    packet (rule walk or lookups, NAT and conntrack set-up; for socket-LB eBPF TCP the
    work at connect()).
    ``setup_delay_s``: latency before the connection exists (SYN retransmits at 1 s,
    3 s... when conntrack was full; the connect timeout for a ``timeout`` failure).
    ``failed``: None, ``"conntrack-full"``, ``"refused"``, ``"timeout"`` or
    ``"no-endpoints"``.
    The other fields say how it was decided: the node whose view and conntrack table
    were used, the endpoint address the rules chose (``endpoint_ip``, the stale one
    for a churn failure), ``via_node``/``snat`` for NodePort traffic that takes an
    extra hop, and ``conntrack_key`` (what :meth:`close` moves to TIME_WAIT).
    """

    backend: Any | None
    extra_first_s: float
    setup_delay_s: float
    failed: str | None
    node: int = -1
    service_index: int = -1
    endpoint_ip: int = 0
    stale: bool = False
    via_node: int | None = None
    snat: bool = False
    conntrack_key: int = 0
    _layer: ServiceLayer | None = field(default=None, repr=False, compare=False)

    def close(self) -> None:
        """Close the connection: its conntrack entry goes to TIME_WAIT (120 s)."""
        if self._layer is not None:
            self._layer.close(self)


class ServiceLayer:
    """Services, conntrack, endpoint churn and DNS for one :class:`Simulation`."""

    def __init__(
        self,
        sim: Simulation,
        *,
        rng: np.random.Generator,
        churn_failure: Literal["refused", "timeout"] = "refused",
        scheduler: str | None = None,
        restore: Literal["full", "partial", "incremental"] | None = None,
        programming_delay: ProgrammingDelay | None = None,
        kube_services_order: Literal["expected", "shuffled", "index"] = "expected",
        connect_timeout_s: float = SYN_GIVE_UP_S,
        conntrack_entries: int | None = None,
        nodelocal_dns: bool = False,
        dns_client_cache: bool = False,
        dns_loss: float = 0.0,
    ) -> None:
        if churn_failure not in ("refused", "timeout"):
            raise ValueError(f"churn_failure {churn_failure!r}; allowed: refused, timeout")
        if kube_services_order not in ORDER_STYLES:
            raise ValueError(f"kube_services_order {kube_services_order!r}; allowed: "
                             f"{', '.join(ORDER_STYLES)}")
        self.sim = sim
        self.cluster = sim.cluster
        self.mode = self.cluster.proxy
        self.rng = rng
        self.churn_failure = churn_failure
        self.connect_timeout_s = connect_timeout_s
        self.speed = float(sim.testbed.cpu_speed_factor)
        self.cores = int(sim.testbed.cores_per_node)
        self.conntrack_entries = conntrack_entries or conntrack_max(self.cores)
        self.order_style = kube_services_order
        self.testbed = sim.testbed
        self._first_cost_s: dict[tuple[float, int, bool], float] = {}
        self.counters: dict[str, int] = dict.fromkeys(COUNTER_NAMES, 0)
        self.nodeport_counters: dict[str, int] = dict.fromkeys(NODEPORT_COUNTER_NAMES, 0)
        self._entry: Any = None  # the load balancer's EntryChooser, on first use
        self._nodeports: list[int] | None = None
        self.failures: list[tuple[float, int, int, str]] = []
        """(time, node, Service index, reason) of each failed connection (first 100 k)."""
        self.scheduler = scheduler or self.mode.schedulers[0]
        self.balancer = Balancer(self.scheduler, rng, cascade=self.mode.lookup == "linear")
        self.uses_conntrack = not self.mode.socket_lb
        self._tables: dict[int, ConntrackTable] = {}
        self._positions: dict[int, np.ndarray] = {}
        self._synthetic_pods: dict[int, Any] = {}
        self._serial = 0
        self._port = 32_768  # net.ipv4.ip_local_port_range starts here
        # DNS first: it may add a simulated kube-dns Service (and so one more Service)
        from kperf.services.dns import DnsSystem

        self.dns: DnsSystem = DnsSystem(self, nodelocal=nodelocal_dns,
                                        client_cache=dns_client_cache, loss=dns_loss)
        self.services: list[Any] = list(self.cluster.services)
        if self.dns.service.index >= len(self.services):
            self.services.append(self.dns.service)
        from kperf.cluster.dataplane import proxy_entries

        self.proxy_counts: dict[str, int] = proxy_entries(self.cluster)
        """The data-plane counts that size the proxy's rules and tables (every node)."""
        self._by_pod: dict[int, list[Any]] = {}
        for s in self.services:
            for u in s.endpoints:
                self._by_pod.setdefault(u, []).append(s)
        if programming_delay is None:
            seed = int(rng.integers(2**62))
            counts = self._resync_counts()
            programming_delay = ProgrammingDelay.for_mode(self.mode, counts, restore=restore,
                                                          seed=seed)
        self.programming_delay = programming_delay
        # a Service's history starts when the layer first looks at it (a connection,
        # or a recreation of one of its pods, recorded before the change)
        self.views = EndpointViews(programming_delay, self._pod_ip)

    # -- lookups -----------------------------------------------------------------------
    def pod(self, uid: int) -> Any:
        """The current pod record for ``uid`` (cluster pods and simulated CoreDNS pods)."""
        p = self._synthetic_pods.get(uid)
        return p if p is not None else self.cluster.pods[uid]

    def _pod_ip(self, uid: int) -> int | None:
        p = self._synthetic_pods.get(uid)
        if p is not None:
            return int(p.ip)
        pods = self.cluster.pods
        return int(pods[uid].ip) if 0 <= uid < len(pods) else None

    def add_synthetic_pod(self, pod: Any) -> None:
        """Register a pod the layer simulates outside the cluster's list (CoreDNS)."""
        self._synthetic_pods[pod.uid] = pod

    def conntrack(self, node: int) -> ConntrackTable:
        """Node ``node``'s conntrack table (created on first use)."""
        t = self._tables.get(node)
        if t is None:
            t = ConntrackTable(self.conntrack_entries, f"node-{node + 1} conntrack")
            self._tables[node] = t
        return t

    def conntrack_peaks(self) -> dict[int, int]:
        """Per node (that has a table): the most conntrack entries held at once."""
        return {node: t.peak for node, t in sorted(self._tables.items())}

    def position(self, node: int, service_index: int) -> float:
        """The Service's place in ``node``'s KUBE-SERVICES chain (0-based; the expected
        place, (S - 1)/2, by default)."""
        if self.order_style == "expected":
            return expected_position(len(self.services))
        if self.order_style == "index":
            return service_index
        pos = self._positions.get(node)
        if pos is None:
            pos = kube_services_order(len(self.services), self.rng)
            self._positions[node] = pos
        return int(pos[service_index])

    def first_packet_s(self, position: float, svc_rules: int = 1,
                       socket_lb: bool = False) -> float:
        """CPU seconds (on this testbed) of a new connection's proxy work: the sum of
        :func:`~kperf.services.proxycost.first_packet_parts` (memoised)."""
        key = (position, svc_rules, socket_lb)
        cost = self._first_cost_s.get(key)
        if cost is None:
            parts = first_packet_parts(self.mode, self.testbed, self.proxy_counts,
                                       services=len(self.services), position=position,
                                       svc_rules=svc_rules, socket_lb=socket_lb)
            cost = self._first_cost_s[key] = sum(p.us for p in parts) * 1e-6
        return cost

    def _resync_counts(self) -> Any:
        counts = self.proxy_counts
        col = {"iptables": "iptables_rules", "nftables": "nft_elements",
               "ebpf": "ebpf_map_entries"}.get(self.mode.name)
        entries = (counts["ipvs_virtual_servers"] + counts["ipvs_real_servers"]
                   if col is None else counts[col])
        changed = max((len(s.endpoints) for s in self.cluster.services), default=1)
        return resync_times(self.mode, entries=int(entries),
                            kube_services_rules=int(counts["kube_services_rules"]),
                            changed_endpoints=changed)

    def resync_table(self) -> pd.DataFrame:
        """Per node: proxy entries and full / partial / incremental resync seconds."""
        return resync_table(self.cluster, self.cores)

    # -- connections -------------------------------------------------------------------
    def established_extra_s(self, service: Any) -> float:
        """CPU seconds per message of established traffic through ``service`` on the
        client's core (a conntrack hit and NAT); independent of the Service count."""
        return established_us(self.mode) * 1e-6 / self.speed

    def connect(
        self,
        client: Any,
        service: Any,
        *,
        new_connection: bool = True,
        client_port: int = 0,
    ) -> Connection:
        """Open a connection from pod ``client`` to ``service`` now (see the class docs).

        ``new_connection=False`` means the connection already existed (opened before the
        measurement): a backend is chosen and its conntrack entry recorded, at no cost.
        """
        udp = getattr(service, "protocol", "TCP") == "UDP"
        return self._connect(client, service, client.node, new_connection, client_port, udp)

    def connect_udp(self, client: Any, service: Any, *, client_port: int = 0) -> Connection:
        """A UDP flow (one conntrack entry, 30 s) from ``client`` to ``service``."""
        return self._connect(client, service, client.node, True, client_port, True)

    def connect_node_port(
        self, src: Any, service: Any, via_node: int, *, client_port: int = 0
    ) -> Connection:
        """Traffic from ``src`` (a pod, an int node index, or a host outside the
        cluster) to ``service``'s NodePort on ``via_node``, decided by ``via_node``'s
        kube-proxy (its endpoint view, its conntrack table).

        ``externalTrafficPolicy: Cluster``: any endpoint; one on another node costs an
        extra hop ``via_node`` → backend with SNAT (``via_node`` and ``snat`` set:
        send ``src`` → ``via_node``, then ``via_node`` → backend with
        ``extra_first_s``). ``Local``: only endpoints on ``via_node``, client address
        kept; none there → ``no-endpoints`` (kube-proxy drops the traffic; counted in
        ``nodeport_counters["no_local_endpoint"]`` when the Service has endpoints
        elsewhere). The first packet pays the NodePort rule walk (all of
        KUBE-SERVICES, then KUBE-NODEPORTS); in eBPF mode it pays the base cost (the
        node's tc program translates external traffic: socket LB serves only the
        node's own pods).
        """
        if getattr(service, "node_port", None) is None:
            raise ValueError(f"Service {service.name} has no NodePort")
        local = getattr(service, "external_traffic_policy", "Cluster") == "Local"
        np_counters = self.nodeport_counters
        np_counters["connections"] += 1
        conn = self._connect(src, service, via_node, True, client_port,
                             getattr(service, "protocol", "TCP") == "UDP",
                             node_port=True, local_only=local)
        if conn.backend is not None and not local and conn.backend.node != via_node:
            conn.via_node = via_node
            conn.snat = True
            np_counters["snat"] += 1
        elif local and conn.failed == "no-endpoints" and service.endpoints:
            np_counters["no_local_endpoint"] += 1
        return conn

    def load_balancer_entry(self, service: Any) -> int | None:
        """The node a new connection to ``service``'s load balancer address enters at
        (the cluster's load balancer profile picks it, see
        :mod:`kperf.services.external`), or None when it has none to send to (counted
        in ``nodeport_counters["lb_unreachable"]``)."""
        chooser = self.entry_chooser()
        self.nodeport_counters["lb_connections"] += 1
        node = chooser.pick(service)
        if node is None:
            self.nodeport_counters["lb_unreachable"] += 1
            self._fail(self.sim.now, -1, service.index, "no-endpoints")
        return node

    def entry_chooser(self) -> Any:
        """The cluster's load balancer (an :class:`~kperf.services.external.EntryChooser`)."""
        if self._entry is None:
            from kperf.profiles import get_load_balancer
            from kperf.services.external import EntryChooser

            profile = get_load_balancer(getattr(self.cluster.spec, "load_balancer",
                                                "cloud-l4"))
            self._entry = EntryChooser(self.cluster, profile, self.sim.rng(LB_SEED_KEY))
        return self._entry

    def _next_key(self) -> int:
        self._serial += 1
        return self._serial

    def _fail(self, now: float, node: int, svc: int, reason: str) -> None:
        self.counters["connections_failed"] += 1
        if len(self.failures) < 100_000:
            self.failures.append((now, node, svc, reason))

    def _connect(
        self,
        client: Any,
        service: Any,
        node: int,
        new_connection: bool,
        client_port: int,
        udp: bool,
        *,
        node_port: bool = False,
        local_only: bool = False,
    ) -> Connection:
        c = self.counters
        now = self.sim.now
        c["connections"] += 1
        self.views.sync(service, now)
        eps = self.views.view(service.index, node, now)
        if local_only:
            eps = tuple(e for e in eps if self._ep_node(e) == node)
        if not eps:
            c["no_endpoints"] += 1
            self._fail(now, node, service.index, "no-endpoints")
            return Connection(None, 0.0, 0.0, "no-endpoints", node, service.index,
                              _layer=self)
        key = self._next_key()
        delay = 0.0
        table = self.conntrack(node) if self.uses_conntrack else None
        if table is not None and new_connection and not table.fits_at(now, now):
            c["drops"] += 1
            table.drops += 1
            admitted = False
            if not udp:
                for off in SYN_RETRY_OFFSETS_S:
                    c["syn_retries"] += 1
                    if table.fits_at(now, now + off):
                        delay, admitted = off, True
                        break
                    c["drops"] += 1
                    table.drops += 1
            if not admitted:
                c["conntrack_full"] += 1
                self._fail(now, node, service.index, "conntrack-full")
                return Connection(None, 0.0, 0.0 if udp else SYN_GIVE_UP_S,
                                  "conntrack-full", node, service.index, _layer=self)
        port = client_port or self._ephemeral_port()
        client_ip = int(getattr(client, "ip", 0)) if not isinstance(client, int) else (
            int(self.cluster.nodes[client].ip))
        choice = self.balancer.choose(
            node, service.index, eps, client_ip=client_ip, client_port=port,
            now=now + delay, affinity=getattr(service, "session_affinity", "None") == "ClientIP",
        )
        ep = eps[choice.index]
        cost = 0.0
        # socket LB translates at connect() for the node's own pods; traffic from a
        # NodePort goes through the node's tc program and pays the base cost
        if new_connection:
            position = self._nodeport_position(service) if node_port else self.position(
                node, service.index)
            cost = self.first_packet_s(position, choice.rules_walked,
                                       self.mode.socket_lb and not udp and not node_port)
        if table is not None:
            state = "udp" if udp else "established"
            if not self.views.is_live(ep):
                state = "udp" if udp else "syn_sent"
            table.insert(key, state, now, at=now + delay)
            c["conntrack_inserts"] += 1
        if not self.views.is_live(ep):
            c["stale_failures"] += 1
            reason = self.churn_failure
            self._fail(now + delay, node, service.index, reason)
            setup = delay + (0.0 if reason == "refused" else self.connect_timeout_s)
            self.balancer.release(node, service.index, ep)
            return Connection(None, cost, setup, reason, node, service.index, ep[1], True,
                              conntrack_key=key, _layer=self)
        return Connection(self.pod(ep[0]), cost, delay, None, node, service.index, ep[1],
                          conntrack_key=key if table is not None else 0, _layer=self)

    def _ep_node(self, ep: tuple[int, int]) -> int:
        return int(self.pod(ep[0]).node)

    def _nodeport_position(self, service: Any) -> int:
        """NodePort traffic matches no ClusterIP rule: it walks all of KUBE-SERVICES and
        then KUBE-NODEPORTS (one rule per NodePort Service) up to its own."""
        nps = self._nodeports
        if nps is None:
            nps = self._nodeports = [s.index for s in self.services
                                     if getattr(s, "node_port", None) is not None]
        extra = nps.index(service.index) if service.index in nps else 0
        per = self.mode.rules_per_service or 1.0
        return len(self.services) + int(extra / per)

    def _ephemeral_port(self) -> int:
        self._port = 32_768 + (self._port - 32_768 + 1) % (60_999 - 32_768 + 1)
        return self._port

    def close(self, conn: Connection) -> None:
        """The connection ends: its conntrack entry moves to TIME_WAIT (120 s) and the
        least-connection count of its backend drops."""
        if conn.conntrack_key and conn.node >= 0 and self.uses_conntrack:
            self.conntrack(conn.node).set_state(conn.conntrack_key, "time_wait", self.sim.now)
        if conn.backend is not None and conn.service_index >= 0:
            self.balancer.release(conn.node, conn.service_index,
                                  (conn.backend.uid, conn.endpoint_ip))

    # -- DNS ---------------------------------------------------------------------------
    def resolve(self, client: Any, name: str, on_done: Callable[[float, int, bool], None]
                ) -> None:
        """Resolve ``name`` from pod ``client`` over the engine; ``on_done(t, queries,
        ok)`` when the resolver returns (see :mod:`kperf.services.dns`)."""
        self.dns.resolve(client, name, on_done)

    # -- churn -------------------------------------------------------------------------
    def _recreate(self, pod: Any) -> None:
        current = self.pod(pod.uid)
        if pod.uid in self._synthetic_pods:
            self.counters["recreations"] += 1  # host-network: same IP, nothing changes
            return
        now = self.sim.now
        affected = self._by_pod.get(pod.uid, ())
        for s in affected:
            self.views.sync(s, now)  # the state before, if this Service is new to us
        self.cluster.recreate_pod(current)
        self.counters["recreations"] += 1
        for s in affected:
            self.views.sync(s, now)

    def _deployment_pods(self, deployment: str) -> list[Any]:
        name = deployment.split("/")[-1]
        ns = deployment.split("/")[0] if "/" in deployment else None
        pods = [p for p in self.cluster.pods if p.deployment == name
                and (ns is None or p.namespace == ns)]
        if not pods:
            pods = [p for p in self._synthetic_pods.values() if p.deployment == name]
        if not pods:
            names = sorted({p.deployment for p in self.cluster.pods if p.deployment})
            raise KeyError(f"unknown deployment {deployment!r}; allowed: {', '.join(names)}")
        return sorted(pods, key=lambda p: p.uid)

    def rolling_update(self, deployment: str, start_s: float, interval_s: float) -> None:
        """Recreate each pod of ``deployment`` in turn, ``interval_s`` apart from
        ``start_s``: each gets a new IP, every node learns after its programming delay."""
        pods = self._deployment_pods(deployment)
        times = rolling_update_times(len(pods), start_s, interval_s)
        schedule_recreations(self.sim.at, pods, times, self._recreate)

    def crash_loop(self, pod: Any, start_s: float, period_s: float, count: int) -> None:
        """Recreate ``pod`` ``count`` times, ``period_s`` apart (a crash-looping pod that
        restarts with a new sandbox and IP)."""
        times = [start_s + k * period_s for k in range(count)]
        schedule_recreations(self.sim.at, [pod] * count, times, self._recreate)

    def drain_node(self, node: int, at_s: float, interval_s: float = 0.0) -> None:
        """Evict every pod of node ``node`` from ``at_s``, ``interval_s`` apart. kperf's
        cluster recreates a pod on its own node (new IP); the effect on Services — an
        old address gone, a new one to learn — is the same as moving it."""
        pods = [p for p in self.cluster.pods if p.node == node and not p.host_network]
        times = [at_s + k * interval_s for k in range(len(pods))]
        schedule_recreations(self.sim.at, pods, times, self._recreate)

    def stale_windows(self, service: Any, node: int) -> list[tuple[float, float]]:
        """``[change, programmed)`` intervals of ``node`` for ``service`` so far."""
        return self.views.stale_windows(service.index, node)
