"""experiments/latency_vs_load.yaml sweeps from light load to past saturation for
every CNI mode it compares — checked by the utilisation law, not by running the
sweep (about half a minute; tests/test_plot_index.py runs a cut-down copy).

The utilisation law (Denning and Buzen, "The operational analysis of queueing network
models", ACM Computing Surveys 10(3), 1978): a resource visited with demand D seconds
per request at throughput X is busy U = X·D of the time. The busiest node's cores
are the resource: with ``cores`` of them, no load above cores / D can be carried, so
an offered load λ with λ·D > cores is past saturation (queues grow for as long as
the load lasts). D per CNI mode comes from one short run at the sweep's lowest rate;
kperf's stage costs are per message, segment, packet or byte, so D hardly changes
with the load (checked at a second rate).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kperf.experiments.expand import RunSpec, expand
from kperf.spec.experiment import ExperimentSpec
from kperf.workloads.simulate import simulate

EXPERIMENT = Path(__file__).resolve().parent.parent / "experiments" / "latency_vs_load.yaml"


def _cpu_seconds_per_request(run: RunSpec) -> float:
    """CPU time per request on the busiest node of one run (its seconds of busy core
    time over the requests it served, warm-up included)."""
    res = simulate(run.testbed, run.cluster, run.workloads, run.seed)
    s = res.summary
    wl = run.workloads[0]
    busy_s = s["cpu_cores_busy_max"] * s["sim_time_s"]
    # requests_per_s counts the requests that started in the window; warm-up ones at
    # the same rate
    served = s["requests_per_s"] * (wl.warmup_s + wl.duration_s)
    return float(busy_s / served)


def test_the_sweep_reaches_saturation_for_every_mode() -> None:
    spec = ExperimentSpec.load(EXPERIMENT)
    assert spec.replications >= 2
    runs = expand(spec)
    rates = sorted(spec.sweep["workload.rate_per_s"])
    (wl,) = runs[0].workloads
    assert wl.kind == "http" and not wl.keepalive  # a connection per request
    deps = {d.name: d for d in spec.cluster.deployments}
    clients, servers = deps[wl.clients].replicas, deps["web"].replicas
    # the application is never the bottleneck: its workers carry far more than the
    # highest load offered to a server pod
    app_capacity = deps["web"].app_workers / (wl.service_us.mean * 1e-6)
    top_per_server = rates[-1] * clients / servers
    assert top_per_server <= 0.5 * app_capacity
    cores = runs[0].testbed.cores_per_node
    for cni in spec.sweep["cluster.cni"]:
        low = next(r for r in runs if r.params == {"cluster.cni": cni,
                                                   "workload.rate_per_s": rates[0]}
                   and r.replication == 0)
        demand = _cpu_seconds_per_request(low)
        rho_top = rates[-1] * clients * demand / cores
        rho_low = rates[0] * clients * demand / cores
        assert rho_low < 0.2, (cni, rho_low)  # starts at light load
        assert rho_top > 1.05, (cni, rho_top)  # ends past saturation
        # several loads in between, so the knee (near half the capacity) is bracketed
        between = [r for r in rates if 0.2 <= r * clients * demand / cores < 1.0]
        assert len(between) >= 4, (cni, between)
        # about the same demand at three times the load (the estimate of the requests
        # served, warm-up included, carries a few % of Poisson noise)
        mid = next(r for r in runs if r.params == {"cluster.cni": cni,
                                                   "workload.rate_per_s": rates[2]}
                   and r.replication == 0)
        assert _cpu_seconds_per_request(mid) == pytest.approx(demand, rel=0.08)
