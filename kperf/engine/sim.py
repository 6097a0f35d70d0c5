"""A simulation: one cluster on one testbed, a SimPy environment, its resources and paths.

This is the object workloads drive. Time is in seconds (float) inside; tables show
microseconds. Randomness comes only from generators this object hands out, each an
independent stream spawned from the run seed by a stable key (numpy ``SeedSequence``),
so adding a traffic source never changes another source's draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from typing import Any

import numpy as np
import pandas as pd
import simpy

from kperf.datapath.builder import Endpoint, PathTable
from kperf.datapath.path import Path
from kperf.engine.arrivals import ArrivalMerger, DirectArrivals
from kperf.engine.clock import call_at, cancel_call, now_of, run_until_empty
from kperf.engine.flow import Flow
from kperf.engine.network import Network
from kperf.engine.plans import ClassStats
from kperf.engine.queues import FifoServer, MultiServer, PinnedPool, PoolServer
from kperf.engine.routes import NO_SURCHARGE, Surcharge
from kperf.engine.transit import MAX_CACHED_ROUTES, NO_HOOKS, FlowHooks, Transit
from kperf.gctools import long_run_gc
from kperf.profiles import get_testbed
from kperf.profiles.base import Testbed


@dataclass(frozen=True)
class EngineOptions:
    """Engine settings that change speed and memory, never a result.

    ``reference``: the reference mode (see :class:`Simulation`). ``max_routes``: routes
    kept before the route cache is dropped, its counts folded and its epoch bumped."""

    reference: bool = False
    max_routes: int = MAX_CACHED_ROUTES


class Simulation:
    """Drive messages across a built cluster.

    >>> sim = Simulation(cluster, "10g-xeon-2015", seed=1)   # doctest: +SKIP
    >>> flow = sim.open_flow(pod_a, pod_b)                    # doctest: +SKIP
    >>> flow.send(1000, on_done=print)                        # doctest: +SKIP
    >>> sim.run(until=0.01)                                   # doctest: +SKIP

    ``reference=True`` is the engine's reference mode, which the equivalence tests
    compare against: no run-ahead (every hop of every chunk goes through SimPy's
    queue), flows hold no route or cost table (each message looks them up), and every
    open-loop source keeps its own pending event. Results are identical, only slower.
    ``max_routes`` bounds the route cache (dropped and folded past it).
    """

    def __init__(self, cluster: Any, testbed: Testbed | str, seed: int = 0, *,
                 reference: bool = False, max_routes: int = MAX_CACHED_ROUTES) -> None:
        self.env = simpy.Environment(initial_time=0.0)
        self.cluster = cluster
        self.testbed = get_testbed(testbed) if isinstance(testbed, str) else testbed
        self.paths = PathTable(cluster, self.testbed)
        hosts = getattr(cluster, "external_hosts", ())
        self.network = Network(self.testbed, self.paths.pod_mtu_bytes, seed,
                               {h.engine_index: h.name for h in hosts})
        self.reference = reference
        self.transit = Transit(self.env, self.network, run_ahead=not reference,
                               max_routes=max_routes)
        self.seed = seed
        self._flow_ids = count(1)
        # (uid or -1-node, node, generation) of each end, udp -> path: a recreated pod
        # (new generation, new IP) gets its path anew, since its routes may differ
        self._pair_paths: dict[tuple[int, int, int, int, int, int, bool], Path] = {}
        # the app CPU seconds of each node: one cell per node, the account of its pods'
        # worker pools
        self._app_node_s: dict[int, list[float]] = {}
        # open-loop traffic sources register here: one pending event for all of them
        self.arrivals: ArrivalMerger | DirectArrivals = (
            DirectArrivals(self.env) if reference else ArrivalMerger(self.env))

    # -- randomness and identities ---------------------------------------------------
    def rng(self, *key: int) -> np.random.Generator:
        """An independent random stream for the traffic source named by ``key``."""
        ss = np.random.SeedSequence(self.seed, spawn_key=tuple(int(k) for k in key))
        return np.random.Generator(np.random.PCG64(ss))

    def new_flow_id(self) -> int:
        """A fresh flow (connection) id; RSS hashing of cores uses it."""
        return next(self._flow_ids)

    @property
    def now(self) -> float:
        return now_of(self.env)

    # -- traffic ---------------------------------------------------------------------
    def path(self, src: Endpoint, dst: Endpoint, udp: bool = False) -> Path:
        """The path from ``src`` to ``dst`` (a pod, or a node index for host traffic)."""
        if src.__class__ is int:
            su, sn, sg = -1 - src, src, 0
        else:
            su, sn, sg = src.uid, src.node, getattr(src, "generation", 0)
        if dst.__class__ is int:
            du, dn, dg = -1 - dst, dst, 0
        else:
            du, dn, dg = dst.uid, dst.node, getattr(dst, "generation", 0)
        key = (su, sn, sg, du, dn, dg, udp)
        path = self._pair_paths.get(key)
        if path is None:
            path = self._pair_paths[key] = self.paths.path(src, dst, udp)
        return path

    def open_flow(
        self,
        src: Endpoint,
        dst: Endpoint,
        *,
        flow_id: int | None = None,
        udp: bool = False,
        hooks: FlowHooks = NO_HOOKS,
        surcharge: Surcharge = NO_SURCHARGE,
        path: Path | None = None,
        reverse_path: Path | None = None,
    ) -> Flow:
        """A flow from ``src`` to ``dst`` with a new flow id unless one is given; its
        ``reverse`` (back, the same flow id and surcharge) feeds the same stats but has
        no per-chunk or per-hop calls. ``path``: the forward path to use instead of the
        cluster's (a path with extra hops: docs/extending.md); ``reverse_path`` the
        same for the way back (traffic from outside the cluster has both). See
        :mod:`kperf.engine.flow`."""
        fid = self.new_flow_id() if flow_id is None else flow_id
        flow = Flow(self, src, dst, fid, udp, hooks, surcharge, path)
        back = FlowHooks(hooks.stats) if hooks.stats is not None else NO_HOOKS
        flow.reverse = Flow(self, dst, src, fid, udp, back, surcharge, reverse_path)
        flow.reverse.reverse = flow
        return flow

    def send(
        self,
        src: Endpoint,
        dst: Endpoint,
        nbytes: int,
        on_done: Callable[[float], None],
        on_drop: Callable[[float, str], None] | None = None,
        *,
        flow_id: int = 0,
        udp: bool = False,
    ) -> float | None:
        """One message on a flow opened for it (flow id ``flow_id``): for a one-off
        message; traffic that sends more keeps its :meth:`open_flow`."""
        return Flow(self, src, dst, flow_id, udp).send(nbytes, on_done, on_drop)

    def app_pool(self, pod: Any) -> MultiServer:
        """``pod``'s application worker pool (created on first use, adding its work to
        its node's app CPU seconds). A handle a caller may keep and pass to
        :meth:`serve_on`, which then looks nothing up: what a connection does, so a
        request in a large cluster touches fewer cold objects."""
        pool = self.network.apps.get(pod.uid)
        if pool is None:
            pool = self.network.app(pod.uid, getattr(pod, "app_workers", 1), f"{pod.name} app",
                                    self._app_node_s.setdefault(pod.node, [0.0]))
        return pool

    def serve_app(
        self,
        pod: Any,
        service_s: float,
        on_done: Callable[[float], None],
        stats: ClassStats | None = None,
    ) -> float:
        """Queue work at ``pod``'s application worker pool; ``on_done(t)`` when finished."""
        return self.serve_on(self.app_pool(pod), service_s, on_done, stats)

    def serve_on(
        self,
        app: MultiServer,
        service_s: float,
        on_done: Callable[[float], None],
        stats: ClassStats | None = None,
    ) -> float:
        """:meth:`serve_app` on a pool from :meth:`app_pool`."""
        now = now_of(self.env)
        dep = app.serve(now, service_s)
        if stats is not None:
            stats.service_s["app"] = stats.service_s.get("app", 0.0) + service_s
            stats.queue_s += dep - now - service_s
        call_at(self.env, dep, on_done, dep)
        return dep

    @property
    def app_cpu_s(self) -> dict[tuple[int, str], float]:
        """CPU seconds of application work per (node, "app")."""
        return {(node, "app"): cell[0] for node, cell in self._app_node_s.items()}

    def at(self, t: float, callback: Callable[[], None]) -> Any:
        """Call ``callback()`` at simulated time ``t``; returns a handle for
        :meth:`cancel`."""
        return call_at(self.env, t, callback)

    def cancel(self, handle: Any) -> None:
        """Cancel a pending :meth:`at` (it neither runs nor moves the clock)."""
        cancel_call(self.env, handle)

    def run(self, until: float | None = None) -> None:
        """Run to ``until`` (seconds), or until no event is left."""
        with long_run_gc():
            if until is None:
                run_until_empty(self.env)
            else:
                self.env.run(until=until)

    # -- resource accounting -----------------------------------------------------------
    def resources_df(self) -> pd.DataFrame:
        """One row per server touched: kind, node or rack, busy seconds, utilisation, drops.

        The cores of hosts outside the cluster (external clients) are rows
        ``client-cpu``, so ``cpu`` rows are the nodes' alone.

        Rows ``sidecar``, ``ztunnel``, ``waypoint``, ``envoy`` are a service mesh's proxies (worker
        pools: ``utilisation`` is the busy share of their workers, as for ``app`` rows);
        a proxy that pins connections to workers (Envoy) also has a row per worker,
        ``<kind>-worker`` (``unit``: the worker).

        Rows ``cpu:<category>`` split each node's CPU work by what it was spent on
        (stack, veth, bridge, policy, proxy, encap, crypto, and ``app`` for the pods'
        application work); their ``utilisation`` is in cores busy."""
        t = max(self.now, 1e-12)
        rows: list[tuple[str, int, int, str, float, float, int, int]] = []
        add = rows.append
        use = self.transit.server_use()  # what chunks did, beyond the servers' counts

        def server_row(kind: str, idx: int, unit: int, s: FifoServer) -> None:
            busy, served = use.get(s, (0.0, 0))
            busy += s.busy_s
            if s.__class__ is PinnedPool:  # a proxy's pinned workers: their sum
                for w in s.worker_servers:
                    b, n = use.get(w, (0.0, 0))
                    busy += b + w.busy_s
                    served += n + w.served
            util = busy / t
            if s.__class__ is PoolServer or s.__class__ is PinnedPool:
                util /= s.workers  # a mesh proxy's workers: the busy share, as apps
            add((kind, idx, unit, s.name, busy, util, served + s.served, s.dropped))

        hosts = self.network.host_names  # external hosts: their cores are not a node's
        for node, cores in sorted(self.network.all_cores().items()):
            for c, core in enumerate(cores):
                server_row("client-cpu" if node in hosts else "cpu", node, c, core)
        for (kind, idx), s in sorted(self.network.all_servers().items()):
            server_row(kind, idx, 0, s)
            if s.__class__ is PinnedPool:  # and each pinned worker: <kind>-worker rows
                for w, ws in enumerate(s.worker_servers):
                    server_row(f"{kind}-worker", idx, w, ws)
        for uid, a in sorted(self.network.apps.items()):
            add(("app", uid, 0, a.name, a.busy_s, a.busy_s / t / a.servers, a.served,
                 a.dropped))
        split = self.transit.cpu_by_node_category()
        for key, sec in self.app_cpu_s.items():
            split[key] = split.get(key, 0.0) + sec
        for (node, cat), sec in sorted(split.items()):
            # cores busy on the node for this kind of work ("utilisation" is in cores)
            add((f"cpu:{cat}", node, 0, f"{self.network.machine(node)} {cat}", sec, sec / t,
                 0, 0))
        columns = ["resource", "index", "unit", "name", "busy_s", "utilisation", "served",
                   "dropped"]
        # column lists, not row dicts: a 1,000-node run has over 10,000 rows
        data = dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True)) if rows \
            else {c: [] for c in columns}
        return pd.DataFrame(data, columns=columns)
