"""Cost plans: what a chunk of a given size costs at each hop of a kind of path.

A :class:`Plan` is computed once per (path signature, chunk payload, first of its
message, surcharges) through the hop interface (:meth:`kperf.datapath.path.Hop.cost`)
and shared by every flow on a path with that signature: per hop, the service time, the
buffer units the chunk occupies, the pipelining head and tail, and the stage seconds per
category (for breakdowns and the per-node CPU split). :class:`ClassStats` turns delivered
chunks back into seconds per category.
"""

from __future__ import annotations

from kperf.datapath.path import Path

# One hop of a plan on a route, besides its server: (service s, size in the server's
# buffer units, bounded buffer, fixed delay after, pipelining head s, tail s)
Step = tuple[float, float, bool, float, float, float]


class Plan:
    """Per (path signature, chunk size, first-of-message) constants: service times and
    sizes per hop, stage seconds per category, and the CPU stages per hop (by hop
    index; the route says which node each hop's CPU is on)."""

    __slots__ = ("_steps", "categories", "category_items", "cpu_parts", "head_s", "idle_s",
                 "packets", "service_s", "sizes", "tail_s")

    def __init__(self, path: Path, nbytes: int, first: bool) -> None:
        self._steps: dict[tuple[tuple[bool, float], ...],
                          tuple[tuple[Step, ...], list[float]]] = {}
        costs = path.hop_costs(nbytes, first)
        self.service_s = [c.service_s for c in costs]
        self.packets = path.shape(nbytes, first).packets  # with a mesh's framing bytes
        self.sizes = [c.buffer_units for c in costs]
        self.idle_s = [c.idle_s for c in costs]
        self.head_s = [c.head_s for c in costs]
        self.tail_s = [c.tail_s for c in costs]
        cats: dict[str, float] = {}
        cpu_parts: list[tuple[int, tuple[tuple[str, float], ...]]] = []
        for i, (hop, cost) in enumerate(zip(path.hops, costs, strict=True)):
            parts: dict[str, float] = {}
            for _stage, cat, sec in cost.stages:
                cats[cat] = cats.get(cat, 0.0) + sec
                if cost.cpu:
                    parts[cat] = parts.get(cat, 0.0) + sec
            if cost.cpu:
                cpu_parts.append((i, tuple(parts.items())))
            if hop.delay_after_s:
                cats[hop.delay_category] = cats.get(hop.delay_category, 0.0) + hop.delay_after_s
        self.category_items = tuple(cats.items())
        self.cpu_parts = tuple(cpu_parts)
        self.categories = cats

    def steps(self, hop_attrs: tuple[tuple[bool, float], ...]
              ) -> tuple[tuple[Step, ...], list[float]]:
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

    def surcharged(self, extra_s: float, category: str, hop: int = 0) -> Plan:
        """A copy whose hop ``hop`` (by default the first, the sender's core) costs
        ``extra_s`` more, spent on ``category`` (a proxy's first-packet cost, a TCP
        connection's socket work); that hop must be CPU work."""
        at = next((k for k, (i, _parts) in enumerate(self.cpu_parts) if i == hop), -1)
        if at < 0:
            where = "the path's first hop" if hop == 0 else f"hop {hop} of the path"
            raise ValueError(f"a surcharge needs CPU work on {where}")
        new = object.__new__(Plan)
        new._steps = {}
        service_s = list(self.service_s)
        service_s[hop] += extra_s
        new.service_s = service_s
        new.packets = self.packets
        new.sizes = self.sizes
        idle_s = list(self.idle_s)
        idle_s[hop] += extra_s
        new.idle_s = idle_s
        new.head_s = self.head_s
        new.tail_s = self.tail_s
        cats = dict(self.categories)
        cats[category] = cats.get(category, 0.0) + extra_s
        new.categories = cats
        new.category_items = tuple(cats.items())
        hop_i, parts_i = self.cpu_parts[at]
        parts = dict(parts_i)
        parts[category] = parts.get(category, 0.0) + extra_s
        cpu_parts = list(self.cpu_parts)
        cpu_parts[at] = (hop_i, tuple(parts.items()))
        new.cpu_parts = tuple(cpu_parts)
        return new


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
        self.plan_chunks: dict[Plan, int] = {}

    def by_category(self) -> dict[str, float]:
        """Seconds per stage category: delivered chunks' stages plus direct work."""
        out = dict(self.service_s)
        for plan, n in self.plan_chunks.items():
            for cat, sec in plan.category_items:
                out[cat] = out.get(cat, 0.0) + sec * n
        return out
