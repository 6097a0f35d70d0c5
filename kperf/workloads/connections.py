"""Opening connections to pods or Services, and sending with TCP-like retransmission.

Through a Service the choice of backend, the proxy's first-packet cost and conntrack are
the Services layer's (:mod:`kperf.services`); to a pod directly there is nothing to
choose. A message dropped on the way (full NIC ring, switch buffer or receive backlog)
is retransmitted by a tail-loss probe (two round trips plus 2 ms) and then after the
minimum retransmission timeout (Linux ``TCP_RTO_MIN`` = 200 ms, doubling), up to
``MAX_RETRANSMITS`` times, then the request fails as ``dropped``. Request/response
messages do not run the full transport (:mod:`kperf.transport`, used by streams):
no congestion window, which small messages rarely fill.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kperf.datapath.mesh import client_proxy
from kperf.datapath.path import Path
from kperf.engine.flow import Flow
from kperf.engine.routes import NO_SURCHARGE, Surcharge
from kperf.workloads.context import WorkloadContext
from kperf.workloads.external import ExternalTarget

TCP_RTO_MIN_S = 0.2  # include/net/tcp.h TCP_RTO_MIN (HZ/5)
MAX_RETRANSMITS = 3


@dataclass(slots=True)
class Conn:
    """An open (or failed) connection from ``client`` to ``backend``: ``flow`` is the
    engine flow client to backend and ``back`` its reverse, None when it failed (the
    connection keeps both, so a response reads no field of the request's flow)."""

    client: Any
    backend: Any | None
    flow_id: int
    flow: Flow | None = None
    back: Flow | None = None
    extra_first_s: float = 0.0
    setup_delay_s: float = 0.0
    failed: str | None = None
    handle: Any = None  # the Services layer's Connection (conntrack entry, lc counts)
    app: Any = None  # the backend's worker pool (Simulation.app_pool), once it served
    entry: int = -1  # traffic from outside the cluster: the node it entered at
    legs: Any = None  # through a service mesh: its legs (kperf.datapath.mesh.MeshLegs)

    def backend_app(self, sim: Any) -> Any:
        """The backend pod's worker pool, looked up once per connection."""
        app = self.app
        if app is None:
            app = self.app = sim.app_pool(self.backend)
        return app

    def close(self) -> None:
        """The connection ends (its conntrack entry goes to TIME_WAIT)."""
        if self.handle is not None:
            self.handle.close()


def open_conn(ctx: WorkloadContext, client: Any, target: Any, service: Any | None,
              established: bool = True, with_flow: bool = True) -> Conn:
    """Connect ``client`` to ``target`` (a pod) or through ``service``. With
    ``established``, every message on the connection pays the Services layer's
    per-message cost of an established connection (its flow's surcharge). In a
    cluster with a service mesh the flow's paths cross the mesh's proxies
    (:meth:`kperf.datapath.builder.PathTable.meshed`); a caller that opens its own
    flow meshes it itself (TCP streams: :mod:`kperf.datapath.mesh_stream`).
    ``with_flow=False``: open no flow (a caller that opens its own, with its hooks)."""
    sim = ctx.sim
    if service.__class__ is ExternalTarget:
        return open_external(ctx, client, service, established, with_flow)
    fid = sim.new_flow_id()
    if service is None:
        conn = Conn(client, target, fid)
        extra = 0.0
    else:
        layer = ctx.services
        c = layer.connect(client, service, new_connection=True, client_port=fid)
        conn = Conn(client, c.backend, fid, None, None, c.extra_first_s, c.setup_delay_s,
                    c.failed, c)
        extra = layer.established_extra_s(service) if established else 0.0
    if conn.backend is not None and with_flow:
        table = sim.paths
        fwd: Path | None = None
        back: Path | None = None
        if table.meshed_cluster:
            # the client's proxy resolves the Service and connects to the pod IP: no
            # kube-proxy lookup or DNAT for its requests (the Services layer's choice
            # of backend stands)
            fwd = table.meshed(sim.path(client, conn.backend), client, conn.backend)
            if client_proxy(fwd) is not None:
                back = table.meshed(sim.path(conn.backend, client), conn.backend, client,
                                    reverse=True)
                extra = conn.extra_first_s = 0.0
            else:
                fwd = None
        if back is None:
            # a CNI may hand Service packets to the host and back (None: the pod paths)
            pair = table.hairpin_paths(client, conn.backend) if service is not None else None
            fwd, back = pair or (None, None)
            if table.meshed_cluster:  # through the service mesh's proxies
                fwd = table.meshed(fwd or sim.path(client, conn.backend), client, conn.backend)
                back = table.meshed(back or sim.path(conn.backend, client), conn.backend,
                                    client, reverse=True)
        conn.flow = sim.open_flow(client, conn.backend, flow_id=fid, hooks=ctx.hooks,
                                  surcharge=Surcharge(extra) if extra else NO_SURCHARGE,
                                  path=fwd, reverse_path=back)
        conn.back = conn.flow.reverse
        if table.meshed_cluster:
            _mesh_bind(ctx, conn, established)
    return conn


def _mesh_bind(ctx: WorkloadContext, conn: Conn, established: bool) -> None:
    """A meshed connection's legs (:mod:`kperf.workloads.meshpool`): a keep-alive one is
    bound to a pooled connection now, a per-request one keeps its legs for crr."""
    from kperf.workloads.meshpool import pools_of  # meshpool imports this module

    flow = conn.flow
    assert flow is not None
    pools = pools_of(ctx.sim)
    legs = pools.legs(flow.path, flow.reverse.path)
    if legs is None:
        return
    if established:
        if legs.pool_fwd is not None:
            pools.bind_keepalive(conn, legs)
    else:
        conn.legs = legs


def open_external(ctx: WorkloadContext, client: Any, ext: ExternalTarget,
                  established: bool = True, with_flow: bool = True) -> Conn:
    """Connect external host ``client`` to ``ext``'s Service through a node's NodePort
    (``ext.entry``: round robin, a named node, or the load balancer's choice); the
    entry node's kube-proxy picks the endpoint and its proxy costs are charged on that
    node's core (:meth:`kperf.datapath.builder.PathTable.external`). Without
    ``established`` the connection carries one request (crr, http without
    keep-alive), counted here in ``ctx.external`` when it starts inside the window."""
    sim = ctx.sim
    layer = ctx.services
    fid = sim.new_flow_id()
    svc = ext.service
    entry = ext.entry(client, layer)
    if entry is None:
        conn = Conn(client, None, fid, failed="no-endpoints")
    else:
        c = layer.connect_node_port(client, svc, entry, client_port=fid)
        failed = c.failed
        if (failed == "no-endpoints" and svc.external_traffic_policy == "Local"
                and svc.endpoints):
            failed = "no-local-endpoint"  # kube-proxy drops what has no local endpoint
        conn = Conn(client, c.backend, fid, None, None, c.extra_first_s, c.setup_delay_s,
                    failed, c, entry=entry)
    stats = ctx.external
    if not established and stats is not None and ctx.measuring(sim.now):
        stats.count(conn.entry, conn.backend)
    if conn.backend is not None and with_flow:
        lb = layer.entry_chooser().profile if ext.via == "lb" else None
        table = sim.paths
        fwd = table.external(client, conn.entry, conn.backend, inbound=True, lb=lb,
                             service_index=svc.index, router_latency_us=ext.router_latency_us)
        back = table.external(client, conn.entry, conn.backend, inbound=False, lb=lb,
                              service_index=svc.index,
                              router_latency_us=ext.router_latency_us)
        if table.meshed_cluster:  # the server's proxy (the client is not meshed)
            fwd = table.meshed(fwd, client, conn.backend)
            back = table.meshed(back, conn.backend, client, reverse=True)
        extra = layer.established_extra_s(svc) if established else 0.0
        conn.flow = sim.open_flow(client, conn.backend, flow_id=fid, hooks=ctx.hooks,
                                  surcharge=Surcharge(extra) if extra else NO_SURCHARGE,
                                  path=fwd, reverse_path=back)
        conn.back = conn.flow.reverse
        if table.meshed_cluster:
            _mesh_bind(ctx, conn, established)
    return conn


TLP_MIN_S = 0.002  # Linux tcp_schedule_loss_probe: 2 SRTT + TCP_TIMEOUT_INIT_MIN (2 ms)


def probe_timeout_s(flow: Flow) -> float:
    """When Linux's tail-loss probe resends a lost message of an established connection
    with nothing sent after it: two round trips plus 2 ms (the round trip taken as the
    idle one, both ways)."""
    path, back = flow.path, flow.reverse.path
    rtt = (path.idle_s() if path.hops else 0.0) + (back.idle_s() if back.hops else 0.0)
    return 2.0 * rtt + TLP_MIN_S


class Reliable:
    """A message sent with TCP-like retransmission: on a drop it is sent again after
    the RTO (doubling each time); an unreachable path fails at once. A message with
    data (not a bare SYN) is first resent by a tail-loss probe
    (:func:`probe_timeout_s`), as Linux does since 3.10, then after the RTO."""

    __slots__ = ("attempt", "ctx", "flow", "measure", "nbytes", "on_done", "on_fail",
                 "surcharge")

    def __init__(self, ctx: WorkloadContext, flow: Flow, nbytes: int,
                 on_done: Callable[[float], None], on_fail: Callable[[float, str], None],
                 measure: bool = True) -> None:
        self.ctx = ctx
        self.flow = flow
        self.nbytes = nbytes
        self.on_done = on_done
        self.on_fail = on_fail
        self.measure = measure
        self.surcharge: Surcharge | None = None
        self.attempt = 0

    def send(self, surcharge: Surcharge | None = None) -> None:
        """Send the message (with ``surcharge`` instead of the flow's own, if given)."""
        self.surcharge = surcharge
        self._resend()

    def dropped(self, t: float, reason: str) -> None:
        """The message was dropped at ``t``: retransmit or fail."""
        if reason == "unreachable":
            self.on_fail(t, "unreachable")
        elif self.attempt >= MAX_RETRANSMITS:
            self.on_fail(t, "dropped")
        else:
            self.ctx.retransmits += 1
            if self.attempt == 0 and self.nbytes > 0:
                wait = probe_timeout_s(self.flow)
            else:
                wait = TCP_RTO_MIN_S * (2 ** max(self.attempt - (self.nbytes > 0), 0))
            self.attempt += 1
            self.ctx.sim.at(t + wait, self._resend)

    def _resend(self) -> None:
        self.flow.send(self.nbytes, self.on_done, self.dropped, self.measure, self.surcharge)


def send_reliable(ctx: WorkloadContext, flow: Flow, nbytes: int,
                  on_done: Callable[[float], None], on_fail: Callable[[float, str], None],
                  measure: bool = True) -> None:
    """Send ``nbytes`` on ``flow`` with retransmission (see :class:`Reliable`)."""
    r = Reliable(ctx, flow, nbytes, on_done, on_fail, measure)
    flow.send(nbytes, on_done, r.dropped, measure)
