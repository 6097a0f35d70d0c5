"""Building paths from a cluster, a testbed and the CNI profile, with a cache.

Which software stages a side runs:

* loopback (two containers of one pod): the host stack on one core, once
  (``lo`` has no veth, bridge or NIC); MTU 65536 as Linux gives ``lo``.
* pod endpoint: host stack + the CNI's per-side stages (veth, bridge or eBPF
  redirect, netfilter); host-network endpoint: host stack only.
* cross-node with a pod at either end under an overlay mode: + the overlay stages
  (encapsulation, crypto) and the overlay header on every packet. Node-to-node
  traffic never enters the tunnel. Crypto stages named in the testbed's
  ``crypto_speed_factors`` are divided by that factor too (per-cipher kernel speed).

Cross-node hops: sender core → NIC transmit queue → (link, switch latency) → [leaf
uplink → spine port, when the nodes sit in different racks] → switch port towards the
destination node → (link) → receiver softirq core.

Traffic from outside the cluster (:meth:`PathTable.external`, a host of a
``placement: external`` deployment to a Service's NodePort) enters a node, the
*entry node*, through its NIC:

* the client host runs the host stack only (no veth, no CNI): its own tx core and
  NIC; on the node network its packets cross the switch as node-to-node traffic
  does; behind a router they cross one more store-and-forward hop (kind ``router``)
  with the router's forwarding latency; a cloud load balancer adds its own hop
  (kind ``lb``, :class:`~kperf.datapath.path.LbHop`);
* external traffic is not encapsulated: it arrives at the node's address;
* endpoint on the entry node (``externalTrafficPolicy: Local``, or ``Cluster`` when
  the pick is local): the entry node's receive core runs the host stack and the
  CNI's receive stages into the pod, exactly the last hop of a node-to-pod path;
* endpoint on another node (``Cluster``): the entry node *relays* the packet: its
  receive core runs the host stack's per-segment work (driver, GRO, IP), its
  transmit core the host stack's per-segment transmit work (IP output, qdisc,
  driver) and the overlay's stages; a relayed packet never reaches a socket, so the
  per-message (syscall, wakeup) and per-byte (copy) stages are not paid. From the
  entry node's NIC on, the path is the ordinary node-to-pod path from the entry
  node to the pod (overlay where the CNI has one). Every hop of that second hop
  counts under category ``extra-hop`` (its stages keep their own costs);
* back: the pod's reply retraces the way (to the entry node, which undoes the NAT),
  then from the entry node to the client, past the load balancer device only when
  it does not return directly;
* the Service's proxy costs (NodePort rule walk, DNAT, SNAT) are charged on the
  entry node's first core on the way (``Path.proxy_hop``), not on the client's.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from kperf.datapath.conntrack import (
    KUBE_PROXY_MODES,
    connection_costs_us,
    in_cluster,
    node_of,
)
from kperf.datapath.mesh import mesh_hops
from kperf.datapath.path import (
    CpuHop,
    CpuWork,
    Hop,
    LbHop,
    Path,
    PathKind,
    RelabelledCpuHop,
    RelabelledWireHop,
    WireHop,
    is_pod,
)
from kperf.datapath.segmentation import TCP_TIMESTAMP_OPTION_BYTES, Segmentation
from kperf.profiles.base import Category, CniProfile, StageCost, Testbed
from kperf.profiles.loadbalancers import LoadBalancerProfile

EXTRA_HOP: Category = "extra-hop"
"""The category every stage of NodePort traffic's second hop counts under."""

LB_RESOURCES_PER_SERVICE = 64
"""Resource indices ``("lb", i)`` reserved per Service: forwarders one way, then back."""

LOOPBACK_MTU_BYTES = 65536


class _PodLike(Protocol):
    uid: int
    node: int
    host_network: bool


Endpoint = Any  # a cluster Pod, or an int node index for host networking


def _side(
    testbed: Testbed,
    cni: CniProfile,
    tx: bool,
    pod: bool,
    overlay: bool,
    between: tuple[StageCost, ...] = (),
) -> tuple[StageCost, ...]:
    """One side's stages in order: the host stack, the pod's CNI stages, ``between``
    (a Service's hairpin: after the pod's stages, before encapsulation), the overlay."""
    host = testbed.host_tx if tx else testbed.host_rx
    parts: tuple[StageCost, ...] = tuple(host)
    if pod:
        parts += tuple(cni.tx if tx else cni.rx)
    parts += between
    if overlay:
        parts += tuple(cni.tx_overlay if tx else cni.rx_overlay)
    return parts


def relayed(stages: tuple[StageCost, ...]) -> tuple[StageCost, ...]:
    """The host stack ``stages`` a node pays to forward a packet it does not terminate:
    their per-segment and per-packet work (driver, GRO, IP, qdisc), without the
    per-message (syscall, wakeup) and per-byte (copy to or from a socket) work, which
    belong to a socket the packet never reaches. Stages with nothing left are dropped."""
    out = []
    for st in stages:
        if st.per_segment_us or st.per_packet_us:
            out.append(st.model_copy(update={"per_message_us": 0.0, "per_byte_ns": 0.0}))
    return tuple(out)


def _scaled(stage: StageCost, k: float) -> StageCost:
    """``stage`` with every cost multiplied by ``k``."""
    return stage.model_copy(update={
        "per_message_us": stage.per_message_us * k,
        "per_segment_us": stage.per_segment_us * k,
        "per_packet_us": stage.per_packet_us * k,
        "per_byte_ns": stage.per_byte_ns * k,
    })


class PathTable:
    """Computes and caches paths for one cluster on one testbed.

    ``cluster`` needs ``cni`` (CniProfile), ``nodes`` (a sequence), ``spec.pod_mtu_bytes``
    and ``route(src_pod, dst_pod)``; endpoints are pods (with ``uid``, ``node``,
    ``host_network``) or node indices.
    """

    def __init__(self, cluster: Any, testbed: Testbed) -> None:
        self.cluster = cluster
        self.testbed = testbed
        self.cni: CniProfile = cluster.cni
        n = len(cluster.nodes)
        self.n_nodes = n
        racks = min(testbed.racks, n)
        self.racks = racks
        self.nodes_per_rack = -(-n // racks)
        self._cache: dict[tuple[int, int, str], Path] = {}
        self._cpu_cache: dict[tuple[bool, bool, bool], CpuWork] = {}
        self._conn_costs_s: dict[tuple[bool, ...], tuple[float, float]] = {}
        # the pod network's hops and segmentations, built once each (frozen values,
        # shared by every path that has them: a cluster's paths are mostly distinct
        # node pairs, each made of the same few per-node hops)
        self._hops: dict[tuple[object, ...], Hop] = {}
        self._segs: dict[tuple[int, int, bool, bool], Segmentation] = {}
        self._loopback_cpu: CpuWork | None = None
        pod_mtu = getattr(cluster.spec, "pod_mtu_bytes", None)
        self.pod_mtu_bytes = pod_mtu or (testbed.mtu_bytes - self.cni.mtu_overhead_bytes)
        encap = self.cni.encapsulation != "none"
        self.overlay_offload = testbed.tso and (not encap or (self.cni.tunnel_offload
                                                              and testbed.tunnel_offload))
        spec = cluster.spec
        self.mesh = getattr(spec, "mesh", None)
        """The cluster's service mesh (``ClusterSpec.mesh``; None or mode none: no mesh)."""
        deployments = getattr(spec, "deployments", ())
        self._mesh_opted_out = frozenset(d.name for d in deployments
                                         if not getattr(d, "mesh", True))
        self._deployment_index = {d.name: i for i, d in enumerate(deployments)}

    # -- helpers -------------------------------------------------------------------
    def rack_of(self, node: int) -> int:
        return node // self.nodes_per_rack

    @property
    def uplink_rate_bps(self) -> float:
        tb = self.testbed
        return self.nodes_per_rack * tb.nic_rate_gbps * 1e9 / tb.oversubscription

    def _cpu(self, components: tuple[StageCost, ...]) -> CpuWork:
        factors = self.testbed.crypto_speed_factors
        if factors:  # a cipher this testbed runs faster (or slower) than the reference
            components = tuple(
                _scaled(c, 1.0 / factors[c.name])
                if c.category == "crypto" and c.name in factors else c
                for c in components
            )
        return CpuWork(components, self.testbed.cpu_speed_factor)

    def _side_cpu(self, tx: bool, pod: bool, overlay: bool) -> CpuWork:
        """The CPU work of one side, built once per (direction, pod, overlay)."""
        key = (tx, pod, overlay)
        work = self._cpu_cache.get(key)
        if work is None:
            work = self._cpu_cache[key] = self._cpu(
                _side(self.testbed, self.cni, tx, pod, overlay))
        return work

    def _seg(self, mtu: int, encap_bytes: int, offload: bool, udp: bool) -> Segmentation:
        key = (mtu, encap_bytes, offload, udp)
        seg = self._segs.get(key)
        if seg is None:
            tb = self.testbed
            options = TCP_TIMESTAMP_OPTION_BYTES if tb.tcp_timestamps and not udp else 0
            seg = self._segs[key] = Segmentation(mtu, encap_bytes, offload, tb.gso_max_bytes,
                                                 udp, options)
        return seg

    def _core_hop(self, node: int, tx: bool, pod: bool, overlay: bool) -> Hop:
        """A pod-network path's transmit (``tx``) or receive core hop on ``node``
        (built once per node, direction, pod end and overlay)."""
        key = ("cpu", node, tx, pod, overlay)
        hop = self._hops.get(key)
        if hop is None:
            hop = self._hops[key] = CpuHop(
                name=f"node-{node + 1} {'tx' if tx else 'rx'} core", resource=("cpu", node),
                category="stack", cpu=self._side_cpu(tx, pod, overlay), rx=not tx)
        return hop

    def _wire_hop(self, kind: str, index: int, udp: bool = False) -> Hop:
        """A pod-network path's serializer (built once per kind, index and udp): a
        node's NIC (``nic``), a rack's uplink (``uplink``), the spine's port to a rack
        (``spine``), the switch's port to a node (``port``)."""
        key = (kind, index, udp)
        hop = self._hops.get(key)
        if hop is None:
            tb = self.testbed
            rate = tb.nic_rate_gbps * 1e9
            link_s = tb.link_delay_us * 1e-6
            sw_s = tb.switch_latency_us * 1e-6
            if kind == "nic":
                hop = WireHop(name=f"node-{index + 1} NIC tx", kind="nic",
                              resource=("nic", index), category="wire", rate_bps=rate,
                              delay_after_s=link_s + sw_s, backpressure=not udp)
            elif kind == "uplink":
                hop = WireHop(name=f"rack-{index + 1} uplink", kind="uplink",
                              resource=("uplink", index), category="wire",
                              rate_bps=self.uplink_rate_bps, pipelined=True,
                              delay_after_s=link_s + sw_s)
            elif kind == "spine":
                hop = WireHop(name=f"spine port to rack-{index + 1}", kind="uplink",
                              resource=("spine", index), category="wire",
                              rate_bps=self.uplink_rate_bps, pipelined=True,
                              delay_after_s=link_s + sw_s)
            else:
                hop = WireHop(name=f"switch port to node-{index + 1}", kind="port",
                              resource=("port", index), category="wire", rate_bps=rate,
                              pipelined=True, delay_after_s=link_s)
            self._hops[key] = hop
        return hop

    def loopback_cpu(self) -> CpuWork:
        """The host stack's transmit and receive stages on one core: a crossing of the
        loopback device (what the loopback path's one hop runs)."""
        work = self._loopback_cpu
        if work is None:
            work = self._loopback_cpu = self._cpu(tuple(self.testbed.host_tx)
                                                  + tuple(self.testbed.host_rx))
        return work

    @property
    def meshed_cluster(self) -> bool:
        """Whether the cluster runs a service mesh (``mesh.mode`` other than none)."""
        return self.mesh is not None and self.mesh.enabled

    def meshed(self, base: Path, src: Endpoint, dst: Endpoint, reverse: bool = False) -> Path:
        """``base``, a path of a request/response connection from ``src`` to ``dst``
        (``reverse``: the responses, ``src`` being the server), through the service
        mesh's proxies (:mod:`kperf.datapath.mesh`); ``base`` itself without a mesh.
        Cached per pod pair, direction and base path."""
        if not self.meshed_cluster or isinstance(src, int) or isinstance(dst, int):
            return base
        key = (base.src_node, base.dst_node,
               f"mesh|{src.uid}.{getattr(src, 'generation', 0)}|"
               f"{dst.uid}.{getattr(dst, 'generation', 0)}|{reverse}|{base.signature}")
        p = self._cache.get(key)
        if p is None:
            p = self._cache[key] = mesh_hops(
                self, self.mesh, self._mesh_opted_out, self._deployment_index,
                self.testbed.cpu_speed_factor, base, src, dst, reverse)
        return p

    def pod_leg(self, src_node: int, dst_node: int) -> Path:
        """The pod network's TCP path from a pod on ``src_node`` to a pod on
        ``dst_node`` (same-node or cross-node, as :meth:`path` builds for two pods
        there): a leg to or from a service mesh's waypoint pod
        (:mod:`kperf.datapath.waypoint`), which is no pod of the cluster's. Cached."""
        kind: PathKind = "same-node" if src_node == dst_node else "cross-node"
        key = (src_node, dst_node, f"pod-leg|{kind}")
        p = self._cache.get(key)
        if p is None:
            p = self._cache[key] = self._build(kind, src_node, dst_node, kind, True, True,
                                               False)
        return p

    # -- public --------------------------------------------------------------------
    def classify(self, src: Endpoint, dst: Endpoint) -> tuple[PathKind, int, int, str]:
        """(kind, src node, dst node, route) for two endpoints."""
        src_pod, dst_pod = is_pod(src), is_pod(dst)
        sn = src if isinstance(src, int) else src.node
        dn = dst if isinstance(dst, int) else dst.node
        if src_pod and dst_pod:
            route = self.cluster.route(src, dst)
            if route == "loopback":
                return "loopback", sn, dn, route
            if route == "same-node":
                return "same-node", sn, dn, route
            return "cross-node", sn, dn, route
        if src_pod:
            return ("same-node" if sn == dn else "pod-to-node"), sn, dn, "host"
        if dst_pod:
            return ("same-node" if sn == dn else "node-to-pod"), sn, dn, "host"
        return ("loopback" if sn == dn else "node-to-node"), sn, dn, "host"

    def path(self, src: Endpoint, dst: Endpoint, udp: bool = False) -> Path:
        """The path from ``src`` to ``dst`` (cached per node pair and kind)."""
        kind, sn, dn, route = self.classify(src, dst)
        src_pod, dst_pod = is_pod(src), is_pod(dst)
        key = (sn, dn, f"{kind}|{route}|{int(src_pod)}{int(dst_pod)}|{int(udp)}")
        p = self._cache.get(key)
        if p is None:
            p = self._build(kind, sn, dn, route, src_pod, dst_pod, udp)
            self._cache[key] = p
        return p

    def hairpins(self, client: Endpoint) -> bool:
        """Whether ``client``'s packets to a ClusterIP leave the CNI's datapath for the
        host's kube-proxy and come back (``CniProfile.service_hairpin``): a pod client,
        such a CNI, and kube-proxy (not an eBPF replacement) implementing Services."""
        return (bool(self.cni.service_hairpin) and is_pod(client)
                and self.cluster.spec.proxy in KUBE_PROXY_MODES)

    def service_path(self, src: Endpoint, dst: Endpoint, udp: bool = False,
                     reverse: bool = False) -> Path:
        """The path of a connection from pod ``src`` through a ClusterIP to its endpoint
        ``dst`` (``reverse``: the replies, from ``dst`` back to ``src``). The pod path,
        unless the CNI hands Service packets to the host for kube-proxy
        (``CniProfile.service_hairpin``): then the client node's core pays those stages
        too, on transmit (requests) or on receive (replies)."""
        fwd = self.path(dst, src, udp) if reverse else self.path(src, dst, udp)
        if not self.hairpins(src) or fwd.unreachable or fwd.kind == "loopback":
            return fwd
        key = (fwd.src_node, fwd.dst_node, f"hairpin|{reverse}|{fwd.signature}")
        p = self._cache.get(key)
        if p is None:
            hops = list(fwd.hops)
            at = len(hops) - 1 if reverse else 0  # the client node's receive / send core
            hop = hops[at]
            assert isinstance(hop, CpuHop)
            # the NAT happens before encapsulation (after decapsulation on the way back)
            side = _side(self.testbed, self.cni, not reverse, True, fwd.overlay,
                         between=tuple(self.cni.service_hairpin))
            hops[at] = CpuHop(name=hop.name, resource=hop.resource, category=hop.category,
                              cpu=self._cpu(side), rx=hop.rx)
            p = self._cache[key] = dataclasses.replace(
                fwd, hops=tuple(hops), signature=(*fwd.signature, "hairpin", reverse))
        return p

    def connection_costs_s(self, client: Endpoint, server: Endpoint) -> tuple[float, float]:
        """CPU seconds (on this testbed) a new TCP connection costs the client (with its
        SYN) and the server (with its SYN-ACK):
        :func:`kperf.datapath.conntrack.connection_costs_us`, memoised by all it depends
        on (which ends are pods, which are in the cluster, whether they share a node), as
        every new connection asks."""
        key = (is_pod(client), is_pod(server), in_cluster(self.cluster, client),
               in_cluster(self.cluster, server), node_of(client) == node_of(server))
        costs = self._conn_costs_s.get(key)
        if costs is None:
            connect_us, accept_us = connection_costs_us(self.cluster, self.testbed, client,
                                                        server)
            k = 1e-6 / self.testbed.cpu_speed_factor
            costs = self._conn_costs_s[key] = (connect_us * k, accept_us * k)
        return costs

    def hairpin_paths(self, client: Endpoint, backend: Endpoint,
                      udp: bool = False) -> tuple[Path, Path] | None:
        """The request and reply paths of ``client``'s connection through a ClusterIP to
        ``backend`` when the CNI hairpins Service packets (:meth:`service_path`); None
        when they are the pod paths (callers then keep their usual paths)."""
        if not self.hairpins(client):
            return None
        return (self.service_path(client, backend, udp),
                self.service_path(client, backend, udp, reverse=True))

    def _build(
        self, kind: PathKind, sn: int, dn: int, route: str, src_pod: bool, dst_pod: bool,
        udp: bool,
    ) -> Path:
        tb, cni = self.testbed, self.cni
        if route == "unreachable":
            seg = self._seg(self.pod_mtu_bytes, 0, False, udp)
            return Path(kind, sn, dn, seg, (), unreachable=True,
                        reason=f"no route from node {sn} to the pod range of node {dn} "
                               f"(CNI {cni.name})")
        if kind == "loopback":
            seg = self._seg(LOOPBACK_MTU_BYTES, 0, True, udp)
            host = tuple(tb.host_tx) + tuple(tb.host_rx)
            hop = CpuHop(name=f"node-{sn + 1} loopback stack", resource=("cpu", sn),
                         category="stack", cpu=self._cpu(host))
            return Path(kind, sn, dn, seg, (hop,), signature=(kind, udp))
        any_pod = src_pod or dst_pod
        if kind == "same-node":
            mtu = self.pod_mtu_bytes if any_pod else tb.mtu_bytes
            seg = self._seg(mtu, 0, tb.tso, udp)
            local = (self._core_hop(sn, True, src_pod, False),
                     self._core_hop(dn, False, dst_pod, False))
            return Path(kind, sn, dn, seg, local, signature=(kind, src_pod, dst_pod, udp))
        overlay = any_pod and cni.is_overlay
        encap = cni.encap_bytes if overlay else 0
        mtu = self.pod_mtu_bytes if any_pod else tb.mtu_bytes
        offload = self.overlay_offload if overlay else tb.tso
        seg = self._seg(mtu, encap, offload, udp)
        rs, rd = self.rack_of(sn), self.rack_of(dn)
        # across racks: the source rack's uplink and the spine's port to the other rack
        fabric = ((self._wire_hop("uplink", rs), self._wire_hop("spine", rd))
                  if rs != rd else ())
        hops: tuple[Hop, ...] = (
            self._core_hop(sn, True, src_pod, overlay), self._wire_hop("nic", sn, udp),
            *fabric, self._wire_hop("port", dn), self._core_hop(dn, False, dst_pod, overlay))
        signature = (kind, src_pod, dst_pod, udp, overlay, rs != rd)
        return Path(kind, sn, dn, seg, hops, overlay=overlay, signature=signature)

    # -- traffic from outside the cluster --------------------------------------------
    def external(
        self,
        host: Any,
        entry: int,
        pod: Any,
        *,
        inbound: bool = True,
        udp: bool = False,
        lb: LoadBalancerProfile | None = None,
        service_index: int = 0,
        router_latency_us: float | None = None,
    ) -> Path:
        """The path between external ``host`` and ``pod`` through the NodePort of node
        ``entry`` (``inbound``: host to pod; else pod to host), past the load balancer
        device ``lb`` when it is one (see the module doc). Cached per (host, entry,
        pod's node, direction, udp, lb, Service)."""
        key = (host.engine_index, pod.node,
               f"ext|{int(inbound)}|{entry}|{int(udp)}|{lb.name if lb else ''}|"
               f"{service_index}|{router_latency_us}|{int(pod.host_network)}")
        p = self._cache.get(key)
        if p is None:
            p = self._external(host, entry, pod, inbound, udp, lb, service_index,
                               router_latency_us)
            self._cache[key] = p
        return p

    def _client_side(self, host: Any, inbound: bool, udp: bool,
                     router_latency_us: float | None) -> list[Hop]:
        """The client host's hops on the way in (its core, its NIC, the router's port
        to the node network), or on the way out the switch port to it (to the router
        and the router's port to it, behind a router); the caller adds its receive
        core."""
        tb = self.testbed
        rate = tb.nic_rate_gbps * 1e9
        link_s = tb.link_delay_us * 1e-6
        sw_s = tb.switch_latency_us * 1e-6
        router = host.network == "router"
        rt_s = (tb.switch_latency_us if router_latency_us is None
                else router_latency_us) * 1e-6
        h = host.engine_index
        if inbound:
            hops: list[Hop] = [
                CpuHop(name=f"{host.name} tx core", resource=("cpu", h), category="stack",
                       cpu=self._side_cpu(True, False, False)),
                WireHop(name=f"{host.name} NIC tx", kind="nic", resource=("nic", h),
                        category="wire", rate_bps=rate,
                        delay_after_s=link_s + (rt_s if router else sw_s),
                        backpressure=not udp),
            ]
            if router:
                hops.append(WireHop(name="router port to the node network", kind="router",
                                    resource=("router", 0), category="wire", rate_bps=rate,
                                    pipelined=True, delay_after_s=link_s + sw_s))
            return hops
        if router:
            return [
                WireHop(name="switch port to the router", kind="router",
                        resource=("router", 2), category="wire", rate_bps=rate,
                        pipelined=True, delay_after_s=link_s + rt_s),
                WireHop(name=f"router port to {host.name}", kind="router",
                        resource=("router", 1), category="wire", rate_bps=rate,
                        pipelined=True, delay_after_s=link_s),
            ]
        return [WireHop(name=f"switch port to {host.name}", kind="port", resource=("port", h),
                        category="wire", rate_bps=rate, pipelined=True,
                        delay_after_s=link_s)]

    def _racks(self, src_rack: int, dst_rack: int) -> list[Hop]:
        """Leaf uplink and spine port between two racks (none within one)."""
        if src_rack == dst_rack:
            return []
        tb = self.testbed
        up = self.uplink_rate_bps
        d = (tb.link_delay_us + tb.switch_latency_us) * 1e-6
        return [
            WireHop(name=f"rack-{src_rack + 1} uplink", kind="uplink",
                    resource=("uplink", src_rack), category="wire", rate_bps=up,
                    pipelined=True, delay_after_s=d),
            WireHop(name=f"spine port to rack-{dst_rack + 1}", kind="uplink",
                    resource=("spine", dst_rack), category="wire", rate_bps=up,
                    pipelined=True, delay_after_s=d),
        ]

    def _lb_hop(self, lb: LoadBalancerProfile, service_index: int, inbound: bool) -> LbHop:
        base = service_index * LB_RESOURCES_PER_SERVICE + (0 if inbound else lb.forwarders)
        return LbHop(name=f"load balancer {lb.name} ({lb.forwarders} forwarders)",
                     resource=("lb", base), category="lb", delay_category="lb",
                     rate_bps=lb.forwarder_gbps * 1e9, pipelined=True,
                     delay_after_s=lb.added_latency_us * 1e-6,
                     forwarders=lb.forwarders, base=base)

    def _external(self, host: Any, entry: int, pod: Any, inbound: bool, udp: bool,
                  lb: LoadBalancerProfile | None, service_index: int,
                  router_latency_us: float | None) -> Path:
        tb, cni = self.testbed, self.cni
        bn = pod.node
        pod_end = not pod.host_network
        local = bn == entry
        kind: PathKind = "external-to-pod" if inbound else "pod-to-external"
        h = host.engine_index
        sn, dn = (h, bn) if inbound else (bn, h)
        leg2: Path | None = None
        if not local:
            # the ordinary path between the entry node and the pod on another node
            leg2 = self.path(entry, pod, udp) if inbound else self.path(pod, entry, udp)
            if leg2.unreachable:
                seg = self._seg(self.pod_mtu_bytes, 0, False, udp)
                return Path(kind, sn, dn, seg, (), unreachable=True, reason=leg2.reason)
        # segmentation: the pod's MTU (the client's packets are clamped by the pod's
        # MSS); an overlay's header only on the second hop, where it is paid per packet
        overlay = leg2 is not None and leg2.overlay
        mtu = self.pod_mtu_bytes if pod_end else tb.mtu_bytes
        offload = self.overlay_offload if overlay else tb.tso
        seg = self._seg(mtu, cni.encap_bytes if overlay else 0, offload, udp)
        rate = tb.nic_rate_gbps * 1e9
        link_s = tb.link_delay_us * 1e-6
        sw_s = tb.switch_latency_us * 1e-6
        device = lb is not None and lb.is_device
        entry_rack = self.rack_of(entry)
        hops: list[Hop] = []
        proxy_hop = 0
        if inbound:
            hops += self._client_side(host, True, udp, router_latency_us)
            if device:
                assert lb is not None
                hops.append(self._lb_hop(lb, service_index, True))
            hops += self._racks(0, entry_rack)  # external hosts attach to rack 1
            hops.append(WireHop(name=f"switch port to node-{entry + 1}", kind="port",
                                resource=("port", entry), category="wire", rate_bps=rate,
                                pipelined=True, delay_after_s=link_s))
            proxy_hop = len(hops)
            if local:
                hops.append(CpuHop(name=f"node-{entry + 1} rx core (NodePort)",
                                   resource=("cpu", entry), category="stack",
                                   cpu=self._side_cpu(False, pod_end, False), rx=True))
            else:
                assert leg2 is not None
                hops.append(CpuHop(
                    name=f"node-{entry + 1} rx core (NodePort, relay)", resource=("cpu", entry),
                    category="stack", cpu=self._cpu(relayed(tuple(tb.host_rx))), rx=True))
                hops += self._second_hop(leg2, entry, inbound)
        else:
            if local:
                hops.append(CpuHop(name=f"node-{entry + 1} tx core (NodePort)",
                                   resource=("cpu", entry), category="stack",
                                   cpu=self._side_cpu(True, pod_end, False)))
            else:
                assert leg2 is not None
                hops += self._second_hop(leg2, entry, inbound)
                proxy_hop = len(hops) - 1  # the entry node's receive core undoes the NAT
                hops.append(CpuHop(
                    name=f"node-{entry + 1} tx core (NodePort, relay)", resource=("cpu", entry),
                    category="stack", cpu=self._cpu(relayed(tuple(tb.host_tx)))))
            back_via_lb = device and lb is not None and not lb.direct_return
            to_client = self._client_side(host, False, udp, router_latency_us)
            hops.append(WireHop(
                name=f"node-{entry + 1} NIC tx", kind="nic", resource=("nic", entry),
                category="wire", rate_bps=rate,
                delay_after_s=link_s + sw_s, backpressure=not udp))
            if back_via_lb:
                assert lb is not None
                hops.append(self._lb_hop(lb, service_index, False))
            hops += self._racks(entry_rack, 0)
            hops += to_client
            hops.append(CpuHop(name=f"{host.name} rx core", resource=("cpu", h),
                               category="stack", cpu=self._side_cpu(False, False, False),
                               rx=True))
        signature = ("external", inbound, host.network, router_latency_us, entry, bn,
                     pod_end, udp, lb.name if lb else "", service_index, overlay,
                     entry_rack, self.rack_of(bn))
        return Path(kind, sn, dn, seg, tuple(hops), overlay=overlay, signature=signature,
                    proxy_hop=proxy_hop)

    def _second_hop(self, leg2: Path, entry: int, inbound: bool) -> list[Hop]:
        """The hops of ``leg2`` (the ordinary path between the entry node and the pod)
        counted as the extra hop; its core on the entry node relays (see
        :func:`relayed`): inbound its first hop, outbound its last."""
        tb, cni = self.testbed, self.cni
        out: list[Hop] = []
        last = len(leg2.hops) - 1
        for i, hop in enumerate(leg2.hops):
            relay_here = (i == 0) if inbound else (i == last)
            if isinstance(hop, CpuHop):
                cpu = hop.cpu
                name = hop.name
                if relay_here:
                    host = tuple(tb.host_tx if inbound else tb.host_rx)
                    over = tuple(cni.tx_overlay if inbound else cni.rx_overlay) \
                        if leg2.overlay else ()
                    cpu = self._cpu(relayed(host) + over)
                    name = f"node-{entry + 1} {'tx' if inbound else 'rx'} core (NodePort, relay)"
                out.append(RelabelledCpuHop(name=name, resource=hop.resource,
                                            category=hop.category, cpu=cpu, rx=hop.rx,
                                            delay_after_s=hop.delay_after_s,
                                            delay_category=EXTRA_HOP, place=EXTRA_HOP))
            else:
                assert isinstance(hop, WireHop)
                out.append(RelabelledWireHop(
                    name=hop.name, kind=hop.kind, resource=hop.resource,
                    category=hop.category, rate_bps=hop.rate_bps, pipelined=hop.pipelined,
                    backpressure=hop.backpressure, delay_after_s=hop.delay_after_s,
                    delay_category=EXTRA_HOP, place=EXTRA_HOP))
        return out

    def __len__(self) -> int:
        return len(self._cache)
