"""Flows: the one way workloads send messages.

A :class:`Flow` is one direction of a connection (or of a UDP socket pair) between two
endpoints, opened once by :meth:`kperf.engine.sim.Simulation.open_flow`; ``reverse`` is
the other direction, with the same flow id (so the same RSS hashes). It holds what every
message of the flow shares:

* its path and route (the servers its chunks cross), looked up at its first message
  and held while the route cache's epoch is unchanged
  (:class:`~kperf.engine.routes.RouteCache`);
* the program (cost table on its route) of its last one-chunk message with the flow's
  own surcharge, keyed by the message size, so the next such message goes from the
  flow straight to its servers: the fast path *is* the API;
* its :class:`~kperf.engine.transit.FlowHooks` (the stats its messages feed, per-chunk
  and per-hop calls) and its default :class:`~kperf.engine.routes.Surcharge` (for
  example a Service's per-message proxy cost on an established connection).

``flow.send(nbytes, on_done)`` sends a message now; ``on_drop(t, where)`` is called if a
chunk is dropped (``"unreachable"`` when the path has no hops).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from kperf.datapath.path import Path
from kperf.engine.routes import NO_SURCHARGE, Prog, Route, Surcharge
from kperf.engine.transit import NO_HOOKS, FlowHooks, Transit, send_held


class FlowOwner(Protocol):
    """What a flow uses of its :class:`~kperf.engine.sim.Simulation` (which imports
    this module, so it is named by what it offers, not imported back)."""

    transit: Transit
    reference: bool

    def path(self, src: Any, dst: Any, udp: bool = False) -> Path: ...


class Flow:
    """One direction of a connection; see the module doc.

    CPython lays slots out in sorted order: the six a held message reads (``_cache`` to
    ``_quiet``) sort first, so they share the object's first 64 bytes and a flow that
    is no longer in the processor's caches costs one or two lines, not three."""

    __slots__ = ("_cache", "_epoch", "_held_nbytes", "_held_prog", "_hooks", "_quiet",
                 "cont_nbytes", "cont_prog", "dst", "flow_id", "holds", "known_path",
                 "known_route", "reverse", "sim", "src", "surcharge", "transit", "udp")

    reverse: Flow

    def __init__(self, sim: FlowOwner, src: Any, dst: Any, flow_id: int, udp: bool,
                 hooks: FlowHooks = NO_HOOKS, surcharge: Surcharge = NO_SURCHARGE,
                 path: Path | None = None) -> None:
        self.sim = sim
        self.src = src
        self.dst = dst
        self.flow_id = flow_id
        self.udp = udp
        self._hooks = hooks
        self._quiet = hooks.unmeasured() if hooks.stats is not None else hooks
        self.surcharge = surcharge
        self.transit = sim.transit
        self._cache = sim.transit.cache
        self.holds = not sim.reference  # the reference mode holds nothing
        self.known_path = path  # None: the cluster's, looked up at the first message
        self.known_route: Route | None = None
        self._epoch = -1  # the cache epoch of the held route (-1: none held)
        self._held_nbytes = -1  # the held program's message size (-1: none held)
        self._held_prog: Prog | None = None
        self.cont_nbytes = -1  # the same for continuation chunks (send(first=False))
        self.cont_prog: Prog | None = None

    @property
    def path(self) -> Path:
        """The path from ``src`` to ``dst``."""
        path = self.known_path
        if path is None:
            path = self.known_path = self.sim.path(self.src, self.dst, self.udp)
        return path

    @property
    def hooks(self) -> FlowHooks:
        """What the flow's measured messages report to."""
        return self._hooks

    @property
    def epoch(self) -> int:
        """The route cache epoch of the route held (-1: none held)."""
        return self._epoch

    def send(
        self,
        nbytes: int,
        on_done: Callable[[float], None],
        on_drop: Callable[[float, str], None] | None = None,
        measure: bool = True,
        surcharge: Surcharge | None = None,
        first: bool = True,
    ) -> float | None:
        """Send ``nbytes`` now; ``on_done(t)`` at delivery, ``on_drop(t, where)`` if a chunk
        is dropped. ``measure=False``: the message feeds no stats. ``surcharge``: instead
        of the flow's own. ``first=False``: the bytes (at most one chunk) continue a
        message already started and pay no per-message cost (a transport's later
        segment of one write). Returns when the sender's core has finished the message
        (a blocking ``send()`` returns), or None when it could not be sent."""
        hooks = self._hooks if measure else self._quiet
        if first:
            if (surcharge is None and nbytes == self._held_nbytes
                    and self._epoch == self._cache.epoch):
                return send_held(self._held_prog,  # type: ignore[arg-type]
                                 nbytes, on_done, on_drop, hooks)
        elif nbytes == self.cont_nbytes and self._epoch == self._cache.epoch:
            return send_held(self.cont_prog,  # type: ignore[arg-type]
                             nbytes, on_done, on_drop, hooks)
        route = self.route()
        if route is None:
            self.transit.unreachable_message(on_drop)
            return None
        if not first:
            sent = self.transit.send_on(route, nbytes, on_done, on_drop, hooks,
                                        NO_SURCHARGE, False)
            if self.holds:  # the continuation's program, held like the first's
                self.cont_nbytes = nbytes
                self.cont_prog = route.progs[(nbytes, -1.0, -1.0)]
            return sent
        sent = self.transit.send_on(route, nbytes, on_done, on_drop, hooks,
                                    self.surcharge if surcharge is None else surcharge)
        if surcharge is None and self.holds and nbytes <= route.chunk_bytes:
            self._held_nbytes = nbytes
            self._held_prog = route.last_prog
        return sent

    def route(self) -> Route | None:
        """The route (servers) of this flow, held while the cache's epoch holds; None
        when the path is unreachable."""
        if self._epoch == self._cache.epoch and self.known_route is not None:
            return self.known_route
        path = self.path
        if path.unreachable or not path.hops:
            return None
        route = self.transit.route(path, self.flow_id)
        if self.holds:
            self.known_route = route
            self._epoch = self._cache.epoch
            self._held_nbytes = -1  # a program of an older route is not held
            self._held_prog = None
            self.cont_nbytes = -1
            self.cont_prog = None
        return route
