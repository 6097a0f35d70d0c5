"""Accuracy of ``--method decomposed`` against the full engine (issue 22).

Runs every scenario of :data:`SCENARIOS` (16-200 nodes; rr, crr, http and callgraph; to
pods and to ClusterIP Services; uniform clients, clients packed on a quarter of the nodes, every
server on one hot node; one rack, or two with oversubscribed leaf uplinks; the busiest
resource at 30-80 % utilisation) by both methods
with the same spec and seed, and prints one Markdown table row per scenario: p50, p99
and throughput of each, their relative errors, the wall times and the speed-up.
docs/decomposed.md and docs/validation.md carry the table this printed.

    PYTHONPATH=. python scripts/decomposed_accuracy.py [--only NAME ...] [--json FILE]

Each scenario's per-client rate is set so that the busiest contended resource (a core,
NIC queue, switch port or worker pool) is offered the scenario's utilisation: the
decomposed method's traffic step is run once at a base rate and the rate scaled
(utilisation is linear in the rate).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import Any

from kperf.experiments.expand import expand
from kperf.spec.experiment import ExperimentSpec
from kperf.workloads.decomposed.run import simulate_decomposed
from kperf.workloads.decomposed.traffic import build_traffic
from kperf.workloads.simulate import simulate

TOLERANCES = {"p50": 0.05, "p99": 0.10, "throughput": 0.03}
"""Issue 22's accuracy gates (relative)."""

TARGET_REQUESTS = 150_000
"""Requests the full engine simulates per scenario (sets the duration)."""


@dataclass(frozen=True)
class Scenario:
    name: str
    nodes: int
    kind: str  # rr | crr | http | callgraph
    target: str  # server | svc/server
    placement: str  # uniform | skewed | hot-node
    load: float  # utilisation of the busiest resource
    cni: str = "calico-bgp"
    proxy: str = "iptables"
    racks: int = 1  # > 1: leaf-spine, the rack uplinks and spine ports oversubscribed
    oversubscription: float = 1.0
    parallel: bool = True  # callgraph: calls in parallel, or in sequence
    light_app: bool = False  # callgraph: backends serve in a fixed 5 µs, 4 KB responses
    # (the cores, not the worker pools, are then the busiest resources)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("rr-pod-16-uniform-50", 16, "rr", "server", "uniform", 0.5),
    Scenario("rr-svc-16-uniform-80", 16, "rr", "svc/server", "uniform", 0.8),
    Scenario("http-svc-16-uniform-50", 16, "http", "svc/server", "uniform", 0.5),
    Scenario("rr-svc-64-uniform-30", 64, "rr", "svc/server", "uniform", 0.3, "flannel-vxlan"),
    Scenario("rr-svc-64-skewed-60", 64, "rr", "svc/server", "skewed", 0.6),
    Scenario("rr-pod-64-hot-node-70", 64, "rr", "server", "hot-node", 0.7),
    Scenario("http-svc-64-uniform-80", 64, "http", "svc/server", "uniform", 0.8,
             "cilium-native", "ebpf"),
    Scenario("http-pod-64-skewed-60", 64, "http", "server", "skewed", 0.6),
    Scenario("http-svc-128-hot-node-50", 128, "http", "svc/server", "hot-node", 0.5),
    Scenario("rr-svc-128-skewed-80", 128, "rr", "svc/server", "skewed", 0.8,
             "flannel-vxlan"),
    Scenario("rr-svc-200-uniform-70", 200, "rr", "svc/server", "uniform", 0.7),
    Scenario("http-svc-200-uniform-50", 200, "http", "svc/server", "uniform", 0.5),
    Scenario("rr-svc-32-uniform-50-ipvs", 32, "rr", "svc/server", "uniform", 0.5,
             "flannel-vxlan", "ipvs"),
    Scenario("http-svc-32-skewed-70", 32, "http", "svc/server", "skewed", 0.7,
             "cilium-native", "ebpf"),
    Scenario("rr-pod-100-uniform-80", 100, "rr", "server", "uniform", 0.8),
    Scenario("http-pod-100-hot-node-70", 100, "http", "server", "hot-node", 0.7),
    Scenario("rr-svc-150-hot-node-60", 150, "rr", "svc/server", "hot-node", 0.6,
             "cilium-native", "ebpf"),
    Scenario("http-svc-150-skewed-30", 150, "http", "svc/server", "skewed", 0.3,
             "flannel-vxlan"),
    Scenario("rr-svc-200-skewed-50", 200, "rr", "svc/server", "skewed", 0.5),
    Scenario("http-pod-200-uniform-80", 200, "http", "server", "uniform", 0.8),
    # two racks (testbed racks 2): half the traffic crosses a leaf uplink and a spine
    # port; oversubscribed 8:1 the uplinks are the busiest resources
    Scenario("rr-svc-16-2racks-70", 16, "rr", "svc/server", "uniform", 0.7,
             racks=2, oversubscription=12.0),
    Scenario("rr-pod-32-2racks-50", 32, "rr", "server", "uniform", 0.5,
             racks=2, oversubscription=24.0),
    Scenario("http-svc-64-2racks-80", 64, "http", "svc/server", "uniform", 0.8,
             racks=2, oversubscription=16.0),
    Scenario("rr-svc-64-2racks-skewed-60", 64, "rr", "svc/server", "skewed", 0.6,
             racks=2, oversubscription=8.0),
    # crr: a new connection per request (SYN, SYN-ACK, request, response, FINs)
    Scenario("crr-svc-16-uniform-50", 16, "crr", "svc/server", "uniform", 0.5),
    Scenario("crr-pod-32-uniform-70", 32, "crr", "server", "uniform", 0.7),
    Scenario("crr-svc-64-skewed-60", 64, "crr", "svc/server", "skewed", 0.6,
             "flannel-vxlan"),
    Scenario("crr-svc-100-uniform-80", 100, "crr", "svc/server", "uniform", 0.8,
             "cilium-native", "ebpf"),
    Scenario("crr-svc-32-2racks-60", 32, "crr", "svc/server", "uniform", 0.6,
             racks=2, oversubscription=12.0),
    # callgraph: each frontend request calls three backend Services (a, b, c) over
    # pooled connections, in parallel (the slowest call) or in sequence (the sum)
    Scenario("callgraph-16-uniform-50", 16, "callgraph", "svc/a", "uniform", 0.5),
    Scenario("callgraph-64-skewed-70", 64, "callgraph", "svc/a", "skewed", 0.7,
             "cilium-native", "ebpf"),
    Scenario("callgraph-seq-32-uniform-60", 32, "callgraph", "svc/a", "uniform", 0.6,
             parallel=False),
    Scenario("callgraph-100-hot-node-60", 100, "callgraph", "svc/a", "hot-node", 0.6,
             "flannel-vxlan"),
    Scenario("callgraph-32-2racks-70", 32, "callgraph", "svc/a", "uniform", 0.7,
             racks=2, oversubscription=12.0),
    Scenario("callgraph-200-uniform-80", 200, "callgraph", "svc/a", "uniform", 0.8),
    Scenario("callgraph-cpu-32-uniform-70", 32, "callgraph", "svc/a", "uniform", 0.7,
             light_app=True),
    Scenario("callgraph-cpu-64-hot-node-60", 64, "callgraph", "svc/a", "hot-node", 0.6,
             "cilium-native", "ebpf", light_app=True),
)

BACKENDS = ("a", "b", "c")
"""A callgraph scenario's backend Services (a deployment and a Service each)."""


def experiment(s: Scenario, rate_per_s: float, duration_s: float,
               method: str | None = None) -> dict[str, Any]:
    """The experiment file (as data) of scenario ``s`` at ``rate_per_s`` per client."""
    clients: dict[str, Any] = {"name": "client", "replicas": s.nodes}
    servers: dict[str, Any] = {"name": "server", "replicas": s.nodes}
    cluster: dict[str, Any] = {"nodes": s.nodes, "cni": s.cni, "proxy": s.proxy}
    if s.placement == "skewed":  # the clients packed on a quarter of the nodes
        clients["placement"] = "binpack"
        cluster["max_pods_per_node"] = 4
        servers["replicas"] = s.nodes // 2
    elif s.placement == "hot-node":  # every server pod on node-1
        servers = {"name": "server", "replicas": 8, "placement": "node-1",
                   "app_workers": 4}
    cluster["deployments"] = [clients, servers]
    if s.target.startswith("svc/"):
        cluster["services"] = [{"name": "server", "selector": {"app": "server"}, "port": 80}]
    if s.kind == "callgraph":  # three backends like the server (hot node: a's pods on it)
        cluster["deployments"] = [clients] + [
            {**servers, "name": b} if b == "a" or s.placement != "hot-node" else
            {"name": b, "replicas": s.nodes} for b in BACKENDS]
        cluster["services"] = [{"name": b, "selector": {"app": b}, "port": 80}
                               for b in BACKENDS]
        workload: dict[str, Any] = {"kind": "callgraph", "clients": "client",
                                    "backends": list(BACKENDS), "parallel": s.parallel,
                                    "rate_per_s": rate_per_s, "duration_s": duration_s}
    else:
        workload = {"kind": s.kind, "target": s.target, "rate_per_s": rate_per_s,
                    "duration_s": duration_s}
    if (not s.target.startswith("svc/") and s.placement != "hot-node"
            and s.kind != "callgraph"):
        workload["locality"] = "cross-node"  # pairs: client-i to a server on another node
    if s.kind == "callgraph":  # else request 200 B, response 1,000 B, service exp. 50 µs
        if s.light_app:
            workload.update(service_us={"dist": "fixed", "mean": 5}, response_bytes=4000)
    elif s.kind in ("rr", "crr"):
        workload.update(request_bytes=1000, response_bytes=4000, app_service_us=20)
    else:
        workload.update(service_us={"dist": "exponential", "mean": 60})
    testbed: Any = "10g-xeon-2015"
    if s.racks > 1:
        testbed = {"base": "10g-xeon-2015", "racks": s.racks,
                   "oversubscription": s.oversubscription}
    doc: dict[str, Any] = {"name": s.name, "seed": 7, "testbed": testbed,
                           "cluster": cluster, "workload": workload}
    if method is not None:
        doc["method"] = method
    return doc


def calibrated(s: Scenario) -> tuple[Any, float]:
    """The scenario's run at the rate that offers ``s.load`` to its busiest resource,
    and that busiest utilisation as built (a check)."""
    base = 1000.0
    run = expand(ExperimentSpec.from_data(experiment(s, base, 0.01)))[0]
    busiest = max(r.utilisation for r in build_traffic(run.testbed, run.cluster,
                                                       run.workloads, run.seed).resources)
    rate = base * s.load / busiest
    duration = TARGET_REQUESTS / (rate * s.nodes)
    run = expand(ExperimentSpec.from_data(experiment(s, round(rate, 1), duration)))[0]
    return run, busiest * round(rate, 1) / base


def compare(s: Scenario) -> dict[str, Any]:
    run, load = calibrated(s)
    t0 = time.perf_counter()
    dec = simulate_decomposed(run.testbed, run.cluster, run.workloads, run.seed).summary
    t_dec = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = simulate(run.testbed, run.cluster, run.workloads, run.seed).summary
    t_full = time.perf_counter() - t0
    row: dict[str, Any] = {"scenario": s.name, "nodes": s.nodes, "load": round(load, 3),
                           "requests": int(full["completed"]), "groups":
                           int(dec["decomposed_groups"]), "resources":
                           int(dec["decomposed_resources"]), "full_s": t_full,
                           "decomposed_s": t_dec}
    for key, col in (("p50", "latency_p50_us"), ("p99", "latency_p99_us"),
                     ("throughput", "throughput_gbps")):
        row[f"{key}_full"] = float(full[col])
        row[f"{key}_dec"] = float(dec[col])
        row[f"{key}_err"] = (float(dec[col]) - float(full[col])) / float(full[col])
        row[f"{key}_ok"] = abs(row[f"{key}_err"]) <= TOLERANCES[key]
    return row


def markdown(rows: list[dict[str, Any]]) -> str:
    head = ("| scenario | load | requests | groups/resources | p50 µs full / dec | err | "
            "p99 µs full / dec | err | Gbit/s err | full s | dec s | speed-up |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r['scenario']} | {r['load']:.2f} | {r['requests']:,} | "
            f"{r['groups']}/{r['resources']} | {r['p50_full']:.1f} / {r['p50_dec']:.1f} | "
            f"{100 * r['p50_err']:+.1f} %{'' if r['p50_ok'] else ' ✗'} | "
            f"{r['p99_full']:.1f} / {r['p99_dec']:.1f} | "
            f"{100 * r['p99_err']:+.1f} %{'' if r['p99_ok'] else ' ✗'} | "
            f"{100 * r['throughput_err']:+.1f} %{'' if r['throughput_ok'] else ' ✗'} | "
            f"{r['full_s']:.1f} | {r['decomposed_s']:.2f} | "
            f"{r['full_s'] / r['decomposed_s']:.0f}x |")
    ok = {k: sum(r[f"{k}_ok"] for r in rows) for k in TOLERANCES}
    lines.append("")
    lines.append(f"{len(rows)} scenarios: p50 within 5 % in {ok['p50']}, p99 within 10 % in "
                 f"{ok['p99']}, throughput within 3 % in {ok['throughput']}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="scenario names to run")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    rows = []
    for s in SCENARIOS:
        if args.only and s.name not in args.only:
            continue
        row = compare(s)
        rows.append(row)
        print(f"{s.name}: p50 {100 * row['p50_err']:+.1f} % p99 {100 * row['p99_err']:+.1f} % "
              f"tput {100 * row['throughput_err']:+.1f} % full {row['full_s']:.1f} s "
              f"dec {row['decomposed_s']:.2f} s", file=sys.stderr, flush=True)
    print(markdown(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
