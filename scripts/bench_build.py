"""Build a cluster at the Kubernetes tested limits and time it.

5,000 nodes, 150,000 pods (1,500 deployments × 100 replicas, spread), 10,000
Services selecting those deployments, then the conformance check and the data-plane
state. Prints wall seconds per phase and the peak resident memory.

    .venv/bin/python scripts/bench_build.py [--cni flannel-vxlan] [--proxy iptables]

Target (issue 2): under 10 s and 1.5 GB.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time


def peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--deployments", type=int, default=1500)
    ap.add_argument("--replicas", type=int, default=100)
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--cni", default="flannel-vxlan")
    ap.add_argument("--proxy", default="iptables")
    args = ap.parse_args()

    t0 = time.perf_counter()
    from kperf.cluster import Cluster
    from kperf.spec import ClusterSpec, parse

    deployments = [
        {"name": f"app-{d}", "replicas": args.replicas, "labels": {"app": f"app-{d}"}}
        for d in range(args.deployments)
    ]
    services = [
        {"name": f"svc-{s}", "selector": {"app": f"app-{s % args.deployments}"},
         "port": 80 + s // args.deployments}
        for s in range(args.services)
    ]
    t_import = time.perf_counter()
    spec = parse(ClusterSpec, {
        "nodes": args.nodes,
        "cni": args.cni,
        "proxy": args.proxy,
        "node_cidr": "10.0.0.0/16",
        "pod_cidr": "10.128.0.0/9",
        "service_cidr": "10.96.0.0/12",
        "deployments": deployments,
        "services": services,
    })
    t_spec = time.perf_counter()
    cluster = Cluster.build(spec)
    t_build = time.perf_counter()
    report = cluster.conformance()
    t_conf = time.perf_counter()
    state = cluster.dataplane_state()
    totals = cluster.dataplane_totals(state=state)
    t_dp = time.perf_counter()

    print(repr(cluster))
    print(f"conformant: {report.ok}")
    print(f"per node: routes {int(state['routes'].iloc[0])}, "
          f"iptables rules {int(state['iptables_rules'].iloc[0])}; "
          f"cluster routes {totals['routes']:,}")
    print(f"import {t_import - t0:.2f} s, spec {t_spec - t_import:.2f} s, "
          f"build {t_build - t_spec:.2f} s, conformance {t_conf - t_build:.2f} s, "
          f"dataplane {t_dp - t_conf:.2f} s")
    print(f"total wall {t_dp - t0:.2f} s, peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
