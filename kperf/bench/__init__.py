"""``kperf bench``: speed and memory figures, as ratios measured in one invocation.

Targets: speedup_vs_naive_simpy >= 3; event_overhead_ratio <= 2.5;
rr_requests_per_s >= 50,000; build_s < 10 and build_peak_mb < 1,500; large_sim_s < 60
and large_sim_peak_mb < 2,000; sweep_speedup_2_workers >= 1.7. Node scaling (restated
in the engine issue, #16): node_scaling_ratio < 2.0 (1,000 vs 10 nodes, each client at
the same rate, so 100 times the load) and node_scaling_ratio_same_load < 1.5 (1,000
nodes at the 10-node run's total rate). Bulk TCP (issue 17): bulk_cpu_s_per_sim_s_10g
<= 0.25 (one 10 Gbit/s stream) and bulk_cpu_s_per_sim_s_100g <= 3.0 (64 streams at
100 Gbit/s), CPU seconds per simulated second (absolute: they depend on the machine).
The decomposed method (issue 22): decomposed_speedup_200_nodes >= 20 (full over
decomposed CPU time on one 200-node run, :mod:`kperf.bench.decomposed`); with
``large`` (``kperf bench --large``) also decomposed_5000_nodes_s < 120 and
decomposed_5000_nodes_peak_mb < 4,000 (issue 22's gate for 5,000 nodes, 150,000 pods).
"""

from __future__ import annotations

import tempfile
from typing import Any

TARGETS: dict[str, tuple[str, float]] = {
    "speedup_vs_naive_simpy": (">=", 3.0),
    "event_overhead_ratio": ("<=", 2.5),
    "rr_requests_per_s": (">=", 50_000.0),
    "build_s": ("<", 10.0),
    "build_peak_mb": ("<", 1_500.0),
    "large_sim_s": ("<", 60.0),
    "large_sim_peak_mb": ("<", 2_000.0),
    "node_scaling_ratio": ("<", 2.0),
    "node_scaling_ratio_same_load": ("<", 1.5),
    "sweep_speedup_2_workers": (">=", 1.7),
    "bulk_cpu_s_per_sim_s_10g": ("<=", 0.25),
    "bulk_cpu_s_per_sim_s_100g": ("<=", 3.0),
    "decomposed_speedup_200_nodes": (">=", 20.0),
    "decomposed_5000_nodes_s": ("<", 120.0),
    "decomposed_5000_nodes_peak_mb": ("<", 4_000.0),
}


def meets(key: str, value: float) -> bool | None:
    """Whether ``value`` meets the target of ``key`` (None when it has none)."""
    if key not in TARGETS:
        return None
    op, bound = TARGETS[key]
    return {">=": value >= bound, "<=": value <= bound, "<": value < bound}[op]


def run_bench(quick: bool = False, log: Any = None, large: bool = False) -> dict[str, float]:
    """Run every scenario; return the figures (keys as documented in issue 8).
    ``large``: first the decomposed method on 5,000 nodes (about a minute; first, so
    the process's peak resident size it reports is its own, not an earlier scenario's)."""
    from kperf.bench import scenarios as sc

    def say(text: str) -> None:
        if log is not None:
            log(text)

    out: dict[str, float] = {"quick": float(quick)}
    if large:
        say("decomposed method: 5,000 nodes, 150,000 pods")
        from kperf.bench import decomposed as dec

        out.update(dec.nodes_5000())
    say("bare SimPy timeout loop")
    repeats = 1 if quick else 3  # full runs keep the least time of three (see best_of)
    floor = sc.bare_timeout_events_per_s(200_000 if quick else 1_000_000, repeats)
    out["simpy_timeout_events_per_s"] = floor
    say("rr at 50 % load: kperf and the naive SimPy baseline")
    rr = sc.rr_half_load(50_000 if quick else 200_000, repeats)
    out.update(rr)
    out["event_overhead_ratio"] = rr["kperf_s_per_traversal"] * floor
    say("building the tested-limits cluster")
    out.update(sc.build(quick))
    say("large simulation: 100 nodes, all-to-all through a Service")
    out.update(sc.large(quick))
    say("node scaling: 10 vs 1,000 nodes")
    out.update(sc.node_scaling(quick, repeats))
    say("bulk TCP: one 10 Gbit/s stream, 64 streams at 100 Gbit/s")
    out.update(sc.bulk_tcp(quick, repeats))
    say("decomposed method: 200 nodes, full vs decomposed")
    from kperf.bench import decomposed

    out.update(decomposed.speedup_200_nodes(quick))
    say("sweep on 2 processes vs serial")
    with tempfile.TemporaryDirectory() as tmp:
        out.update(sc.sweep_speedup(quick, tmp, 1 if quick else 2))
    return out
