"""Opening connections to pods or Services (sending with TCP-like retransmission is
:mod:`kperf.workloads.reliable`, re-exported here).

Through a Service the choice of backend, the proxy's first-packet cost and conntrack are
the Services layer's (:mod:`kperf.services`); to a pod directly there is nothing to
choose. Through a service mesh the connection's legs and the proxies' pooled
connections are :mod:`kperf.workloads.meshpool`'s.
"""

from __future__ import annotations

from typing import Any

from kperf.datapath.mesh import client_proxy
from kperf.datapath.path import Path
from kperf.engine.routes import NO_SURCHARGE, Surcharge
from kperf.workloads.context import WorkloadContext
from kperf.workloads.external import ExternalTarget
from kperf.workloads.meshpool import pools_of
from kperf.workloads.reliable import (
    MAX_RETRANSMITS,
    TCP_RTO_MIN_S,
    TLP_MIN_S,
    Conn,
    Reliable,
    probe_timeout_s,
    send_reliable,
)

__all__ = ["MAX_RETRANSMITS", "TCP_RTO_MIN_S", "TLP_MIN_S", "Conn", "Reliable", "open_conn",
           "open_external", "probe_timeout_s", "send_reliable"]


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
