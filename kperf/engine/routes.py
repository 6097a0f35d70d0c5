"""Routes, their programs, and the engine's one cache of both, keyed by value.

A :class:`Route` is the servers one flow's chunks cross on one path (cores picked by
RSS hash); a :class:`Prog` is a cost :class:`~kperf.engine.plans.Plan` on one route: the
route's servers and, in one tuple per hop, the plan's constants there, shared by every
route with the same plan (:meth:`Plan.steps`), so a chunk's hop reads a shared,
cache-warm tuple and the route's own server. A program also counts the chunks it sent,
delivered and dropped (and where): conservation counters, CPU use per node and the
servers' busy time are derived from these counts when asked for, so sending and
delivering a chunk each cost one increment.

:class:`RouteCache` holds every plan and route of a simulation, keyed by value: a plan
by (path signature, payload bytes, first of its message, proxy and stack surcharge
seconds), a route by (source node, destination node, path signature, flow id). One
invalidation rule: :meth:`RouteCache.invalidate` drops the routes and bumps ``epoch``;
whoever holds a route or program (a :class:`~kperf.engine.flow.Flow`) compares its
epoch with the cache's before using it. No key or result depends on the identity of an
object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kperf.datapath.path import Path
from kperf.engine.plans import Plan

if TYPE_CHECKING:
    from kperf.engine.queues import FifoServer

MAX_CACHED_PLANS = 200_000
"""Plans kept before the plan cache is dropped (bounds memory; plans are pure data)."""


@dataclass(frozen=True, slots=True)
class Surcharge:
    """CPU seconds added to a message's first chunk: ``proxy_s`` (a proxy's
    first-packet cost, a conntrack insert, category proxy) on the path's proxy hop
    (``Path.proxy_hop``: the sender's core, or for traffic from outside the cluster the
    entry node's core) and ``stack_s`` (a TCP connection's socket work, category
    stack) on the first hop, the sender's core."""

    proxy_s: float = 0.0
    stack_s: float = 0.0


NO_SURCHARGE = Surcharge()


class Prog:
    """A plan on one route, and how many chunks it sent, delivered and dropped (where)."""

    __slots__ = ("cpu_nodes", "delivered", "drops", "nbytes", "plan", "route", "sent",
                 "servers", "steps", "transit", "unqueued_s")

    def __init__(self, plan: Plan, route: Route, nbytes: int, transit: Any) -> None:
        self.plan = plan
        self.transit = transit  # the Transit that moves its chunks
        self.nbytes = nbytes  # payload of each chunk
        self.route = route
        self.servers = route.servers
        self.cpu_nodes = route.cpu_nodes
        self.steps, self.unqueued_s = plan.steps(route.hop_attrs)
        self.sent = 0  # chunks sent, delivered and dropped with this program
        self.delivered = 0
        # chunks dropped at each hop (a list once one is)
        self.drops: list[int] | None = None

    @property
    def dropped(self) -> int:
        return sum(self.drops) if self.drops else 0


class Route:
    """The servers one flow's chunks cross on one path, and the programs of the chunk
    kinds sent on it so far, keyed by (payload bytes, proxy surcharge s, stack
    surcharge s), surcharges -1 for chunks after a message's first."""

    __slots__ = ("chunk_bytes", "cpu_nodes", "hop_attrs", "last_key", "last_prog", "path",
                 "progs", "servers")

    last_prog: Prog

    def __init__(self, path: Path, servers: tuple[FifoServer, ...]) -> None:
        self.path = path
        self.servers = servers
        # per hop: bounded buffer, fixed delay after (s)
        self.hop_attrs = tuple((h.bounded, h.delay_after_s) for h in path.hops)
        self.cpu_nodes = tuple(h.cpu_node for h in path.hops)
        self.chunk_bytes = path.seg.chunk_payload_bytes
        self.progs: dict[tuple[int, float, float], Prog] = {}
        # the key of the last first chunk sent, whose program is last_prog (set with it)
        self.last_key: tuple[int, float, float] | None = None


class RouteCache:
    """Every plan and route of one simulation, keyed by value; see the module doc."""

    __slots__ = ("epoch", "plans", "routes")

    def __init__(self) -> None:
        self.plans: dict[tuple[object, ...], Plan] = {}
        self.routes: dict[tuple[int, int, tuple[object, ...], int], Route] = {}
        self.epoch = 0  # bumped by invalidate(): routes held elsewhere are stale

    def plan(self, path: Path, nbytes: int, first: bool, surcharge: Surcharge) -> Plan:
        """The plan of a chunk of ``nbytes`` on ``path`` (with ``surcharge`` on a
        message's first chunk: see :class:`Surcharge`)."""
        key = (path.signature, nbytes, first, surcharge.proxy_s, surcharge.stack_s)
        plan = self.plans.get(key)
        if plan is None:
            if len(self.plans) > MAX_CACHED_PLANS:
                self.plans.clear()
            if surcharge.stack_s:
                base = self.plan(path, nbytes, first, Surcharge(surcharge.proxy_s))
                plan = base.surcharged(surcharge.stack_s, "stack")
            elif surcharge.proxy_s:
                plan = self.plan(path, nbytes, first, NO_SURCHARGE).surcharged(
                    surcharge.proxy_s, "proxy", path.proxy_hop)
            else:
                plan = Plan(path, nbytes, first)
            self.plans[key] = plan
        return plan

    def route(self, path: Path, flow_id: int, network: Any) -> Route:
        """The route of ``flow_id`` on ``path``: each hop's server for that flow."""
        key = (path.src_node, path.dst_node, path.signature, flow_id)
        r = self.routes.get(key)
        if r is None:
            servers = tuple(hop.server(network, flow_id) for hop in path.hops)
            r = self.routes[key] = Route(path, servers)
        return r

    def invalidate(self) -> list[Route]:
        """Drop every route (returned, for their counts) and bump the epoch."""
        dropped = list(self.routes.values())
        self.routes.clear()
        self.epoch += 1
        return dropped

    def __len__(self) -> int:
        return len(self.routes)

