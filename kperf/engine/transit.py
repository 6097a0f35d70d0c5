"""Moving chunks of a message along a path: at most one SimPy event per contended hop.

A message is cut into chunks of at most one GSO segment's payload (about 64 KiB), so
a large transfer pipelines across hops the way TSO segments do, while a small message
is one chunk. At each hop the chunk's departure comes from the server's Lindley
recursion at the moment it arrives (the event time), which keeps every queue's
arrivals in time order and therefore exact. Fixed delays (propagation, switch
forwarding) are folded into the time of the next event, and a chunk whose next hop
is due before anything else takes it at once (:func:`_chunk_moves`).

Per flow and path a :class:`_Route` holds the servers, and per kind of chunk (size,
surcharges) a :class:`_Prog` the constants of each hop in one tuple, shared by every
route with the same cost plan, so a hop costs an unpack, an index and a Lindley step,
and touches little memory of its own (which is what a large cluster's runs pay for).
Every chunk ends delivered or dropped; :class:`TransitCounters`, derived from the
programs' counts, proves it (``sent == delivered + dropped + in_flight``). Servers do
not count the chunks they serve either: their busy time and customers are derived
from the same counts (:meth:`Transit.server_use`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL

from kperf.datapath.path import Path
from kperf.engine.clock import call_at
from kperf.engine.network import Network
from kperf.engine.queues import FifoServer

TX_SALT = 0
RX_SALT = 1


@dataclass(slots=True)
class TransitCounters:
    """Conservation counters over a simulation (chunks and wire packets)."""

    chunks_sent: int = 0
    chunks_delivered: int = 0
    chunks_dropped: int = 0
    packets_sent: int = 0
    packets_delivered: int = 0
    packets_dropped: int = 0
    bytes_delivered: int = 0
    unreachable: int = 0

    @property
    def chunks_in_flight(self) -> int:
        return self.chunks_sent - self.chunks_delivered - self.chunks_dropped

    @property
    def packets_in_flight(self) -> int:
        return self.packets_sent - self.packets_delivered - self.packets_dropped


class ClassStats:
    """Time a class of traffic spent per stage category and queueing (seconds, summed).

    Chunks are counted per cost plan as they are delivered (one dict update each) and
    turned into seconds per category when asked (:meth:`by_category`); work added
    directly (the application's) goes to ``service_s``.
    """

    __slots__ = ("plan_chunks", "queue_s", "service_s")

    def __init__(self) -> None:
        self.service_s: dict[str, float] = {}
        self.queue_s = 0.0
        self.plan_chunks: dict[_Plan, int] = {}

    def by_category(self) -> dict[str, float]:
        """Seconds per stage category: delivered chunks' stages plus direct work."""
        out = dict(self.service_s)
        for plan, n in self.plan_chunks.items():
            for cat, sec in plan.category_items:
                out[cat] = out.get(cat, 0.0) + sec * n
        return out


class _Plan:
    """Per (path, chunk size, first-of-message) constants: service times and sizes."""

    __slots__ = ("_steps", "categories", "category_items", "cpu_parts", "head_s", "idle_s",
                 "packets", "service_s", "sizes", "tail_s")

    def __init__(self, path: Path, nbytes: int, first: bool) -> None:
        self._steps: dict[tuple[tuple[bool, float], ...],
                          tuple[tuple[_Step, ...], list[float]]] = {}
        seg = path.seg
        self.service_s = path.chunk_costs(nbytes, first)
        self.packets = seg.packets(nbytes)
        wire = seg.wire_bytes(nbytes)
        head_pkt = seg.full_packet_wire_bytes(nbytes)
        sizes: list[float] = []
        head: list[float] = []
        tail: list[float] = []
        idle: list[float] = []
        prev_rate = 0.0
        cats: dict[str, float] = {}
        cpu_parts: list[tuple[bool, tuple[tuple[str, float], ...]]] = []
        for hop, svc in zip(path.hops, self.service_s, strict=True):
            if hop.cpu is not None:
                # a core's backlog (netdev_max_backlog) counts skbs: GRO-merged
                # segments when offloads work, wire packets when they do not
                sizes.append(float(seg.segments(nbytes)))
                parts: dict[str, float] = {}
                for _name, cat, sec in hop.cpu.breakdown(1 if first else 0, seg.segments(nbytes),
                                                         self.packets, nbytes):
                    cats[cat] = cats.get(cat, 0.0) + sec
                    parts[cat] = parts.get(cat, 0.0) + sec
                cpu_parts.append((hop.rx, tuple(parts.items())))
            else:
                sizes.append(float(wire))
            if hop.pipelined and prev_rate:
                head.append((wire - head_pkt) * 8.0 / prev_rate)
                tail.append(head_pkt * 8.0 / hop.rate_bps)
                # on an idle port a pipelined chunk adds only what is not overlapped
                idle.append(max(svc - head[-1], tail[-1]))
            else:
                head.append(0.0)
                tail.append(0.0)
                idle.append(svc)
            if hop.cpu is None:
                cats["wire"] = cats.get("wire", 0.0) + idle[-1]
            if hop.rate_bps:
                prev_rate = hop.rate_bps
            if hop.delay_after_s:
                cats[hop.delay_category] = cats.get(hop.delay_category, 0.0) + hop.delay_after_s
        self.category_items = tuple(cats.items())
        self.cpu_parts = tuple(cpu_parts)
        self.sizes = sizes
        self.idle_s = idle
        self.head_s = head
        self.tail_s = tail
        self.categories = cats

    def steps(self, hop_attrs: tuple[tuple[bool, float], ...]
              ) -> tuple[tuple[_Step, ...], list[float]]:
        """Per hop, this plan's constants on a path with ``hop_attrs`` (bounded buffer,
        delay after), and the time to reach each hop (and, last, to arrive) with every
        server idle: what a chunk's time in transit exceeds that by is its queueing
        (``ClassStats.queue_s``). Cached: routes with this plan share them."""
        got = self._steps.get(hop_attrs)
        if got is None:
            steps = tuple((self.service_s[i], self.sizes[i], bounded, delay,
                           self.head_s[i], self.tail_s[i])
                          for i, (bounded, delay) in enumerate(hop_attrs))
            unqueued = [0.0]
            for i, (_bounded, delay) in enumerate(hop_attrs):
                unqueued.append(unqueued[-1] + self.idle_s[i] + delay)
            got = self._steps[hop_attrs] = (steps, unqueued)
        return got


class Message:
    """A message in flight: completes when all its chunks are delivered.

    A message is not an object of its own: its first chunk carries these fields and
    every chunk points to it (``msg``), which saves an allocation per message.
    ``notify_hop``/``on_hop``: call ``on_hop(t, nbytes)`` when each chunk leaves hop
    ``notify_hop`` (or is dropped before it): how a sender learns its bytes have left
    the NIC queue (TCP small queues).
    """

    __slots__ = ("failed", "notify_hop", "on_chunk", "on_done", "on_drop", "on_hop",
                 "remaining")

    on_done: Callable[[float], None]
    on_drop: Callable[[float, str], None] | None
    remaining: int  # chunks not yet delivered or dropped
    failed: bool
    notify_hop: int
    on_hop: Callable[[float, int], None] | None
    on_chunk: Callable[[float, int], None] | None


# One hop of a program, besides its server: (service s, size in the server's buffer
# units, bounded buffer, fixed delay after, pipelining head s, tail s)
_Step = tuple[float, float, bool, float, float, float]


class _Prog:
    """A plan on one route: the route's servers and, in one tuple per hop, the plan's
    constants there, and how many chunks it sent, delivered and dropped (and where).
    Conservation counters, CPU use per node and category and the servers' busy time
    are derived from these counts when asked for, so sending and delivering a chunk
    each cost one increment.

    The hop constants depend only on the plan and the path's hop attributes, so every
    route with the same plan shares one tuple of them (:meth:`_Plan.steps`): a chunk's
    hop reads a shared, cache-warm tuple and the route's own server, which matters
    when a large cluster's routes do not fit in the processor's caches."""

    __slots__ = ("delivered", "drops", "dst", "nbytes", "plan", "sent", "servers", "src",
                 "steps", "unqueued_s")

    def __init__(self, plan: _Plan, route: _Route, nbytes: int) -> None:
        self.plan = plan
        self.nbytes = nbytes  # payload of each chunk
        self.src = route.src
        self.dst = route.dst
        self.servers = route.servers
        self.steps, self.unqueued_s = plan.steps(route.hop_attrs)
        self.sent = 0  # chunks sent, delivered and dropped with this program
        self.delivered = 0
        # chunks dropped at each hop (a list once one is)
        self.drops: list[int] | None = None

    @property
    def dropped(self) -> int:
        return sum(self.drops) if self.drops else 0


class _Route:
    """The servers one flow's chunks cross on one path (cores picked by RSS hash), and
    the programs of the chunk kinds sent on it so far, keyed by (payload bytes, proxy
    surcharge s, setup surcharge s), surcharges -1 for chunks after a message's first."""

    __slots__ = ("chunk_bytes", "dst", "hop_attrs", "last_key", "last_prog", "path", "progs",
                 "servers", "src")

    last_prog: _Prog

    def __init__(self, path: Path, servers: tuple[FifoServer, ...],
                 hop_attrs: tuple[tuple[bool, float], ...]) -> None:
        self.path = path
        self.servers = servers
        self.hop_attrs = hop_attrs  # per hop: bounded buffer, fixed delay after (s)
        self.src = path.src_node
        self.dst = path.dst_node
        self.chunk_bytes = path.seg.chunk_payload_bytes
        self.progs: dict[tuple[int, float, float], _Prog] = {}
        # the key of the last first chunk sent, whose program is last_prog (set with it)
        self.last_key: tuple[int, float, float] | None = None


class _Chunk(Message):
    """One chunk of a message; the first chunk of each message is the message."""

    __slots__ = ("_ok", "callbacks", "i", "msg", "nbytes", "prog", "stats", "t_sent",
                 "transit")

    def __init__(
        self,
        transit: Transit,
        prog: _Prog,
        nbytes: int,
        stats: ClassStats | None,
        msg: Message | None,
        n_chunks: int = 1,
        on_done: Callable[[float], None] | None = None,
        on_drop: Callable[[float, str], None] | None = None,
        on_hop: tuple[int, Callable[[float, int], None]] | None = None,
        on_chunk: Callable[[float, int], None] | None = None,
    ) -> None:
        """A chunk of ``msg``, or (``msg`` None) a message's first chunk, which is the
        message: of ``n_chunks``, with its callbacks (see :meth:`Transit.send`)."""
        if msg is None:
            assert on_done is not None
            self.on_done = on_done
            self.on_drop = on_drop
            self.remaining = n_chunks
            self.failed = False
            self.notify_hop, self.on_hop = on_hop if on_hop is not None else (-1, None)
            self.on_chunk = on_chunk
        self.transit = transit
        self.msg = msg  # None: this chunk is its message (no self-reference: no cycle)
        self.prog = prog
        self.nbytes = nbytes
        self.stats = stats
        self.t_sent = transit.env._now
        self.i = 0
        # A chunk is its own SimPy event (SimPy's step needs ``callbacks`` and ``_ok``):
        # it is scheduled at most once at a time, so one object serves every hop.
        self._ok = True
        self.callbacks: list[Any] | None = None


def _chunk_moves(chunk: _Chunk, sending: bool = False) -> float | None:
    """Serve ``chunk`` at its current hop now; schedule or take its next step.

    As SimPy's callback (the chunk is its own event and reached its next hop) this runs
    ahead: while the chunk's next step comes strictly before everything else on SimPy's
    queue, nothing can happen in between (no other event is due, and only this callback
    is running), so the step is taken here, with the clock moved to its time, instead
    of through the queue. The order of events, and so every result, is exactly what the
    queue would have produced (``tests/test_regression.py``); only the heap push, pop
    and dispatch are saved. Called by :meth:`Transit.send` (``sending``) it serves the
    first hop only, because the sender's code goes on running at this time.

    Returns the departure from the (first) hop served, or None when it dropped there.
    """
    transit = chunk.transit
    env = transit.env
    queue: list[Any] = env._queue
    prog = chunk.prog
    steps = prog.steps
    servers = prog.servers
    n = len(steps)
    msg = chunk.msg or chunk
    notify = msg.notify_hop
    now = env._now
    i = chunk.i
    while True:
        svc, size, bounded, delay, head, tail = steps[i]
        server = servers[i]
        if tail:
            dep = server.admit_pipelined(now, svc, head, tail, size, bounded)
        else:
            dep = server.admit(now, svc, size, bounded)
        if dep is None:
            transit.drop(chunk, i, now, server.name)
            return None
        if i == notify and msg.on_hop is not None:
            call_at(env, dep, msg.on_hop, dep, chunk.nbytes)
        i += 1
        nxt = dep + delay
        if sending or (queue and queue[0][0] <= nxt):
            chunk.i = i
            chunk.callbacks = _ARRIVE if i < n else _DELIVER
            heappush(queue, (nxt, NORMAL, next(env._eid), chunk))
            return dep
        env._now = now = nxt
        if i == n:
            chunk.i = i
            transit.deliver(chunk)
            return dep


def _chunk_delivered(chunk: _Chunk) -> None:
    """SimPy callback: the chunk left its last hop."""
    chunk.transit.deliver(chunk)


# Shared callback lists: SimPy reads an event's list and never mutates it.
_ARRIVE: list[Any] = [_chunk_moves]
_DELIVER: list[Any] = [_chunk_delivered]

# Caches are dropped (after folding what they counted) past these sizes, which bounds
# memory when every message has a new flow (connect-per-request workloads).
MAX_CACHED_ROUTES = 100_000
MAX_CACHED_PLANS = 200_000


class Transit:
    """Sends messages along paths over a :class:`Network` on a SimPy environment."""

    def __init__(self, env: simpy.Environment, network: Network) -> None:
        self.env = env
        self.network = network
        self.unreachable = 0  # messages sent on paths without hops
        # what programs no longer cached had counted, and those still with chunks on
        # the way (their counts restarted from what was in flight)
        self._folded = TransitCounters()
        self._cpu_folded: dict[tuple[int, str], float] = {}
        self._retired: list[_Prog] = []
        self._plans: dict[tuple[object, int, bool], _Plan] = {}
        # plans with a first-hop surcharge, keyed by the id of a plan alive in _plans
        self._extra_plans: dict[tuple[int, float, str], _Plan] = {}
        self._routes: dict[tuple[int, int], _Route] = {}
        self.epoch = 0  # increases when the route cache is dropped: held routes are stale
        self._paths: dict[int, Path] = {}  # unsigned paths whose ids key _plans

    def _plan(self, path: Path, nbytes: int, first: bool) -> _Plan:
        # paths with the same signature cost the same: share their cost tables
        key = (path.signature or id(path), nbytes, first)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) > MAX_CACHED_PLANS:
                self._plans.clear()
                self._extra_plans.clear()
                self._paths.clear()
            if not path.signature:
                self._paths[id(path)] = path  # its id is in a key: keep it alive
            plan = _Plan(path, nbytes, first)
            self._plans[key] = plan
        return plan

    def route(self, path: Path, flow_id: int) -> _Route:
        """The servers ``flow_id`` crosses on ``path`` (cached; see :meth:`send_on`)."""
        key = (id(path), flow_id)
        r = self._routes.get(key)
        if r is None:
            if len(self._routes) > MAX_CACHED_ROUTES:
                self._retire_routes()
            net = self.network
            servers: list[FifoServer] = []
            attrs: list[tuple[bool, float]] = []
            for hop in path.hops:
                if hop.kind == "cpu":
                    servers.append(
                        net.core(hop.resource[1], flow_id, RX_SALT if hop.rx else TX_SALT))
                    # the receive backlog drops; a sender's own work blocks instead
                    attrs.append((hop.rx, hop.delay_after_s))
                else:
                    servers.append(net.server(hop.resource))
                    attrs.append((True, hop.delay_after_s))
            r = self._routes[key] = _Route(path, tuple(servers), tuple(attrs))
        return r

    def _progs(self) -> list[_Prog]:
        """Every program that may have counts: the cached ones and the retired."""
        progs = [p for r in self._routes.values() for p in r.progs.values()]
        return progs + self._retired

    def _retire_routes(self) -> None:
        """Drop the route cache, folding its counts into totals; programs with chunks
        still on the way stay counted, from what is in flight."""
        self._cpu_folded = self.cpu_by_node_category()
        for server, (busy_s, served) in self._completed_use().items():
            server.busy_s += busy_s
            server.served += served
        f = self._folded
        retired: list[_Prog] = []
        for prog in self._progs():
            dropped = prog.dropped
            done = prog.delivered + dropped
            f.chunks_sent += done
            f.chunks_delivered += prog.delivered
            f.chunks_dropped += dropped
            f.packets_sent += done * prog.plan.packets
            f.packets_delivered += prog.delivered * prog.plan.packets
            f.packets_dropped += dropped * prog.plan.packets
            f.bytes_delivered += prog.delivered * prog.nbytes
            prog.sent -= done
            prog.delivered = 0
            prog.drops = None
            if prog.sent:
                retired.append(prog)
        self._retired = retired
        self._routes.clear()  # a route holds its path, whose id is in the route's key
        self.epoch += 1

    @property
    def counters(self) -> TransitCounters:
        """Chunks, packets and bytes sent, delivered and dropped so far."""
        f = self._folded
        c = TransitCounters(f.chunks_sent, f.chunks_delivered, f.chunks_dropped,
                            f.packets_sent, f.packets_delivered, f.packets_dropped,
                            f.bytes_delivered, self.unreachable)
        for prog in self._progs():
            pk = prog.plan.packets
            dropped = prog.dropped
            c.chunks_sent += prog.sent
            c.chunks_delivered += prog.delivered
            c.chunks_dropped += dropped
            c.packets_sent += prog.sent * pk
            c.packets_delivered += prog.delivered * pk
            c.packets_dropped += dropped * pk
            c.bytes_delivered += prog.delivered * prog.nbytes
        return c

    def send(
        self,
        path: Path,
        flow_id: int,
        nbytes: int,
        on_done: Callable[[float], None],
        on_drop: Callable[[float, str], None] | None = None,
        extra_first_s: float = 0.0,
        stats: ClassStats | None = None,
        on_hop: tuple[int, Callable[[float, int], None]] | None = None,
        on_chunk: Callable[[float, int], None] | None = None,
        setup_s: float = 0.0,
    ) -> float | None:
        """Send ``nbytes`` from the path's source now; call ``on_done(t)`` at delivery.

        ``on_chunk(t, nbytes)`` is called as each chunk arrives (goodput accounting at
        chunk rather than message granularity).

        Returns when the sender's core finishes the message (the time a blocking
        ``send()`` returns), or None when it could not be sent (unreachable or
        dropped at the first hop). ``extra_first_s`` adds CPU time on the first hop of
        the first chunk (a proxy's first-packet cost, a conntrack insert), ``setup_s``
        likewise for a TCP connection's socket work (category stack).
        """
        if path.unreachable or not path.hops:
            self.unreachable += 1
            if on_drop is not None:
                now = self.env._now
                call_at(self.env, now, on_drop, now, "unreachable")
            return None
        return self.send_on(self._routes.get((id(path), flow_id)) or self.route(path, flow_id),
                            nbytes, on_done, on_drop, extra_first_s, stats, on_hop, on_chunk,
                            setup_s)

    def send_on(
        self,
        route: _Route,
        nbytes: int,
        on_done: Callable[[float], None],
        on_drop: Callable[[float, str], None] | None = None,
        extra_first_s: float = 0.0,
        stats: ClassStats | None = None,
        on_hop: tuple[int, Callable[[float, int], None]] | None = None,
        on_chunk: Callable[[float, int], None] | None = None,
        setup_s: float = 0.0,
    ) -> float | None:
        """:meth:`send` on a route from :meth:`route` (of a reachable path), valid while
        :attr:`epoch` is unchanged: what a caller that keeps routes per flow uses."""
        progs = route.progs
        chunk_bytes = route.chunk_bytes
        n_chunks = 1 if nbytes <= chunk_bytes else -(-nbytes // chunk_bytes)
        # the first chunk pays the per-message cost and the surcharges, and is the message
        size = chunk_bytes if nbytes > chunk_bytes else nbytes
        key = (size, extra_first_s, setup_s)
        if key == route.last_key:  # a flow's messages are mostly of one kind
            prog = route.last_prog
        else:
            found = progs.get(key)
            if found is None:
                found = progs[key] = self._prog(route, size, True, extra_first_s, setup_s)
            prog = route.last_prog = found
            route.last_key = key
        msg = _Chunk(self, prog, size, stats, None, n_chunks, on_done, on_drop, on_hop,
                     on_chunk)
        prog.sent += 1
        sent_at = _chunk_moves(msg, True)
        remaining = nbytes - size
        while remaining > 0:
            size = chunk_bytes if remaining > chunk_bytes else remaining
            remaining -= size
            key = (size, -1.0, -1.0)
            found = progs.get(key)
            if found is None:
                found = progs[key] = self._prog(route, size, False, 0.0, 0.0)
            prog = found
            prog.sent += 1
            dep = _chunk_moves(_Chunk(self, prog, size, stats, msg), True)
            if dep is None:
                sent_at = None
            elif sent_at is not None:
                sent_at = dep
        return sent_at

    def send_prog(
        self,
        prog: _Prog,
        nbytes: int,
        on_done: Callable[[float], None],
        on_drop: Callable[[float, str], None] | None = None,
        stats: ClassStats | None = None,
        on_hop: tuple[int, Callable[[float, int], None]] | None = None,
        on_chunk: Callable[[float, int], None] | None = None,
    ) -> float | None:
        """:meth:`send_on` of a one-chunk message of ``nbytes`` whose program the caller
        kept (``route.last_prog`` after a :meth:`send_on` of a message of this size and
        surcharges), valid while :attr:`epoch` is unchanged: the route is not read."""
        msg = _Chunk(self, prog, nbytes, stats, None, 1, on_done, on_drop, on_hop, on_chunk)
        prog.sent += 1
        return _chunk_moves(msg, True)

    def _prog(self, route: _Route, size: int, first: bool, extra_first_s: float,
              setup_s: float) -> _Prog:
        plan = self._plan(route.path, size, first)
        if first:
            if extra_first_s:
                plan = self._surcharged(plan, extra_first_s, "proxy")
            if setup_s:
                plan = self._surcharged(plan, setup_s, "stack")
        return _Prog(plan, route, size)

    def _surcharged(self, plan: _Plan, extra_s: float, category: str) -> _Plan:
        """``plan`` with ``extra_s`` more on its first hop (cached)."""
        key = (id(plan), extra_s, category)
        extra = self._extra_plans.get(key)
        if extra is None:
            extra = self._extra_plans[key] = _with_extra(plan, extra_s, category)
        return extra

    def deliver(self, chunk: _Chunk) -> None:
        """The chunk reached the destination: count it and maybe complete its message."""
        prog = chunk.prog
        prog.delivered += 1
        st = chunk.stats
        if st is not None:
            pc = st.plan_chunks
            plan = prog.plan
            pc[plan] = pc.get(plan, 0) + 1
            st.queue_s += self.env._now - chunk.t_sent - prog.unqueued_s[-1]
        msg = chunk.msg or chunk
        if msg.on_chunk is not None:
            msg.on_chunk(self.env._now, chunk.nbytes)
        msg.remaining -= 1
        if msg.remaining == 0 and not msg.failed:
            msg.on_done(self.env._now)

    def cpu_by_node_category(self) -> dict[tuple[int, str], float]:
        """CPU seconds spent per (node, stage category) by delivered chunks (the work of
        chunks dropped on the way is in the servers' busy time but not split here)."""
        out = dict(self._cpu_folded)
        for prog in self._progs():
            n = prog.delivered
            if n:
                for rx, parts in prog.plan.cpu_parts:
                    node = prog.dst if rx else prog.src
                    for cat, sec in parts:
                        out[(node, cat)] = out.get((node, cat), 0.0) + sec * n
        return out

    def _completed_use(self) -> dict[FifoServer, tuple[float, int]]:
        """Busy seconds and customers per server of the chunks delivered or dropped
        (and not yet folded into the servers' own counts): a delivered chunk was served
        at every hop, one dropped at hop h at the hops before it."""
        use: dict[FifoServer, tuple[float, int]] = {}
        for prog in self._progs():
            passed = prog.delivered  # chunks served at this hop, from the last back
            drops = prog.drops
            servers = prog.servers
            steps = prog.steps
            for i in range(len(steps) - 1, -1, -1):
                if drops is not None and i + 1 < len(drops):
                    passed += drops[i + 1]
                if passed:
                    _add_use(use, servers[i], steps[i][0] * passed, passed)
        return use

    def server_use(self) -> dict[FifoServer, tuple[float, int]]:
        """Busy seconds and customers served per server by chunks, beyond what the
        servers' own ``busy_s`` and ``served`` hold (call between runs).

        Servers do not count per chunk (:meth:`FifoServer.admit`): the counts are
        derived from the programs' delivered and dropped-per-hop counts, plus the
        chunks still on SimPy's queue, which have been served at the hops before their
        next. Only the order of a float sum differs from counting per customer."""
        use = self._completed_use()
        for entry in self.env._queue:
            chunk = entry[3]
            if isinstance(chunk, _Chunk):
                prog = chunk.prog
                for i in range(chunk.i):
                    _add_use(use, prog.servers[i], prog.steps[i][0], 1)
        return use

    def drop(self, chunk: _Chunk, hop: int, now: float, where: str) -> None:
        """``chunk`` was dropped at ``hop`` (a full buffer named ``where``) at ``now``."""
        msg = chunk.msg or chunk
        env = self.env
        if msg.on_hop is not None and msg.notify_hop >= hop:
            call_at(env, now, msg.on_hop, now, chunk.nbytes)
        prog = chunk.prog
        drops = prog.drops
        if drops is None:
            drops = prog.drops = [0] * len(prog.steps)
        drops[hop] += 1
        if chunk.stats is not None:  # the queueing of the hops it crossed
            chunk.stats.queue_s += now - chunk.t_sent - prog.unqueued_s[hop]
        msg.remaining -= 1
        if not msg.failed:
            msg.failed = True
            if msg.on_drop is not None:
                call_at(env, now, msg.on_drop, now, where)


def _add_use(use: dict[FifoServer, tuple[float, int]], server: FifoServer, busy_s: float,
             customers: int) -> None:
    """Add ``busy_s`` seconds and ``customers`` to ``server``'s entry in ``use``."""
    busy, n = use.get(server, (0.0, 0))
    use[server] = (busy + busy_s, n + customers)


def _with_extra(plan: _Plan, extra_s: float, category: str) -> _Plan:
    """A copy of ``plan`` whose first hop costs ``extra_s`` more, spent on ``category``."""
    new = object.__new__(_Plan)
    new._steps = {}
    new.service_s = [plan.service_s[0] + extra_s, *plan.service_s[1:]]
    new.packets = plan.packets
    new.sizes = plan.sizes
    new.idle_s = [plan.idle_s[0] + extra_s, *plan.idle_s[1:]]
    new.head_s = plan.head_s
    new.tail_s = plan.tail_s
    cats = dict(plan.categories)
    cats[category] = cats.get(category, 0.0) + extra_s
    new.categories = cats
    new.category_items = tuple(cats.items())
    # the surcharge is CPU work of the first hop (the sender's core)
    rx0, parts0 = plan.cpu_parts[0]
    first = dict(parts0)
    first[category] = first.get(category, 0.0) + extra_s
    new.cpu_parts = ((rx0, tuple(first.items())), *plan.cpu_parts[1:])
    return new
