"""Service mesh proxies on a path (issue 21): the ``proxy`` hop kind, and the hops a
mesh adds to a pod-to-pod path.

:class:`ProxyHop` is one proxy's work on one message: a pool of ``workers`` threads
sharing a FIFO queue (an M/M/c-like server when arrivals are Poisson; Envoy pins
each connection to one worker, so with few connections it is closer to c separate
queues: the shared queue is the many-connections limit), costing per message, per
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
``loopback`` path), the redirect's NAT decision being once per connection; proxies
pool upstream connections, so no request pays a TLS handshake.
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
        if n == 0:  # a connection's SYN, SYN-ACK or FIN: its share of the set-up
            stages: tuple[tuple[str, Any, float], ...] = (
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

    def proxy(pod: Any) -> Hop:
        if mode == "istio-ambient":
            return ProxyHop(name=f"node-{pod.node + 1} ztunnel", resource=("ztunnel", pod.node),
                            category=profile.category, profile=profile, node=pod.node,
                            workers=workers, mtls=mtls, speed_factor=speed_factor)
        return ProxyHop(name=f"{pod.name} {profile.name}", resource=("sidecar", pod.uid),
                        category=profile.category, profile=profile, node=pod.node,
                        workers=workers, mtls=mtls, speed_factor=speed_factor)

    server = src if reverse else dst
    waypoint: ProxyHop | None = None
    if mode == "istio-ambient" and spec.waypoint and _meshed(server, opted_out):
        index = deployment_index.get(server.deployment or "", 0)
        waypoint = ProxyHop(name=f"{server.deployment} waypoint", resource=("waypoint", index),
                            category=WAYPOINT.category, profile=WAYPOINT, node=server.node,
                            workers=spec.proxy_workers or WAYPOINT.workers, mtls=spec.mtls,
                            speed_factor=speed_factor)
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
                     workers=workers, mtls=False, speed_factor=speed_factor)
    loop = CpuHop(name=f"node-{pod.node + 1} loopback ({'to' if at_src else 'from'} "
                  f"the node's Envoy)", resource=("cpu", pod.node), category="stack", cpu=lo)
    front: list[Hop] = [loop, envoy] if at_src else []
    back: list[Hop] = [] if at_src else [envoy, loop]
    signature = (*base.signature, "mesh", CILIUM_MESH, at_src, workers, reverse)
    return dataclasses.replace(base, hops=(*front, *base.hops, *back), signature=signature,
                               proxy_hop=base.proxy_hop + len(front))
