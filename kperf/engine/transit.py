"""Moving chunks of a message along a path: one SimPy event per contended hop.

A message is cut into chunks of at most one GSO segment's payload (about 64 KiB), so
a large transfer pipelines across hops the way TSO segments do, while a small message
is one chunk. At each hop the chunk's departure comes from the server's Lindley
recursion at the moment it arrives (the event time), which keeps every queue's
arrivals in time order and therefore exact. Fixed delays (propagation, switch
forwarding) are folded into the time of the next event.

Every chunk ends delivered or dropped; :class:`TransitCounters` proves it
(``sent == delivered + dropped + in_flight``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL

from kperf.datapath.path import Path
from kperf.engine.clock import schedule_at
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


@dataclass(slots=True)
class ClassStats:
    """Time a class of traffic spent per stage category and queueing (seconds, summed)."""

    service_s: dict[str, float] = field(default_factory=dict)
    queue_s: float = 0.0


class _Plan:
    """Per (path, chunk size, first-of-message) constants: service times and sizes."""

    __slots__ = ("categories", "category_items", "cpu_parts", "head_s", "idle_s", "packets",
                 "service_s", "sizes", "tail_s")

    def __init__(self, path: Path, nbytes: int, first: bool) -> None:
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


class Message:
    """A message in flight: completes when all its chunks are delivered.

    ``notify_hop``/``on_hop``: call ``on_hop(t, nbytes)`` when each chunk leaves hop
    ``notify_hop`` (or is dropped before it): how a sender learns its bytes have left
    the NIC queue (TCP small queues).
    """

    __slots__ = ("failed", "nbytes", "nodes", "notify_hop", "on_chunk", "on_done", "on_drop",
                 "on_hop", "remaining", "t_start")

    def __init__(
        self,
        nbytes: int,
        t_start: float,
        on_done: Callable[[float], None],
        on_drop: Callable[[float, str], None] | None,
    ) -> None:
        self.nbytes = nbytes
        self.t_start = t_start
        self.on_done = on_done
        self.on_drop = on_drop
        self.remaining = 0
        self.failed = False
        self.notify_hop = -1
        self.on_hop: Callable[[float, int], None] | None = None
        self.on_chunk: Callable[[float, int], None] | None = None
        self.nodes = (0, 0)  # (source node, destination node) of the path


class _Chunk:
    __slots__ = ("_ok", "callbacks", "i", "msg", "nbytes", "plan", "servers", "stats",
                 "transit")

    def __init__(
        self,
        transit: Transit,
        msg: Message,
        plan: _Plan,
        servers: list[tuple[FifoServer, bool, float, bool]],
        nbytes: int,
        stats: ClassStats | None,
    ) -> None:
        self.transit = transit
        self.msg = msg
        self.plan = plan
        self.servers = servers
        self.nbytes = nbytes
        self.stats = stats
        self.i = 0
        # A chunk is its own SimPy event (SimPy's step needs ``callbacks`` and ``_ok``):
        # it is scheduled at most once at a time, so one object serves every hop.
        self._ok = True
        self.callbacks: list[Any] | None = None


def _chunk_arrives(chunk: _Chunk) -> None:
    """SimPy callback: the chunk (its own event) reached its next hop."""
    transit = chunk.transit
    transit.advance(chunk, transit.env._now)


def _chunk_delivered(chunk: _Chunk) -> None:
    """SimPy callback: the chunk left its last hop."""
    chunk.transit.deliver(chunk)


# Shared callback lists: SimPy reads an event's list and never mutates it.
_ARRIVE: list[Any] = [_chunk_arrives]
_DELIVER: list[Any] = [_chunk_delivered]


class Transit:
    """Sends messages along paths over a :class:`Network` on a SimPy environment."""

    def __init__(self, env: simpy.Environment, network: Network) -> None:
        self.env = env
        self.network = network
        self.counters = TransitCounters()
        # chunks delivered per (plan, source node, destination node): CPU use by node
        # and category is derived from these at the end (one dict update per chunk)
        self._cpu_use: dict[tuple[_Plan, int, int], int] = {}
        self._cpu_folded: dict[tuple[int, str], float] = {}  # _cpu_use, summed, when large
        self._plans: dict[tuple[object, int, bool], _Plan] = {}
        # plans with a first-hop surcharge, keyed by the id of a plan alive in _plans
        self._extra_plans: dict[tuple[int, float, str], _Plan] = {}
        self._routes: dict[tuple[int, int], list[tuple[FifoServer, bool, float, bool]]] = {}
        self._paths: dict[int, Path] = {}

    def _plan(self, path: Path, nbytes: int, first: bool) -> _Plan:
        # paths with the same signature cost the same: share their cost tables
        key = (path.signature or id(path), nbytes, first)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) > 200_000:
                self._plans.clear()
                self._extra_plans.clear()
            self._paths[id(path)] = path  # keep the path alive while its id may be a key
            plan = _Plan(path, nbytes, first)
            self._plans[key] = plan
        return plan

    def _route(self, path: Path, flow_id: int) -> list[tuple[FifoServer, bool, float, bool]]:
        key = (id(path), flow_id)
        r = self._routes.get(key)
        if r is None:
            self._paths[id(path)] = path
            net = self.network
            r = []
            for hop in path.hops:
                if hop.kind == "cpu":
                    server = net.core(hop.resource[1], flow_id, RX_SALT if hop.rx else TX_SALT)
                    # the receive backlog drops; a sender's own work blocks instead
                    r.append((server, False, hop.delay_after_s, hop.rx))
                else:
                    r.append((net.server(hop.resource), hop.pipelined, hop.delay_after_s, True))
            self._routes[key] = r
        return r

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
        env = self.env
        now = env._now
        msg = Message(nbytes, now, on_done, on_drop)
        if on_hop is not None:
            msg.notify_hop, msg.on_hop = on_hop
        msg.on_chunk = on_chunk
        msg.nodes = (path.src_node, path.dst_node)
        if path.unreachable or not path.hops:
            self.counters.unreachable += 1
            msg.failed = True
            if on_drop is not None:
                schedule_at(env, now, lambda _e: on_drop(now, "unreachable"))
            return None
        chunk_bytes = path.seg.chunk_payload_bytes
        route = self._route(path, flow_id)
        counters = self.counters
        remaining = nbytes
        first = True
        sent_at: float | None = now
        n_chunks = max(1, -(-nbytes // chunk_bytes))
        msg.remaining = n_chunks
        for _ in range(n_chunks):
            size = chunk_bytes if remaining > chunk_bytes else remaining
            remaining -= size
            plan = self._plan(path, size, first)
            if first:
                if extra_first_s:
                    plan = self._surcharged(plan, extra_first_s, "proxy")
                if setup_s:
                    plan = self._surcharged(plan, setup_s, "stack")
            first = False
            chunk = _Chunk(self, msg, plan, route, size, stats)
            counters.chunks_sent += 1
            counters.packets_sent += plan.packets
            dep = self.advance(chunk, now)
            if dep is None:
                sent_at = None
            elif sent_at is not None:
                sent_at = dep
        return sent_at

    def _surcharged(self, plan: _Plan, extra_s: float, category: str) -> _Plan:
        """``plan`` with ``extra_s`` more on its first hop (cached)."""
        key = (id(plan), extra_s, category)
        extra = self._extra_plans.get(key)
        if extra is None:
            extra = self._extra_plans[key] = _with_extra(plan, extra_s, category)
        return extra

    def advance(self, chunk: _Chunk, now: float) -> float | None:
        """Serve ``chunk`` at its current hop at ``now`` and schedule the next step.

        Returns the departure time from this hop, or None when the chunk was dropped.
        """
        i = chunk.i
        servers = chunk.servers
        server, pipelined, delay, bounded = servers[i]
        plan = chunk.plan
        svc = plan.service_s[i]
        if pipelined:
            dep = server.serve_pipelined(now, svc, plan.head_s[i], plan.tail_s[i],
                                         plan.sizes[i], bounded)
        else:
            dep = server.serve(now, svc, plan.sizes[i], bounded)
        env = self.env
        msg = chunk.msg
        if dep is None:
            if msg.on_hop is not None and msg.notify_hop >= i:
                cb, nb = msg.on_hop, chunk.nbytes
                schedule_at(env, now, lambda _e: cb(now, nb))
            self._drop(chunk, now, chunk.servers[i][0].name)
            return None
        if chunk.stats is not None:
            chunk.stats.queue_s += dep - now - plan.idle_s[i]
        if i == msg.notify_hop and msg.on_hop is not None:
            cb, nb, t = msg.on_hop, chunk.nbytes, dep
            schedule_at(env, dep, lambda _e: cb(t, nb))
        i += 1
        chunk.i = i
        chunk.callbacks = _ARRIVE if i < len(servers) else _DELIVER
        # inlined schedule_at: the chunk itself is the event (see _Chunk)
        heappush(env._queue, (dep + delay, NORMAL, next(env._eid), chunk))  # type: ignore[misc]
        return dep

    def deliver(self, chunk: _Chunk) -> None:
        """The chunk reached the destination: count it and maybe complete its message."""
        key = (chunk.plan, *chunk.msg.nodes)
        use = self._cpu_use
        use[key] = use.get(key, 0) + 1
        if len(use) > 50_000:  # many sizes x node pairs: fold to bound memory
            self._cpu_folded = self.cpu_by_node_category()
            use.clear()
        c = self.counters
        c.chunks_delivered += 1
        c.packets_delivered += chunk.plan.packets
        c.bytes_delivered += chunk.nbytes
        st = chunk.stats
        if st is not None:
            sv = st.service_s
            for cat, sec in chunk.plan.category_items:
                sv[cat] = sv.get(cat, 0.0) + sec
        msg = chunk.msg
        if msg.on_chunk is not None:
            msg.on_chunk(self.env._now, chunk.nbytes)
        msg.remaining -= 1
        if msg.remaining == 0 and not msg.failed:
            msg.on_done(self.env._now)

    def cpu_by_node_category(self) -> dict[tuple[int, str], float]:
        """CPU seconds spent per (node, stage category) by delivered chunks (the work of
        chunks dropped on the way is in the servers' busy time but not split here)."""
        out = dict(self._cpu_folded)
        for (plan, src, dst), n in self._cpu_use.items():
            for rx, parts in plan.cpu_parts:
                node = dst if rx else src
                for cat, sec in parts:
                    out[(node, cat)] = out.get((node, cat), 0.0) + sec * n
        return out

    def _drop(self, chunk: _Chunk, now: float, where: str) -> None:
        c = self.counters
        c.chunks_dropped += 1
        c.packets_dropped += chunk.plan.packets
        msg = chunk.msg
        msg.remaining -= 1
        if not msg.failed:
            msg.failed = True
            if msg.on_drop is not None:
                on_drop = msg.on_drop
                schedule_at(self.env, now, lambda _e: on_drop(now, where))


def _with_extra(plan: _Plan, extra_s: float, category: str) -> _Plan:
    """A copy of ``plan`` whose first hop costs ``extra_s`` more, spent on ``category``."""
    new = object.__new__(_Plan)
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
