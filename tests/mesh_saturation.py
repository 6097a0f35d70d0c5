"""The mesh saturation measurements shared by the tests and docs/mesh.md's tables.

``tests/test_mesh.py`` (a shared queue: linkerd's tokio workers against an M/D/c queue)
and ``tests/test_mesh_pooling.py`` (Envoy's pinned workers against one M/D/1 queue per
worker) assert on these; ``scripts/mesh_doc_tables.py`` prints them. Setup: two nodes
of testbed A (calico-bgp), open-loop HTTP with 1 KB requests and responses, 20 µs of
application time, 1 s, seed 1; the added queueing is the meshed run's mean latency
minus the same run without a mesh, minus the proxies' idle cost (the same difference
at 50 req/s)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from kperf.profiles import get_testbed
from kperf.profiles.mesh import CALIBRATION_PAYLOAD_BYTES, MESH_PROXIES
from kperf.spec import ClusterSpec, parse
from kperf.spec.workload import HttpWorkload
from kperf.workloads.simulate import simulate
from tests.helpers import two_node_spec

TB = get_testbed("10g-xeon-2015")  # cpu_speed_factor 1.0: the profiles' reference core
KB = CALIBRATION_PAYLOAD_BYTES
SHARED_QUEUE_RATES = (12000, 24000, 32000, 36000)
PINNED_RATES = (2000, 4000, 5500)


def spec(mode: str = "none", cni: str = "calico-bgp", **mesh: Any) -> ClusterSpec:
    """Client pod on node-1, server pod on node-2, ``mesh: {mode, **mesh}`` unless none."""
    data = two_node_spec(cni)
    if mode != "none" or mesh:
        data["mesh"] = {"mode": mode, **mesh}
    return parse(ClusterSpec, data)


def http(rate: float, duration_s: float = 0.5, service_us: float = 20.0) -> HttpWorkload:
    """Open-loop HTTP, 1 KB requests and responses."""
    return HttpWorkload(rate_per_s=rate, duration_s=duration_s,
                        request_bytes={"mean": KB}, response_bytes={"mean": KB},
                        service_us={"mean": service_us})


def run(cluster: ClusterSpec, wl: Any, seed: int = 1) -> Any:
    return simulate(TB, cluster, [wl], seed=seed)


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load ``a``."""
    s = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (s + top)


def wq_md_c(c: int, lam: float, svc: float) -> float:
    """Mean wait of an M/D/c queue: Erlang C's M/M/c wait halved (Allen-Cunneen with
    a squared coefficient of variation 0 for service, 1 for arrivals)."""
    a = lam * svc
    return erlang_c(c, a) * svc / (c - a) * 0.5


def md1_wait_s(lam: float, svc_s: float) -> float:
    """Mean wait of an M/D/1 queue (Pollaczek-Khinchine with constant service)."""
    rho = lam * svc_s
    return rho * svc_s / (2 * (1 - rho)) if rho < 1 else math.inf


def worker_loads(res: Any, index: int, kind: str = "sidecar-worker") -> list[int]:
    """Messages served by each worker (by unit) of the pinned proxy ``index``."""
    rows = res.resources
    w = rows[(rows.resource == kind) & (rows["index"] == index)]
    return [int(x) for x in w.sort_values("unit").served]


@dataclass
class Saturation:
    """Added queueing (µs) per rate, simulated and modelled, beyond ``idle_added_us``."""

    rates: tuple[int, ...]
    idle_added_us: float
    measured_us: list[float] = field(default_factory=list)
    model_us: list[float] = field(default_factory=list)
    loads: list[tuple[list[int], list[int]]] = field(default_factory=list)
    """Pinned workers only: per rate, (client sidecar's, server sidecar's) worker loads."""

    def knee(self, values: list[float]) -> int | None:
        """The first rate whose queueing exceeds the proxies' idle added latency."""
        return next((r for r, q in zip(self.rates, values, strict=True)
                     if q > self.idle_added_us), None)


def _idle_added_us(mesh: ClusterSpec) -> float:
    light = run(mesh, http(50, 1.0)).summary["latency_mean_us"]
    return float(light - run(spec(), http(50, 1.0)).summary["latency_mean_us"])


def shared_queue(rates: tuple[int, ...] = SHARED_QUEUE_RATES, mode: str = "linkerd",
                 workers: int = 2) -> Saturation:
    """A proxy whose workers share one queue (tokio): four visits per request (two
    proxies, request and response) to an M/D/c queue at twice the request rate."""
    svc_s = MESH_PROXIES[mode].message_us(KB, True) * 1e-6
    meshed = spec(mode, proxy_workers=workers)
    out = Saturation(rates, _idle_added_us(meshed))
    for rate in rates:
        wl = http(rate, 1.0)
        base = run(spec(), wl).summary["latency_mean_us"]
        added_us = run(meshed, wl).summary["latency_mean_us"] - base
        out.measured_us.append(added_us - out.idle_added_us)
        out.model_us.append(4 * wq_md_c(workers, 2 * rate, svc_s) * 1e6)
    return out


def pinned_workers(rates: tuple[int, ...] = PINNED_RATES) -> Saturation:
    """istio-sidecar (2 pinned workers per sidecar): two visits to each sidecar, whose
    worker w is an M/D/1 queue at the message rate its ``sidecar-worker`` row shows,
    reached with that worker's share of its sidecar's messages."""
    svc_s = MESH_PROXIES["istio-sidecar"].message_us(KB, True) * 1e-6
    meshed = spec("istio-sidecar")
    out = Saturation(rates, _idle_added_us(meshed))
    for rate in rates:
        wl = http(rate, 1.0)
        base = run(spec(), wl).summary["latency_mean_us"]
        res = run(meshed, wl)
        out.measured_us.append(res.summary["latency_mean_us"] - base - out.idle_added_us)
        t = res.summary["sim_time_s"]
        wait_s = 0.0
        per_sidecar = []
        for index in (0, 1):
            loads = worker_loads(res, index)
            per_sidecar.append(loads)
            for n in loads:
                wait_s += 2 * n / sum(loads) * md1_wait_s(n / t, svc_s)
        out.model_us.append(wait_s * 1e6)
        out.loads.append((per_sidecar[0], per_sidecar[1]))
    return out
