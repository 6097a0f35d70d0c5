"""kperf: a discrete-event network performance simulator for Kubernetes clusters.

The public API, from the bottom layer up::

    from kperf import Cluster, simulate, run, load_results
    cluster = Cluster.build(nodes=8, cni="calico-bgp")
    cluster.conformance().summary()
    result = simulate(get_testbed("10g-xeon-2015"), cluster.spec, [RrWorkload()], seed=1)
    results = run("experiments/default.yaml")      # a sweep; results.summary is a DataFrame
"""

from kperf.cluster import Cluster
from kperf.datapath.explain import explain
from kperf.engine.sim import Simulation
from kperf.errors import KperfError, SpecError
from kperf.experiments import load_results, run
from kperf.profiles import CNI_PROFILES, PROXY_MODES, TESTBEDS, get_cni, get_proxy, get_testbed
from kperf.spec import ClusterSpec, load_cluster
from kperf.spec.workload import (
    CallgraphWorkload,
    CrrWorkload,
    HttpWorkload,
    RrWorkload,
    StreamWorkload,
)
from kperf.workloads.result import RunResult
from kperf.workloads.simulate import simulate

__version__ = "0.1.0"

__all__ = [
    "CNI_PROFILES",
    "PROXY_MODES",
    "TESTBEDS",
    "CallgraphWorkload",
    "Cluster",
    "ClusterSpec",
    "CrrWorkload",
    "HttpWorkload",
    "KperfError",
    "RrWorkload",
    "RunResult",
    "Simulation",
    "SpecError",
    "StreamWorkload",
    "__version__",
    "explain",
    "get_cni",
    "get_proxy",
    "get_testbed",
    "load_cluster",
    "load_results",
    "run",
    "simulate",
]
