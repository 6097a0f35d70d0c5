"""Testbed B's raw runs against kperf (issue 19): every single-stream row of InfraBuilder's
2024 repository for a CNI kperf models, with what iperf3 itself recorded.

Reads InfraBuilder's benchmark-k8s-cni-2024-01 repository (a bare git clone is enough:
files are read with ``git show``). Each setup has three runs; each run's
``results/<setup>/<run>/<test>-client.stdout`` is iperf3 3.16's ``--json`` output, whose
``end`` holds the sender's and the receiver's rate, the datagrams lost, and iperf3's own
CPU use (``cpu_utilization_percent``: ``host_total`` the client process, ``remote_total``
the server's, in % of one core). The tests: ``dts``/``sts`` one TCP stream to the pod /
to its ClusterIP, ``dus``/``sus`` one UDP stream (``-u -b 0``, 8,948-byte datagrams at
MTU 9000). For each row it prints the mean of the three runs and kperf's value for the
same setup (the case it would be, simulated as ``kperf validate`` does).

    python scripts/b_raw_results.py /work/.mirror/InfraBuilder+benchmark-k8s-cni-2024-01/repo

The table "Testbed B's raw results" in docs/validation.md is this output (``--markdown``);
``--json FILE`` writes the measured rows (no kperf values) to the reference file
``tests/data/b_raw_results.json``, which ``tests/test_b_raw_results.py`` simulates again
and checks against the section's claims (CI has no copy of the repository).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from kperf.calibration.cases import CalibrationCase
from kperf.calibration.validate import run_case

TESTBED = "40g-xl710-2024"
IPERF3_MSS_OVERHEAD_BYTES = 52
"""iperf3 sizes its UDP datagrams like a TCP MSS: MTU - 40 - 12 (timestamps)."""
TESTS = {"dts": ("pod", "tcp"), "sts": ("service", "tcp"), "dus": ("pod", "udp"),
         "sus": ("service", "udp")}


@dataclass(frozen=True)
class Setup:
    """One setup directory of the repository and the kperf CNI mode it runs."""

    directory: str
    cni: str
    label: str
    proxy: str | None = None
    host: bool = False


SETUPS = (
    Setup("baremetal", "none", "bare metal (host to host)", host=True),
    Setup("antrea", "antrea-geneve", "Antrea 1.15 Geneve"),
    Setup("calico", "calico-bgp", "Calico 3.27 iptables, no encapsulation"),
    Setup("calico-ebpf", "calico-ebpf", "Calico 3.27 eBPF"),
    Setup("calico-wg", "calico-wireguard", "Calico 3.27 WireGuard"),
    Setup("canal", "canal", "Canal"),
    Setup("cilium", "cilium-vxlan", "Cilium 1.15 VXLAN, kube-proxy", proxy="iptables"),
    Setup("cilium-nokproxy", "cilium-vxlan", "Cilium 1.15 VXLAN, no kube-proxy",
          proxy="ebpf"),
    Setup("cilium-ipsec", "cilium-ipsec", "Cilium 1.15 IPsec", proxy="iptables"),
    Setup("cilium-wg", "cilium-wireguard", "Cilium 1.15 WireGuard", proxy="iptables"),
    Setup("flannel", "flannel-vxlan", "Flannel VXLAN"),
    Setup("kubeovn", "kube-ovn-geneve", "Kube-OVN 1.12"),
    Setup("kuberouter", "kube-router", "Kube-router"),
)
"""The setups of the repository whose CNI mode kperf models, and bare metal (Cilium with its default
kube-proxy, as the repository's helm install leaves it; Calico's ``VXLANCrossSubnet``
pools are unencapsulated on the benchmark's one L2)."""


@dataclass(frozen=True)
class Row:
    setup: Setup
    test: str
    received_gbps: float
    sent_gbps: float
    lost_pct: float
    client_cpu_pct: float
    server_cpu_pct: float
    pod_mtu_bytes: int
    runs: int
    simulated_gbps: float

    @property
    def error(self) -> float:
        return self.simulated_gbps / self.received_gbps - 1.0


def _run_json(repo: str, path: str) -> dict | None:
    out = subprocess.run(["git", "-C", repo, "show", f"HEAD:{path}"], capture_output=True,
                         text=True)
    if out.returncode != 0 or not out.stdout.strip():
        return None
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError:
        return None


def case_for(setup: Setup, test: str, pod_mtu_bytes: int) -> CalibrationCase:
    """The calibration case the row would be (what ``kperf validate`` simulates); the pod
    MTU is the setup's (its UDP datagram + 52: iperf3's MSS-based default size), as in
    kperf/data/calibration_cases.yaml."""
    target, proto = TESTS[test]
    fields: dict[str, object] = {
        "name": f"b-raw-{setup.directory}-{test}", "testbed": TESTBED, "cni": setup.cni,
        "target": target, "tool": f"iperf3-{proto}", "metric": "throughput_gbps",
        "published": 1.0, "units": "Gbit/s", "source": "CAL:B raw results"}
    if setup.host:
        fields["network"] = "host"
    else:
        fields["pod_mtu_bytes"] = pod_mtu_bytes
    if setup.proxy:
        fields["proxy"] = setup.proxy
    return CalibrationCase.model_validate(fields)


def _simulate(setup: Setup, test: str, pod_mtu_bytes: int) -> float:
    return float(run_case(case_for(setup, test, pod_mtu_bytes)).simulated)


def rows(repo: str) -> list[Row]:
    out = []
    for setup in SETUPS:
        udp = _run_json(repo, f"results/{setup.directory}/1/dus-client.stdout")
        assert udp is not None, setup.directory
        pod_mtu = int(udp["start"]["test_start"]["blksize"]) + IPERF3_MSS_OVERHEAD_BYTES
        for test in TESTS:
            runs = [d for r in ("1", "2", "3")
                    if (d := _run_json(repo, f"results/{setup.directory}/{r}/"
                                             f"{test}-client.stdout")) is not None
                    and "end" in d and "sum_received" in d["end"]]
            if not runs:
                continue
            ends = [d["end"] for d in runs]

            def mean(get: Callable[[dict[str, Any]], float],
                     ends: list[dict[str, Any]] = ends) -> float:
                return statistics.mean(get(e) for e in ends)

            out.append(Row(
                setup, test,
                received_gbps=mean(lambda e: e["sum_received"]["bits_per_second"] / 1e9),
                sent_gbps=mean(lambda e: e["sum_sent"]["bits_per_second"] / 1e9),
                lost_pct=mean(lambda e: e["sum_received"].get("lost_percent", 0.0)),
                client_cpu_pct=mean(lambda e: e["cpu_utilization_percent"]["host_total"]),
                server_cpu_pct=mean(lambda e: e["cpu_utilization_percent"]["remote_total"]),
                pod_mtu_bytes=pod_mtu, runs=len(runs),
                simulated_gbps=_simulate(setup, test, pod_mtu)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repo", help="the benchmark-k8s-cni-2024-01 repository (bare clone)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--json", metavar="FILE", help="write the measured rows to FILE")
    args = ap.parse_args(argv)
    table = rows(args.repo)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"source": "InfraBuilder benchmark-k8s-cni-2024-01 results/<setup>/"
                                 "<1-3>/<test>-client.stdout (iperf3 --json end), the mean "
                                 "of the runs; written by scripts/b_raw_results.py",
                       "rows": [{**asdict(r.setup), "test": r.test, "runs": r.runs,
                                 "received_gbps": round(r.received_gbps, 4),
                                 "sent_gbps": round(r.sent_gbps, 4),
                                 "lost_pct": round(r.lost_pct, 3),
                                 "client_cpu_pct": round(r.client_cpu_pct, 2),
                                 "server_cpu_pct": round(r.server_cpu_pct, 2),
                                 "pod_mtu_bytes": r.pod_mtu_bytes}
                                for r in table]}, fh, indent=1)
            fh.write("\n")
    if args.markdown:
        print("| setup | test | received Gbit/s | sent Gbit/s | lost % | client CPU % | "
              "server CPU % | kperf Gbit/s | error |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in table:
        cells = (r.setup.label, r.test, f"{r.received_gbps:.2f}", f"{r.sent_gbps:.2f}",
                 f"{r.lost_pct:.1f}", f"{r.client_cpu_pct:.0f}", f"{r.server_cpu_pct:.0f}",
                 f"{r.simulated_gbps:.2f}", f"{r.error * 100:+.1f} %")
        if args.markdown:
            print("| " + " | ".join(cells) + " |")
        else:
            print("  ".join(f"{c:>10}" if i else f"{c:<40}" for i, c in enumerate(cells)))
    for proto, tests in (("TCP", ("dts", "sts")), ("UDP", ("dus", "sus"))):
        sel = [r for r in table if r.test in tests]
        inside = sum(abs(r.error) <= 0.10 for r in sel)
        print(f"\n{proto}: {inside} of {len(sel)} rows within 10 %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
