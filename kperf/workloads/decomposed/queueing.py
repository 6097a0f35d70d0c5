"""Step 3 of the decomposed method: one resource's waiting time, as a single queue.

A representative resource is modelled as a FIFO queue fed by Poisson arrivals at its
total rate, each arrival's service time drawn from the resource's class mix (rate
weighted; :class:`~kperf.workloads.decomposed.traffic.Resource`). Its waiting times
(time in queue before service) are sampled by simulating that one queue:

* one server (a core, a NIC queue, a switch port): Lindley's recursion
  ``W[n+1] = max(0, W[n] + S[n] - A[n+1])`` in closed form over numpy arrays,
  ``W[n] = X[n] - min(X[0..n])`` with ``X`` the partial sums of ``S - A`` (the same
  recursion as :class:`kperf.engine.queues.FifoServer`, unbounded);
* ``c`` servers (a pod's worker pool): the engine's own
  :class:`kperf.engine.queues.MultiServer`, one customer at a time.

For M/G/1 this sample has the exact waiting-time law (Pollaczek-Khinchine: mean
``lambda E[S^2] / (2 (1 - rho))``, :func:`pk_mean_wait_s`, which the tests check it
against); what is approximate is the input: arrivals at a resource behind another
queue are not exactly Poisson (docs/decomposed.md). For M/G/c the mean has no closed
form; :func:`allen_cunneen_wait_s` (Allen-Cunneen's approximation, Erlang C times
``(1 + scv) / 2``) is the analytic estimate used for the grouping error.
"""

from __future__ import annotations

import math

import numpy as np

from kperf.engine.queues import MultiServer
from kperf.workloads.decomposed.traffic import ConnLoad, Resource, Saturated, Traffic

WAIT_SAMPLES = 50_000
"""Waiting times kept per representative (the p99.9 of a wait rests on 50 of them)."""
WARMUP_CUSTOMERS = 5_000
"""Customers simulated and discarded first (the queue starts empty); at utilisation
0.9 an M/M/1 queue forgets its start within a few hundred customers."""


def pk_mean_wait_s(res: Resource) -> float:
    """Pollaczek-Khinchine mean waiting time of an M/G/1 queue (seconds)."""
    lam = res.rate_per_s
    m1, m2 = res.moments()
    rho = lam * m1
    if rho >= 1.0:
        return math.inf
    return lam * m2 / (2.0 * (1.0 - rho))


def erlang_c(servers: int, offered: float) -> float:
    """Probability an arrival waits in an M/M/c queue with ``offered`` = lambda/mu."""
    rho = offered / servers
    if rho >= 1.0:
        return 1.0
    term = 1.0
    total = 1.0
    for k in range(1, servers):
        term *= offered / k
        total += term
    last = term * offered / servers / (1.0 - rho)
    return last / (total + last)


def allen_cunneen_wait_s(res: Resource) -> float:
    """Mean waiting time of an M/G/c queue by Allen-Cunneen's approximation: the
    M/M/c mean (Erlang C over c mu - lambda) times (1 + scv of service) / 2. Exact
    for c = 1 (it is then Pollaczek-Khinchine)."""
    c = res.servers
    if c == 1:
        return pk_mean_wait_s(res)
    lam = res.rate_per_s
    m1, m2 = res.moments()
    if m1 <= 0.0:
        return 0.0
    if lam * m1 / c >= 1.0:
        return math.inf
    scv = m2 / (m1 * m1) - 1.0
    wq_mmc = erlang_c(c, lam * m1) / (c / m1 - lam)
    return wq_mmc * (1.0 + scv) / 2.0


def check_stable(res: Resource) -> None:
    """A resource at or above utilisation 1 has no steady state: say which."""
    rho = res.utilisation
    if rho >= 1.0:
        raise Saturated(f"method decomposed: resource {res.name!r} ({res.kind}) is offered "
                        f"utilisation {rho:.3f} >= 1 (saturated): no steady-state latency; "
                        "lower the load or use method: full")


def _services(res: Resource, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` service times of arbitrary arrivals: a class by rate, then a draw of it."""
    rates = np.array([r for r, _ in res.classes])
    which = rng.choice(len(rates), size=n, p=rates / rates.sum()) if len(rates) > 1 \
        else np.zeros(n, dtype=np.int64)
    out = np.empty(n)
    for j, (_rate, sample) in enumerate(res.classes):
        mask = which == j
        k = int(mask.sum())
        if k:
            out[mask] = sample[rng.integers(len(sample), size=k)] if len(sample) > 1 \
                else sample[0]
    return out


def wait_samples(res: Resource, rng: np.random.Generator,
                 n: int = WAIT_SAMPLES, warmup: int = WARMUP_CUSTOMERS) -> np.ndarray:
    """Waiting times (seconds) of ``n`` arrivals at ``res`` in steady state."""
    check_stable(res)
    total = n + warmup
    gaps = rng.exponential(1.0 / res.rate_per_s, total)
    svc = _services(res, rng, total)
    if res.servers == 1:
        walk = np.empty(total)
        walk[0] = 0.0
        np.cumsum(svc[:-1] - gaps[1:], out=walk[1:])
        waits = walk - np.minimum.accumulate(np.minimum(walk, 0.0))
        return np.maximum(waits[warmup:], 0.0)
    pool = MultiServer("representative", res.servers)
    arrivals = np.cumsum(gaps).tolist()
    services = svc.tolist()
    out = np.empty(total)
    for i, (t, s) in enumerate(zip(arrivals, services, strict=True)):
        out[i] = pool.serve(t, s) - t - s
    return np.maximum(out[warmup:], 0.0)


TRACE_ARRIVALS = 30_000
"""Passages simulated per representative by :func:`trace_waits` (the first
:data:`TRACE_WARMUP_SHARE` of the time discarded)."""
TRACE_WARMUP_SHARE = 0.1


def trace_waits(res: Resource, traffic: Traffic, rng: np.random.Generator,
                arrivals: int = TRACE_ARRIVALS) -> np.ndarray:
    """The waits of :func:`trace_model` alone."""
    return trace_model(res, traffic, rng, arrivals)[0]


def trace_model(res: Resource, traffic: Traffic, rng: np.random.Generator,
                arrivals: int = TRACE_ARRIVALS) -> tuple[np.ndarray, np.ndarray]:
    """Waiting times (seconds) at ``res`` fed by its own connections' requests, as
    Parsimon feeds a link with its flows (Zhao et al., NSDI 2023, section 4): each
    connection passing here sends requests at Poisson times at its rate; a request
    reaches each of its passages here when it would on an idle path (the message
    tables' ``reach_s``; a response after the forward transit and the app's service),
    with the service time of its own message size. So a request and its own response
    on one core arrive a round trip apart and never queue behind each other, which a
    Poisson superposition (:func:`wait_samples`) would make them do. Upstream, each
    connection's requests cross a queue of their own whose service is the longest
    hop before this passage (Parsimon's upstream bottleneck, per connection): a
    connection's messages reach a later hop spaced at least that far apart, so a
    downstream server faster than the bottleneck does not see them bunched (in a line
    of fixed-cost hops it never waits), which a Poisson input at every hop would
    miss; the queueing upstream from other connections is left out (the
    approximation). FIFO: Lindley's recursion in time order (one server), or
    :class:`~kperf.engine.queues.MultiServer` (a worker pool).

    Returns (waits of every passage, and for connections passing more than once, each
    request's total wait over its passages here: the joint law the path combination
    draws from, since those waits are correlated; empty when none passes twice)."""
    check_stable(res)
    horizon = arrivals / res.rate_per_s
    by_conn: dict[int, list[tuple[int, int, int]]] = {}
    conns = traffic.conns
    for c, way, hop in res.visits:
        if conns[c].measured:
            by_conn.setdefault(c, []).append((way, hop, c))
        else:  # a crr FIN: a later passage (way 3) of its transaction, the nearest
            # measured connection before it (it passes wherever its FINs do)
            parent = c - 1
            while not conns[parent].measured:
                parent -= 1
            by_conn.setdefault(parent, []).append((3, hop, c))
    times: list[np.ndarray] = []
    services: list[np.ndarray] = []
    pass_of: list[tuple[int, int]] = []  # per array: (its connection's first array, count)
    in_latency: list[bool] = []  # per array: a passage of the request (not a crr FIN)
    paired = any(len(v) > 1 for v in by_conn.values())
    app_s = traffic.app_service_s
    batched = _batched_arrivals(traffic, by_conn, rng, horizon)
    prefix: dict[int, np.ndarray] = {}  # per message table: its running maxima
    regrouped: dict[int, list[tuple[int, np.ndarray]]] = {}  # per frontend: responses
    # that met their siblings at a shared resource before this one (array, its service)
    for c in sorted(by_conn):
        conn = traffic.conns[c]
        if c in batched:
            t0, delays = batched[c]
            n = len(t0)
            if n == 0:
                continue
        else:
            rate = (conn.rate_per_s if res.rate_scale == 1.0
                    else conn.rate_per_s * res.rate_scale)
            n = int(rng.poisson(rate * horizon))
            if n == 0:
                continue
            t0 = np.sort(rng.uniform(0.0, horizon, n))
        fwd = traffic.tables[conn.fwd_table]
        back = traffic.tables[conn.back_table]
        k_fwd = rng.integers(len(fwd.idle_s), size=n)
        k_back = rng.integers(len(back.idle_s), size=n)
        served = app_s[rng.integers(len(app_s), size=n)] if conn.app >= 0 else np.zeros(n)
        first = len(times)
        svc_fwd = fwd.svc[k_fwd]
        svc_back = back.svc[k_back]
        app_one = conn.app >= 0 and traffic.resources[conn.app].servers == 1
        up_fwd = _prefix_max(prefix, conn.fwd_table, fwd.svc)
        up_back = _prefix_max(prefix, conn.back_table, back.svc)
        for way, hop, src in by_conn[c]:
            pass_of.append((first, len(by_conn[c])))
            in_latency.append(way != 3)
            if way == 3:  # a FIN, sent when the response arrived (after its waits:
                # chained), crossing its own route
                fin = traffic.tables[traffic.conns[src].fwd_table]
                up = np.maximum(np.maximum(up_fwd[k_fwd, -1], up_back[k_back, -1]),
                                _prefix_max(prefix, traffic.conns[src].fwd_table,
                                            fin.svc)[k_back, hop])
                if app_one:
                    up = np.maximum(up, served)
                times.append(t0 + fwd.idle_s[k_fwd] + served + back.idle_s[k_back]
                             + fin.reach_s[k_back, hop] - fin.head[k_back, hop]
                             + _private_waits(t0, up))
                services.append(fin.svc[k_back, hop])
                continue
            if way == 0:
                up = up_fwd[k_fwd, hop]
                times.append(t0 + fwd.reach_s[k_fwd, hop] - fwd.head[k_fwd, hop]
                             + _private_waits(t0, up))
                services.append(svc_fwd[:, hop])
            elif way == 2:
                up = up_fwd[k_fwd, -1]
                times.append(t0 + fwd.idle_s[k_fwd] + _private_waits(t0, up))
                services.append(served)
            else:
                up = np.maximum(up_fwd[k_fwd, -1], up_back[k_back, hop])
                if app_one:
                    up = np.maximum(up, served)
                times.append(t0 + fwd.idle_s[k_fwd] + served + back.reach_s[k_back, hop]
                             - back.head[k_back, hop] + _private_waits(t0, up))
                services.append(svc_back[:, hop])
            if c in batched:  # behind its siblings on the frontend's side, and
                # its waits on the backend's side
                times[-1] = (times[-1] + delays[:, min(hop, delays.shape[1] - 1)
                                                 if way == 0 else -1]
                             + _upstream_jitter(traffic, conn, way, hop, rng, n))
                if way == 1:
                    met = _met_again(traffic, conn, hop, svc_back)
                    if met is not None:
                        regrouped.setdefault(conn.source, []).append((len(times) - 1, met))
    for parts in regrouped.values():
        _space_in_order(times, parts)
    t = np.concatenate(times)
    s = np.concatenate(services)
    if res.servers == 1 and paired:
        offsets = np.cumsum([0, *(len(x) for x in times)]).tolist()
        return _chained_waits(t, s, offsets, pass_of, horizon,
                              None if all(in_latency) else in_latency)
    order = np.argsort(t, kind="stable")
    t = t[order]
    s = s[order]
    keep = t >= TRACE_WARMUP_SHARE * horizon
    if res.servers == 1:
        walk = np.empty(len(t))
        walk[0] = 0.0
        np.cumsum(s[:-1] - np.diff(t), out=walk[1:])
        waits = walk - np.minimum.accumulate(walk)
    else:
        pool = MultiServer("representative", res.servers)
        waits = np.empty(len(t))
        for i, (ti, si) in enumerate(zip(t.tolist(), s.tolist(), strict=True)):
            waits[i] = pool.serve(ti, si) - ti - si
    return np.maximum(waits[keep], 0.0), np.zeros(0)


def _batched_arrivals(traffic: Traffic, by_conn: dict[int, list[tuple[int, int, int]]],
                      rng: np.random.Generator, horizon: float
                      ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """A parallel callgraph's calls, which leave their frontend together: per
    connection passing here, its requests' start times, drawn per frontend (Poisson at
    the frontend's rate; each request's call to a backend on one of that backend's
    pooled connections, chosen uniformly), so calls of one request that pass here
    arrive at the same instant, as they do in the engine; and per request its call's
    delays behind its siblings on the frontend's side (:func:`sibling_delays`: column
    ``h`` before its ``h``-th hop, the last one after them). Empty for anything else
    (each connection's requests then arrive at Poisson times of their own)."""
    calls = traffic.calls
    if calls is None or not calls.parallel:
        return {}
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for src in sorted({traffic.conns[c].source for c in by_conn}):
        n = int(rng.poisson(calls.rate_per_s[src] * horizon))
        t0 = np.sort(rng.uniform(0.0, horizon, n))
        pools = calls.pools[src]
        picks = np.zeros((n, len(pools)), dtype=np.int64)
        for b, pool in enumerate(pools):
            if any(c in by_conn for c in pool):
                picks[:, b] = rng.integers(len(pool), size=n)
        table = None
        for b, pool in enumerate(pools):
            for j, c in enumerate(pool):
                if c not in by_conn:
                    continue
                if table is None:
                    table = sibling_delays(traffic, src)
                mine = picks[:, b] == j
                code = _combo_code(picks[mine], len(pools[0]))
                out[c] = (t0[mine], table[b][code])
    return out


def _combo_code(picks: np.ndarray, pooled: int) -> np.ndarray:
    """Each row of pool picks as one integer (base ``pooled``)."""
    return (picks * (pooled ** np.arange(picks.shape[1]))[None, :]).sum(axis=1)


def sibling_delays(traffic: Traffic, src: int) -> list[np.ndarray]:
    """Per backend ``b`` of frontend ``src``: for every combination of pooled
    connections its request's calls can take (row: :func:`_combo_code`), how much later
    than on an idle path call ``b`` reaches each of its first hops on the frontend's
    side (column ``h``: before hop ``h``; the last column: after the last of them)
    because its siblings went first. The calls leave together in backend order and
    cross, FIFO and back to back, the resources at the head of their paths that two of
    them can share (:attr:`~.traffic.CallGraph.shared`: the frontend's cores, NIC queue
    and switch port); a call that shares none of them with an earlier one is not
    delayed. The queueing there behind other requests is the representative's own
    model; this is only the calls' order among themselves (the service times of a
    callgraph's fixed-size messages)."""
    calls = traffic.calls
    assert calls is not None
    cached = calls.delays.get(src)
    if cached is not None:
        return cached
    pools = calls.pools[src]
    shared = calls.shared[src]
    pooled = len(pools[0])
    heads = []  # per backend, per pooled connection: its shared head (resources, services)
    for pool in pools:
        mine = []
        for c in pool:
            conn = traffic.conns[c]
            svc = traffic.tables[conn.fwd_table].svc[0]
            k = 0
            while k < len(conn.fwd) and conn.fwd[k] in shared:
                k += 1
            mine.append((conn.fwd[:k], svc[:k]))
        heads.append(mine)
    width = 1 + max(len(r) for mine in heads for r, _s in mine)
    combos = pooled ** len(pools)
    out = [np.zeros((combos, width)) for _ in pools]
    for code in range(combos):
        free: dict[int, float] = {}
        for b in range(len(pools)):
            route, svc = heads[b][(code // pooled ** b) % pooled]
            t = idle = 0.0
            row = out[b][code]
            for h, (r, s_h) in enumerate(zip(route, svc.tolist(), strict=True)):
                t = max(t, free.get(r, 0.0)) + s_h
                free[r] = t
                idle += s_h
                row[h + 1:] = t - idle
    calls.delays[src] = out
    return out


def _upstream_ids(conn: ConnLoad, way: int, hop: int) -> list[int]:
    """The resources a request of ``conn`` passes before passage (``way``, ``hop``)."""
    if way == 0:
        return list(conn.fwd[:hop])
    if way == 2:
        return list(conn.fwd)
    return [*conn.fwd, conn.app, *conn.back[:hop]]


def _wait_law(res: Resource) -> tuple[float, float]:
    """Probability that an arrival waits at ``res``, and the mean wait (s): M/G/1
    (``rho``; Pollaczek-Khinchine) or M/G/c (Erlang C; Allen-Cunneen)."""
    if res.servers == 1:
        return res.utilisation, pk_mean_wait_s(res)
    m1 = res.moments()[0]
    return erlang_c(res.servers, res.rate_per_s * m1), allen_cunneen_wait_s(res)


def _upstream_jitter(traffic: Traffic, conn: ConnLoad, way: int, hop: int,
                     rng: np.random.Generator, n: int) -> np.ndarray:
    """Per call, a draw of its waits at the resources before this passage that its
    siblings do not share (the backend's side: its node's cores and queues, its worker
    pool): a call's response reaches its frontend's resources that much later, so the
    calls of one request do not come back in lockstep. Each such resource's wait is 0
    with its probability of waiting, else exponential with the mean that gives its
    Pollaczek-Khinchine (or Allen-Cunneen) mean wait (exact for M/M/1); independent
    across resources (estimated: the representative here does not model those queues)."""
    assert traffic.calls is not None
    shared = traffic.calls.shared[conn.source]
    out = np.zeros(n)
    for r in _upstream_ids(conn, way, hop):
        if r < 0 or r in shared:
            continue
        p, mean = _wait_law(traffic.resources[r])
        if p <= 0.0 or mean <= 0.0 or not math.isfinite(mean):
            continue
        out += np.where(rng.random(n) < p, rng.exponential(mean / p, n), 0.0)
    return out


def _met_again(traffic: Traffic, conn: ConnLoad, hop: int, svc_back: np.ndarray
               ) -> np.ndarray | None:
    """A callgraph response at its ``hop``-th hop back: the longest service at the
    frontend's resources it crossed since the paths met again (its switch port), where
    its siblings' responses queued with it; None if it crossed none yet."""
    assert traffic.calls is not None
    shared = traffic.calls.shared[conn.source]
    cols = [k for k in range(hop) if conn.back[k] in shared]
    return svc_back[:, cols].max(axis=1) if cols else None


def _space_in_order(times: list[np.ndarray], parts: list[tuple[int, np.ndarray]]) -> None:
    """One frontend's responses that met at a shared resource upstream leave it one
    after the other: they reach this one spaced by that service (a FIFO queue of their
    own, the calls' counterpart of :func:`_private_waits`), so they do not queue behind
    each other again here as if they had arrived together."""
    t = np.concatenate([times[a] for a, _up in parts])
    up = np.concatenate([u for _a, u in parts])
    order = np.argsort(t, kind="stable")
    waits = np.empty(len(t))
    waits[order] = _private_waits(t[order], up[order])
    lo = 0
    for a, _up in parts:
        hi = lo + len(times[a])
        times[a] = times[a] + waits[lo:hi]
        lo = hi


def _prefix_max(cache: dict[int, np.ndarray], table: int, svc: np.ndarray) -> np.ndarray:
    """Per message-size row of a table, the longest service before each hop (column
    ``h``: over hops ``< h``, 0 for the first; the last column: over all hops), computed
    once per table: the per-request maximum over those columns, looked up instead of
    recomputed per request."""
    got = cache.get(table)
    if got is None:
        got = np.zeros((svc.shape[0], svc.shape[1] + 1))
        if svc.shape[1]:
            np.maximum.accumulate(svc, axis=1, out=got[:, 1:])
        got = cache[table] = np.maximum(got, 0.0)
    return got


def _private_waits(t0: np.ndarray, svc: np.ndarray) -> np.ndarray:
    """Waits of one connection's requests (sorted times ``t0``) in a FIFO queue of
    their own with service ``svc``: how its upstream bottleneck spaces them out."""
    if not svc.any():
        return np.zeros(len(t0))
    walk = np.empty(len(t0))
    walk[0] = 0.0
    np.cumsum(svc[:-1] - np.diff(t0), out=walk[1:])
    return walk - np.minimum.accumulate(walk)


CHAIN_ROUNDS = 4
"""Fixed-point rounds of :func:`_chained_waits` (estimated: the later passages' times
change by less than a microsecond after the third round in the scenarios of
scripts/decomposed_accuracy.py)."""


def _chained_waits(t: np.ndarray, s: np.ndarray, offsets: list[int],
                   pass_of: list[tuple[int, int]], horizon: float,
                   in_latency: list[bool] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`trace_waits` at one server where a connection passes more than once per
    request (its request's core is also its response's): a request's later passage
    arrives when its earlier one left here plus the idle time between them, not at
    its idle-path time, so it does not queue twice behind the backlog that held up
    the earlier one. Solved as a fixed point: Lindley's recursion over all passages in
    time order, then each later passage moved to its earlier one's departure plus the
    gap, :data:`CHAIN_ROUNDS` times. ``offsets``: where each passage's array starts in
    ``t`` and ``s``; ``pass_of``: per array, its connection's first array and how many
    it has; ``in_latency``: per array, whether its waits count in the request's total
    (False: a crr FIN, chained but not waited for; None: all count)."""
    later = np.zeros(len(t), dtype=bool)
    prev = np.arange(len(t))
    for a, (first, _count) in enumerate(pass_of):
        if a > first:
            lo, hi = offsets[a], offsets[a + 1]
            later[lo:hi] = True
            prev[lo:hi] = np.arange(offsets[a - 1], offsets[a])
    gap = np.where(later, t - t[prev] - s[prev], 0.0)
    gap = np.maximum(gap, 0.0)
    cur = t.copy()
    waits = np.zeros(len(t))
    for _ in range(CHAIN_ROUNDS):
        order = np.argsort(cur, kind="stable")
        ts = cur[order]
        walk = np.empty(len(ts))
        walk[0] = 0.0
        np.cumsum(s[order][:-1] - np.diff(ts), out=walk[1:])
        waits[order] = walk - np.minimum.accumulate(walk)
        # passages are in path order within a connection: one pass updates each
        # later passage from its (already updated) predecessor
        for a, (first, _count) in enumerate(pass_of):
            if a > first:
                lo, hi = offsets[a], offsets[a + 1]
                p = prev[lo:hi]
                cur[lo:hi] = cur[p] + waits[p] + s[p] + gap[lo:hi]
    warm = TRACE_WARMUP_SHARE * horizon
    keep = cur >= warm
    waits = np.maximum(waits, 0.0)
    totals: list[np.ndarray] = []
    for a, (first, count) in enumerate(pass_of):
        if in_latency is not None and a == first:
            count = sum(in_latency[a:a + count])  # the FINs come last
        if a == first and count > 1:  # per request: its passages' waits added
            lo, hi = offsets[a], offsets[a + 1]
            total = waits[lo:hi].copy()
            for b in range(a + 1, a + count):
                total += waits[offsets[b]:offsets[b + 1]]
            totals.append(total[cur[lo:hi] >= warm])
    return waits[keep], np.concatenate(totals) if totals else np.zeros(0)
