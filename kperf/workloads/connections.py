"""Opening connections to pods or Services, and sending with TCP-like retransmission.

Through a Service the choice of backend, the proxy's first-packet cost and conntrack are
the Services layer's (:mod:`kperf.services`); to a pod directly there is nothing to
choose. A message dropped on the way (full NIC ring, switch buffer or receive backlog)
is retransmitted after the minimum retransmission timeout (Linux ``TCP_RTO_MIN`` =
200 ms), up to ``MAX_RETRANSMITS`` times, then the request fails as ``dropped``. This
is the level of TCP loss recovery kperf models: no congestion window dynamics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from kperf.engine.sim import HeldRoute
from kperf.workloads.context import WorkloadContext

TCP_RTO_MIN_S = 0.2  # include/net/tcp.h TCP_RTO_MIN (HZ/5)
MAX_RETRANSMITS = 3


@dataclass(slots=True)
class Conn:
    """An open (or failed) connection from ``client`` to ``backend``."""

    client: Any
    backend: Any | None
    flow_id: int
    extra_first_s: float = 0.0
    setup_delay_s: float = 0.0
    failed: str | None = None
    established_extra_s: float = 0.0
    handle: Any = None  # the Services layer's Connection (conntrack entry, lc counts)
    app: Any = None  # the backend's worker pool (Simulation.app_pool), once it served
    # the route each way (Simulation.send's route_cache): client to backend, and back
    to_backend: HeldRoute = field(default_factory=HeldRoute)
    to_client: HeldRoute = field(default_factory=HeldRoute)

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


def open_conn(ctx: WorkloadContext, client: Any, target: Any, service: Any | None) -> Conn:
    """Connect ``client`` to ``target`` (a pod) or through ``service``."""
    flow = ctx.sim.new_flow_id()
    if service is None:
        return Conn(client, target, flow)
    layer = ctx.services
    c = layer.connect(client, service, new_connection=True, client_port=flow)
    return Conn(client, c.backend, flow, c.extra_first_s, c.setup_delay_s, c.failed,
                layer.established_extra_s(service), c)


def send_reliable(
    ctx: WorkloadContext,
    src: Any,
    dst: Any,
    nbytes: int,
    flow_id: int,
    on_done: Callable[[float], None],
    on_fail: Callable[[float, str], None],
    *,
    extra_first_s: float = 0.0,
    measure: bool = True,
    attempt: int = 0,
    setup_s: float = 0.0,
    route_cache: HeldRoute | None = None,
) -> None:
    """Send a message; on a drop, retransmit after the RTO; unreachable fails at once.

    ``route_cache``: see :meth:`kperf.engine.sim.Simulation.send` (a connection's)."""
    # a partial, not a closure: no cell per argument on this per-message path
    dropped = partial(_dropped, ctx, src, dst, nbytes, flow_id, on_done, on_fail,
                      extra_first_s, measure, attempt, setup_s, route_cache)
    ctx.sim.send(src, dst, nbytes, on_done, dropped, flow_id=flow_id,
                 extra_first_s=extra_first_s, setup_s=setup_s,
                 stats=ctx.stats if measure else None, route_cache=route_cache)


def _dropped(
    ctx: WorkloadContext,
    src: Any,
    dst: Any,
    nbytes: int,
    flow_id: int,
    on_done: Callable[[float], None],
    on_fail: Callable[[float, str], None],
    extra_first_s: float,
    measure: bool,
    attempt: int,
    setup_s: float,
    route_cache: HeldRoute | None,
    t: float,
    reason: str,
) -> None:
    """A message of :func:`send_reliable` was dropped at ``t``: retransmit or fail."""
    if reason == "unreachable":
        on_fail(t, "unreachable")
    elif attempt >= MAX_RETRANSMITS:
        on_fail(t, "dropped")
    else:
        ctx.retransmits += 1
        ctx.sim.at(t + TCP_RTO_MIN_S * (2**attempt), partial(
            send_reliable, ctx, src, dst, nbytes, flow_id, on_done, on_fail,
            extra_first_s=extra_first_s, measure=measure, attempt=attempt + 1,
            setup_s=setup_s, route_cache=route_cache))
