"""``http`` and ``callgraph``: open-loop request mixes and fan-out call graphs.

http: each client pod issues requests at Poisson times (``rate_per_s`` per client) to a
target; request size, response size and the server's service time are drawn from the
spec's distributions; the server pod's worker pool (``app_workers`` of its deployment)
queues requests. Keep-alive clients hold a pool of ``KEEPALIVE_POOL`` connections, each
balanced once when opened; without keep-alive every request is a new connection
(handshake and first-packet proxy cost included, as in crr).

callgraph: a request arrives at a frontend pod (the ``clients`` deployment) at Poisson
times; the frontend calls every Service in ``backends`` over pooled connections, in
parallel (latency = the slowest call) or in sequence (the sum).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from kperf.spec.workload import CallgraphWorkload, Distribution, HttpWorkload
from kperf.workloads.connections import Conn, open_conn
from kperf.workloads.context import WorkloadContext, callgraph_targets, pods_of, targets_of
from kperf.workloads.external import ExternalStats, ExternalTarget
from kperf.workloads.rr import crr_transaction, transaction

KEEPALIVE_POOL = 4


def draw(dist: Distribution, rng: np.random.Generator) -> float:
    """One draw from a spec distribution (mean ``mean``; lognormal with cv ``cv``)."""
    if dist.dist == "fixed" or dist.mean == 0:
        return dist.mean
    if dist.dist == "exponential":
        return float(rng.exponential(dist.mean))
    sigma2 = float(np.log1p(dist.cv**2))
    return float(rng.lognormal(np.log(dist.mean) - sigma2 / 2, np.sqrt(sigma2)))


def _poisson(ctx: WorkloadContext, rng: np.random.Generator, rate: float,
             fire: Callable[[], None]) -> None:
    """Call ``fire()`` at Poisson times at ``rate`` while the workload is open; the
    arrivals join the simulation's shared :class:`~kperf.engine.arrivals.ArrivalMerger`."""
    sim = ctx.sim

    def arrive() -> float | None:
        now = sim.now
        if not ctx.open(now):
            return None
        ctx.issued += 1
        fire()
        return now + float(rng.exponential(1.0 / rate))

    sim.arrivals.add(float(rng.exponential(1.0 / rate)), arrive)


def start_http(ctx: WorkloadContext, spec: HttpWorkload, path: str) -> None:
    cluster = ctx.sim.cluster
    clients, service, choices = targets_of(cluster, spec, path)
    if isinstance(service, ExternalTarget):
        ctx.external = ExternalStats(len(cluster.nodes), services={service.index})
        _start_http_external(ctx, spec, clients, service)
        return
    for ci, client in enumerate(clients):
        rng = ctx.rng(ci)
        targets = choices[ci]

        def pick(targets: list[Any] = targets, rng: np.random.Generator = rng) -> Any:
            return targets[0] if len(targets) == 1 else targets[int(rng.integers(len(targets)))]

        pool = ([open_conn(ctx, client, pick(), service) for _ in range(KEEPALIVE_POOL)]
                if spec.keepalive else [])

        def fire(client: Any = client, rng: np.random.Generator = rng,
                 pool: list[Conn] = pool, pick: Callable[[], Any] = pick) -> None:
            req = int(draw(spec.request_bytes, rng))
            resp = int(draw(spec.response_bytes, rng))
            svc_s = draw(spec.service_us, rng) * 1e-6
            if pool:
                conn = pool[int(rng.integers(len(pool)))]
                if conn.backend is None:
                    if ctx.measuring(ctx.sim.now):
                        ctx.recorder.fail(ctx.sim.now, conn.failed or "no-endpoints")
                    return
                transaction(ctx, conn, req, resp, svc_s, lambda: None)
            else:
                crr_transaction(ctx, client, pick(), service, req, resp, svc_s, lambda: None)

        _poisson(ctx, rng, spec.rate_per_s, fire)


def _start_http_external(ctx: WorkloadContext, spec: HttpWorkload, clients: list[Any],
                         ext: ExternalTarget) -> None:
    """http from hosts outside the cluster: as :func:`start_http` (the same draws in
    the same order), and each request on a keep-alive connection counts where it
    entered and was served (a connection per request counts itself when it opens)."""
    stats = ctx.external
    assert stats is not None
    for ci, client in enumerate(clients):
        rng = ctx.rng(ci)
        pool = ([open_conn(ctx, client, None, ext) for _ in range(KEEPALIVE_POOL)]
                if spec.keepalive else [])

        def fire(client: Any = client, rng: np.random.Generator = rng,
                 pool: list[Conn] = pool) -> None:
            req = int(draw(spec.request_bytes, rng))
            resp = int(draw(spec.response_bytes, rng))
            svc_s = draw(spec.service_us, rng) * 1e-6
            if pool:
                conn = pool[int(rng.integers(len(pool)))]
                now = ctx.sim.now
                if ctx.measuring(now):
                    stats.count(conn.entry, conn.backend)
                if conn.backend is None:
                    if ctx.measuring(now):
                        ctx.recorder.fail(now, conn.failed or "no-endpoints")
                    return
                transaction(ctx, conn, req, resp, svc_s, lambda: None)
            else:
                crr_transaction(ctx, client, None, ext, req, resp, svc_s, lambda: None)

        _poisson(ctx, rng, spec.rate_per_s, fire)


def start_callgraph(ctx: WorkloadContext, spec: CallgraphWorkload, path: str) -> None:
    sim = ctx.sim
    cluster = sim.cluster
    frontends = pods_of(cluster, spec.clients, f"{path}.clients")
    for ci, fe in enumerate(frontends):
        rng = ctx.rng(ci)
        pools = [[open_conn(ctx, fe, targets[k % len(targets)], service)
                  for k in range(KEEPALIVE_POOL)]
                 for service, targets in callgraph_targets(cluster, spec, fe, path)]

        def fire(rng: np.random.Generator = rng, pools: list[list[Conn]] = pools) -> None:
            t0 = sim.now
            measure = ctx.measuring(t0)
            conns = [pool[int(rng.integers(len(pool)))] for pool in pools]
            times = [draw(spec.service_us, rng) * 1e-6 for _ in pools]
            state = {"left": len(conns), "failed": False}
            sub = _SubContext(ctx)

            def finished() -> None:
                if measure:
                    if sub.failed:
                        ctx.recorder.fail(t0, sub.failed)
                    else:
                        ctx.recorder.add(t0, sim.now - t0)

            if spec.parallel:
                def one_done() -> None:
                    state["left"] -= 1
                    if state["left"] == 0:
                        finished()

                for conn, svc_s in zip(conns, times, strict=True):
                    _call(sub, conn, spec, svc_s, one_done)
            else:
                _sequence(sub, conns, spec, times, 0, finished)

        _poisson(ctx, rng, spec.rate_per_s, fire)


def _sequence(sub: _SubContext, conns: list[Conn], spec: CallgraphWorkload,
              times: list[float], k: int, finished: Callable[[], None]) -> None:
    """Call backend ``k``, then the next, until all are done or one failed."""
    if k == len(conns) or sub.failed:
        finished()
        return
    _call(sub, conns[k], spec, times[k],
          lambda: _sequence(sub, conns, spec, times, k + 1, finished))


class _SubContext:
    """The outcome of one frontend request's backend calls: their latencies are not
    requests of their own; a failed call fails the parent request."""

    def __init__(self, ctx: WorkloadContext) -> None:
        self.ctx = ctx
        self.failed: str | None = None

    def add(self, _start: float, _latency_s: float) -> None:
        pass

    def fail(self, _start: float, reason: str) -> None:
        self.failed = reason


def _call(sub: _SubContext, conn: Conn, spec: CallgraphWorkload, service_s: float,
          done: Callable[[], None]) -> None:
    if conn.backend is None:
        sub.failed = conn.failed or "no-endpoints"
        done()
        return
    transaction(sub.ctx, conn, spec.request_bytes, spec.response_bytes, service_s, done,
                recorder=sub)
