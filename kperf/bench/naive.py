"""The baseline kperf is measured against: the same model built the obvious way.

One ``simpy.Resource`` per contended stage, one SimPy process per request walking the
stages with ``request()``/``timeout()``. It uses kperf's own paths through the hop
interface (:class:`kperf.datapath.path.Hop`: each hop's server and cost), so for 1-byte
messages (no pipelining inside a chunk) it computes the same latencies; the benchmark
checks that, then compares wall time.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy


def run_naive_rr(
    sim: Any,
    client: Any,
    server: Any,
    arrivals: np.ndarray,
    flow_id: int,
) -> np.ndarray:
    """Latencies (s) of 1-byte request/response transactions arriving at ``arrivals``."""
    env = simpy.Environment()
    # one simpy.Resource per engine server the hops name (same server, same resource)
    resources: dict[int, tuple[Any, simpy.Resource]] = {}

    def resource(srv: Any) -> simpy.Resource:
        got = resources.get(id(srv))
        if got is None:
            got = resources[id(srv)] = (srv, simpy.Resource(env, capacity=1))
        return got[1]

    def stages(path: Any) -> list[tuple[simpy.Resource, float, float]]:
        costs = path.chunk_costs(1, first=True)
        return [(resource(hop.server(sim.network, flow_id)), svc, hop.delay_after_s)
                for hop, svc in zip(path.hops, costs, strict=True)]

    forward = stages(sim.path(client, server))
    back = stages(sim.path(server, client))
    latencies = np.zeros(len(arrivals))

    def request(i: int) -> Generator[simpy.events.Event, Any, None]:
        yield env.timeout(arrivals[i])
        t0 = env.now
        for res, svc, delay in (*forward, *back):
            with res.request() as req:
                yield req
                yield env.timeout(svc)
            if delay:
                yield env.timeout(delay)
        latencies[i] = env.now - t0

    for i in range(len(arrivals)):
        env.process(request(i))
    env.run()
    return latencies
