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
from kperf.workloads.decomposed.traffic import ConnLoad, MsgTable, Traffic

LATENCY_SAMPLES = 400_000
"""End-to-end latencies drawn per run (a p99.9 from 400 of them)."""

PathClass = tuple[tuple[int, ...], int, int, tuple[int, ...], int, tuple[int, ...]]
"""(groups of the forward hops, forward table, app group or -1, groups back, table back,
and per passage (forward hops, app, hops back) :data:`ALONE`, :data:`FIRST` or
:data:`AGAIN`)."""

ALONE, FIRST, AGAIN = 0, 1, 2
"""A passage at a resource the request passes once; the first of several at one
resource (its wait is drawn from the representative's joint totals); a later one
(no draw of its own)."""


def repeats(c: ConnLoad) -> tuple[int, ...]:
    """Per passage of connection ``c`` (forward, app, back): ALONE, FIRST or AGAIN."""
    seq = [*c.fwd, c.app, *c.back]
    out = []
    for i, r in enumerate(seq):
        if r < 0:
            out.append(ALONE)
        elif r in seq[:i]:
            out.append(AGAIN)
        else:
            out.append(FIRST if r in seq[i + 1:] else ALONE)
    return tuple(out)


def path_classes(traffic: Traffic, grouping: Grouping) -> dict[PathClass, float]:
    """Each path class and its request rate (per second)."""
    g = grouping.group_of
    out: dict[PathClass, float] = {}
    for c in traffic.conns:
        if not c.measured:
            continue
        key = (tuple(g[r] for r in c.fwd), c.fwd_table, g[c.app] if c.app >= 0 else -1,
               tuple(g[r] for r in c.back), c.back_table, repeats(c))
        out[key] = out.get(key, 0.0) + c.rate_per_s
    return out


def _way(table: MsgTable, groups: tuple[int, ...], flags: tuple[int, ...],
         waits: list[np.ndarray], joint: list[np.ndarray], rng: np.random.Generator,
         m: int) -> np.ndarray:
    """Latencies (s) of ``m`` messages one way: idle transit plus each hop's wait (a
    resource passed several times: its joint total at the first passage, if its
    representative has one, else independent draws at each)."""
    k = rng.integers(len(table.idle_s), size=m)
    lat = table.idle_s[k].copy()
    for h, grp in enumerate(groups):
        flag = flags[h]
        if flag != ALONE and len(joint[grp]):
            if flag == AGAIN:
                continue
            w = joint[grp]
        else:
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
                joint: list[np.ndarray], rng: np.random.Generator,
                n: int = LATENCY_SAMPLES) -> np.ndarray:
    """``n`` end-to-end request latencies (seconds) over every path class."""
    classes = sorted(path_classes(traffic, grouping).items())
    rates = np.array([r for _, r in classes])
    counts = rng.multinomial(n, rates / rates.sum())
    parts: list[np.ndarray] = []
    app_s = traffic.app_service_s
    for (key, _rate), m in zip(classes, counts.tolist(), strict=True):
        if m == 0:
            continue
        fwd, fwd_t, app, back, back_t, flags = key
        lat = _way(traffic.tables[fwd_t], fwd, flags[:len(fwd)], waits, joint, rng, m)
        if app >= 0:
            w = waits[app]
            lat += w[rng.integers(len(w), size=m)]
            lat += app_s[rng.integers(len(app_s), size=m)]
        lat += _way(traffic.tables[back_t], back, flags[len(fwd) + 1:], waits, joint, rng,
                    m)
        parts.append(lat)
    return np.concatenate(parts)
