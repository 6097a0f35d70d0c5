"""FIFO queues in Lindley form: one computation per arrival, no queue objects.

For a single-server FIFO queue with known service times the departure of a customer
is ``max(arrival, previous departure) + service`` (Lindley's recursion). A c-server
FIFO queue keeps the c next-free times and gives each arrival the earliest-free server.
Both are exact as long as arrivals are presented in time order, which the engine
guarantees by calling :meth:`serve` from an event scheduled at the arrival time.
``tests/test_queues.py`` proves them equal to ``simpy.Resource`` on random arrivals.

Finite buffers: ``capacity`` bounds what is in the system (queued plus in service),
measured in ``size`` units (packets, bytes or customers). An arrival that would exceed
it is dropped and counted; :meth:`serve` returns ``None``.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

INF = math.inf


class FifoServer:
    """A single-server FIFO queue (a core, a NIC transmit queue, a switch port)."""

    __slots__ = (
        "_backlog",
        "_deps",
        "busy_s",
        "capacity",
        "dropped",
        "free_at",
        "name",
        "served",
    )

    def __init__(self, name: str, capacity: float = INF) -> None:
        self.name = name
        self.capacity = capacity
        self.free_at = 0.0
        self.busy_s = 0.0
        self.served = 0
        self.dropped = 0
        # (departure, size) of each customer in the system, kept for finite buffers only
        self._deps: deque[tuple[float, float]] | None = deque() if capacity != INF else None
        self._backlog = 0.0

    def serve(
        self, now: float, service_s: float, size: float = 1.0, bounded: bool = True
    ) -> float | None:
        """Departure time of a customer arriving ``now``, or None if the buffer is full.

        ``bounded=False`` admits the customer whatever the backlog (work a blocked
        sender does in its own context cannot overflow a buffer) but still counts it.
        A customer arriving at an empty system is always admitted.
        """
        free = self.free_at
        deps = self._deps
        if deps is None:
            dep = (now if now > free else free) + service_s
        elif free <= now:
            # idle server: everything earlier has departed (FIFO, one server)
            dep = now + service_s
            deps.clear()
            deps.append((dep, size))
            self._backlog = size
        else:
            backlog = self._backlog
            while deps[0][0] <= now:  # the last customer leaves at free_at > now
                backlog -= deps.popleft()[1]
            if bounded and backlog + size > self.capacity:
                self._backlog = backlog
                self.dropped += 1
                return None
            dep = free + service_s
            deps.append((dep, size))
            self._backlog = backlog + size
        self.free_at = dep
        self.busy_s += service_s
        self.served += 1
        return dep

    def serve_pipelined(
        self,
        now: float,
        service_s: float,
        head_s: float,
        tail_s: float,
        size: float = 1.0,
        bounded: bool = True,
    ) -> float | None:
        """A serializer fed by an upstream serializer, store-and-forward per packet.

        ``now`` is when the chunk's last packet has arrived; its first packet arrived
        ``head_s`` earlier, so transmission may start then; the chunk cannot leave
        before its last packet (``tail_s`` to transmit here) has been sent.
        """
        early = now - head_s
        dep = self.serve(early if early > 0.0 else 0.0, service_s, size, bounded)
        if dep is None:
            return None
        floor = now + tail_s
        if dep < floor:
            # the port idles while waiting for the chunk's last packet
            dep = floor
            self.free_at = dep
            if self._deps:
                self._deps[-1] = (dep, self._deps[-1][1])
        return dep


class MultiServer:
    """A c-server FIFO queue (a pod's application worker pool)."""

    __slots__ = ("_free", "busy_s", "dropped", "name", "served", "servers")

    def __init__(self, name: str, servers: int) -> None:
        if servers < 1:
            raise ValueError("servers must be >= 1")
        self.name = name
        self.servers = servers
        self._free = [0.0] * servers
        self.busy_s = 0.0
        self.served = 0
        self.dropped = 0

    def serve(self, now: float, service_s: float) -> float:
        """Departure time of a customer arriving ``now``: the earliest-free server."""
        free = self._free[0]
        start = now if now > free else free
        dep = start + service_s
        heapq.heapreplace(self._free, dep)
        self.busy_s += service_s
        self.served += 1
        return dep
