"""``rr`` and ``crr``: netperf TCP_RR and TCP_CRR.

rr: each client opens its connections before measuring (as netperf does), then runs
``outstanding`` request/response loops back to back (closed loop), or issues requests
at Poisson times at ``rate_per_s`` (open loop). A transaction: request client→server,
the server pod's worker serves it for ``app_service_us``, response server→client.

crr: every transaction opens a new connection (new source port, so RSS may pick other
cores): SYN (paying the socket work, a conntrack entry on each node that tracks it, the
CNI's first-packet policy and, to a Service, the proxy's first-packet cost), SYN-ACK,
then request and response, then FIN each way (sent, not waited for, as netperf's close
does not wait for the peer's FIN). Through a service mesh the connection ends at the
client's proxy and the proxies' own connections are pooled (:mod:`kperf.workloads.meshpool`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from kperf.engine.routes import Surcharge
from kperf.spec.workload import CrrWorkload, RrWorkload
from kperf.workloads.connections import Conn, Reliable, open_conn, send_reliable
from kperf.workloads.context import WorkloadContext, targets_of
from kperf.workloads.external import ExternalStats, ExternalTarget
from kperf.workloads.meshpool import crr_meshed
from kperf.workloads.reliable import exchange

# After a failed transaction a closed-loop client waits 1 ms before the next one, so a
# cluster where every request fails (no CNI across nodes) still advances in time.
FAILED_CONNECTION_BACKOFF_S = 1e-3


class Recorder(Protocol):
    """Where a transaction's outcome goes (a LatencyRecorder, or a parent request)."""

    def add(self, start_s: float, latency_s: float) -> None: ...

    def fail(self, start_s: float, reason: str) -> None: ...


class _Outcome:
    """How a transaction that started at ``t0`` ends: :meth:`fail` records the failure
    (then backs off) or :meth:`finish` the latency and payload, then ``done()``.

    Into the workload's recorder when the transaction started inside the measurement
    window; into ``recorder``, when given, always (its owner decides what counts).
    A slotted object rather than closures: this is on every request's path."""

    __slots__ = ("ctx", "done", "nbytes", "rec", "t0")

    def __init__(self, ctx: WorkloadContext, t0: float, measure: bool, nbytes: int,
                 done: Callable[[], None], recorder: Recorder | None = None) -> None:
        self.ctx = ctx
        self.t0 = t0
        self.nbytes = nbytes
        self.done = done
        self.rec: Recorder | None = recorder if recorder is not None else (
            ctx.recorder if measure else None)

    def fail(self, t: float, reason: str) -> None:
        if self.rec is not None:
            self.rec.fail(self.t0, reason)
        self.ctx.sim.at(t + FAILED_CONNECTION_BACKOFF_S, self.done)

    def finish(self, t: float) -> None:
        if self.rec is not None:
            self.rec.add(self.t0, t - self.t0)
        self.ctx.delivered(t, self.nbytes)
        self.done()


def _outcomes(
    ctx: WorkloadContext, t0: float, measure: bool, nbytes: int, done: Callable[[], None],
    recorder: Recorder | None = None,
) -> tuple[Callable[[float, str], None], Callable[[float], None]]:
    """The (fail, finish) callbacks of an :class:`_Outcome`."""
    o = _Outcome(ctx, t0, measure, nbytes, done, recorder)
    return o.fail, o.finish


class _Transaction(_Outcome):
    """A request/response on a connection after its request was sent: the server's
    work, then the response."""

    __slots__ = ("conn", "measure", "response_bytes", "service_s")

    conn: Conn
    measure: bool
    response_bytes: int
    service_s: float

    def respond(self, _t: float) -> None:
        back = self.conn.back
        assert back is not None
        send_reliable(self.ctx, back, self.response_bytes, self.finish, self.fail,
                      self.measure)

    def served(self, _t: float) -> None:
        ctx = self.ctx
        sim = ctx.sim
        sim.serve_on(self.conn.backend_app(sim), self.service_s, self.respond,
                     ctx.stats if self.measure else None)


def transaction(
    ctx: WorkloadContext,
    conn: Conn,
    request_bytes: int,
    response_bytes: int,
    service_s: float,
    done: Callable[[], None],
    recorder: Recorder | None = None,
) -> None:
    """One request/response on ``conn``; records latency or failure, then ``done()``."""
    t0 = ctx.sim.now
    measure = ctx.start_s <= t0 < ctx.end_s  # ctx.measuring(t0), inlined
    txn = _Transaction(ctx, t0, measure, request_bytes + response_bytes, done, recorder)
    txn.conn = conn
    txn.measure = measure
    txn.response_bytes = response_bytes
    txn.service_s = service_s
    assert conn.flow is not None
    send_reliable(ctx, conn.flow, request_bytes,
                  txn.served if service_s > 0 else txn.respond, txn.fail, measure)


def crr_transaction(
    ctx: WorkloadContext,
    client: Any,
    target: Any,
    service: Any | None,
    request_bytes: int,
    response_bytes: int,
    service_s: float,
    done: Callable[[], None],
    t0: float | None = None,
) -> None:
    """Connect, request, response, close: TCP_CRR's unit of work.

    With the workload's ``resolve_dns`` and a Service target, the client first resolves
    the Service's short name through cluster DNS (resolv.conf search list, A and AAAA,
    see :mod:`kperf.services.dns`), or the workload's ``dns_name`` (then ``target`` may
    be a pod the name's headless Service answered with); the request's latency includes
    the lookup and a failed lookup fails the request as ``dns``.
    """
    sim = ctx.sim
    resolve = (t0 is None and ctx.resolve_dns and ctx.services is not None
               and (service is not None or ctx.dns_name is not None))
    if t0 is None:
        t0 = sim.now
    measure = ctx.measuring(t0)
    # failures before a connection exists (DNS, conntrack full, no endpoints)
    fail_early, _ = _outcomes(ctx, t0, measure, 0, done)
    if resolve:
        start = t0

        def resolved(t: float, _queries: int, ok: bool) -> None:
            if ok:
                crr_transaction(ctx, client, target, service, request_bytes,
                                response_bytes, service_s, done, t0=start)
            else:
                fail_early(t, "dns")

        name = ctx.dns_name
        if name is None:
            assert service is not None
            name = service.name
        ctx.services.resolve(client, name, resolved)
        return
    # per-message Services costs are not paid: the connection carries one request
    conn = open_conn(ctx, client, target, service, established=False)
    if conn.failed is not None or conn.flow is None:
        reason = conn.failed or "no-endpoints"
        sim.at(t0 + conn.setup_delay_s, lambda: fail_early(sim.now, reason))
        return
    flow = conn.flow
    if conn.legs is not None:  # through a service mesh: the proxies' connections
        def closed() -> None:
            conn.close()
            done()

        fail_m, finish_m = _outcomes(ctx, t0, measure, request_bytes + response_bytes, closed)
        crr_meshed(ctx, conn, conn.legs, request_bytes, response_bytes, service_s, t0,
                   measure, finish_m, fail_m)
        return
    connect_s, accept_s = connection_costs_s(sim, client, conn.backend)

    def close() -> None:
        # FIN each way, not waited for
        flow.send(0, _ignore, None, False)
        flow.reverse.send(0, _ignore, None, False)
        conn.close()
        done()

    fail, finish = _outcomes(ctx, t0, measure, request_bytes + response_bytes, close)

    request = exchange(ctx, conn, flow, request_bytes, response_bytes, service_s, measure,
                       finish, fail)

    def syn_ack(_t: float) -> None:
        Reliable(ctx, flow.reverse, 0, request, fail, measure).send(Surcharge(0.0, accept_s))

    def syn() -> None:
        Reliable(ctx, flow, 0, syn_ack, fail, measure).send(
            Surcharge(conn.extra_first_s, connect_s))

    if conn.setup_delay_s > 0:
        sim.at(t0 + conn.setup_delay_s, syn)
    else:
        syn()


GAP_BLOCK = 1024  # most inter-arrival gaps drawn per numpy call (open loop, one connection)


def _nothing() -> None:
    """An open-loop transaction's completion: nothing waits for it."""


def _ignore(_t: float) -> None:
    """A message nothing waits for (a FIN)."""


class _Client:
    """One client pod's traffic: closed-loop slots or an open-loop arrival process."""

    __slots__ = ("client", "conn0", "conns", "crr", "ctx", "gap_block", "gap_next", "rng",
                 "service", "service_s", "single", "spec", "targets")

    def __init__(self, ctx: WorkloadContext, spec: RrWorkload | CrrWorkload, client: Any,
                 targets: list[Any], service: Any | None, rng: np.random.Generator,
                 service_s: float) -> None:
        self.ctx = ctx
        self.spec = spec
        self.client = client
        self.targets = targets
        self.service = service
        self.rng = rng
        self.service_s = service_s  # the workload's one float, shared by its clients
        self.crr = spec.kind == "crr"
        # rr: connections are opened before measuring, as netperf does
        self.conns = [] if self.crr else [open_conn(ctx, client, self.pick(), service)
                                          for _ in range(spec.outstanding)]
        # fewer objects read per request: the first connection, and whether an
        # open-loop arrival has a connection to pick
        self.conn0 = self.conns[0] if self.conns else None
        self.single = self.crr or len(self.conns) == 1
        # Open loop on one connection: from here on the stream feeds only the
        # inter-arrival gaps, so they are drawn in blocks (numpy gives the same values
        # as one draw at a time) instead of one numpy call per request.
        self.gap_block: list[float] | None = (
            [] if spec.rate_per_s is not None and len(self.conns) == 1 else None)
        self.gap_next = 0

    def pick(self) -> Any:
        t = self.targets
        return t[0] if len(t) == 1 else t[int(self.rng.integers(len(t)))]

    def one(self, slot: int, done: Callable[[], None]) -> None:
        """Start one transaction (on connection ``slot`` for rr); ``done()`` after it."""
        ctx, spec = self.ctx, self.spec
        ctx.issued += 1
        if self.crr:
            crr_transaction(ctx, self.client, self.pick(), self.service, spec.request_bytes,
                            spec.response_bytes, self.service_s, done)
            return
        conn = self.conn0 if slot == 0 else self.conns[slot]
        assert conn is not None
        if conn.backend is None:
            t0 = ctx.sim.now
            if ctx.measuring(t0):
                ctx.recorder.fail(t0, conn.failed or "no-endpoints")
            ctx.sim.at(t0 + FAILED_CONNECTION_BACKOFF_S, done)
            return
        transaction(ctx, conn, spec.request_bytes, spec.response_bytes, self.service_s, done)

    def loop(self, slot: int) -> None:
        """Closed loop: the next transaction starts when the previous one ends."""
        if self.ctx.open(self.ctx.sim.now):
            self.one(slot, lambda: self.loop(slot))

    def arrive(self) -> float | None:
        """Open loop: this Poisson arrival (at ``rate_per_s``); returns when the next
        one is due, or None when the workload is closed (see :meth:`start`)."""
        ctx = self.ctx
        now = ctx.sim.now
        if not ctx.open(now):
            return None
        # integers(1) is always 0 and draws nothing from the stream: skip the call
        slot = 0 if self.single else int(self.rng.integers(len(self.conns)))
        self.one(slot, _nothing)
        return now + self.gap()

    def gap(self) -> float:
        """The next inter-arrival time (seconds)."""
        rate = self.spec.rate_per_s
        assert rate is not None
        block = self.gap_block
        if block is None:
            return float(self.rng.exponential(1.0 / rate))
        i = self.gap_next
        if i == len(block):
            # blocks grow (16, 32, ... GAP_BLOCK): short runs draw little ahead
            size = min(max(2 * i, 16), GAP_BLOCK)
            block = self.gap_block = self.rng.exponential(1.0 / rate, size).tolist()
            i = 0
        self.gap_next = i + 1
        return block[i]

    def start(self) -> None:
        """Closed loop: ``outstanding`` loops from time 0. Open loop: the arrival
        process, merged with every other client's into one pending event."""
        sim = self.ctx.sim
        if self.spec.rate_per_s is None:
            for slot in range(self.spec.outstanding):
                sim.at(0.0, functools.partial(self.loop, slot))
        else:
            sim.arrivals.add(sim.now + self.gap(), self.arrive)


class _ExternalClient(_Client):
    """An external host's traffic (``placement: external``): as :class:`_Client`, and
    each request on a persistent connection counts where it entered and was served
    (crr connections count themselves when they open)."""

    __slots__ = ()

    def one(self, slot: int, done: Callable[[], None]) -> None:
        ctx = self.ctx
        stats = ctx.external
        if not self.crr and stats is not None and ctx.measuring(ctx.sim.now):
            conn = self.conn0 if slot == 0 else self.conns[slot]
            assert conn is not None
            stats.count(conn.entry, conn.backend)
        _Client.one(self, slot, done)


def connection_costs_s(sim: Any, client: Any, server: Any) -> tuple[float, float]:
    """CPU seconds a new TCP connection costs the client (with its SYN) and the server
    (with its SYN-ACK): the testbed's socket work, a conntrack entry on each node whose
    host namespace tracks the connection, and for pod endpoints the CNI's own
    first-packet policy work (:func:`kperf.datapath.conntrack.connection_parts`;
    memoised by :meth:`kperf.datapath.builder.PathTable.connection_costs_s`)."""
    costs: tuple[float, float] = sim.paths.connection_costs_s(client, server)
    return costs


def start(ctx: WorkloadContext, spec: RrWorkload | CrrWorkload, path: str) -> None:
    """Start every client's loops (closed loop) or arrival processes (open loop)."""
    cluster = ctx.sim.cluster
    clients, service, choices = targets_of(cluster, spec, path)
    service_s = spec.app_service_us * 1e-6
    cls = _Client
    if isinstance(service, ExternalTarget):
        cls = _ExternalClient
        ctx.external = ExternalStats(len(cluster.nodes), services={service.index})
    for ci, client in enumerate(clients):
        cls(ctx, spec, client, choices[ci], service, ctx.rng(ci), service_s).start()
