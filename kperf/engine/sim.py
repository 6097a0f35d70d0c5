"""A simulation: one cluster on one testbed, a SimPy environment, its resources and paths.

This is the object workloads drive. Time is in seconds (float) inside; tables show
microseconds. Randomness comes only from generators this object hands out, each an
independent stream spawned from the run seed by a stable key (numpy ``SeedSequence``),
so adding a traffic source never changes another source's draws.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count
from typing import Any

import numpy as np
import pandas as pd
import simpy

from kperf.datapath.builder import Endpoint, PathTable
from kperf.datapath.path import Path
from kperf.engine.arrivals import ArrivalMerger
from kperf.engine.clock import call_at, run_until_empty
from kperf.engine.network import Network
from kperf.engine.queues import FifoServer, MultiServer
from kperf.engine.transit import ClassStats, Transit
from kperf.gctools import long_run_gc
from kperf.profiles import get_testbed
from kperf.profiles.base import Testbed

MAX_HELD_FLOWS = 100_000


class HeldRoute:
    """One direction of a flow's route as a caller keeps it (see :meth:`Simulation.send`),
    valid while the engine's route epoch is ``epoch``, and the program of the last
    one-chunk message sent through it, keyed by that message's size and the identity
    of its surcharge arguments (a connection passes the same float objects every
    time). A message that matches reads this one small object and the program, not
    the route or its key, before the servers: fewer cold objects per message in a
    large cluster. Identity, not equality, for the floats, so the check never
    dereferences a cold number; a miss only takes the route's own lookup."""

    __slots__ = ("epoch", "extra", "nbytes", "prog", "route", "setup")

    def __init__(self) -> None:
        self.epoch = -1  # no epoch: nothing held yet
        self.route: Any = None
        self.nbytes: object = None  # the held program's arguments (None: none held)
        self.extra: object = None
        self.setup: object = None
        self.prog: Any = None

    def hold(self, epoch: int, route: Any) -> None:
        self.epoch = epoch
        self.route = route
        self.nbytes = None  # a program of an older route is not held (nor kept alive)
        self.prog = None


class Simulation:
    """Drive messages across a built cluster.

    >>> sim = Simulation(cluster, "10g-xeon-2015", seed=1)   # doctest: +SKIP
    >>> sim.send(pod_a, pod_b, 1000, on_done=print)          # doctest: +SKIP
    >>> sim.run(until=0.01)                                  # doctest: +SKIP
    """

    def __init__(self, cluster: Any, testbed: Testbed | str, seed: int = 0) -> None:
        self.env = simpy.Environment(initial_time=0.0)
        self.cluster = cluster
        self.testbed = get_testbed(testbed) if isinstance(testbed, str) else testbed
        self.paths = PathTable(cluster, self.testbed)
        self.network = Network(self.testbed, self.paths.pod_mtu_bytes, seed)
        self.transit = Transit(self.env, self.network)
        self.seed = seed
        self._flow_ids = count(1)
        # (src uid or -1-node, src node, dst uid or -1-node, dst node, udp) -> path;
        # the nodes are in the key because a recreated pod may land elsewhere
        self._pair_paths: dict[tuple[int, int, int, int, bool], Path] = {}
        # flow id -> (src, dst, udp, route) of its pod-to-pod messages; dropped with the
        # engine's route cache (epoch) and when it holds MAX_HELD_FLOWS flows
        self._flow_routes: dict[int, list[tuple[Any, Any, bool, Any]]] = {}
        self._flow_epoch = 0
        # the app CPU seconds of each node: one cell per node, the account of its pods'
        # worker pools
        self._app_node_s: dict[int, list[float]] = {}
        # open-loop traffic sources register here: one pending event for all of them
        self.arrivals = ArrivalMerger(self.env)

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
        now: float = self.env._now
        return now

    # -- traffic ---------------------------------------------------------------------
    def path(self, src: Endpoint, dst: Endpoint, udp: bool = False) -> Path:
        return self.paths.path(src, dst, udp)

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
        extra_first_s: float = 0.0,
        stats: ClassStats | None = None,
        on_hop: tuple[int, Callable[[float, int], None]] | None = None,
        on_chunk: Callable[[float, int], None] | None = None,
        setup_s: float = 0.0,
        route_cache: HeldRoute | None = None,
    ) -> float | None:
        """Send a message now; see :meth:`kperf.engine.transit.Transit.send`.

        ``route_cache``: a caller's :class:`HeldRoute` for one direction of one flow (a
        connection's); the route is kept there with the engine's epoch, and with it the
        program of the last one-chunk message, so the connection's next messages of
        that kind skip every lookup, the route included (fewer cold objects per message
        in a large cluster: 62 to 49 L2 misses per request at 1,000 nodes, cachegrind)."""
        transit = self.transit
        if route_cache is not None and route_cache.epoch == transit.epoch:
            if (nbytes == route_cache.nbytes and extra_first_s is route_cache.extra
                    and setup_s is route_cache.setup):
                return transit.send_prog(route_cache.prog, nbytes, on_done, on_drop, stats,
                                         on_hop, on_chunk)
            return self._send_held(route_cache, nbytes, on_done, on_drop, extra_first_s,
                                   stats, on_hop, on_chunk, setup_s)
        if flow_id:
            # a connection's messages: its route, held per flow (pod records are
            # replaced, never changed, when a pod is recreated: identity is enough)
            if self._flow_epoch != transit.epoch:
                self._flow_routes.clear()
                self._flow_epoch = transit.epoch
            held = self._flow_routes.get(flow_id)
            if held is not None:
                for s, d, u, route in held:
                    if s is src and d is dst and u is udp:
                        if route_cache is not None:
                            route_cache.hold(transit.epoch, route)
                            return self._send_held(route_cache, nbytes, on_done, on_drop,
                                                   extra_first_s, stats, on_hop, on_chunk,
                                                   setup_s)
                        return transit.send_on(route, nbytes, on_done, on_drop, extra_first_s,
                                               stats, on_hop, on_chunk, setup_s)
        if src.__class__ is int:
            su, sn = -1 - src, src
        else:
            su, sn = src.uid, src.node
        if dst.__class__ is int:
            du, dn = -1 - dst, dst
        else:
            du, dn = dst.uid, dst.node
        key = (su, sn, du, dn, udp)
        path = self._pair_paths.get(key)
        if path is None:
            path = self._pair_paths[key] = self.paths.path(src, dst, udp)
        if flow_id and path.hops and not path.unreachable and src.__class__ is not int and (
                dst.__class__ is not int):
            route = transit.route(path, flow_id)
            self._hold_route(flow_id, src, dst, udp, route)
            if route_cache is not None:
                route_cache.hold(transit.epoch, route)
                return self._send_held(route_cache, nbytes, on_done, on_drop, extra_first_s,
                                       stats, on_hop, on_chunk, setup_s)
            return transit.send_on(route, nbytes, on_done, on_drop, extra_first_s, stats,
                                   on_hop, on_chunk, setup_s)
        return transit.send(path, flow_id, nbytes, on_done, on_drop, extra_first_s, stats,
                            on_hop, on_chunk, setup_s)

    def _send_held(
        self,
        held: HeldRoute,
        nbytes: int,
        on_done: Callable[[float], None],
        on_drop: Callable[[float, str], None] | None,
        extra_first_s: float,
        stats: ClassStats | None,
        on_hop: tuple[int, Callable[[float, int], None]] | None,
        on_chunk: Callable[[float, int], None] | None,
        setup_s: float,
    ) -> float | None:
        """Send on ``held``'s route through its program lookup, and hold the program of
        a one-chunk message (the route's last) for the next message of its kind."""
        route = held.route
        sent = self.transit.send_on(route, nbytes, on_done, on_drop, extra_first_s, stats,
                                    on_hop, on_chunk, setup_s)
        if nbytes <= route.chunk_bytes:
            held.nbytes = nbytes
            held.extra = extra_first_s
            held.setup = setup_s
            held.prog = route.last_prog
        return sent

    def _hold_route(self, flow_id: int, src: Any, dst: Any, udp: bool, route: Any) -> None:
        if len(self._flow_routes) >= MAX_HELD_FLOWS:
            self._flow_routes.clear()
        held = self._flow_routes.setdefault(flow_id, [])
        if len(held) < 4:  # a connection's two directions, UDP and TCP
            held.append((src, dst, udp, route))

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
        now = self.env._now
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

    def at(self, t: float, callback: Callable[[], None]) -> None:
        """Call ``callback()`` at simulated time ``t``."""
        call_at(self.env, t, callback)

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
            add((kind, idx, unit, s.name, busy, busy / t, served + s.served, s.dropped))

        for node, cores in sorted(self.network.all_cores().items()):
            for c, core in enumerate(cores):
                server_row("cpu", node, c, core)
        for (kind, idx), s in sorted(self.network.all_servers().items()):
            server_row(kind, idx, 0, s)
        for uid, a in sorted(self.network.apps.items()):
            add(("app", uid, 0, a.name, a.busy_s, a.busy_s / t / a.servers, a.served,
                 a.dropped))
        split = self.transit.cpu_by_node_category()
        for key, sec in self.app_cpu_s.items():
            split[key] = split.get(key, 0.0) + sec
        for (node, cat), sec in sorted(split.items()):
            # cores busy on the node for this kind of work ("utilisation" is in cores)
            add((f"cpu:{cat}", node, 0, f"node-{node + 1} {cat}", sec, sec / t, 0, 0))
        columns = ["resource", "index", "unit", "name", "busy_s", "utilisation", "served",
                   "dropped"]
        # column lists, not row dicts: a 1,000-node run has over 10,000 rows
        data = dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True)) if rows \
            else {c: [] for c in columns}
        return pd.DataFrame(data, columns=columns)
