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
    out: dict[PathClass, float] = {}
    for c in traffic.conns:
        if not c.measured:
            continue
        key = class_of(c, grouping.group_of)
        out[key] = out.get(key, 0.0) + c.rate_per_s
    return out


def class_of(c: ConnLoad, g: list[int]) -> PathClass:
    """Connection ``c``'s path class, given each resource's group ``g``."""
    return (tuple(g[r] for r in c.fwd), c.fwd_table, g[c.app] if c.app >= 0 else -1,
            tuple(g[r] for r in c.back), c.back_table, repeats(c))


def _way(table: MsgTable, groups: tuple[int, ...], flags: tuple[int, ...],
         waits: list[np.ndarray], joint: list[np.ndarray], rng: np.random.Generator,
         m: int, common: np.ndarray | None = None) -> np.ndarray:
    """Latencies (s) of ``m`` messages one way: idle transit plus each hop's wait (a
    resource passed several times: its joint total at the first passage, if its
    representative has one, else independent draws at each). ``common``: per message
    and hop, a uniform draw its request shares with its sibling calls at that resource
    (NaN: a draw of its own), which picks its wait (callgraph)."""
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
        pick = rng.integers(len(w), size=m)
        if common is not None:
            u = common[:, h]
            shared = ~np.isnan(u)
            if shared.any():
                pick[shared] = np.minimum((u[shared] * len(w)).astype(np.int64), len(w) - 1)
        wait = w[pick]
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
    if traffic.calls is not None:
        return _callgraph_latencies_s(traffic, grouping, waits, joint, rng, n)
    classes = sorted(path_classes(traffic, grouping).items())
    rates = np.array([r for _, r in classes])
    counts = rng.multinomial(n, rates / rates.sum())
    parts: list[np.ndarray] = []
    for (key, _rate), m in zip(classes, counts.tolist(), strict=True):
        if m == 0:
            continue
        parts.append(_class_latencies_s(traffic, key, waits, joint, rng, m))
    return np.concatenate(parts)


def _class_latencies_s(traffic: Traffic, key: PathClass, waits: list[np.ndarray],
                       joint: list[np.ndarray], rng: np.random.Generator, m: int,
                       common: tuple[np.ndarray, np.ndarray] | None = None
                       ) -> np.ndarray:
    """``m`` latencies (s) of requests of path class ``key``: both ways, and the app.
    ``common``: the shared draws of :func:`_way`, forward and back (callgraph)."""
    fwd, fwd_t, app, back, back_t, flags = key
    lat = _way(traffic.tables[fwd_t], fwd, flags[:len(fwd)], waits, joint, rng, m,
               None if common is None else common[0])
    if app >= 0:
        app_s = traffic.app_service_s
        w = waits[app]
        lat += w[rng.integers(len(w), size=m)]
        lat += app_s[rng.integers(len(app_s), size=m)]
    lat += _way(traffic.tables[back_t], back, flags[len(fwd) + 1:], waits, joint, rng, m,
                None if common is None else common[1])
    return lat


def _shared_draws(traffic: Traffic, conn_ids: np.ndarray, request: np.ndarray,
                  uniforms: np.ndarray, slot_of: list[dict[int, int]], way: int
                  ) -> np.ndarray:
    """Per call (connection ``conn_ids``, of request ``request``) and hop of one way, the
    request's uniform draw at that hop's resource if the resource is one its calls
    share (its frontend's side), else NaN."""
    conns = traffic.conns
    first = conns[int(conn_ids[0])]
    hops = len(first.fwd if way == 0 else first.back)
    out = np.full((len(conn_ids), hops), np.nan)
    for c in np.unique(conn_ids).tolist():
        conn = conns[c]
        slots = slot_of[conn.source]
        route = conn.fwd if way == 0 else conn.back
        rows = np.flatnonzero(conn_ids == c)
        for h, r in enumerate(route):
            slot = slots.get(r)
            if slot is not None:
                out[rows, h] = uniforms[request[rows], slot]
    return out


def _callgraph_latencies_s(traffic: Traffic, grouping: Grouping, waits: list[np.ndarray],
                           joint: list[np.ndarray], rng: np.random.Generator, n: int
                           ) -> np.ndarray:
    """``n`` frontend requests of a callgraph: each picks a frontend by its rate and,
    per backend, one of that backend's pooled connections (uniformly, as the engine
    does); each call's latency is drawn from its connection's path class like any
    request's; the request's latency is the slowest call (parallel) or their sum (in
    sequence). In parallel, calls that pass the same resource on the frontend's side
    (:attr:`~.traffic.CallGraph.shared`) share their request's draw there
    (:func:`_shared_draws`: they meet the same backlog); elsewhere, and in sequence,
    each call's waits are drawn on their own."""
    calls = traffic.calls
    assert calls is not None
    keys: dict[PathClass, int] = {}
    cls_of_conn = np.array([keys.setdefault(class_of(c, grouping.group_of), len(keys))
                            for c in traffic.conns])
    pools = np.array(calls.pools)  # frontend x backend x pooled connection
    rates = np.array(calls.rate_per_s)
    frontend = rng.choice(len(rates), size=n, p=rates / rates.sum())
    backends, pooled = pools.shape[1], pools.shape[2]
    pick = rng.integers(pooled, size=(n, backends))
    conn_ids = pools[frontend[:, None], np.arange(backends)[None, :], pick].ravel()
    cls = cls_of_conn[conn_ids]
    request = np.repeat(np.arange(n), backends)
    slot_of = [{r: i for i, r in enumerate(sorted(shared))} for shared in calls.shared]
    uniforms = rng.random((n, max([len(s) for s in slot_of] + [1])))
    order = np.argsort(cls, kind="stable")
    lat = np.empty(len(cls))
    by_id = list(keys)
    ids, starts, counts = np.unique(cls[order], return_index=True, return_counts=True)
    for u, lo, m in zip(ids.tolist(), starts.tolist(), counts.tolist(), strict=True):
        rows = order[lo:lo + m]
        common = None
        if calls.parallel:
            common = (_shared_draws(traffic, conn_ids[rows], request[rows], uniforms,
                                    slot_of, 0),
                      _shared_draws(traffic, conn_ids[rows], request[rows], uniforms,
                                    slot_of, 1))
        lat[rows] = _class_latencies_s(traffic, by_id[u], waits, joint, rng, m, common)
    per_call = lat.reshape(n, backends)
    return per_call.max(axis=1) if calls.parallel else per_call.sum(axis=1)
