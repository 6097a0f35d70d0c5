"""Shared test helpers: small clusters and fast testbeds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kperf.profiles.base import Testbed


def two_node_spec(cni: str = "flannel-vxlan", **extra: Any) -> dict[str, Any]:
    """A client pod on node-1 and a server pod on node-2 (plus a Service ``server``)."""
    spec: dict[str, Any] = {
        "nodes": 2,
        "cni": cni,
        "deployments": [
            {"name": "client", "replicas": 1, "placement": "node-1"},
            {"name": "server", "replicas": 1, "placement": "node-2"},
        ],
        "services": [{"name": "server", "selector": {"app": "server"}, "port": 80}],
    }
    spec.update(extra)
    return spec


def client_server_cluster(nodes: int) -> dict[str, Any]:
    """``nodes`` nodes with as many client and server pods (spread), Calico BGP and
    kube-proxy iptables, and a ClusterIP Service ``server`` (the decomposed method's
    small test cluster)."""
    return {"nodes": nodes, "cni": "calico-bgp", "proxy": "iptables",
            "deployments": [{"name": "client", "replicas": nodes},
                            {"name": "server", "replicas": nodes}],
            "services": [{"name": "server", "selector": {"app": "server"}, "port": 80}]}


def fast_cpu(tb: Testbed, factor: float = 1000.0) -> Testbed:
    """The same testbed with CPUs so fast that only the wire limits throughput."""
    return tb.model_copy(update={"cpu_speed_factor": tb.cpu_speed_factor * factor})


# -- a dumbbell for transport tests (tests/test_transport*.py) ---------------------------
TCP_MSS = 1448
TCP_BOUND_BPS = 10e9 * TCP_MSS / (TCP_MSS + 52 + 38)  # 9.4148e9: payload bits per second
DUMBBELL_RECEIVER = 0  # node index of the dumbbell's receiver; senders are nodes 1..N


def dumbbell(n_senders: int, seed: int = 1, **testbed: Any) -> Any:
    """A Simulation of ``n_senders`` sender nodes and one receiver node on one switch,
    host network. Defaults: 10 Gbit/s, 12 us links and 1 us switch latency (about
    50 us base RTT), a 1 MB switch port buffer, no CPU costs. ``testbed`` overrides
    Testbed fields."""
    from kperf.cluster import Cluster
    from kperf.engine.sim import Simulation
    from kperf.profiles.base import Testbed
    from kperf.spec.cluster import ClusterSpec

    fields: dict[str, Any] = {
        "name": "dumbbell", "nic_rate_gbps": 10, "link_delay_us": 12.0,
        "switch_latency_us": 1.0, "switch_buffer_bytes": 1_000_000}
    fields.update(testbed)
    cluster = Cluster.build(ClusterSpec(nodes=n_senders + 1, cni="calico-bgp"))
    return Simulation(cluster, Testbed(**fields), seed=seed)


@dataclass
class Bulk:
    """Bulk TCP flows from sender nodes 1..N to the receiver; ``got[i]``: payload bytes
    of flow i that arrived in ``[warm_s, until_s)``."""

    senders: list[Any]
    got: list[int]
    until_s: float
    warm_s: float

    def start(self) -> None:
        for s in self.senders:
            s.start()

    def goodput_bps(self) -> list[float]:
        span = self.until_s - self.warm_s
        return [8.0 * b / span for b in self.got]


def bulk(sim: Any, n: int, opts: Any, until_s: float, warm_s: float = 0.0,
         seed0: int = 0, src: Callable[[int], int] | None = None) -> Bulk:
    """``n`` flows writing while ``t < until_s`` (sender i on node ``src(i)``, node i+1
    by default; ACK-jitter seed ``seed0 + i``)."""
    from kperf.transport import TcpSender

    got = [0] * n
    senders = []
    for i in range(n):
        def on_bytes(t: float, nbytes: int, i: int = i) -> None:
            if warm_s <= t < until_s:
                got[i] += nbytes

        node = src(i) if src is not None else i + 1
        senders.append(TcpSender(sim, node, DUMBBELL_RECEIVER, opts, on_bytes=on_bytes,
                                 may_write=lambda t: t < until_s, seed=seed0 + i))
    return Bulk(senders, got, until_s, warm_s)


DECOMPOSED_TOLERANCES = {"latency_p50_us": 0.05, "latency_p99_us": 0.10,
                         "throughput_gbps": 0.03}
"""Issue 22's accuracy gates for ``--method decomposed`` against the full engine."""


def decomposed_against_full(run: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """One expanded run by both methods (same spec and seed); asserts issue 22's
    tolerances on p50, p99 and throughput and returns (decomposed, full) summaries."""
    import pytest

    from kperf.workloads.decomposed import simulate_decomposed
    from kperf.workloads.simulate import simulate

    args = (run.testbed, run.cluster, run.workloads, run.seed)
    dec = dict(simulate_decomposed(*args).summary)
    full = dict(simulate(*args).summary)
    for col, rel in DECOMPOSED_TOLERANCES.items():
        assert dec[col] == pytest.approx(full[col], rel=rel), (col, dec[col], full[col])
    return dec, full
