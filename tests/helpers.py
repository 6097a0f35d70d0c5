"""Shared test helpers: small clusters and fast testbeds."""

from __future__ import annotations

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
