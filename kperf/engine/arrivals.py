"""Many open-loop arrival processes kept as one entry on SimPy's queue.

A workload with a thousand clients, each with its next Poisson arrival pending, would
hold a thousand events on SimPy's heap, and every other event (each hop of every
chunk) would pay for that heap's depth. :class:`ArrivalMerger` keeps the sources' next
arrival times in a heap of its own and only the earliest on SimPy's queue: one push and
pop per arrival on a heap the size of the number of sources, instead of a deeper main
heap for everything else.

Events run in the same time order as with one queue entry per source
(:class:`DirectArrivals`, what the engine's reference mode uses). Only where two
arrivals, or an arrival and another event, fall at exactly the same float time could
the order among them differ (SimPy orders those by when they were scheduled; here the
source index, then scheduling order, decides); with continuous random gaps that does
not happen in practice, and ``tests/test_regression.py`` pins results exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush, heapreplace

import simpy

from kperf.engine.clock import call_at

# A source's arrival at the current time; returns the time of its next arrival, or
# None when it has no more.
Source = Callable[[], float | None]


class ArrivalMerger:
    """Arrival processes of many sources sharing one pending SimPy event."""

    __slots__ = ("_armed", "_env", "_heap", "_sources")

    def __init__(self, env: simpy.Environment) -> None:
        self._env = env
        self._heap: list[tuple[float, int]] = []
        self._sources: list[Source] = []
        self._armed = 0  # token of the pending wake-up; older wake-ups are stale

    def add(self, first_s: float, source: Source) -> None:
        """Register ``source``, whose first arrival is at ``first_s``."""
        heap = self._heap
        earliest = heap[0][0] if heap else None
        heappush(heap, (first_s, len(self._sources)))
        self._sources.append(source)
        if earliest is None or first_s < earliest:
            self._arm(first_s)

    def _arm(self, t: float) -> None:
        self._armed += 1
        call_at(self._env, t, self._wake, self._armed)

    def _wake(self, token: int) -> None:
        if token != self._armed:
            return  # superseded by an earlier arrival registered later
        heap = self._heap
        _t, index = heap[0]
        nxt = self._sources[index]()
        if nxt is None:
            heappop(heap)
        else:
            heapreplace(heap, (nxt, index))
        if heap:
            self._arm(heap[0][0])


class DirectArrivals:
    """What :class:`ArrivalMerger` replaces: every source's next arrival is its own
    entry on SimPy's queue (the engine's reference mode)."""

    __slots__ = ("_env",)

    def __init__(self, env: simpy.Environment) -> None:
        self._env = env

    def add(self, first_s: float, source: Source) -> None:
        """Register ``source``, whose first arrival is at ``first_s``."""
        env = self._env

        def wake() -> None:
            nxt = source()
            if nxt is not None:
                call_at(env, nxt, wake)

        call_at(env, first_s, wake)
