"""``kperf bench`` figures of the decomposed method (issue 22).

``decomposed_speedup_200_nodes``: CPU time of the full engine over the decomposed
method's on one 200-node run (rr through a ClusterIP Service, one client and one
server pod per node, the busiest core offered 0.73), both in this process
(target >= 20). ``decomposed_5000_nodes_s`` (only when asked: ``kperf bench
--large``, which runs it before the other scenarios): wall seconds of the decomposed
method on a 5,000-node, 150,000-pod cluster (75,000 client pods at 2,000 requests/s
each to 75,000 server pods through a Service: 1,000 requests/s per pod) (issue 22's
gate: < 120 s, < 4 GB; ``decomposed_5000_nodes_peak_mb`` is the process's peak
resident size after it).
"""

from __future__ import annotations

import gc
import resource
import time
from typing import Any

from kperf.experiments.expand import expand
from kperf.spec.experiment import ExperimentSpec
from kperf.workloads.decomposed import simulate_decomposed
from kperf.workloads.simulate import simulate

TESTBED = "10g-xeon-2015"


def _run(nodes: int, clients_per_node: int, rate_per_s: float, duration_s: float) -> Any:
    doc = {
        "name": f"bench-decomposed-{nodes}", "seed": 3, "testbed": TESTBED,
        "cluster": {"nodes": nodes, "cni": "calico-bgp", "proxy": "iptables",
                    # room for 5,000 nodes: a /19 of node IPs, a /24 of pods per node
                    "node_cidr": "192.168.0.0/16", "pod_cidr": "10.128.0.0/10",
                    "max_pods_per_node": 110,
                    "deployments": [
                        {"name": "client", "replicas": nodes * clients_per_node},
                        {"name": "server", "replicas": nodes * clients_per_node}],
                    "services": [{"name": "server", "selector": {"app": "server"},
                                  "port": 80}]},
        "workload": {"kind": "rr", "target": "svc/server", "rate_per_s": rate_per_s,
                     "request_bytes": 1000, "response_bytes": 4000,
                     "duration_s": duration_s},
    }
    return expand(ExperimentSpec.from_data(doc))[0]


def speedup_200_nodes(quick: bool) -> dict[str, float]:
    """Full over decomposed CPU time on the same 200-node run (see the module doc)."""
    # 35,000 req/s per client: the busiest core is offered 0.73 (build_traffic's
    # utilisation), a moderately loaded cluster
    # 0.05 simulated s: 350,000 requests, what a p99.9 needs (the accuracy script's
    # scenarios have 150,000); the full engine's time grows with it, the decomposed
    # method's does not
    run = _run(200, 1, 35_000.0, 0.005 if quick else 0.05)
    gc.collect()
    t = time.process_time()
    dec = simulate_decomposed(run.testbed, run.cluster, run.workloads, run.seed)
    dec_s = time.process_time() - t
    gc.collect()
    t = time.process_time()
    full = simulate(run.testbed, run.cluster, run.workloads, run.seed)
    full_s = time.process_time() - t
    return {"decomposed_200_nodes_s": dec_s, "full_200_nodes_s": full_s,
            "decomposed_speedup_200_nodes": full_s / dec_s,
            "decomposed_200_nodes_requests": float(full.summary["completed"]),
            "decomposed_200_nodes_p99_err": (dec.summary["latency_p99_us"]
                                             / full.summary["latency_p99_us"] - 1.0)}


def nodes_5000() -> dict[str, float]:
    """The decomposed method on 5,000 nodes, 150,000 pods (see the module doc)."""
    # 75,000 client pods at 2,000 req/s to 75,000 server pods: 150 million requests
    # per simulated second, issue 22's 150,000 pods at 1,000 requests/s each
    run = _run(5000, 15, 2000.0, 1.0)
    gc.collect()
    t = time.perf_counter()
    simulate_decomposed(run.testbed, run.cluster, run.workloads, run.seed)
    wall = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"decomposed_5000_nodes_s": wall, "decomposed_5000_nodes_peak_mb": peak_mb}
