"""A connection's state and TCP-like retransmission of its messages.

A message dropped on the way (full NIC ring, switch buffer or receive backlog) is
retransmitted by a tail-loss probe (two round trips plus 2 ms) and then after the
minimum retransmission timeout (Linux ``TCP_RTO_MIN`` = 200 ms, doubling), up to
``MAX_RETRANSMITS`` times, then the request fails as ``dropped``. Request/response
messages do not run the full transport (:mod:`kperf.transport`, used by streams):
no congestion window, which small messages rarely fill. Opening connections is
:mod:`kperf.workloads.connections`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kperf.engine.flow import Flow
from kperf.engine.routes import Surcharge
from kperf.workloads.context import WorkloadContext

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


def exchange(ctx: WorkloadContext, conn: Conn, flow: Flow, request_bytes: int,
             response_bytes: int, service_s: float, measure: bool,
             done: Callable[[float], None],
             fail: Callable[[float, str], None]) -> Callable[[float], None]:
    """One request/response on ``flow`` (client to ``conn``'s backend) and its reverse:
    the request, ``service_s`` in the backend's worker pool, the response, each sent
    with retransmission; ``done(t)`` when the response arrives, ``fail(t, reason)`` if a
    message fails. Returns the starter: call it (with the time) to send the request."""
    sim = ctx.sim

    def respond(_t: float) -> None:
        send_reliable(ctx, flow.reverse, response_bytes, done, fail, measure)

    def served(t: float) -> None:
        if service_s > 0:
            sim.serve_app(conn.backend, service_s, respond, ctx.stats if measure else None)
        else:
            respond(t)

    def request(_t: float) -> None:
        send_reliable(ctx, flow, request_bytes, served, fail, measure)

    return request
