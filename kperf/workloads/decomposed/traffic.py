"""Step 1 of the decomposed method: every contended resource's traffic.

The workload's connections are opened exactly as the full engine opens them (the same
functions, in the same order, from the same random streams: client pods, their target
choices, a Service's endpoint choice, flow ids and so the RSS core of each direction),
but no message is sent. Each connection then carries requests at its share of its
client's Poisson rate (a request picks one of the client's connections uniformly, as
:mod:`kperf.workloads.rr` and :mod:`kperf.workloads.http` do); a request crosses the
servers of the connection's forward route (:meth:`kperf.engine.transit.Transit.route`),
the backend pod's worker pool, then the servers of the reverse route. What a message
costs at each hop is the engine's own cost plan (:class:`kperf.engine.plans.Plan`: the
hops' :class:`~kperf.datapath.path.HopCost` for that size and surcharge), so the
per-resource service times are the engine's, per message size and direction.

The result, :class:`Traffic`, lists per resource its classes of customers (rate and a
sample of service times) and per connection its route through them.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, cast

import numpy as np

from kperf.errors import SpecError
from kperf.profiles.base import Testbed
from kperf.spec.cluster import ClusterSpec
from kperf.spec.workload import Distribution

SUPPORTED = ("open-loop rr and crr (rate_per_s set, no requests limit), http with "
             "keepalive and callgraph, "
             "one workload, to pods or a ClusterIP Service, clients inside the cluster, "
             "no service mesh, no DNS lookups, no rolling updates, no lossy links")
"""What this slice of the decomposed method models (the refusal names it)."""

CRR_CONNECTIONS_PER_CLIENT = 128
"""crr: connections sampled per client pod, each carrying 1/128 of its rate. In the
engine every transaction opens a new connection (a new flow id, so RSS cores drawn
anew, and through a Service a new endpoint choice), so a core's load is the average
over very many; a finite sample makes some cores busier than that, which raises the
tail. Measured on crr-svc-16-uniform-50 (scripts/decomposed_accuracy.py; the full
engine's p99 332.6 µs): with 8 per client a core is offered 1.02 (saturated), with 32
the p99 is 394.8 µs, 128 361.6 µs, 512 355.6 µs (2.6, 5.0 and 7.7 s); 128 is the
compromise (estimated), and :func:`spread_crr_cores` evens the rates it leaves lumpy."""

DECOMPOSED_SEED_KEY = 20_000
"""Random-stream key of the decomposed method's own draws (workloads use 0.., the
Services layer 10,000: :data:`kperf.workloads.simulate.SERVICES_SEED_KEY`)."""

SIZE_DRAWS = 1024
"""Draws of a message-size distribution kept per run (its empirical law); each
distinct size costs one engine cost plan per path kind."""
SERVICE_DRAWS = 65_536
"""Draws of the app's service-time distribution kept per run (its tail sets p99, and a
callgraph's slowest call reaches further into it). With 8,192 a 64-node callgraph (two
backends, exponential 50 µs service) gave p99 270.9 and 261.9 µs on two seeds whose
full-engine p99 is 283.2 and 283.8 µs (-4.3 %, -7.7 %): the sample's tail was short;
with 65,536, 283.3 and 284.2 µs (262,144: 285.6 and 284.4)."""

TAIL_QUANTILE_Z = 3.72
"""Standard normal quantile of 0.9999: a size distribution whose 99.99th percentile
exceeds one chunk is refused (multi-chunk messages pipeline across hops, which the
per-hop model below does not represent)."""


class DecomposedUnsupported(SpecError):
    """The run asks for something the decomposed method does not model (yet)."""

    def __init__(self, what: str) -> None:
        super().__init__("method", "decomposed",
                         f"not available for {what}; supported: {SUPPORTED} "
                         "(use method: full)")


class Saturated(ValueError):
    """A resource's offered load is at or above its capacity: no steady state."""


@dataclass
class Resource:
    """One contended server: its name and kind, how many servers share its queue
    (``servers``: 1, or a worker pool's workers), and its customer classes: (rate per
    second, service-time sample in seconds; each draw equally likely)."""

    name: str
    kind: str
    index: int
    servers: int = 1
    classes: list[tuple[float, np.ndarray]] = field(default_factory=list)
    _moments: tuple[float, float] | None = field(default=None, repr=False)
    _rate: float | None = field(default=None, repr=False)
    visits: list[tuple[int, int, int]] = field(default_factory=list)
    """(connection, way, hop) of every passage of a request here: way 0 the request's
    path, 1 the response's, 2 the backend's worker pool (hop -1)."""
    rate_scale: float = 1.0
    """Factor on the rate of every connection passing here (crr's cores:
    :func:`spread_crr_cores`); 1 otherwise."""

    @property
    def paired_share(self) -> float:
        """Share of the passages here by connections that pass more than once (a
        request's and its response's core: they never queue behind each other)."""
        count: dict[int, int] = {}
        for c, _way, _hop in self.visits:
            count[c] = count.get(c, 0) + 1
        return sum(1 for c, _w, _h in self.visits if count[c] > 1) / max(len(self.visits), 1)

    @property
    def rate_per_s(self) -> float:
        """Arrivals per second (computed once, as :meth:`moments`)."""
        got = self._rate
        if got is None:
            got = self._rate = math.fsum(r for r, _ in self.classes)
        return got

    def moments(self) -> tuple[float, float]:
        """E[S] and E[S^2] of the service time of an arbitrary arrival (seconds);
        computed once (the classes are complete when anyone asks)."""
        got = self._moments
        if got is None:
            lam = self.rate_per_s
            if lam <= 0:
                got = (0.0, 0.0)
            else:
                means = [self.sample_means(s) for _r, s in self.classes]
                m1 = sum(r * m[0] for (r, _s), m in zip(self.classes, means,
                                                        strict=True)) / lam
                m2 = sum(r * m[1] for (r, _s), m in zip(self.classes, means,
                                                        strict=True)) / lam
                got = (m1, m2)
            self._moments = got
        return got

    _owned_means: ClassVar[dict[int, tuple[Any, float, float]]] = {}
    """Means of samples that own their data, by id behind a weak reference (a new array
    with a dead one's id is not taken for it); bounded (cleared past 64)."""

    @staticmethod
    def sample_means(s: np.ndarray) -> tuple[float, float]:
        """np.mean of a service-time sample and of its square, the same bits: np.mean
        is add.reduce over all draws, then / size; without its per-call overhead, for
        the many classes. A sample that owns its data (the app's service draws: one
        array in every worker pool's class, 75,000 of them at 5,000 nodes) is
        reduced once (samples are not changed once in a class); a view (a message
        table's column, a new view per class) each time."""
        add = np.add.reduce
        if not s.size:  # np.mean's nan (never a class's: draws are >= 1)
            return math.nan, math.nan
        if s.base is not None:
            return float(add(s, None)) / s.size, float(add(s * s, None)) / s.size
        memo = Resource._owned_means
        got = memo.get(id(s))
        if got is not None and got[0]() is s:
            return got[1], got[2]
        m1, m2 = float(add(s, None)) / s.size, float(add(s * s, None)) / s.size
        if len(memo) >= 64:
            memo.clear()
        memo[id(s)] = (weakref.ref(s), m1, m2)
        return m1, m2

    @property
    def utilisation(self) -> float:
        """Offered load per server: rate x mean service / servers."""
        return self.rate_per_s * self.moments()[0] / self.servers


@dataclass(frozen=True)
class MsgTable:
    """One direction of a request on one kind of path: per message-size draw (rows),
    each hop's service seconds, pipelining head and tail (columns), and the transit
    time with every server idle (``idle_s``)."""

    svc: np.ndarray
    head: np.ndarray
    tail: np.ndarray
    idle_s: np.ndarray
    reach_s: np.ndarray  # when the message reaches each hop, every server idle


@dataclass(frozen=True)
class ConnLoad:
    """One connection: its request rate and the resources each request crosses
    (``fwd``, the app pool or -1, ``back``) with the message tables of each way.
    ``measured`` False: load without a latency of its own (crr's FIN segments, sent
    after the response and not waited for): its passages load the resources, but it
    is no request (no latency sample, not in the request rate). Each follows its
    transaction's connection in :attr:`Traffic.conns` (the nearest measured one before
    it: :func:`~.queueing.trace_model` ties it to that one's requests)."""

    rate_per_s: float
    fwd: tuple[int, ...]
    fwd_table: int
    app: int
    back: tuple[int, ...]
    back_table: int
    measured: bool = True
    source: int = -1
    """callgraph: the frontend whose requests this connection's calls belong to (an
    index into :attr:`CallGraph.rate_per_s`); -1: requests of its own (Poisson)."""


@dataclass(frozen=True)
class CallGraph:
    """A callgraph workload's fan-out: per frontend, its request rate and per backend
    Service the pool of connections one of which carries that backend's call (chosen
    uniformly per request, as :func:`kperf.workloads.http.start_callgraph` does).
    ``parallel``: the calls go out together and the request ends with the slowest;
    otherwise one after the other (the request's latency is their sum)."""

    rate_per_s: list[float]
    pools: list[list[list[int]]]
    parallel: bool
    shared: list[frozenset[int]] = field(default_factory=list)
    """Per frontend, the resources the routes of two or more of its backends' calls
    cross (its own node's cores, NIC queues and switch port): where a request's calls
    meet each other."""
    delays: dict[int, list[np.ndarray]] = field(default_factory=dict, compare=False)
    """Per frontend, :func:`~.queueing.sibling_delays` once computed (a cache)."""


@dataclass
class Traffic:
    """Every resource's classes and every connection's route (see the module doc)."""

    resources: list[Resource]
    tables: list[MsgTable]
    conns: list[ConnLoad]
    app_service_s: np.ndarray  # the app's service-time draws (empty: no app work)
    payload_bytes_per_request: float  # mean request + response payload
    window_s: float  # the measurement window (duration)
    active_s: float  # how long the sources send (warm-up + duration)
    nodes: int = 0
    calls: CallGraph | None = None  # a callgraph workload's fan-out

    @property
    def request_rate_per_s(self) -> float:
        """Requests per second: the frontends' for a callgraph (each request is its
        calls), else the measured connections' rates added."""
        if self.calls is not None:
            return sum(self.calls.rate_per_s)
        return sum(c.rate_per_s for c in self.conns if c.measured)


def draws(dist: Distribution, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` draws of a spec distribution, the law of :func:`kperf.workloads.http.draw`
    (exponential, or lognormal with mean ``mean`` and coefficient of variation ``cv``)."""
    if dist.dist == "fixed" or dist.mean == 0:
        return np.full(n if dist.dist != "fixed" else 1, float(dist.mean))
    if dist.dist == "exponential":
        return rng.exponential(dist.mean, n)
    sigma2 = float(np.log1p(dist.cv**2))
    return rng.lognormal(np.log(dist.mean) - sigma2 / 2, np.sqrt(sigma2), n)


def tail_bytes(dist: Distribution) -> float:
    """The 99.99th percentile of a size distribution (bytes)."""
    if dist.dist == "fixed" or dist.mean == 0:
        return dist.mean
    if dist.dist == "exponential":
        return dist.mean * math.log(1e4)
    sigma2 = math.log1p(dist.cv**2)
    return math.exp(math.log(dist.mean) - sigma2 / 2 + TAIL_QUANTILE_Z * math.sqrt(sigma2))


def mean_floor(dist: Distribution) -> float:
    """Mean of ``int(draw)`` (what the workloads send): the mean for a fixed size,
    else the mean less half a byte (the floor of a spread-out variable loses 0.5 on
    average)."""
    if dist.dist == "fixed" or dist.mean == 0:
        return float(int(dist.mean))
    return max(dist.mean - 0.5, 0.0)


def check_supported(cluster: ClusterSpec, workloads: list[Any], testbed: Testbed) -> None:
    """Refuse, with one line naming ``method``, what this slice does not model."""
    if len(workloads) != 1:
        raise DecomposedUnsupported(f"{len(workloads)} workloads")
    wl = workloads[0]
    if wl.kind not in ("rr", "crr", "http", "callgraph"):
        raise DecomposedUnsupported(f"workload kind {wl.kind}")
    if wl.kind in ("rr", "crr") and wl.rate_per_s is None:
        raise DecomposedUnsupported(f"closed-loop {wl.kind} (no rate_per_s)")
    if wl.kind == "http" and not wl.keepalive:
        raise DecomposedUnsupported("http without keepalive (a connection per request)")
    if wl.requests is not None:
        raise DecomposedUnsupported("a requests limit")
    if wl.resolves or getattr(wl, "dns_name", None) is not None:
        raise DecomposedUnsupported("DNS lookups (resolve_dns, dns_name)")
    if str(wl.target).startswith(("nodeport/", "lb/")):
        raise DecomposedUnsupported(f"target {wl.target}")
    if any(d.external for d in cluster.deployments):
        raise DecomposedUnsupported("deployments placed external")
    if cluster.mesh.enabled:
        raise DecomposedUnsupported(f"a service mesh (mesh.mode {cluster.mesh.mode})")
    if cluster.rolling_updates:
        raise DecomposedUnsupported("rolling updates")
    if testbed.link_loss_rate > 0:
        raise DecomposedUnsupported("a lossy link (testbed.link_loss_rate > 0)")


def build_traffic(testbed: Testbed, cluster: ClusterSpec, workloads: list[Any],
                  seed: int) -> Traffic:
    """Open the workload's connections as the full engine does; derive each contended
    resource's classes (see the module doc)."""
    from kperf.cluster import Cluster
    from kperf.engine.sim import Simulation
    from kperf.metrics.latency import LatencyRecorder
    from kperf.services import ServiceLayer
    from kperf.spec.cluster import with_host_network
    from kperf.workloads.connections import open_conn
    from kperf.workloads.context import WorkloadContext, targets_of
    from kperf.workloads.dnsname import lookup_name
    from kperf.workloads.http import KEEPALIVE_POOL
    from kperf.workloads.simulate import SERVICES_SEED_KEY

    check_supported(cluster, workloads, testbed)
    wl = workloads[0]
    built = Cluster.build(with_host_network(cluster, workloads))
    if lookup_name(built, wl) is not None:
        raise DecomposedUnsupported("a headless Service target (a DNS answer)")
    sim = Simulation(built, testbed, seed)
    layer = (ServiceLayer(sim, rng=sim.rng(SERVICES_SEED_KEY))
             if any(s.index > 0 for s in built.services) else None)
    ctx = WorkloadContext(sim=sim, index=0, label=wl.kind, start_s=wl.warmup_s,
                          end_s=wl.warmup_s + wl.duration_s, request_limit=None,
                          recorder=LatencyRecorder(), services=layer)
    size_rng = np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(seed, spawn_key=(DECOMPOSED_SEED_KEY, 0))))
    if wl.kind == "callgraph":
        req_d = Distribution(mean=wl.request_bytes)
        resp_d = Distribution(mean=wl.response_bytes)
        svc_d = wl.service_us
        per_client = KEEPALIVE_POOL
    elif wl.kind in ("rr", "crr"):
        req_d = Distribution(mean=wl.request_bytes)
        resp_d = Distribution(mean=wl.response_bytes)
        svc_d = Distribution(mean=wl.app_service_us)
        per_client = wl.outstanding if wl.kind == "rr" else CRR_CONNECTIONS_PER_CLIENT
    else:
        req_d, resp_d, svc_d = wl.request_bytes, wl.response_bytes, wl.service_us
        per_client = KEEPALIVE_POOL
    req_sizes = np.floor(draws(req_d, size_rng, SIZE_DRAWS)).astype(np.int64)
    resp_sizes = np.floor(draws(resp_d, size_rng, SIZE_DRAWS)).astype(np.int64)
    app_s = draws(svc_d, size_rng, SERVICE_DRAWS) * 1e-6
    # rr with app_service_us 0 skips the pool; http serves every request there
    with_app = bool(app_s.max() > 0) if wl.kind in ("rr", "crr") else True
    crr = wl.kind == "crr"

    builder = _Builder(sim, req_sizes, resp_sizes, (req_d, resp_d))
    conns: list[ConnLoad] = []
    calls = None
    if wl.kind == "callgraph":
        calls = _callgraph_conns(built, wl, ctx, builder, conns)
        clients: list[Any] = []
        service, choices = None, cast(list[list[Any]], [])
    else:
        clients, service, choices = targets_of(built, wl, "workload")
    sampled: list[tuple[int, int, int]] = []  # crr: (client, backend, first ConnLoad)
    backends: dict[int, tuple[int, Any]] = {}  # crr: id(backend pod) -> (key, pod)
    for ci, client in enumerate(clients):
        rng = ctx.rng(ci)
        targets = choices[ci]
        opened = []
        for _ in range(per_client):  # the same draws as rr._Client / http.start_http
            target = targets[0] if len(targets) == 1 else targets[int(rng.integers(len(targets)))]
            opened.append(open_conn(ctx, client, target, service, established=not crr))
        rate = float(wl.rate_per_s) / len(opened)
        for conn in opened:
            if conn.backend is None or conn.flow is None:
                raise DecomposedUnsupported(
                    f"a connection that fails ({conn.failed or 'no-endpoints'})")
            app = builder.app(sim.app_pool(conn.backend)) if with_app else -1
            if crr:
                first = len(conns)
                sampled.append((ci, _backend_key(backends, conn.backend), first))
                conns += builder.crr_conn(conn, rate, app, client)
                conn.close()
            else:
                conns.append(builder.conn(conn, rate, app))
    if crr and CRR_BALANCE_BACKENDS:
        wanted = _backend_shares(clients, choices, backends, service is not None)
        balance_crr_rates(conns, sampled, [float(wl.rate_per_s)] * len(clients), wanted)
    if crr and CRR_SPREAD_CORES:
        spread_crr_cores(builder.resources, conns, builder.tables,
                         sim.transit.network.cores_per_node, service is not None)
    # each request crosses its hops, the app, and the hops back: one class per
    # (resource, message table, hop), rates added (connections share path kinds)
    acc: dict[tuple[int, int, int], float] = {}
    res = builder.resources
    for i, c in enumerate(conns):
        for k, r in enumerate(c.fwd):
            acc[(r, c.fwd_table, k)] = acc.get((r, c.fwd_table, k), 0.0) + c.rate_per_s
            res[r].visits.append((i, 0, k))
        if c.app >= 0:
            acc[(c.app, -1, -1)] = acc.get((c.app, -1, -1), 0.0) + c.rate_per_s
            res[c.app].visits.append((i, 2, -1))
        for k, r in enumerate(c.back):
            acc[(r, c.back_table, k)] = acc.get((r, c.back_table, k), 0.0) + c.rate_per_s
            res[r].visits.append((i, 1, k))
    for (r, t, k), rate in acc.items():
        sample = app_s if t < 0 else builder.tables[t].svc[:, k]
        scale = builder.resources[r].rate_scale
        builder.resources[r].classes.append((rate * scale if scale != 1.0 else rate, sample))
    fanout = len(wl.backends) if calls is not None else 1
    return Traffic(builder.resources, builder.tables, conns, app_s if with_app else
                   np.zeros(0), fanout * (mean_floor(req_d) + mean_floor(resp_d)),
                   wl.duration_s, wl.warmup_s + wl.duration_s, len(built.nodes), calls)


def _callgraph_conns(cluster: Any, wl: Any, ctx: Any, builder: _Builder,
                     conns: list[ConnLoad]) -> CallGraph:
    """A callgraph's connections, opened as :func:`kperf.workloads.http.start_callgraph`
    opens them (per frontend, per backend Service, :data:`KEEPALIVE_POOL` connections to
    its pods in turn); each carries its share of its frontend's rate for its backend
    (a request picks one connection of every pool). Appended to ``conns`` with their
    frontend as ``source``; the fan-out is returned."""
    from kperf.workloads.connections import open_conn
    from kperf.workloads.context import callgraph_targets, pods_of
    from kperf.workloads.http import KEEPALIVE_POOL

    rates: list[float] = []
    pools: list[list[list[int]]] = []
    for ci, fe in enumerate(pods_of(cluster, wl.clients, "workload.clients")):
        mine: list[list[int]] = []
        for service, targets in callgraph_targets(cluster, wl, fe, "workload"):
            pool: list[int] = []
            for k in range(KEEPALIVE_POOL):
                conn = open_conn(ctx, fe, targets[k % len(targets)], service)
                if conn.backend is None or conn.flow is None:
                    raise DecomposedUnsupported(
                        f"a connection that fails ({conn.failed or 'no-endpoints'})")
                app = builder.app(ctx.sim.app_pool(conn.backend))
                pool.append(len(conns))
                conns.append(replace(builder.conn(conn, float(wl.rate_per_s) / KEEPALIVE_POOL,
                                                  app), source=ci))
            mine.append(pool)
        rates.append(float(wl.rate_per_s))
        pools.append(mine)
    shared = []
    for mine in pools:
        seen: dict[int, set[int]] = {}
        for b, pool in enumerate(mine):
            for c in pool:
                cl = conns[c]
                for r in (*cl.fwd, cl.app, *cl.back):
                    seen.setdefault(r, set()).add(b)
        shared.append(frozenset(r for r, bs in seen.items() if len(bs) > 1 and r >= 0))
    return CallGraph(rates, pools, bool(wl.parallel), shared)


CRR_SPREAD_CORES = True
"""crr: scale each core's rate to its node's mean (:func:`spread_crr_cores`)."""


def spread_crr_cores(resources: list[Resource], conns: list[ConnLoad],
                     tables: list[MsgTable], cores_per_node: int, to_service: bool) -> None:
    """crr: every transaction's flow id is new, so RSS spreads a node's crr work evenly
    over the node's cores in the engine (the hash is uniform), while the sampled
    connections (:data:`CRR_CONNECTIONS_PER_CLIENT`) hit some cores more than others.
    Each core touched gets ``rate_scale`` = its node's offered packet work / the node's
    ``cores_per_node`` / its own, so every core carries the node's mean (each keeps
    its sampled mix of work). Through a Service (``to_service``) every transaction
    also draws its endpoint anew, so the backends' worker pools are spread the same
    way: each carries the mean rate of the pools the sample touched. Measured on
    crr-svc-16-uniform-50 at one rate (full engine p99 384.4 µs): 128 connections per
    client 432.5 µs (+12.5 %), 1,024 per client 410.9 µs (+6.9 %), 128 with the cores
    spread 410.2 µs (+6.7 %); the accuracy table in docs/decomposed.md is with it."""
    load = [0.0] * len(resources)
    hop_means: dict[int, list[float]] = {}  # per message table: its hops' mean service
    for c in conns:
        for route, t in ((c.fwd, c.fwd_table), (c.back, c.back_table)):
            if not route:
                continue
            means = hop_means.get(t)
            if means is None:
                means = hop_means[t] = tables[t].svc.mean(axis=0).tolist()
            for k, r in enumerate(route):
                load[r] += c.rate_per_s * means[k]
    per_node: dict[int, list[int]] = {}
    for r, res in enumerate(resources):
        if res.kind == "cpu" and load[r] > 0:
            per_node.setdefault(res.index, []).append(r)
    for cores in per_node.values():
        mean = math.fsum(load[r] for r in cores) / max(cores_per_node, len(cores))
        for r in cores:
            resources[r].rate_scale = mean / load[r]
    if to_service:
        pool_rate: dict[int, float] = {}
        for c in conns:
            if c.app >= 0:
                pool_rate[c.app] = pool_rate.get(c.app, 0.0) + c.rate_per_s
        if pool_rate:
            mean = math.fsum(pool_rate.values()) / len(pool_rate)
            for r, rate in pool_rate.items():
                resources[r].rate_scale = mean / rate


CRR_BALANCE_BACKENDS = True
"""crr: give every (client, backend) pair its expected share of the client's rate
(:func:`balance_crr_rates`)."""


def _backend_key(backends: dict[int, tuple[int, Any]], pod: Any) -> int:
    """A backend pod's index, in order of first appearance (deterministic)."""
    got = backends.get(id(pod))
    if got is None:
        got = backends[id(pod)] = (len(backends), pod)
    return got[0]


def _backend_shares(clients: list[Any], choices: list[list[Any]],
                    backends: dict[int, tuple[int, Any]], to_service: bool
                    ) -> list[float]:
    """Per backend (:func:`_backend_key` order), its expected share of all crr
    transactions: to pods, each client draws its target uniformly per transaction
    (:class:`kperf.workloads.rr._Client`), so a backend gets 1/len(targets) of the
    rate of every client that lists it; through a Service, every backend the sample
    reached gets the same share (the uniform choice of kube-proxy's random and rr
    schedulers; the same assumption as the pools' spread in :func:`spread_crr_cores`)."""
    n = len(backends)
    if to_service or not clients:
        return [1.0 / n] * n if n else []
    share = [0.0] * n
    for targets in choices:
        for t in targets:
            got = backends.get(id(t))
            if got is not None:
                share[got[0]] += 1.0 / len(targets) / len(clients)
    total = math.fsum(share)
    return [x / total for x in share]


BALANCE_ROUNDS = 200
"""Iterative proportional fitting rounds of :func:`balance_crr_rates`. Measured: after
10 rounds every backend's and client's total is within 2e-15 (relative) of its target
on crr-svc-16-uniform-50, crr-pod-32-uniform-70 and crr-svc-100-uniform-80
(scripts/decomposed_accuracy.py); 200 is a margin for samples that fit worse
(estimated; a round is two bincounts over the sampled pairs)."""


def balance_crr_rates(conns: list[ConnLoad], sampled: list[tuple[int, int, int]],
                      client_rate_per_s: list[float], wanted: list[float]) -> None:
    """crr: every transaction draws its backend anew (a pod uniformly, or through a
    Service the balancer's choice), so in the engine each backend's node receives its
    expected share of the transactions; the sampled connections
    (:data:`CRR_CONNECTIONS_PER_CLIENT` per client) reach some backends more often than
    others, which left whole nodes offered up to 11 % more or less packet work than
    in the engine (measured on crr-svc-16-uniform-50: node loads -10.5 % to +8.9 %
    against the engine's busy time per node) and raised the tail. Here the rate of
    each (client, backend) pair the sample holds is fitted, by iterative proportional
    fitting (Deming and Stephan 1940), so that each client still sends its own rate
    and each backend receives ``wanted`` (its share) of the total; the pair's rate is
    split evenly over its sampled connections (and their FIN loads). Rates in
    ``conns`` are replaced; ``sampled``: (client, backend, index of the connection's
    first ConnLoad; its two FIN loads follow)."""
    if not sampled:
        return
    pairs: dict[tuple[int, int], list[int]] = {}
    for ci, b, first in sampled:
        pairs.setdefault((ci, b), []).append(first)
    keys = list(pairs)
    cl = np.array([k[0] for k in keys])
    be = np.array([k[1] for k in keys])
    rows = np.array(client_rate_per_s)
    cols = np.array(wanted) * rows.sum()
    x = np.array([float(len(pairs[k])) for k in keys])
    for _ in range(BALANCE_ROUNDS):
        col = np.bincount(be, weights=x, minlength=len(cols))
        x *= np.where(col[be] > 0, cols[be] / np.where(col[be] > 0, col[be], 1.0), 1.0)
        row = np.bincount(cl, weights=x, minlength=len(rows))
        x *= rows[cl] / row[cl]
    for k, rate in zip(keys, x.tolist(), strict=True):
        each = rate / len(pairs[k])
        for first in pairs[k]:
            for j in range(first, first + 3):
                conns[j] = replace(conns[j], rate_per_s=each)


class _Builder:
    """Resources and message tables, each created once (keyed by server, path kind)."""

    def __init__(self, sim: Any, req_sizes: np.ndarray, resp_sizes: np.ndarray,
                 dists: tuple[Distribution, Distribution]) -> None:
        self.sim = sim
        self.sizes = (req_sizes, resp_sizes)
        self.dists = dists
        self.resources: list[Resource] = []
        self._by_server: dict[int, int] = {}
        self._keep: list[Any] = []  # the servers keyed by id(): alive while we build
        self.tables: list[MsgTable] = []
        self._table_of: dict[tuple[object, ...], int] = {}
        from kperf.datapath.path import RX_SALT, TX_SALT, CpuHop, WireHop

        self._cpu_hop, self._wire_hop = CpuHop, WireHop  # exact classes (route)
        self._rx_salt, self._tx_salt = RX_SALT, TX_SALT
        # (node, RSS core index) of a core hop, or a serializer's resource -> resource
        self._hop_resource: dict[tuple[object, ...], int] = {}

    def server(self, server: Any, kind: str, index: int, servers: int = 1) -> int:
        key = id(server)
        got = self._by_server.get(key)
        if got is None:
            got = self._by_server[key] = len(self.resources)
            self.resources.append(Resource(server.name, kind, index, servers))
            self._keep.append(server)
        return got

    def app(self, pool: Any) -> int:
        return self.server(pool, "app", -1, pool.servers)

    def table(self, path: Any, surcharge: Any, way: int, runs: tuple[int, ...],
              empty: bool = False) -> int:
        """The message table of ``path`` one way; ``runs``: how many consecutive hops
        each column stands for (hops on one server back to back are one passage).
        ``empty``: a segment without payload (crr's SYN, SYN-ACK, FIN) instead of the
        way's message sizes."""
        hop_attrs = tuple((h.bounded, h.delay_after_s) for h in path.hops)
        key = (path.signature, hop_attrs, surcharge.proxy_s, surcharge.stack_s,
               -1 if empty else way, runs)
        got = self._table_of.get(key)
        if got is not None:
            return got
        chunk = path.seg.chunk_payload_bytes
        if not empty and tail_bytes(self.dists[way]) > chunk:
            raise DecomposedUnsupported(
                f"{'request' if way == 0 else 'response'} sizes above one chunk "
                f"({chunk} bytes) in more than 1 in 10,000 messages")
        sizes = (np.zeros(len(self.sizes[way]), dtype=np.int64) if empty
                 else np.minimum(self.sizes[way], chunk))
        uniq, inverse = np.unique(sizes, return_inverse=True)
        cache = self.sim.transit.cache
        n_hops = len(path.hops)
        svc = np.empty((len(uniq), n_hops))
        head = np.empty_like(svc)
        tail = np.empty_like(svc)
        idle = np.empty(len(uniq))
        reach = np.empty_like(svc)
        for i, n in enumerate(uniq.tolist()):
            plan = cache.plan(path, int(n), True, surcharge)
            svc[i] = plan.service_s
            head[i] = plan.head_s
            tail[i] = plan.tail_s
            unqueued = plan.steps(hop_attrs)[1]
            idle[i] = unqueued[-1]
            reach[i] = unqueued[:-1]
        if len(runs) < n_hops:  # one passage per run of hops on one server
            first = np.cumsum((0, *runs[:-1]))
            svc = np.add.reduceat(svc, first, axis=1)
            head = head[:, first]
            reach = reach[:, first]
            last = first + np.array(runs) - 1
            tail = np.where(np.array(runs) > 1, 0.0, tail[:, last])
        table = MsgTable(svc[inverse], head[inverse], tail[inverse], idle[inverse],
                         reach[inverse])
        got = self._table_of[key] = len(self.tables)
        self.tables.append(table)
        return got

    def route(self, path: Any, flow_id: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The resources a message passes on ``path`` and how many hops each passage
        is: consecutive hops on one server (a same-node path whose transmit and
        receive work hash to one core) are one passage, since the second starts as
        the first ends, behind nobody (the engine's Lindley step gives it no wait)."""
        if path.unreachable or not path.hops:
            raise DecomposedUnsupported("an unreachable path (no CNI across nodes)")
        # each hop's server for this flow, as Transit.route picks them (hop.server),
        # without building and caching the engine's Route (no message is sent); a
        # core hop's server is its node's core of the flow's RSS index, a serializer's
        # its resource: both known after the first time
        network = self.sim.transit.network
        known = self._hop_resource
        ids: list[int] = []
        for h in path.hops:
            cls = h.__class__
            if cls is self._cpu_hop:
                key: tuple[object, ...] = (h.resource[1], network.core_index(
                    flow_id, self._rx_salt if h.rx else self._tx_salt))
            elif cls is self._wire_hop:
                key = h.resource
            else:
                ids.append(self.server(h.server(network, flow_id), h.resource[0],
                                       h.resource[1]))
                continue
            got = known.get(key)
            if got is None:
                got = known[key] = self.server(h.server(network, flow_id), h.resource[0],
                                               h.resource[1])
            ids.append(got)
        passes: list[int] = []
        runs: list[int] = []
        for r in ids:
            if passes and passes[-1] == r:
                runs[-1] += 1
            else:
                passes.append(r)
                runs.append(1)
        return tuple(passes), tuple(runs)

    def chain(self, tables: tuple[int, ...]) -> int:
        """One table for messages sent one after the other (each when the previous
        one arrived): the hops' columns side by side, each message reaching its hops
        after the previous messages' idle transit times."""
        key = ("chain", tables)
        got = self._table_of.get(key)
        if got is not None:
            return got
        parts = [self.tables[t] for t in tables]
        before = np.zeros(len(parts[0].idle_s))
        reach = []
        for t in parts:
            reach.append(t.reach_s + before[:, None])
            before = before + t.idle_s
        table = MsgTable(np.hstack([t.svc for t in parts]), np.hstack([t.head for t in parts]),
                         np.hstack([t.tail for t in parts]), before, np.hstack(reach))
        got = self._table_of[key] = len(self.tables)
        self.tables.append(table)
        return got

    def crr_conn(self, conn: Any, rate: float, app: int, client: Any) -> list[ConnLoad]:
        """One crr connection as :func:`kperf.workloads.rr.crr_transaction` makes it: the
        SYN (paying the connect work, conntrack and policy of a new connection, and
        through a Service the proxy's first-packet cost), the SYN-ACK (the accept
        work), the request, the app, the response; and the two FIN segments, load
        without latency (not waited for)."""
        from kperf.engine.routes import Surcharge
        from kperf.workloads.rr import connection_costs_s

        if conn.setup_delay_s > 0:
            raise DecomposedUnsupported("a connection setup delay (crr through this proxy)")
        flow, back = conn.flow, conn.back
        connect_s, accept_s = connection_costs_s(self.sim, client, conn.backend)
        fwd, fwd_runs = self.route(flow.path, flow.flow_id)
        bwd, bwd_runs = self.route(back.path, back.flow_id)
        syn = self.table(flow.path, Surcharge(conn.extra_first_s, connect_s), 0, fwd_runs,
                         empty=True)
        syn_ack = self.table(back.path, Surcharge(0.0, accept_s), 1, bwd_runs, empty=True)
        request = self.table(flow.path, flow.surcharge, 0, fwd_runs)
        response = self.table(back.path, back.surcharge, 1, bwd_runs)
        fin_fwd = self.table(flow.path, flow.surcharge, 0, fwd_runs, empty=True)
        fin_back = self.table(back.path, back.surcharge, 1, bwd_runs, empty=True)
        return [ConnLoad(rate, fwd + bwd + fwd, self.chain((syn, syn_ack, request)), app,
                         bwd, response),
                ConnLoad(rate, fwd, fin_fwd, -1, (), fin_fwd, measured=False),
                ConnLoad(rate, bwd, fin_back, -1, (), fin_back, measured=False)]

    def conn(self, conn: Any, rate: float, app: int) -> ConnLoad:
        flow, back = conn.flow, conn.back
        fwd, fwd_runs = self.route(flow.path, flow.flow_id)
        bwd, bwd_runs = self.route(back.path, back.flow_id)
        return ConnLoad(rate, fwd, self.table(flow.path, flow.surcharge, 0, fwd_runs), app,
                        bwd, self.table(back.path, back.surcharge, 1, bwd_runs))
