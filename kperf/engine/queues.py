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
import random

INF = math.inf
TRIM_AT = 256  # customers listed before those that left are counted out (memory bound)


class FifoServer:
    """A single-server FIFO queue (a core, a NIC transmit queue, a switch port).

    With a finite buffer the server keeps the (departure, size) of the customers of
    its current busy period, from ``_head`` on, and ``_backlog``, the sum of their
    sizes: an upper bound on what is in the system. Only when that bound says an
    arrival might not fit (or the list grows long) are the customers that have left
    counted out, so the common arrival costs one append. A busy period's first
    customer is not listed until a second arrives: it is the one leaving at
    ``_free_at``, of size ``_backlog``, so an arrival at an idle server allocates nothing
    (few objects touched per arrival keep large clusters cache-friendly).
    Sizes are whole numbers, so the sums are exact whatever order they are taken in.

    :meth:`admit` is the queue alone; :meth:`serve` also counts ``busy_s`` and
    ``served``. The engine's transit admits, and derives those counts from what its
    chunks did (:meth:`kperf.engine.transit.Transit.server_use`).
    """

    # CPython lays slots out in sorted order: the fields every arrival reads (_backlog,
    # _deps, _free_at) sort first, next to the object header, so that an arrival at a
    # server whose object is not in the processor's caches often misses one line, not two
    __slots__ = (
        "_backlog",
        "_deps",
        "_free_at",
        "_head",
        "busy_s",
        "capacity",
        "dropped",
        "name",
        "served",
    )

    def __init__(self, name: str, capacity: float = INF) -> None:
        self.name = name
        self.capacity = capacity
        self._free_at = 0.0
        self.busy_s = 0.0
        self.served = 0
        self.dropped = 0
        # finite buffers only: this busy period's (departure, size) after its first
        # customer's, see the class doc
        self._deps: list[tuple[float, float]] | None = _UNLISTED if capacity != INF else None
        self._head = 0
        self._backlog = 0.0

    def admit(
        self, now: float, service_s: float, size: float = 1.0, bounded: bool = True
    ) -> float | None:
        """Departure time of a customer arriving ``now``, or None if the buffer is full
        (counted in ``dropped``).

        ``bounded=False`` admits the customer whatever the backlog (work a blocked
        sender does in its own context cannot overflow a buffer).
        A customer arriving at an empty system is always admitted.
        """
        free = self._free_at
        deps = self._deps
        if deps is None:
            dep = (now if now > free else free) + service_s
        elif free <= now:
            # idle server: everything earlier has departed, a new busy period starts
            dep = now + service_s
            self._deps = _UNLISTED
            self._backlog = size
        else:
            backlog = self._backlog
            if deps is _UNLISTED:  # the busy period's first customer is still in
                deps = self._deps = [(free, backlog)]
                self._head = 0
            if backlog + size > self.capacity or len(deps) - self._head > TRIM_AT:
                backlog = self._count_out(deps, now)
                if bounded and backlog + size > self.capacity:
                    self.dropped += 1
                    return None
            dep = free + service_s
            deps.append((dep, size))
            self._backlog = backlog + size
        self._free_at = dep
        return dep

    def serve(
        self, now: float, service_s: float, size: float = 1.0, bounded: bool = True
    ) -> float | None:
        """:meth:`admit`, counting the customer's service in ``busy_s`` and ``served``."""
        dep = self.admit(now, service_s, size, bounded)
        if dep is not None:
            self.busy_s += service_s
            self.served += 1
        return dep

    def work_s(self, now: float) -> float:
        """Seconds of service still owed at ``now`` (work-conserving FIFO: the queue's
        exact content in time, whatever the grain of its customers)."""
        left = self._free_at - now
        return left if left > 0.0 else 0.0

    def _count_out(self, deps: list[tuple[float, float]], now: float) -> float:
        """Drop the customers that left by ``now`` from the count; the exact backlog."""
        h = self._head
        backlog = self._backlog
        while deps[h][0] <= now:  # the last customer leaves at _free_at > now
            backlog -= deps[h][1]
            h += 1
        if h > len(deps) // 2:
            del deps[:h]
            h = 0
        self._head = h
        self._backlog = backlog
        return backlog

    def admit_pipelined(
        self,
        now: float,
        service_s: float,
        head_s: float,
        tail_s: float,
        size: float = 1.0,
        bounded: bool = True,
    ) -> float | None:
        """:meth:`admit` for a serializer fed by an upstream serializer,
        store-and-forward per packet.

        ``now`` is when the chunk's last packet has arrived; its first packet arrived
        ``head_s`` earlier, so transmission may start then; the chunk cannot leave
        before its last packet (``tail_s`` to transmit here) has been sent.
        """
        early = now - head_s
        dep = self.admit(early if early > 0.0 else 0.0, service_s, size, bounded)
        if dep is None:
            return None
        floor = now + tail_s
        if dep < floor:
            # the port idles while waiting for the chunk's last packet
            dep = floor
            self._free_at = dep
            deps = self._deps
            if deps:  # else the busy period's one customer is the one at _free_at
                deps[-1] = (dep, deps[-1][1])
        return dep


class LossyServer(FifoServer):
    """A :class:`FifoServer` on a lossy link (``Testbed.link_loss_rate``): each wire
    packet of an arriving chunk is lost with probability ``loss_rate``, independently,
    and a chunk with any packet lost is dropped as a whole before it is transmitted
    (counted in ``dropped`` and ``lost``). The transport retransmits the chunk, so a
    lost packet costs a chunk's worth of retransmission: close to packet-level loss
    when chunks are small (cwnd-limited flows at high loss send small segments), an
    overstatement of the wasted bytes otherwise (it does not matter when the window,
    not the link, limits the flow, the regime Mathis et al. describe).
    ``packet_units``: the buffer units (wire bytes) of one full packet."""

    __slots__ = ("_keep", "_rng", "last_lost", "lost", "packet_units", "skip_draw")

    def __init__(self, name: str, capacity: float, loss_rate: float, packet_units: float,
                 seed: str) -> None:
        super().__init__(name, capacity)
        self._keep = 1.0 - loss_rate
        self.packet_units = packet_units
        self._rng = random.Random(seed)  # str seeds are hashed with SHA-512: stable
        self.lost = 0
        self.last_lost = False  # the last arrival was lost on the link (not the buffer)
        self.skip_draw = False  # admit the next arrival without a draw (re-admission)

    def admit(
        self, now: float, service_s: float, size: float = 1.0, bounded: bool = True
    ) -> float | None:
        if self.skip_draw:
            self.skip_draw = False
        else:
            packets = max(1, math.ceil(size / self.packet_units))
            if self._rng.random() >= self._keep**packets:
                self.lost += 1
                self.dropped += 1
                self.last_lost = True
                return None
        self.last_lost = False
        return super().admit(now, service_s, size, bounded)


class PoolServer(FifoServer):
    """``workers`` servers sharing one FIFO queue, as a hop's server (a service mesh
    proxy's worker threads: :class:`kperf.datapath.mesh.ProxyHop`): each arrival takes
    the earliest-free worker (the c-server Lindley recursion of :class:`MultiServer`),
    with :class:`FifoServer`'s interface so the engine's transit admits at it like at
    any hop. Unbounded (a proxy's socket buffers push back instead of dropping)."""

    __slots__ = ("_free", "workers")

    def __init__(self, name: str, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        super().__init__(name)
        self.workers = workers
        self._free = [0.0] * workers

    def admit(
        self, now: float, service_s: float, size: float = 1.0, bounded: bool = True
    ) -> float | None:
        free_list = self._free
        free = free_list[0]
        dep = (now if now > free else free) + service_s
        heapq.heapreplace(free_list, dep)
        if dep > self._free_at:
            self._free_at = dep
        return dep

    def work_s(self, now: float) -> float:
        """Seconds of service still owed at ``now``, summed over the workers."""
        return sum(f - now for f in self._free if f > now)


class PinnedPool(FifoServer):
    """``workers`` single-server FIFO queues, one per worker thread, for a proxy that binds
    each connection to one worker for its life (Envoy: :class:`kperf.datapath.mesh.ProxyHop`
    with ``pins_connections``): a route holds the worker its connection was given
    (:meth:`kperf.engine.network.Network.pinned_worker`), so the pool itself serves no
    one; it is the resources row that sums its workers (``worker_servers``)."""

    __slots__ = ("worker_servers", "workers")

    def __init__(self, name: str, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        super().__init__(name)
        self.workers = workers
        self.worker_servers = [FifoServer(f"{name} worker {w}") for w in range(workers)]

    def work_s(self, now: float) -> float:
        """Seconds of service still owed at ``now``, summed over the workers."""
        return sum(w.work_s(now) for w in self.worker_servers)


# A bounded server's customer list while its busy period has one customer (shared,
# never mutated).
_UNLISTED: list[tuple[float, float]] = []


class MultiServer:
    """A c-server FIFO queue (a pod's application worker pool).

    ``account``: a one-element list shared by several pools (a node's), to which every
    customer's service time is added as it is served, in arrival order. A single-server
    pool keeps its next-free time in a slot instead of a one-entry heap (the same
    arithmetic, two objects fewer to read per customer).
    """

    __slots__ = ("_free", "_free_at", "account", "busy_s", "dropped", "name", "served",
                 "servers")

    def __init__(self, name: str, servers: int, account: list[float] | None = None) -> None:
        if servers < 1:
            raise ValueError("servers must be >= 1")
        self.name = name
        self.servers = servers
        self.account = account
        # one server: _free_at; more: the heap of next-free times (_free is None for one)
        self._free_at = 0.0
        self._free: list[float] | None = [0.0] * servers if servers > 1 else None
        self.busy_s = 0.0
        self.served = 0
        self.dropped = 0

    def serve(self, now: float, service_s: float) -> float:
        """Departure time of a customer arriving ``now``: the earliest-free server."""
        free_list = self._free
        if free_list is None:
            free = self._free_at
            dep = (now if now > free else free) + service_s
            self._free_at = dep
        else:
            free = free_list[0]
            dep = (now if now > free else free) + service_s
            heapq.heapreplace(free_list, dep)
        self.busy_s += service_s
        self.served += 1
        if self.account is not None:
            self.account[0] += service_s
        return dep
