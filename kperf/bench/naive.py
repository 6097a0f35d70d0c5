"""The baseline kperf is measured against: the same model built the obvious way.

One ``simpy.Resource`` per contended stage, one SimPy process per request walking the
stages with ``request()``/``timeout()``. It uses kperf's own path and cost tables, so
for 1-byte messages (no pipelining inside a chunk) it computes the same latencies;
the benchmark checks that, then compares wall time.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from kperf.engine.transit import RX_SALT, TX_SALT


def run_naive_rr(
    sim: Any,
    client: Any,
    server: Any,
    arrivals: np.ndarray,
    flow_id: int,
) -> np.ndarray:
    """Latencies (s) of 1-byte request/response transactions arriving at ``arrivals``."""
    env = simpy.Environment()
    resources: dict[tuple[str, int, int], simpy.Resource] = {}

    def resource(kind: str, idx: int, unit: int) -> simpy.Resource:
        key = (kind, idx, unit)
        r = resources.get(key)
        if r is None:
            r = resources[key] = simpy.Resource(env, capacity=1)
        return r

    def stages(path: Any) -> list[tuple[simpy.Resource, float, float]]:
        costs = path.chunk_costs(1, first=True)
        out = []
        for hop, svc in zip(path.hops, costs, strict=True):
            if hop.kind == "cpu":
                salt = RX_SALT if hop.rx else TX_SALT
                unit = sim.network.core_index(flow_id, salt)
                out.append((resource("cpu", hop.resource[1], unit), svc, hop.delay_after_s))
            else:
                out.append((resource(hop.resource[0], hop.resource[1], 0), svc,
                            hop.delay_after_s))
        return out

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
