"""Moving chunks of a message along a path: at most one SimPy event per contended hop.

A message is cut into chunks of at most one GSO segment's payload (about 64 KiB), so
a large transfer pipelines across hops the way TSO segments do, while a small message
is one chunk. At each hop the chunk's departure comes from the server's Lindley
recursion at the moment it arrives (the event time), which keeps every queue's
arrivals in time order and therefore exact. Fixed delays (propagation, switch
forwarding) are folded into the time of the next event, and a chunk whose next hop
is due before anything else takes it at once (:func:`_chunk_moves`).

Per flow and path a :class:`~kperf.engine.routes.Route` holds the servers, and per kind
of chunk (size, surcharges) a :class:`~kperf.engine.routes.Prog` the constants of each
hop in one tuple, shared by every route with the same cost plan, so a hop costs an
unpack, an index and a Lindley step, and touches little memory of its own (which is
what a large cluster's runs pay for). Workloads send through a
:class:`~kperf.engine.flow.Flow`, which holds its route and the program of its last
one-chunk message; this module moves the chunks.
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

from kperf.datapath.path import Path
from kperf.engine.clock import PRIORITY, LightEvent, Scheduler, call_at, now_of
from kperf.engine.network import Network
from kperf.engine.plans import ClassStats
from kperf.engine.queues import FifoServer, LossyServer
from kperf.engine.routes import NO_SURCHARGE, Prog, Route, RouteCache, Surcharge

__all__ = ["ClassStats", "FlowHooks", "Transit", "TransitCounters"]


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


class FlowHooks:
    """What a flow's messages report to besides their own completion: the
    :class:`ClassStats` their delivered chunks feed (None: not measured), a call
    ``on_chunk(t, nbytes)`` as each chunk arrives (goodput at chunk granularity), and
    ``on_hop(t, nbytes)`` when each chunk leaves hop ``notify_hop`` or is dropped before
    it (how a sender learns its bytes have left the NIC queue: TCP small queues);
    with ``hop_now`` the call comes at once, as the chunk is admitted there, with the
    (future) departure time, which saves an event when the sender can keep the
    departures itself.
    ``trims``: a chunk that finds a switch or NIC buffer full keeps the whole packets
    that fit and loses the rest (:meth:`Transit.trim`) instead of being dropped whole,
    as a drop-tail queue drops the packets of a burst that find it full; the message
    then completes with fewer bytes (``on_chunk`` says how many arrived). For senders
    that recover the lost bytes themselves (TCP). ``on_mark(wait_s, service_s,
    nbytes)`` when a chunk is admitted at hop ``ecn_hop`` (an ECN-marking switch port):
    how long its first packet waits there and how long the chunk takes to send, from
    which an ECN-capable sender works out what a marking threshold marked (DCTCP).
    One object per flow, shared by its messages."""

    __slots__ = ("ecn_hop", "hop_now", "notify_hop", "on_chunk", "on_hop", "on_mark",
                 "stats", "trims")

    def __init__(self, stats: ClassStats | None = None,
                 on_chunk: Callable[[float, int], None] | None = None,
                 on_hop: Callable[[float, int], None] | None = None,
                 notify_hop: int = -1, trims: bool = False,
                 on_mark: Callable[[float, float, int], None] | None = None,
                 ecn_hop: int = -1, hop_now: bool = False) -> None:
        self.stats = stats
        self.on_chunk = on_chunk
        self.on_hop = on_hop if notify_hop >= 0 else None
        self.notify_hop = notify_hop if on_hop is not None else -1
        self.trims = trims
        self.on_mark = on_mark if ecn_hop >= 0 else None
        self.ecn_hop = ecn_hop if on_mark is not None and ecn_hop != self.notify_hop else -1
        self.hop_now = hop_now

    def unmeasured(self) -> FlowHooks:
        """The same hooks feeding no stats (messages outside the measurement window)."""
        return FlowHooks(None, self.on_chunk, self.on_hop, self.notify_hop, self.trims,
                         self.on_mark, self.ecn_hop, self.hop_now)


NO_HOOKS = FlowHooks()


class Message(LightEvent):
    """A message in flight: completes when all its chunks are delivered.

    A message is not an object of its own: its first chunk carries these fields and
    every chunk points to it (``msg``), which saves an allocation per message.
    """

    __slots__ = ("failed", "hooks", "on_done", "on_drop", "remaining")

    on_done: Callable[[float], None]
    on_drop: Callable[[float, str], None] | None
    remaining: int  # chunks not yet delivered or dropped
    failed: bool
    hooks: FlowHooks


class _Chunk(Message):
    """One chunk of a message; the first chunk of each message is the message. A chunk
    is its own SimPy event (:class:`~kperf.engine.clock.LightEvent`): it is scheduled
    at most once at a time, so one object serves every hop. ``t`` is the time of its
    pending step (when it was sent, then when it reaches its next hop)."""

    __slots__ = ("i", "msg", "nbytes", "prog", "t", "t_sent")

    def __init__(self, prog: Prog, nbytes: int, msg: Message | None, now: float) -> None:
        self.msg = msg  # None: this chunk is its message (no self-reference: no cycle)
        self.prog = prog
        self.nbytes = nbytes
        self.t_sent = now
        self.t = now
        self.i = 0


def _start(msg: _Chunk, n_chunks: int, on_done: Callable[[float], None],
           on_drop: Callable[[float, str], None] | None, hooks: FlowHooks) -> None:
    """Make ``msg`` (a first chunk) the message of ``n_chunks`` chunks."""
    msg.on_done = on_done
    msg.on_drop = on_drop
    msg.remaining = n_chunks
    msg.failed = False
    msg.hooks = hooks


def _chunk_moves(chunk: _Chunk, sending: bool = False) -> float | None:
    """Serve ``chunk`` at its current hop now; schedule or take its next step.

    As SimPy's callback (the chunk is its own event and reached its next hop) this runs
    ahead: while the chunk's next step comes strictly before everything else on SimPy's
    queue, nothing can happen in between (no other event is due, and only this callback
    is running), so the step is taken here instead of through the queue; the clock is
    moved (:meth:`Scheduler.advance`) only when the chunk is delivered, the first time
    other code can read it. The order of events, and so every result, is exactly what
    the queue would have produced (``tests/test_regression.py``, and the reference mode
    in ``tests/test_engine_speedups.py``); only the heap push, pop and dispatch are
    saved. Called by :meth:`Transit.send_on` (``sending``), or in the reference mode,
    it serves one hop only.

    Returns the departure from the (first) hop served, or None when it dropped there.
    """
    prog = chunk.prog
    transit = prog.transit
    queue = transit.queue
    steps = prog.steps
    servers = prog.servers
    n = len(steps)
    msg = chunk.msg or chunk
    hooks = msg.hooks
    notify = hooks.notify_hop
    ecn = hooks.ecn_hop
    now = chunk.t
    i = chunk.i
    while True:
        svc, size, bounded, delay, head, tail = steps[i]
        server = servers[i]
        if tail:
            dep = server.admit_pipelined(now, svc, head, tail, size, bounded)
        else:
            dep = server.admit(now, svc, size, bounded)
        if dep is None:
            if not (hooks.trims and transit.trim(chunk, i, now)):
                transit.drop(chunk, i, now, server.name)
                return None
            prog = chunk.prog  # the chunk may be smaller now: admit what fits
            steps = prog.steps
            servers = prog.servers
            svc, size, bounded, delay, head, tail = steps[i]
            if tail:
                dep = server.admit_pipelined(now, svc, head, tail, size, False)
            else:
                dep = server.admit(now, svc, size, False)
            assert dep is not None  # admitted unbounded
        if i == notify and hooks.on_hop is not None:
            if hooks.hop_now:
                hooks.on_hop(dep, chunk.nbytes)
            else:
                call_at(transit.env, dep, hooks.on_hop, dep, chunk.nbytes)
        elif i == ecn:  # time the chunk's first packet waited: the queue it found
            hooks.on_mark(dep - svc - (now - head), svc, chunk.nbytes)  # type: ignore[misc]
        i += 1
        nxt = dep + delay
        if sending or (queue and queue[0][0] <= nxt):
            chunk.i = i
            chunk.t = nxt
            chunk.callbacks = transit.arrive_callbacks if i < n else _DELIVER
            heappush(queue, (nxt, PRIORITY, next(transit.ids), chunk))
            return dep
        now = nxt
        if i == n:
            chunk.i = i
            transit.advance(now)
            transit.deliver(chunk, now)
            return dep


def _chunk_step(chunk: _Chunk) -> None:
    """SimPy callback of the reference mode: serve one hop, schedule the next."""
    _chunk_moves(chunk, True)


def _chunk_delivered(chunk: _Chunk) -> None:
    """SimPy callback: the chunk left its last hop."""
    chunk.prog.transit.deliver(chunk, chunk.t)


def send_held(
    prog: Prog,
    nbytes: int,
    on_done: Callable[[float], None],
    on_drop: Callable[[float, str], None] | None,
    hooks: FlowHooks,
) -> float | None:
    """:meth:`Transit.send_on` of a one-chunk message of ``nbytes`` whose program the
    caller kept (``route.last_prog`` after a ``send_on`` of a message of this size and
    surcharge), valid while the route cache's epoch is unchanged: the route is not read
    (what a :class:`~kperf.engine.flow.Flow` does for its held message kind)."""
    msg = _Chunk(prog, nbytes, None, now_of(prog.transit.env))
    msg.on_done = on_done  # _start, inlined: this is every held message's path
    msg.on_drop = on_drop
    msg.remaining = 1
    msg.failed = False
    msg.hooks = hooks
    prog.sent += 1
    return _chunk_moves(msg, True)


# Shared callback lists: SimPy reads an event's list and never mutates it.
_ARRIVE: list[Any] = [_chunk_moves]
_ARRIVE_ONE_HOP: list[Any] = [_chunk_step]
_DELIVER: list[Any] = [_chunk_delivered]

# Routes kept before the route cache is dropped (after folding what they counted),
# which bounds memory when every message has a new flow (connect-per-request workloads).
MAX_CACHED_ROUTES = 100_000


class Transit:
    """Sends messages along routes over a :class:`Network` on a SimPy environment.

    ``run_ahead=False`` is the reference mode: every hop goes through SimPy's queue.
    ``max_routes`` bounds the route cache (:data:`MAX_CACHED_ROUTES`)."""

    def __init__(self, env: simpy.Environment, network: Network, *, run_ahead: bool = True,
                 max_routes: int = MAX_CACHED_ROUTES) -> None:
        self.env = env
        self.network = network
        self.scheduler = Scheduler(env)
        self.queue = self.scheduler.queue
        self.ids = self.scheduler.ids
        self.advance = self.scheduler.advance
        self.arrive_callbacks = _ARRIVE if run_ahead else _ARRIVE_ONE_HOP
        self.max_routes = max_routes
        self.cache = RouteCache()
        self.unreachable = 0  # messages sent on paths without hops
        # what programs no longer cached had counted, and those still with chunks on
        # the way (their remaining counts are added live)
        self._folded = TransitCounters()
        self._cpu_folded: dict[tuple[int, str], float] = {}
        self._retired: list[Prog] = []
        # (program, hop) -> chunks trimmed to that program at that hop (Transit.trim)
        self._trims: dict[tuple[Prog, int], int] = {}

    @property
    def epoch(self) -> int:
        """The route cache's epoch (see :class:`~kperf.engine.routes.RouteCache`)."""
        return self.cache.epoch

    def route(self, path: Path, flow_id: int) -> Route:
        """The servers ``flow_id`` crosses on ``path`` (cached; see :meth:`send_on`)."""
        cache = self.cache
        if len(cache) > self.max_routes and (path.src_node, path.dst_node, path.signature,
                                             flow_id) not in cache.routes:
            self.retire_routes()
        return cache.route(path, flow_id, self.network)

    def _progs(self) -> list[Prog]:
        """Every program that may have counts: the cached ones and the retired."""
        progs = [p for r in self.cache.routes.values() for p in r.progs.values()]
        return progs + self._retired

    def retire_routes(self) -> None:
        """Drop the route cache, folding its counts into totals; programs with chunks
        still on the way stay counted, from what is in flight."""
        self._cpu_folded = self.cpu_by_node_category()
        for server, (busy_s, served) in self._completed_use().items():
            server.busy_s += busy_s
            server.served += served
        self._trims = {}
        f = self._folded
        retired: list[Prog] = []
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
        self.cache.invalidate()

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

    def unreachable_message(self, on_drop: Callable[[float, str], None] | None) -> None:
        """A message sent on a path without hops: counted, and ``on_drop(now,
        "unreachable")`` at once (through the queue)."""
        self.unreachable += 1
        if on_drop is not None:
            now = self.env.now
            call_at(self.env, now, on_drop, now, "unreachable")

    def send_on(
        self,
        route: Route,
        nbytes: int,
        on_done: Callable[[float], None],
        on_drop: Callable[[float, str], None] | None = None,
        hooks: FlowHooks = NO_HOOKS,
        surcharge: Surcharge = NO_SURCHARGE,
        first: bool = True,
    ) -> float | None:
        """Send ``nbytes`` on ``route`` now (valid while :attr:`epoch` is unchanged);
        ``on_done(t)`` when every chunk has arrived, ``on_drop(t, where)`` when one is
        dropped (a full buffer named ``where``).

        Returns when the sender's core finishes the message (the time a blocking
        ``send()`` returns), or None when it was dropped at the first hop.
        ``surcharge`` adds CPU time on the first hop of the first chunk.
        ``first=False``: the bytes continue a message already started (a transport's
        later segment of one application write): no chunk pays the per-message cost or
        a surcharge, and ``nbytes`` must fit one chunk.
        """
        progs = route.progs
        chunk_bytes = route.chunk_bytes
        if not first:
            if nbytes > chunk_bytes:
                raise ValueError(f"a continuation of {nbytes} bytes exceeds one chunk "
                                 f"({chunk_bytes} bytes)")
            key = (nbytes, -1.0, -1.0)
            found = progs.get(key)
            if found is None:
                found = progs[key] = self._prog(route, nbytes, False, NO_SURCHARGE)
            msg = _Chunk(found, nbytes, None, now_of(self.env))
            _start(msg, 1, on_done, on_drop, hooks)
            found.sent += 1
            return _chunk_moves(msg, True)
        n_chunks = 1 if nbytes <= chunk_bytes else -(-nbytes // chunk_bytes)
        # the first chunk pays the per-message cost and the surcharges, and is the message
        size = chunk_bytes if nbytes > chunk_bytes else nbytes
        key = (size, surcharge.proxy_s, surcharge.stack_s)
        if key == route.last_key:  # a flow's messages are mostly of one kind
            prog = route.last_prog
        else:
            found = progs.get(key)
            if found is None:
                found = progs[key] = self._prog(route, size, True, surcharge)
            prog = route.last_prog = found
            route.last_key = key
        now = now_of(self.env)
        msg = _Chunk(prog, size, None, now)
        _start(msg, n_chunks, on_done, on_drop, hooks)
        prog.sent += 1
        sent_at = _chunk_moves(msg, True)
        remaining = nbytes - size
        while remaining > 0:
            size = chunk_bytes if remaining > chunk_bytes else remaining
            remaining -= size
            key = (size, -1.0, -1.0)
            found = progs.get(key)
            if found is None:
                found = progs[key] = self._prog(route, size, False, NO_SURCHARGE)
            prog = found
            prog.sent += 1
            dep = _chunk_moves(_Chunk(prog, size, msg, now), True)
            if dep is None:
                sent_at = None
            elif sent_at is not None:
                sent_at = dep
        return sent_at

    def _prog(self, route: Route, size: int, first: bool, surcharge: Surcharge) -> Prog:
        return Prog(self.cache.plan(route.path, size, first, surcharge), route, size, self)

    def deliver(self, chunk: _Chunk, now: float) -> None:
        """The chunk reached the destination at ``now``: count it and maybe complete
        its message."""
        prog = chunk.prog
        prog.delivered += 1
        msg = chunk.msg or chunk
        hooks = msg.hooks
        st = hooks.stats
        if st is not None:
            pc = st.plan_chunks
            plan = prog.plan
            pc[plan] = pc.get(plan, 0) + 1
            st.queue_s += now - chunk.t_sent - prog.unqueued_s[-1]
        if hooks.on_chunk is not None:
            hooks.on_chunk(now, chunk.nbytes)
        msg.remaining -= 1
        if msg.remaining == 0 and not msg.failed:
            msg.on_done(now)

    def cpu_by_node_category(self) -> dict[tuple[int, str], float]:
        """CPU seconds spent per (node, stage category) by delivered chunks (the work of
        chunks dropped on the way is in the servers' busy time but not split here)."""
        out = dict(self._cpu_folded)
        for prog in self._progs():
            n = prog.delivered
            if n:
                nodes = prog.cpu_nodes
                for i, parts in prog.plan.cpu_parts:
                    node = nodes[i]
                    assert node is not None  # a CPU hop's node
                    for cat, sec in parts:
                        out[(node, cat)] = out.get((node, cat), 0.0) + sec * n
        return out

    def _completed_use(self) -> dict[FifoServer, tuple[float, int]]:
        """Busy seconds and customers per server of the chunks delivered or dropped
        (and not yet folded into the servers' own counts): a delivered chunk was served
        at every hop, one dropped at hop h at the hops before it."""
        use: dict[FifoServer, tuple[float, int]] = {}
        for (prog, hop), n in self._trims.items():  # kept parts began at ``hop``
            for i in range(hop):
                _add_use(use, prog.servers[i], -prog.steps[i][0] * n, -n)
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
        for chunk in self.scheduler.pending():
            if isinstance(chunk, _Chunk):
                prog = chunk.prog
                for i in range(chunk.i):
                    _add_use(use, prog.servers[i], prog.steps[i][0], 1)
        return use

    def trim(self, chunk: _Chunk, hop: int, now: float) -> bool:
        """``chunk`` found the buffer of serializer ``hop`` full at ``now``: keep the whole
        packets that fit (at least one) and lose the rest, as a drop-tail queue would
        (the kept part continues as a later chunk of its message: it pays no
        per-message cost), to be admitted whatever the chunk-grain backlog says. False
        when not one packet fits, or the hop is not a serializer. The lost part counts
        as a chunk dropped here and the kept part as a chunk sent from here (its
        service at the hops before is subtracted again in :meth:`_completed_use`)."""
        prog = chunk.prog
        route = prog.route
        path = route.path
        rate_bps = path.hops[hop].rate_bps
        if path.hops[hop].cpu_node is not None or not rate_bps:
            return False
        server = prog.servers[hop]
        if getattr(server, "last_lost", False):
            return False  # lost on a lossy link, not for want of room
        seg = path.seg
        mss = seg.mss_bytes
        packet_units = mss + seg.per_packet_overhead_bytes
        # what the queue holds when the chunk's first packet arrives (it is admitted
        # then), packet by packet: its owed work at line rate (the chunk-grain backlog
        # that refused the chunk frees a chunk at a time)
        at = now - prog.steps[hop][4]
        room = server.capacity - server.work_s(at) * rate_bps / 8.0
        kept = int(room // packet_units) * mss
        if kept < mss:
            return False
        if isinstance(server, LossyServer):
            server.skip_draw = True  # the link already let it through
        if kept >= chunk.nbytes:
            server.dropped -= 1  # not a drop after all: it fits packet by packet
            return True
        key = (kept, -1.0, -1.0)
        new = route.progs.get(key)
        if new is None:
            new = route.progs[key] = self._prog(route, kept, False, NO_SURCHARGE)
        drops = prog.drops
        if drops is None:
            drops = prog.drops = [0] * len(prog.steps)
        drops[hop] += 1
        new.sent += 1
        trims = self._trims
        trims[(new, hop)] = trims.get((new, hop), 0) + 1
        chunk.prog = new
        chunk.nbytes = kept
        return True

    def drop(self, chunk: _Chunk, hop: int, now: float, where: str) -> None:
        """``chunk`` was dropped at ``hop`` (a full buffer named ``where``) at ``now``."""
        msg = chunk.msg or chunk
        env = self.env
        hooks = msg.hooks
        if hooks.on_hop is not None and hooks.notify_hop >= hop:
            call_at(env, now, hooks.on_hop, now, chunk.nbytes)
        prog = chunk.prog
        drops = prog.drops
        if drops is None:
            drops = prog.drops = [0] * len(prog.steps)
        drops[hop] += 1
        if hooks.stats is not None:  # the queueing of the hops it crossed
            hooks.stats.queue_s += now - chunk.t_sent - prog.unqueued_s[hop]
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
