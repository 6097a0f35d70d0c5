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
