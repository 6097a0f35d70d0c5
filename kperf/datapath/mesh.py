"""Service mesh proxies on a path (issue 21): the ``proxy`` hop kind, and the hops a
mesh adds to a pod-to-pod path.

:class:`ProxyHop` is one proxy's work on one message: ``workers`` threads sharing a
FIFO queue (an M/M/c-like server when arrivals are Poisson: tokio's work-stealing
runtime, linkerd2-proxy and ztunnel), or, for a proxy that pins each connection to one
worker (Envoy, ``MeshProxyProfile.pins_connections``), the one worker of the
connection it sees the message on (``peer_side``: the server's proxy sees the pooled
connection from its peer; :meth:`kperf.engine.network.Network.conn_key`), costing per message, per
byte and, with mutual TLS, per TLS record and byte (:mod:`kperf.profiles.mesh`); its
time is CPU on its node under the proxy's category (``sidecar``, ``ztunnel``,
``waypoint``), which the per-node CPU split shows as ``cpu:<category>``. It runs on
its own threads: its queue is not the node's packet-processing cores' (kperf's
``cpu`` rows), though its CPU seconds are the node's.

:func:`mesh_hops` wraps a path from pod ``src`` to pod ``dst`` (either direction of a
connection; ``reverse``: ``src`` is the server) with its mode's hops:

* ``istio-sidecar``, ``linkerd``: [loopback crossing on src's node, src's sidecar],
  the path, [dst's sidecar, loopback crossing on dst's node], each end only when its
  pod is in the mesh;
* ``istio-ambient``: the same with the nodes' ztunnels instead of sidecars; with a
  waypoint, the server's waypoint sits on the server's node between the network and
  the server's ztunnel (request) or between the server's ztunnel and the network
  (response), with a loopback crossing to reach it; on another node
  (``mesh.waypoint_node``) between two network legs instead
  (:mod:`kperf.datapath.waypoint`);
* ``cilium-mesh``: nothing without ``l7`` (L4 is the CNI's eBPF datapath, already on
  the path); with ``l7: true`` the node's Envoy (one per node, resource ("envoy",
  node)) on the client pod's node (``l7_node: client``, the default: L7 load
  balancing, egress policy) or on the server's (``l7_node: server``: ingress L7
  policy), the other end's when that pod is not meshed, with a loopback crossing to
  reach it: [loopback, Envoy] before the path when
  that node is ``src``'s, [Envoy, loopback] after it when it is ``dst``'s. Never mTLS
  in the proxy (the CNI encrypts).

Mutual TLS is paid only between two meshed ends. A client outside the cluster (an
external host through a NodePort or load balancer) is not meshed: its requests cross
the server's proxy only, in plaintext (Istio's permissive mode; an ingress gateway is
not modelled). Simplifications, stated: the
waypoint runs on the node ``mesh.waypoint_node`` names (the server pod's by default;
elsewhere it adds a network leg each way: :mod:`kperf.datapath.waypoint`); with mTLS
the legs between proxies carry TLS records (HBONE: HTTP/2 frames in them) whose bytes
are added to the packets (:mod:`kperf.datapath.framing`), not to the application's
loopback crossings; the
loopback crossings are the host stack's transmit and receive stages (the testbed's
``loopback`` path), the redirect's NAT decision being once per connection. How a
connection splits into the proxies' connections (the application's to its proxy, the
pooled one between proxies, an L4 proxy's to the application) is :func:`mesh_legs`
(used by :mod:`kperf.workloads.meshpool`); a pooled connection's TLS handshake is
charged on :func:`handshake_path`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from kperf.datapath.framing import mesh_framing
from kperf.datapath.path import (
    ChunkShape,
    CpuHop,
    CpuWork,
    Hop,
    HopCost,
    Path,
    is_pod,
    register_hop_kind,
)
from kperf.datapath.waypoint import waypoint_node, waypoint_path
from kperf.profiles.mesh import (
    CILIUM_ENVOY,
    CILIUM_MESH,
    CONTROL_MESSAGES_PER_CONNECTION,
    WAYPOINT,
    MeshProxyProfile,
    istio_proxy,
)


class PoolSource(Protocol):
    """What a proxy hop asks the engine's network for (``kperf.engine.network``)."""

    def pool(self, resource: tuple[str, int], workers: int, name: str) -> Any: ...

    def conn_key(self, flow_id: int, peer_side: bool) -> int: ...

    def pinned_worker(self, resource: tuple[str, int], workers: int, name: str,
                      conn_key: int) -> Any: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyHop(Hop):
    """One mesh proxy (kind ``proxy``): ``workers`` threads on node ``node``; see the
    module doc. ``resource`` names its pool: ("sidecar", pod uid), ("ztunnel", node),
    ("waypoint", server deployment index)."""

    kind: str = "proxy"
    profile: MeshProxyProfile
    node: int
    workers: int
    mtls: bool
    speed_factor: float = 1.0
    peer_side: bool = False
    """The server's end: its downstream connections come from a peer proxy's pool (or
    from a client outside the mesh), not from the application next to it."""
    handshake: bool = False
    """On a pooled connection's TLS handshake path (:func:`handshake_path`): a
    payload-less message costs half of ``mtls_handshake_us`` (two cross each proxy)."""

    @property
    def bounded(self) -> bool:
        return False

    @property
    def cpu_node(self) -> int | None:
        return self.node

    def cost(self, chunk: ChunkShape, upstream_rate_bps: float) -> HopCost:
        p = self.profile
        n = chunk.payload_bytes
        k = 1e-6 / self.speed_factor
        if n == 0 and self.handshake:  # a TLS handshake flight between proxies
            stages: tuple[tuple[str, Any, float], ...] = (
                (f"{p.name} TLS handshake", p.category, k * p.mtls_handshake_us / 2),)
        elif n == 0:  # a connection's SYN, SYN-ACK or FIN: its share of the set-up
            stages = (
                (f"{p.name} connection", p.category,
                 k * p.per_connection_us / CONTROL_MESSAGES_PER_CONNECTION),)
        else:
            msgs = 1 if chunk.first else 0
            work = k * (p.per_message_us * msgs + p.per_byte_ns * n * 1e-3)
            stages = ((f"{p.name}", p.category, work),)
            if self.mtls:
                stages += ((f"{p.name} mTLS", p.category, k * p.mtls_us(n)),)
        svc = sum(s for _n, _c, s in stages)
        return HopCost(svc, 1.0, svc, 0.0, 0.0, stages, True)

    def server(self, network: Any, flow_id: int) -> Any:
        source: PoolSource = network
        if self.profile.pins_connections:  # Envoy: the connection's worker
            key = source.conn_key(flow_id, self.peer_side)
            return source.pinned_worker(self.resource, self.workers, self.name, key)
        return source.pool(self.resource, self.workers, self.name)


register_hop_kind("proxy", ProxyHop)


class MeshTable(Protocol):
    """What :func:`mesh_hops` needs of the path table (``kperf.datapath.builder``)."""

    def loopback_cpu(self) -> CpuWork: ...

    def pod_leg(self, src_node: int, dst_node: int) -> Path: ...


def _meshed(pod: Any, opted_out: frozenset[str]) -> bool:
    return is_pod(pod) and pod.deployment not in opted_out


def mesh_hops(table: MeshTable, spec: Any, opted_out: frozenset[str],
              deployment_index: dict[str, int], speed_factor: float,
              base: Path, src: Any, dst: Any, reverse: bool) -> Path:
    """``base`` (a path from ``src`` to ``dst``) with the mesh's hops (module doc);
    ``base`` itself when neither end is in the mesh or there is nothing to wrap."""
    if base.unreachable or base.kind == "loopback" or not spec.enabled:
        return base
    s_in, d_in = _meshed(src, opted_out), _meshed(dst, opted_out)
    if not (s_in or d_in):
        return base
    mode = spec.mode
    if mode == CILIUM_MESH:
        return _cilium_hops(table, spec, speed_factor, base, src, dst, s_in, d_in, reverse)
    profile = istio_proxy(mode, spec.istio_release)  # a release's sidecar figure
    mtls = spec.mtls and s_in and d_in
    workers = spec.proxy_workers or profile.workers
    lo = table.loopback_cpu()

    def loop(node: int, what: str) -> Hop:
        return CpuHop(name=f"node-{node + 1} loopback ({what})", resource=("cpu", node),
                      category="stack", cpu=lo)

    server = src if reverse else dst

    def proxy(pod: Any) -> Hop:
        peer = pod is server  # the server's proxy: its downstream is a pooled connection
        if mode == "istio-ambient":
            return ProxyHop(name=f"node-{pod.node + 1} ztunnel", resource=("ztunnel", pod.node),
                            category=profile.category, profile=profile, node=pod.node,
                            workers=workers, mtls=mtls, speed_factor=speed_factor,
                            peer_side=peer)
        return ProxyHop(name=f"{pod.name} {profile.name}", resource=("sidecar", pod.uid),
                        category=profile.category, profile=profile, node=pod.node,
                        workers=workers, mtls=mtls, speed_factor=speed_factor,
                        peer_side=peer)

    waypoint: ProxyHop | None = None
    if mode == "istio-ambient" and spec.waypoint and _meshed(server, opted_out):
        index = deployment_index.get(server.deployment or "", 0)
        waypoint = ProxyHop(name=f"{server.deployment} waypoint", resource=("waypoint", index),
                            category=WAYPOINT.category, profile=WAYPOINT, node=server.node,
                            workers=spec.proxy_workers or WAYPOINT.workers, mtls=spec.mtls,
                            speed_factor=speed_factor, peer_side=True)
    framing = mesh_framing(mode, mtls)
    if waypoint is not None and s_in and d_in:
        client = dst if reverse else src
        wp_node = waypoint_node(spec.waypoint_node, client, server)
        if wp_node != server.node:  # a waypoint pod elsewhere: two network legs
            waypoint = dataclasses.replace(waypoint, node=wp_node,
                                           name=f"{waypoint.name} (node-{wp_node + 1})")
            return waypoint_path(
                table, base, _app_side([loop(src.node, "to the proxy"), proxy(src)], 0),
                waypoint, _app_side([proxy(dst), loop(dst.node, "to the pod")], -1),
                src.node, dst.node, wp_node,
                (*base.signature, "mesh", mode, mtls, workers, reverse), framing)
    front: list[Hop] = []
    back: list[Hop] = []
    if s_in:
        front = [loop(src.node, "to the proxy"), proxy(src)]
        if waypoint is not None and reverse:  # the response leaves through the waypoint
            front += [loop(src.node, "to the waypoint"), waypoint]
    if d_in:
        back = [proxy(dst), loop(dst.node, "to the pod")]
        if waypoint is not None and not reverse:  # the request reaches it first
            back = [waypoint, loop(dst.node, "to the ztunnel"), *back]
    signature = (*base.signature, "mesh", mode, s_in, d_in, mtls, workers,
                 waypoint is not None, reverse)
    if framing is not None:  # TLS/HBONE bytes between the proxies, not to the apps
        front, back = _app_side(front, 0), _app_side(back, -1)
        signature = (*signature, *framing.key)
    hops = (*front, *base.hops, *back)
    # the Service's proxy work stays on the base path's hop (the sidecar's outbound
    # connection is what kube-proxy translates; an entry node's core for external
    # traffic)
    return dataclasses.replace(base, hops=hops, signature=signature, framing=framing,
                               proxy_hop=base.proxy_hop + len(front))


def _app_side(hops: list[Hop], at: int) -> list[Hop]:
    """``hops`` with the application's loopback crossing at index ``at`` (first or
    last) marked as carrying no mesh framing (:attr:`CpuHop.framed`)."""
    hop = hops[at] if hops else None
    if not isinstance(hop, CpuHop):
        return hops
    out = list(hops)
    out[at] = dataclasses.replace(hop, framed=False)
    return out


def _cilium_hops(table: MeshTable, spec: Any, speed_factor: float, base: Path, src: Any,
                 dst: Any, s_in: bool, d_in: bool, reverse: bool) -> Path:
    """cilium-mesh's hops (module doc): the node's Envoy when ``spec.l7``."""
    if not spec.l7:
        return base
    # the preferred end (l7_node: the client's or the server's node), else the other
    # one when the preferred end is not a meshed pod
    at_src = (spec.l7_node == "client") != reverse
    if not (s_in if at_src else d_in):
        at_src = not at_src
        if not (s_in if at_src else d_in):
            return base
    pod = src if at_src else dst
    lo = table.loopback_cpu()
    workers = spec.proxy_workers or CILIUM_ENVOY.workers
    envoy = ProxyHop(name=f"node-{pod.node + 1} cilium-envoy", resource=("envoy", pod.node),
                     category=CILIUM_ENVOY.category, profile=CILIUM_ENVOY, node=pod.node,
                     workers=workers, mtls=False, speed_factor=speed_factor,
                     peer_side=at_src == reverse)
    loop = CpuHop(name=f"node-{pod.node + 1} loopback ({'to' if at_src else 'from'} "
                  f"the node's Envoy)", resource=("cpu", pod.node), category="stack", cpu=lo)
    front: list[Hop] = [loop, envoy] if at_src else []
    back: list[Hop] = [] if at_src else [envoy, loop]
    signature = (*base.signature, "mesh", CILIUM_MESH, at_src, workers, reverse)
    return dataclasses.replace(base, hops=(*front, *base.hops, *back), signature=signature,
                               proxy_hop=base.proxy_hop + len(front))


# -- connection pooling between proxies (issue 21, mconn slice) ----------------------------
# A meshed connection's paths split into the connections the proxies make of it
# (kperf.workloads.meshpool): the application's own connection ends at the first proxy
# it meets; that proxy's upstream connection, when it is the client's, comes from a pool;
# an L4 server-side proxy (ztunnel) opens its own connection to the application.


@dataclass(frozen=True, slots=True)
class MeshLegs:
    """The legs of one meshed connection (a forward and a reverse path through proxies).

    ``local_fwd``/``local_back``: the application's connection, from the client to the
    proxy that terminates it (``ends_at``) and back; ``pool_fwd``/``pool_back``: that
    proxy's pooled upstream connection to the next proxy (or to the server when there
    is none), when ``ends_at`` is the client's proxy, else None (its pooled connection
    to the application is not a per-request leg); ``tls``: that pooled connection is
    mutual TLS between two proxies; ``server_fwd``/``server_back``: the server-side
    proxy's own connection to the application when it does not pool them (an L4
    proxy), else None."""

    local_fwd: Path
    local_back: Path
    ends_at: ProxyHop
    pool_fwd: Path | None
    pool_back: Path | None
    tls: bool
    server_fwd: Path | None
    server_back: Path | None

    @property
    def client_proxied(self) -> bool:
        """The client's own proxy terminates its connection (and picks the endpoint)."""
        return not self.ends_at.peer_side


def _leg(path: Path, start: int, stop: int, tag: str) -> Path:
    """Hops ``start:stop`` of ``path`` as a path of their own."""
    proxy_hop = path.proxy_hop - start if start <= path.proxy_hop < stop else 0
    return dataclasses.replace(path, hops=path.hops[start:stop],
                               signature=(*path.signature, "leg", tag, start, stop),
                               proxy_hop=proxy_hop)


def _proxies(path: Path) -> list[tuple[int, ProxyHop]]:
    return [(i, h) for i, h in enumerate(path.hops) if isinstance(h, ProxyHop)]


def _find(proxies: list[tuple[int, ProxyHop]], hop: ProxyHop, last: bool) -> int:
    """Where proxy ``hop`` (the same proxy and end) is among the other path's proxies."""
    found = [i for i, h in proxies if h.resource == hop.resource and h.peer_side == hop.peer_side]
    return found[-1] if last else found[0]


def client_proxy(path: Path) -> ProxyHop | None:
    """The client's own proxy on a meshed forward path (None: the client is not meshed,
    or its mode has no proxy at its end)."""
    for h in path.hops:
        if isinstance(h, ProxyHop) and not h.peer_side:
            return h
    return None


def mesh_legs(fwd: Path, back: Path) -> MeshLegs | None:
    """The legs of a connection on meshed paths ``fwd`` and ``back`` (see
    :class:`MeshLegs`); None when neither crosses a proxy."""
    pf, pb = _proxies(fwd), _proxies(back)
    if not pf or not pb:
        return None
    first, hop = pf[0]
    bi = _find(pb, hop, last=True)
    local_fwd = _leg(fwd, 0, first + 1, "local")
    local_back = _leg(back, bi, len(back.hops), "local")
    pool_fwd = pool_back = None
    tls = False
    if not hop.peer_side:
        nxt = next(((i, h) for i, h in pf if i > first), None)
        if nxt is None:  # to a server outside the mesh (or cilium-mesh's client Envoy)
            pool_fwd = _leg(fwd, first, len(fwd.hops), "pool")
            pool_back = _leg(back, 0, bi + 1, "pool")
        else:
            ni, nhop = nxt
            pool_fwd = _leg(fwd, first, ni + 1, "pool")
            pool_back = _leg(back, _find(pb, nhop, last=False), bi + 1, "pool")
            tls = hop.mtls and nhop.mtls
    server_fwd = server_back = None
    last, lhop = pf[-1]
    if lhop.peer_side and not lhop.profile.pools_inbound:
        server_fwd = _leg(fwd, last, len(fwd.hops), "server")
        server_back = _leg(back, 0, _find(pb, lhop, last=False) + 1, "server")
    return MeshLegs(local_fwd, local_back, hop, pool_fwd, pool_back, tls, server_fwd,
                    server_back)


def handshake_path(path: Path) -> Path:
    """``path`` (a pooled connection's leg) with its proxies charging the TLS handshake
    (:attr:`ProxyHop.handshake`) for payload-less messages."""
    hops = tuple(dataclasses.replace(h, handshake=True) if isinstance(h, ProxyHop) else h
                 for h in path.hops)
    return dataclasses.replace(path, hops=hops, signature=(*path.signature, "tls"))
