"""Step 4 of the decomposed method: per-hop waits along each path, end to end.

Connections whose resources fall in the same groups, with the same message tables,
form one path class (their rates added). A request's latency is sampled as the engine
would add it up on an otherwise idle path (the table's ``idle_s`` for the drawn
message size, both ways), plus at each hop a wait drawn independently from that hop's
representative (:mod:`.queueing`), plus, at the backend's worker pool, a wait and the
request's own service time. At a pipelined switch port the wait shifts the departure
as :meth:`kperf.engine.queues.FifoServer.admit_pipelined` does: the chunk leaves at
``max(W + S - head, tail)`` after its last packet arrived instead of
``max(S - head, tail)``. Draws are independent across hops: exact when the hops'
queues are independent (docs/decomposed.md says when they are not). Samples are spread
over the path classes by their rates (a multinomial draw), so a path class's share of
the percentiles is its share of the requests.
"""

from __future__ import annotations

import numpy as np

from kperf.workloads.decomposed.groups import Grouping
from kperf.workloads.decomposed.traffic import MsgTable, Traffic

LATENCY_SAMPLES = 400_000
"""End-to-end latencies drawn per run (a p99.9 from 400 of them)."""

PathClass = tuple[tuple[int, ...], int, int, tuple[int, ...], int]
"""(groups of the forward hops, forward table, app group or -1, groups back, table back)."""


def path_classes(traffic: Traffic, grouping: Grouping) -> dict[PathClass, float]:
    """Each path class and its request rate (per second)."""
    g = grouping.group_of
    out: dict[PathClass, float] = {}
    for c in traffic.conns:
        key = (tuple(g[r] for r in c.fwd), c.fwd_table, g[c.app] if c.app >= 0 else -1,
               tuple(g[r] for r in c.back), c.back_table)
        out[key] = out.get(key, 0.0) + c.rate_per_s
    return out


def _way(table: MsgTable, groups: tuple[int, ...], waits: list[np.ndarray],
         rng: np.random.Generator, m: int) -> np.ndarray:
    """Latencies (s) of ``m`` messages one way: idle transit plus each hop's wait."""
    k = rng.integers(len(table.idle_s), size=m)
    lat = table.idle_s[k].copy()
    for h, grp in enumerate(groups):
        w = waits[grp]
        wait = w[rng.integers(len(w), size=m)]
        tail = table.tail[k, h]
        if tail.any():
            svc_minus_head = table.svc[k, h] - table.head[k, h]
            lat += np.maximum(wait + svc_minus_head, tail) - np.maximum(svc_minus_head, tail)
        else:
            lat += wait
    return lat


def latencies_s(traffic: Traffic, grouping: Grouping, waits: list[np.ndarray],
                rng: np.random.Generator, n: int = LATENCY_SAMPLES) -> np.ndarray:
    """``n`` end-to-end request latencies (seconds) over every path class."""
    classes = sorted(path_classes(traffic, grouping).items())
    rates = np.array([r for _, r in classes])
    counts = rng.multinomial(n, rates / rates.sum())
    parts: list[np.ndarray] = []
    app_s = traffic.app_service_s
    for (key, _rate), m in zip(classes, counts.tolist(), strict=True):
        if m == 0:
            continue
        fwd, fwd_t, app, back, back_t = key
        lat = _way(traffic.tables[fwd_t], fwd, waits, rng, m)
        if app >= 0:
            w = waits[app]
            lat += w[rng.integers(len(w), size=m)]
            lat += app_s[rng.integers(len(app_s), size=m)]
        lat += _way(traffic.tables[back_t], back, waits, rng, m)
        parts.append(lat)
    return np.concatenate(parts)
