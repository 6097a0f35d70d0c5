"""Print every numeric table and inline figure of docs/mesh.md, from the code.

Each section is one table of docs/mesh.md (and the figures its text quotes), with the
setup the doc states next to it:

- ``cilium``: cilium-mesh, 1 KB HTTP at 1,000 req/s on cilium-wireguard, two nodes of
  testbed A, seed 1, 1 s;
- ``waypoint``: the waypoint's node, the same HTTP on three nodes (client node-1, server
  node-2, calico-bgp), seed 1, 1 s;
- ``streams``: one TCP stream through the proxies, two nodes, calico-bgp, seed 1, 0.1 s,
  on testbed A and at 40 Gbit/s, and one proxy worker's per-byte capacity;
- ``costs``: the proxies' per-message costs and the Istio releases' (``kperf list mesh``);
- ``saturation``: linkerd's shared queue against M/D/c (tests/mesh_saturation.py);
- ``pinned``: istio-sidecar's pinned workers against c x M/D/1 (the same module);
- ``calibration``: the mesh cases of ``kperf validate`` (tests/test_mesh_calibration.py);
- ``experiment``: experiments/service_mesh.yaml's table (scripts/mesh_sweep_table.py),
  the per-worker split of its sidecars at 1,000 req/s and the report's Answer sentences
  for the mesh modes; runs ``kperf run`` into ``--results`` when it holds no summary.

    .venv/bin/python scripts/mesh_doc_tables.py [--only cilium,waypoint] [--results DIR]

Run from the repository's root (it imports ``tests.*``). Same code, same numbers: every
run is seeded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from kperf.profiles.mesh import (  # noqa: E402
    CILIUM_ENVOY,
    ISTIO_RELEASES,
    MESH_PROXIES,
    TLS_RECORD_BYTES,
    WAYPOINT,
    istio_proxy,
)
from kperf.spec import ClusterSpec, parse  # noqa: E402
from kperf.spec.workload import StreamWorkload  # noqa: E402
from kperf.workloads.simulate import simulate  # noqa: E402
from tests import mesh_saturation as sat  # noqa: E402

EXPERIMENT = ROOT / "experiments" / "service_mesh.yaml"


def _f(value: float, digits: int = 1) -> str:
    """docs/mesh.md's number style: thousands separated, ``digits`` decimals."""
    return f"{value:,.{digits}f}"


def _us(value: float) -> str:
    """Latencies as scripts/mesh_sweep_table.py prints them (whole µs from 1,000)."""
    return f"{value:,.0f}" if value >= 1000 else f"{value:.1f}"


# -- cilium-mesh ---------------------------------------------------------------------------
def cilium() -> list[str]:
    wl = sat.http(1000, 1.0)
    rows = (("none", sat.spec(cni="cilium-wireguard")),
            ("cilium-mesh", sat.spec("cilium-mesh", cni="cilium-wireguard")),
            ("cilium-mesh, `l7: true`", sat.spec("cilium-mesh", cni="cilium-wireguard",
                                                  l7=True)),
            ("istio-ambient", sat.spec("istio-ambient", cni="cilium-wireguard")),
            ("istio-sidecar", sat.spec("istio-sidecar", cni="cilium-wireguard")))
    out = ["1 KB HTTP at 1,000 req/s on cilium-wireguard, two nodes of testbed A, seed 1, 1 s:",
           "", "| mode | p50 µs | p99 µs | proxy cores per 1k req/s |", "|---|---|---|---|"]
    for name, cluster in rows:
        s = sat.run(cluster, wl).summary
        cores = s.get("mesh_proxy_cores_per_krps")
        text = "-" if cores is None else f"{cores:.3f}"
        out.append(f"| {name} | {_f(s['latency_p50_us'])} | {_f(s['latency_p99_us'])} "
                   f"| {text} |")
    return out


# -- the waypoint's node ---------------------------------------------------------------------
def _waypoint_spec(node: str) -> ClusterSpec:
    data: dict[str, Any] = {
        "nodes": 3, "cni": "calico-bgp",
        "mesh": {"mode": "istio-ambient", "waypoint": True, "waypoint_node": node},
        "deployments": [{"name": "client", "replicas": 1, "placement": "node-1"},
                        {"name": "server", "replicas": 1, "placement": "node-2"}],
        "services": [{"name": "server", "selector": {"app": "server"}, "port": 80}]}
    return parse(ClusterSpec, data)


def waypoint() -> list[str]:
    from kperf.cluster import Cluster

    out = ["1 KB HTTP at 1,000 req/s, three nodes of testbed A (client node-1, server "
           "node-2, calico-bgp), seed 1, 1 s:", "",
           "| `waypoint_node` | p50 µs | p99 µs | proxy cores per 1k req/s | "
           "`cpu:waypoint` on |", "|---|---|---|---|---|"]
    for node in ("server", "client", "node-3"):
        cluster = _waypoint_spec(node)
        res = sat.run(cluster, sat.http(1000, 1.0))
        s, rows = res.summary, res.resources
        busy = rows[(rows.resource == "cpu:waypoint") & (rows.busy_s > 0)]
        names = Cluster.build(cluster).nodes
        where = ", ".join(names[int(i)].name for i in sorted(set(busy["index"])))
        out.append(f"| `{node}` | {_f(s['latency_p50_us'])} | {_f(s['latency_p99_us'])} | "
                   f"{s['mesh_proxy_cores_per_krps']:.3f} | {where} |")
    return out


# -- streams ---------------------------------------------------------------------------------
def _worker_capacity_gbps(mode: str) -> float:
    p = MESH_PROXIES[mode]
    ns_per_byte = p.per_byte_ns + p.mtls_per_byte_ns + p.mtls_per_record_us * 1e3 / (
        TLS_RECORD_BYTES)
    return 8.0 / ns_per_byte


def streams() -> list[str]:
    from kperf.datapath.framing import mesh_framing
    from kperf.datapath.segmentation import tcp_goodput_bound_gbps

    tb = sat.TB
    fast = tb.model_copy(update={"nic_rate_gbps": 40.0})
    modes: tuple[tuple[str, str, dict[str, Any]], ...] = (
        ("none", "none", {}), ("istio-sidecar", "istio-sidecar", {}),
        ("istio-ambient", "istio-ambient", {}),
        ("istio-ambient, `waypoint: true`", "istio-ambient", {"waypoint": True}),
        ("linkerd", "linkerd", {}))
    out = ["One TCP stream, two nodes, calico-bgp, seed 1, 0.1 s (Gbit/s):", "",
           "| mode | testbed A (10 Gbit/s) | the same at 40 Gbit/s | one worker's capacity |",
           "|---|---|---|---|"]
    for name, mode, extra in modes:
        cluster = sat.spec(mode, **extra)
        got = [simulate(t, cluster, [StreamWorkload(duration_s=0.1)], seed=1)
               .summary["throughput_gbps"] for t in (tb, fast)]
        cap = "-" if mode == "none" else f"{_worker_capacity_gbps(mode):.2f}"
        out.append(f"| {name} | {got[0]:.2f} | {got[1]:.2f} | {cap} |")
    p = MESH_PROXIES["istio-sidecar"]
    line = tcp_goodput_bound_gbps(tb.nic_rate_gbps, tb.mtu_bytes)
    shares, gains = [], []
    for mode in ("istio-sidecar", "istio-ambient"):
        framing = mesh_framing(mode, True)
        assert framing is not None
        added = framing.overhead_bytes(65_536)
        shares.append(100 * added / (65_536 + added))
        gains.append(f"{mode}: {framing.overhead_bytes(sat.KB)} B on 1 KB, {added} B on "
                     f"64 KiB")
    out += ["", f"One worker: 1 / ({p.per_byte_ns:g} + {p.mtls_per_byte_ns:g} + "
            f"{p.mtls_per_record_us * 1e3:,.0f} / {TLS_RECORD_BYTES:,}) ns per byte = "
            f"{_worker_capacity_gbps('istio-sidecar'):.2f} Gbit/s; testbed A's link "
            f"{line:.2f} Gbit/s at MTU {tb.mtu_bytes:,.0f}, less {min(shares):.2f}-"
            f"{max(shares):.2f} % of framing (64 KiB chunks: sidecars, ambient)",
            "", "Framing bytes between the proxies (mTLS): " + "; ".join(gains)]
    return out


# -- costs -----------------------------------------------------------------------------------
def costs() -> list[str]:
    out = ["| proxy | vCPU per 1,000 req/s (one proxy) | workers | per message µs |",
           "|---|---|---|---|"]
    for name, p in (("Envoy sidecar", MESH_PROXIES["istio-sidecar"]),
                    ("ztunnel", MESH_PROXIES["istio-ambient"]), ("waypoint", WAYPOINT),
                    ("cilium-envoy", CILIUM_ENVOY), ("linkerd2-proxy", MESH_PROXIES["linkerd"])):
        out.append(f"| {name} | {p.vcpu_per_krps:.2f} | {p.workers} | {p.per_message_us:.1f} |")
    charged = 2 * CILIUM_ENVOY.message_us(sat.KB, False) / 1e3
    out += ["", f"cilium-envoy charged without mTLS: {charged:.3f} vCPU per 1,000 req/s", "",
            "| release | measured with | sidecar vCPU per 1,000 req/s | per message µs | "
            "ambient |", "|---|---|---:|---:|---|"]
    for key, r in ISTIO_RELEASES.items():
        per = istio_proxy("istio-sidecar", key).per_message_us
        out.append(f"| {key} | {r.version} | {r.sidecar_vcpu_per_krps:g} | {per:.1f} | "
                   f"{'yes' if r.ambient else 'no'} |")
    return out


# -- saturation ------------------------------------------------------------------------------
def saturation() -> list[str]:
    s = sat.shared_queue()
    out = ["linkerd, 2 workers (one shared queue), against four visits to M/D/c:", "",
           "| req/s | simulated added queueing (µs) | M/D/c model (µs) |", "|---|---|---|"]
    for rate, got, want in zip(s.rates, s.measured_us, s.model_us, strict=True):
        out.append(f"| {rate:,} | {_f(got)} | {_f(want)} |")
    out += ["", f"idle cost: {_f(s.idle_added_us)} µs per request; knee: simulated "
            f"{_rate(s.knee(s.measured_us))}, model {_rate(s.knee(s.model_us))}"]
    return out


def _rate(rate: int | None) -> str:
    return "none in the swept rates" if rate is None else f"{rate:,} req/s"


def pinned() -> list[str]:
    s = sat.pinned_workers()
    out = ["istio-sidecar, 2 pinned workers per sidecar, against c x M/D/1:", "",
           "| req/s | simulated added queueing (µs) | c x M/D/1 model (µs) | messages per "
           "worker (client sidecar; server sidecar) |", "|---|---|---|---|"]
    for rate, got, want, (client, server) in zip(s.rates, s.measured_us, s.model_us,
                                                  s.loads, strict=True):
        split = (" / ".join(f"{n:,}" for n in client) + "; "
                 + " / ".join(f"{n:,}" for n in server))
        out.append(f"| {rate:,} | {_f(got)} | {_f(want)} | {split} |")
    svc_s = MESH_PROXIES["istio-sidecar"].message_us(sat.KB, True) * 1e-6
    client, server = s.loads[-1]
    share = max(server) / sum(server)
    limit = 1 / (2 * share * svc_s)  # two messages per request, ``share`` on that worker
    shared = MESH_PROXIES["istio-sidecar"].workers / (2 * svc_s)
    out += ["", f"idle cost: {_f(s.idle_added_us)} µs per request; knee: simulated "
            f"{_rate(s.knee(s.measured_us))}, model {_rate(s.knee(s.model_us))}; the "
            f"server sidecar's busiest worker takes {share:.2f} of its messages at "
            f"{s.rates[-1]:,} req/s: it saturates near {limit:,.0f} req/s (one shared "
            f"queue: {shared:,.0f})"]
    return out


# -- calibration -----------------------------------------------------------------------------
def calibration() -> list[str]:
    from tests.test_mesh_calibration import calibration_rows

    rows = calibration_rows()
    out = ["| case | setup | published | kperf | error |", "|---|---|---|---:|---|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    ratios: dict[str, list[float]] = {"below": [], "above": []}
    for name, _, published, kperf, _ in rows:
        if "-added-p9" not in name:
            continue
        pub, got = float(published.split()[0].replace(",", "")), float(kperf.replace(",", ""))
        if got < pub:
            ratios["below"].append(pub / got)
        else:
            ratios["above"].append(got / pub)
    for key, what in (("below", "published / kperf where kperf adds less"),
                      ("above", "kperf / published where kperf adds more")):
        if ratios[key]:
            out.append(f"\nAdded-latency rows, {what}: {min(ratios[key]):.1f}-"
                       f"{max(ratios[key]):.1f}x ({len(ratios[key])} rows)")
    return out


# -- experiments/service_mesh.yaml -------------------------------------------------------------
def _ensure_results(results: Path) -> float | None:
    """Run the experiment into ``results`` unless it holds a summary; its wall time."""
    if (results / "summary.parquet").exists():
        return None
    cmd = [sys.executable, "-c", "from kperf.cli.main import main; main()", "run",
           str(EXPERIMENT), "--out", str(results), "--workers", "1"]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _worker_split(results: Path) -> list[str]:
    """Per istio-sidecar run at 1,000 and 5,000 req/s: messages per worker of each
    sidecar (Envoy pins connections: the kernel's hash, seeded per run, decides)."""
    found = []
    for f in results.glob("runs/*.json"):
        run = json.loads(f.read_text())
        p = run["params"]
        if (run["status"] != "ok" or p["cluster.mesh.mode"] != "istio-sidecar"
                or p["workload.rate_per_s"] not in (1000, 5000)):
            continue
        rows = pd.read_parquet(results / "runs" / run["files"]["resources"])
        w = rows[rows.resource == "sidecar-worker"].sort_values(["index", "unit"])
        client = " / ".join(f"{int(n):,}" for n in w[w["index"] == 0].served)
        server = " / ".join(f"{int(n):,}" for n in w[w["index"] == 1].served)
        key = (p["workload.rate_per_s"], p["workload.response_bytes.mean"], run["replication"])
        found.append((key, f"| {key[0]:,} | {key[1]:,} | {key[2]} | {client} | {server} | "
                           f"{_us(run['summary']['latency_p50_us'])} |"))
    return ["| req/s | response B | replication | client sidecar | server sidecar | p50 µs |",
            "|---|---:|---|---|---|---|", *(line for _, line in sorted(found))]


def experiment(results: Path) -> list[str]:
    from kperf.analysis.mesh_answer import mesh_sentences
    from kperf.spec.experiment import ExperimentSpec
    from scripts.mesh_sweep_table import table

    wall = _ensure_results(results)
    summary = pd.read_parquet(results / "summary.parquet")
    ok = summary[summary["status"] == "ok"]
    manifest = json.loads((results / "manifest.json").read_text())
    elapsed = sum(json.loads(f.read_text())["timing"]["elapsed_s"]
                  for f in results.glob("runs/*.json"))
    config = list(ExperimentSpec.load(EXPERIMENT).sweep)
    out = [f"{len(summary)} runs ({int((summary['status'] == 'ok').sum())} ok), "
           f"{elapsed:.1f} s of simulation summed over the runs"
           + (f", {wall:.1f} s wall for kperf run (report included)" if wall else "")
           + f"; seed {manifest['seed']}, {manifest['replications']} replications", "",
           table(summary), "", "Messages per sidecar worker (istio-sidecar runs):", "",
           *_worker_split(results),
           "", "The report's Answer (mesh modes):"]
    out += [f"- {s}" for s in mesh_sentences(ok, config)]
    return out


SECTIONS: dict[str, Callable[..., list[str]]] = {
    "cilium": cilium, "waypoint": waypoint, "streams": streams, "costs": costs,
    "saturation": saturation, "pinned": pinned, "calibration": calibration,
    "experiment": experiment}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated sections: "
                    + ", ".join(SECTIONS) + " (default: all)")
    ap.add_argument("--results", type=Path, default=ROOT / "results" / "service_mesh",
                    help="experiments/service_mesh.yaml's results folder (run there if "
                         "it holds no summary)")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(SECTIONS)
    bad = [n for n in names if n not in SECTIONS]
    if bad:
        ap.error(f"--only: got {', '.join(bad)}; allowed: {', '.join(SECTIONS)}")
    for name in names:
        print(f"## {name}\n")
        fn = SECTIONS[name]
        lines = fn(args.results) if name == "experiment" else fn()
        print("\n".join(lines) + "\n", flush=True)


if __name__ == "__main__":
    main()
