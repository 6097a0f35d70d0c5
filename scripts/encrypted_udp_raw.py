"""What testbed A's raw runs say about UDP through kernel ESP (issue 19's four known gaps).

Reads InfraBuilder's benchmark-k8s-cni-2020-08 repository (a bare git clone; each run's
``.knbdata`` is a tar.gz of knb's data folder: the iperf3 client log, and per pod the
client and server CPU averages, ``user nice system iowait steal`` in % of all 8 threads,
softirq and irq not included) and prints, per CNI and test, the mean of the three runs:
the rate iperf3's sender wrote, the rate its receiver got, the fraction delivered, and
the client's and server's CPU in threads (1 thread = 12.5 %) above the idle pod's run.

    python scripts/encrypted_udp_raw.py /work/.mirror/InfraBuilder+benchmark-k8s-cni-2020-08/repo

The numbers in the four ``expected_fail`` reasons (kperf/data/calibration_cases.yaml)
and in docs/validation.md's known gaps come from this output.
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import subprocess
import tarfile

RESULT_DIRS = (
    "tuning-cilium-encryption",
    "tuning-weavenet-mtu-encryption",
    "doc-cilium",
    "tuning-weavenet-mtu",
)
TESTS = ("tcp-p2p", "udp-p2p", "tcp-p2s", "udp-p2s")
THREAD_PCT = 100.0 / 8  # testbed A: 4 cores, 8 threads
_RATE = re.compile(r"([\d.]+) Mbits/sec")


def _member(tar: tarfile.TarFile, pattern: str) -> str:
    names = [n for n in tar.getnames() if re.search(pattern, n)]
    if len(names) != 1:
        raise SystemExit(f"expected one file matching {pattern!r}, found {names}")
    data = tar.extractfile(names[0])
    assert data is not None
    return data.read().decode()


def _cpu_pct(avg_text: str) -> float:
    """user + nice + system + iowait + steal (knb's .avg file, second line)."""
    return sum(float(v) for v in avg_text.splitlines()[1].split()[:5])


def _rates_mbps(log_text: str) -> tuple[float, float]:
    """iperf3's summary: (sender, receiver) Mbit/s."""
    lines = [ln for ln in log_text.splitlines() if ln.rstrip().endswith(("sender", "receiver"))]
    sender = next(ln for ln in lines if ln.rstrip().endswith("sender"))
    receiver = next(ln for ln in lines if ln.rstrip().endswith("receiver"))
    return _mbps(sender), _mbps(receiver)


def _mbps(line: str) -> float:
    match = _RATE.search(line)
    if match is None:
        raise SystemExit(f"no Mbits/sec in iperf3 line {line!r}")
    return float(match.group(1))


def run_rows(repo: str, result_dir: str, run: int) -> dict[str, tuple[float, ...]]:
    name = f"{result_dir}.u18.04-default"
    blob = subprocess.run(
        ["git", "-C", repo, "show", f"HEAD:results/{name}/{name}-run{run}.knbdata"],
        check=True, capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        idle_client = _cpu_pct(_member(tar, r"idle-\d+-client\.avg$"))
        idle_server = _cpu_pct(_member(tar, r"idle-\d+-server\.avg$"))
        rows: dict[str, tuple[float, ...]] = {}
        for test in TESTS:
            sent, received = _rates_mbps(_member(tar, rf"{test}-\d+\.log$"))
            client = _cpu_pct(_member(tar, rf"{test}-\d+-client\.avg$"))
            server = _cpu_pct(_member(tar, rf"{test}-\d+-server\.avg$"))
            rows[test] = (
                sent, received, received / sent,
                (client - idle_client) / THREAD_PCT, (server - idle_server) / THREAD_PCT,
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "repo", help="bare git repository of InfraBuilder/benchmark-k8s-cni-2020-08")
    args = parser.parse_args()
    print("| results | test | sent Mbit/s (runs) | received Mbit/s | delivered "
          "| client threads above idle | server threads above idle |")
    print("|---|---|---|---|---|---|---|")
    for result_dir in RESULT_DIRS:
        runs = [run_rows(args.repo, result_dir, run) for run in (1, 2, 3)]
        for test in TESTS:
            per_run = [r[test] for r in runs]
            mean = [statistics.mean(col) for col in zip(*per_run, strict=True)]
            sent_runs = " / ".join(f"{r[0]:.0f}" for r in per_run)
            print(f"| {result_dir} | {test} | {mean[0]:.0f} ({sent_runs}) | {mean[1]:.0f} "
                  f"| {mean[2]:.3f} | {mean[3]:.2f} | {mean[4]:.2f} |")


if __name__ == "__main__":
    main()
