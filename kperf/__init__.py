"""kperf: a discrete-event network performance simulator for Kubernetes clusters.

The public API, from the bottom layer up::

    from kperf import Cluster, simulate, run, load_results
    cluster = Cluster.build(nodes=8, cni="calico-bgp")
    cluster.conformance().summary()
    result = simulate(get_testbed("10g-xeon-2015"), cluster.spec, [RrWorkload()], seed=1)
    results = run("experiments/default.yaml")      # a sweep; results.summary is a DataFrame

This package sits on top of every layer (README, "Architecture") and imports none of
them until a name is used: ``import kperf`` (and so ``import kperf.engine.queues``,
or the ``kperf`` command) stays cheap, and pandas, pydantic and matplotlib load only
for what needs them. Each public name is resolved on first access through
:data:`_LAZY` (PEP 562 ``__getattr__``) and then cached in the module.

To add a public name: one line in :data:`_LAZY`, the same import in the
``TYPE_CHECKING`` block (for mypy and editors) and the name in ``__all__``
(``tests/test_import.py`` checks that the three agree).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

_LAZY: dict[str, str] = {
    # name -> the module it is imported from
    "CNI_PROFILES": "kperf.profiles",
    "PROXY_MODES": "kperf.profiles",
    "TESTBEDS": "kperf.profiles",
    "get_cni": "kperf.profiles",
    "get_proxy": "kperf.profiles",
    "get_testbed": "kperf.profiles",
    "KperfError": "kperf.errors",
    "SpecError": "kperf.errors",
    "ClusterSpec": "kperf.spec",
    "load_cluster": "kperf.spec",
    "CallgraphWorkload": "kperf.spec.workload",
    "CrrWorkload": "kperf.spec.workload",
    "HttpWorkload": "kperf.spec.workload",
    "RrWorkload": "kperf.spec.workload",
    "StreamWorkload": "kperf.spec.workload",
    "Cluster": "kperf.cluster",
    "explain": "kperf.datapath.explain",
    "CpuHop": "kperf.datapath.path",
    "Hop": "kperf.datapath.path",
    "HopCost": "kperf.datapath.path",
    "WireHop": "kperf.datapath.path",
    "register_hop_kind": "kperf.datapath.path",
    "Simulation": "kperf.engine.sim",
    "EngineOptions": "kperf.engine.sim",
    "Flow": "kperf.engine.flow",
    "FlowHooks": "kperf.engine.transit",
    "Surcharge": "kperf.engine.routes",
    "TcpOptions": "kperf.transport.options",
    "TcpSender": "kperf.transport.tcp",
    "Dumbbell": "kperf.transport.dumbbell",
    "RunResult": "kperf.workloads.result",
    "simulate": "kperf.workloads.simulate",
    "load_results": "kperf.experiments",
    "run": "kperf.experiments",
    "__version__": "kperf.version",
}
"""Public name -> the module that defines it (imported on first access)."""

if TYPE_CHECKING:
    from kperf.cluster import Cluster
    from kperf.datapath.explain import explain
    from kperf.datapath.path import CpuHop, Hop, HopCost, WireHop, register_hop_kind
    from kperf.engine.flow import Flow
    from kperf.engine.routes import Surcharge
    from kperf.engine.sim import EngineOptions, Simulation
    from kperf.engine.transit import FlowHooks
    from kperf.errors import KperfError, SpecError
    from kperf.experiments import load_results, run
    from kperf.profiles import (
        CNI_PROFILES,
        PROXY_MODES,
        TESTBEDS,
        get_cni,
        get_proxy,
        get_testbed,
    )
    from kperf.spec import ClusterSpec, load_cluster
    from kperf.spec.workload import (
        CallgraphWorkload,
        CrrWorkload,
        HttpWorkload,
        RrWorkload,
        StreamWorkload,
    )
    from kperf.transport.dumbbell import Dumbbell
    from kperf.transport.options import TcpOptions
    from kperf.transport.tcp import TcpSender
    from kperf.version import __version__
    from kperf.workloads.result import RunResult
    from kperf.workloads.simulate import simulate

__all__ = [
    "CNI_PROFILES",
    "PROXY_MODES",
    "TESTBEDS",
    "CallgraphWorkload",
    "Cluster",
    "ClusterSpec",
    "CpuHop",
    "CrrWorkload",
    "Dumbbell",
    "EngineOptions",
    "Flow",
    "FlowHooks",
    "Hop",
    "HopCost",
    "HttpWorkload",
    "KperfError",
    "RrWorkload",
    "RunResult",
    "Simulation",
    "SpecError",
    "StreamWorkload",
    "Surcharge",
    "TcpOptions",
    "TcpSender",
    "WireHop",
    "__version__",
    "explain",
    "get_cni",
    "get_proxy",
    "get_testbed",
    "load_cluster",
    "load_results",
    "register_hop_kind",
    "run",
    "simulate",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access and cache the name here.

    A subpackage (``kperf.spec``...) is imported too, as the eager package used to
    do, so ``import kperf; kperf.spec.load_cluster`` keeps working.
    """
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
