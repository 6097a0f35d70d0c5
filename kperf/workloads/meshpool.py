"""Service mesh connections (issue 21): the application's connection ends at its proxy,
and the proxies' connections to each other come from pools.

A meshed connection's paths split into legs (:func:`kperf.datapath.mesh.mesh_legs`):

* the application's own TCP connection ends at the first proxy it meets (its own
  sidecar or node ztunnel; the server's proxy for a client outside the mesh): a
  per-request connection (crr, http without keep-alive) sends its SYN, SYN-ACK and
  FINs on that leg only (the loopback crossing and the proxy, whose
  ``per_connection_us`` they carry), paying the socket work of a loopback connection
  (``Testbed.tcp_connect_us`` plus a conntrack entry for the redirect's NAT in the
  pod's namespace, ``tcp_accept_us`` in the proxy's worker), not the network's;
* the client's proxy takes an upstream connection from its pool (:class:`MeshPools`),
  one pool per proxy, upstream endpoint and, for a proxy that pins connections
  (Envoy), worker thread: Envoy's pools are per worker. A pool grows when it has no
  free connection: with ``http1`` one request in flight per connection, with ``http2``
  one connection carries them all (``cluster.mesh.upstream_protocol``; default the
  client proxy's, :attr:`MeshProxyProfile.upstream_protocol`). A new pooled connection
  is a TCP handshake across the network (SYN, SYN-ACK through both proxies: half of
  each proxy's ``per_connection_us``, the new connection's conntrack and CNI policy
  costs, :func:`kperf.datapath.conntrack.connection_parts`) and, with mutual TLS, a
  TLS 1.3 handshake: one more round trip whose two flights cost each proxy
  ``mtls_handshake_us`` in all. Requests waiting for it go when it is ready. Pooled
  connections stay open for the run (Envoy's idle timeout is an hour; none closes);
* the server's proxy forwards to the application over its own pooled connections
  (Envoy's inbound cluster, linkerd2-proxy's HTTP client): nothing per request. An L4
  server-side proxy (ztunnel, ``pools_inbound`` False) opens one connection to the
  application per application connection: SYN and SYN-ACK over the server node's
  loopback before the request, FINs after.

Requests and responses cross the whole meshed path as before, on the application
connection's flow (its RSS hash picks the network's cores: the pooled connection's
would, a stated simplification). A proxy that pins connections sees them on the
connection it accepted: the client's proxy on the application's, the server's proxy on
the pooled one (:meth:`kperf.engine.network.Network.conn_key`).

Keep-alive connections (rr, http with keep-alive, callgraph) are bound to a pooled
connection when they open (http2: the pool's one connection; http1: one of their own,
since each carries one request at a time), with no handshake simulated: like the
application's keep-alive connections themselves, they are taken as opened before
measuring.

Not modelled: the HBONE CONNECT stream's own round trip (ztunnel sends the request
behind it), a waypoint's pooled connection to the server's ztunnel, pools' limits
(max connections, max concurrent streams: unlimited, Envoy's defaults), connections
closing and reopening.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kperf.datapath.mesh import MeshLegs, handshake_path, mesh_legs
from kperf.datapath.path import Path
from kperf.engine.flow import Flow
from kperf.engine.routes import Surcharge
from kperf.profiles.cni import CONNTRACK_NEW_US
from kperf.workloads.context import WorkloadContext
from kperf.workloads.reliable import Conn, Reliable, exchange


def _ignore(_t: float) -> None:
    """A message nothing waits for (a FIN)."""


class PooledConn:
    """One pooled upstream connection between proxies: its flows (data-less messages
    only: requests ride the application connection's flow), whether it is ready, the
    requests waiting for it, and how many requests it carries now."""

    __slots__ = ("flow_id", "in_flight", "ready", "waiters")

    def __init__(self, flow_id: int, ready: bool) -> None:
        self.flow_id = flow_id
        self.ready = ready
        self.in_flight = 0
        self.waiters: list[tuple[Callable[[float], None], Callable[[float, str], None]]] = []


class MeshPools:
    """Every proxy's upstream connection pools in one simulation, and the legs of each
    pair of meshed paths (cached by value: the paths' nodes, signatures and proxies)."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.pools: dict[tuple[object, ...], list[PooledConn]] = {}
        self._legs: dict[tuple[object, ...], MeshLegs | None] = {}
        self.opened = 0  # pooled connections opened with a handshake (tests, reports)
        spec = sim.paths.mesh
        self.protocol_override: str | None = spec.upstream_protocol if spec else None

    def legs(self, fwd: Path, back: Path) -> MeshLegs | None:
        key = (fwd.src_node, fwd.dst_node, fwd.signature, back.signature,
               tuple(h.resource for h in fwd.hops if h.kind == "proxy"))
        if key not in self._legs:
            self._legs[key] = mesh_legs(fwd, back)
        return self._legs[key]

    def protocol(self, legs: MeshLegs) -> str:
        return self.protocol_override or legs.ends_at.profile.upstream_protocol

    def pool_key(self, legs: MeshLegs, conn: Conn) -> tuple[object, ...]:
        """One pool per client-side proxy, upstream endpoint and (Envoy) worker."""
        hop = legs.ends_at
        worker = (self.sim.network.worker_index(conn.flow_id, hop.workers)
                  if hop.profile.pins_connections else -1)
        backend = conn.backend
        assert backend is not None
        return (hop.resource, worker, backend.uid, getattr(backend, "generation", 0))

    def _bind(self, conn: Conn, pc: PooledConn) -> None:
        net = self.sim.network
        net.upstream_conn[conn.flow_id] = pc.flow_id
        net.downstream_conn.setdefault(pc.flow_id, conn.flow_id)

    def bind_keepalive(self, conn: Conn, legs: MeshLegs) -> None:
        """A keep-alive connection's pooled upstream connection (module doc)."""
        pool = self.pools.setdefault(self.pool_key(legs, conn), [])
        if self.protocol(legs) == "http2" and pool:
            pc = pool[0]
        else:
            pc = PooledConn(self.sim.new_flow_id(), ready=True)
            pool.append(pc)
        pc.in_flight += 1  # held for the run
        self._bind(conn, pc)

    def acquire(self, ctx: WorkloadContext, conn: Conn, legs: MeshLegs, measure: bool,
                go: Callable[[float], None], fail: Callable[[float, str], None]) -> PooledConn:
        """A pooled connection for one request on ``conn``: a free (http1) or the
        (http2) connection of its pool, else a new one, opened with its handshakes;
        ``go(t)`` when it is ready, ``fail(t, reason)`` if its handshake fails."""
        key = self.pool_key(legs, conn)
        pool = self.pools.setdefault(key, [])
        h2 = self.protocol(legs) == "http2"
        pc: PooledConn | None = None
        if h2:
            pc = pool[0] if pool else None
        else:
            for cand in reversed(pool):  # the most recently freed first
                if cand.in_flight == 0:
                    pc = cand
                    break
        fresh = pc is None
        if pc is None:
            pc = PooledConn(self.sim.new_flow_id(), ready=False)
            pool.append(pc)
        pc.in_flight += 1
        self._bind(conn, pc)
        if pc.ready:
            go(self.sim.now)
        else:
            pc.waiters.append((go, fail))
            if fresh:
                self._open(ctx, conn, legs, pc, pool, measure)
        return pc

    def release(self, pc: PooledConn) -> None:
        pc.in_flight -= 1

    def _open(self, ctx: WorkloadContext, conn: Conn, legs: MeshLegs, pc: PooledConn,
              pool: list[PooledConn], measure: bool) -> None:
        """TCP (and with mTLS, TLS 1.3) handshake of a new pooled connection."""
        sim = self.sim
        assert legs.pool_fwd is not None and legs.pool_back is not None
        self.opened += 1
        client, backend = conn.client, conn.backend
        tcp = sim.open_flow(client, backend, flow_id=pc.flow_id, hooks=ctx.hooks,
                            path=legs.pool_fwd, reverse_path=legs.pool_back)
        connect_s, accept_s = sim.paths.connection_costs_s(client, backend)

        def ready(t: float) -> None:
            pc.ready = True
            waiters, pc.waiters = pc.waiters, []
            for go, _fail in waiters:
                go(t)

        def failed(t: float, reason: str) -> None:
            if pc in pool:
                pool.remove(pc)
            waiters, pc.waiters = pc.waiters, []
            for _go, fail in waiters:
                fail(t, reason)

        def tls(_t: float) -> None:
            hs = sim.open_flow(client, backend, flow_id=pc.flow_id, hooks=ctx.hooks,
                               path=handshake_path(legs.pool_fwd),  # type: ignore[arg-type]
                               reverse_path=handshake_path(legs.pool_back))  # type: ignore[arg-type]
            server_flight = Reliable(ctx, hs.reverse, 0, ready, failed, measure)
            Reliable(ctx, hs, 0, lambda _t: server_flight.send(), failed, measure).send()

        after_tcp = tls if legs.tls else ready

        def syn_ack(_t: float) -> None:
            Reliable(ctx, tcp.reverse, 0, after_tcp, failed, measure).send(
                Surcharge(0.0, accept_s))

        Reliable(ctx, tcp, 0, syn_ack, failed, measure).send(Surcharge(0.0, connect_s))


def pools_of(sim: Any) -> MeshPools:
    """The simulation's :class:`MeshPools` (created on first use)."""
    pools = sim.network.mesh_pools
    if pools is None:
        pools = sim.network.mesh_pools = MeshPools(sim)
    assert isinstance(pools, MeshPools)
    return pools


def local_connection_costs_s(sim: Any) -> tuple[float, float]:
    """CPU seconds of the application's connection to its own proxy (loopback, in the
    pod's network namespace): the client's connect and a conntrack entry for the
    redirect's NAT, and the proxy's accept (``Testbed.tcp_connect_us``,
    ``tcp_accept_us``; ``CONNTRACK_NEW_US``)."""
    tb = sim.paths.testbed
    k = 1e-6 / tb.cpu_speed_factor
    return (tb.tcp_connect_us + CONNTRACK_NEW_US) * k, tb.tcp_accept_us * k


def crr_meshed(ctx: WorkloadContext, conn: Conn, legs: MeshLegs, request_bytes: int,
               response_bytes: int, service_s: float, t0: float, measure: bool,
               finish: Callable[[float], None], fail: Callable[[float, str], None]) -> None:
    """A per-request connection through the mesh (module doc): the application's
    handshake to the proxy that terminates it, a pooled upstream connection (opened
    if the pool has none free), the server-side L4 proxy's own connection to the
    application, then request and response on the whole meshed path, then FINs on the
    legs that had handshakes. ``finish``/``fail`` end the transaction (and close the
    connection)."""
    sim = ctx.sim
    pools = pools_of(sim)
    flow = conn.flow
    assert flow is not None
    local = sim.open_flow(conn.client, conn.backend, flow_id=conn.flow_id, hooks=ctx.hooks,
                          path=legs.local_fwd, reverse_path=legs.local_back)
    if legs.client_proxied:
        connect_s, accept_s = local_connection_costs_s(sim)
        extra_first_s = 0.0
    else:  # a client outside the mesh connects across the network to the server's proxy
        connect_s, accept_s = sim.paths.connection_costs_s(conn.client, conn.backend)
        extra_first_s = conn.extra_first_s
    server: Flow | None = None
    held: list[Any] = []

    def ended(t: float, ok: bool, reason: str = "") -> None:
        for pc in held:
            pools.release(pc)
        sim.network.upstream_conn.pop(conn.flow_id, None)
        local.send(0, _ignore, None, False)
        local.reverse.send(0, _ignore, None, False)
        if server is not None:
            server.send(0, _ignore, None, False)
            server.reverse.send(0, _ignore, None, False)
        if ok:
            finish(t)
        else:
            fail(t, reason)

    def on_fail(t: float, reason: str) -> None:
        ended(t, False, reason)

    request = exchange(ctx, conn, flow, request_bytes, response_bytes, service_s, measure,
                       lambda t: ended(t, True), on_fail)

    def server_leg(t: float) -> None:
        nonlocal server
        if legs.server_fwd is None or legs.server_back is None:
            request(t)
            return
        server = sim.open_flow(conn.client, conn.backend, flow_id=sim.new_flow_id(),
                               hooks=ctx.hooks, path=legs.server_fwd,
                               reverse_path=legs.server_back)
        tb = sim.paths.testbed
        k = 1e-6 / tb.cpu_speed_factor
        back = server.reverse

        def syn_ack(_t: float) -> None:
            Reliable(ctx, back, 0, request, on_fail, measure).send(
                Surcharge(0.0, tb.tcp_accept_us * k))

        Reliable(ctx, server, 0, syn_ack, on_fail, measure).send(
            Surcharge(0.0, tb.tcp_connect_us * k))

    def upstream(t: float) -> None:
        if legs.pool_fwd is None:
            server_leg(t)
            return
        held.append(pools.acquire(ctx, conn, legs, measure, server_leg, on_fail))

    def syn_ack(_t: float) -> None:
        Reliable(ctx, local.reverse, 0, upstream, on_fail, measure).send(
            Surcharge(0.0, accept_s))

    def syn() -> None:
        Reliable(ctx, local, 0, syn_ack, on_fail, measure).send(
            Surcharge(extra_first_s, connect_s))

    if conn.setup_delay_s > 0:
        sim.at(t0 + conn.setup_delay_s, syn)
    else:
        syn()
