"""Overlays on fast NICs (issue 19, item 4): kperf's per-packet overlay cost against
published measurements on 40/100 GbE-class hardware.

What the stored public text holds (docs/validation.md, "Overlays on fast NICs", has the
search and the table this module prints when run as a script):

* ONCache (Lin et al., NSDI 2025; arXiv 2305.05455): the paper's per-segment breakdown
  and its figures are not in the stored text, only its abstract. Its artifact repository
  (github.com/nothepeople/ONCache, README.md "Results") prints one run of netperf
  TCP_RR and iperf3 ``-l1M`` between two pods of Antrea v1.10.0 (Geneve;
  scripts/provision.sh), between the same pods with ONCache, and host to host ("Bare
  Metal"), Linux 5.14 on Ubuntu 20.04. The README does not name the CPU or the NIC.
* A replication of ONCache (github.com/sebastianingino/CS244-oncache,
  results/cloudlab_linux5.14_ubuntu20/*.csv, one flow): CloudLab ``c6525-100g`` nodes
  with a 100 Gbit/s link (cloudlab_manifest.xml), Linux 5.14, netperf omni RR (1-byte
  request and response) and iperf3 ``-l1m``; host ("baremetal") and Antrea pod to pod.
  The CPU model is not in the stored text.

A 1-byte TCP_RR transaction is one packet each way, so the extra time an overlay adds
to a round trip, halved, is its cost per packet on one path (both ends). kperf's cost
is what ``kperf paths`` reports for one 1-byte message on testbed C (100 GbE, Ryzen 9
3950X): the CNI's stages (veth, OVS, Geneve encap and decap) in microseconds of C's
cores. It is well below both published costs: kperf's Antrea stages were fitted to
single-stream throughput rows (CAL:A, CAL:B), where per-packet costs are paid a few
times per 128 KiB write, and no request/response row constrained them. The tests pin
that documented gap (the bands below), so that a change to the overlay stages must
revisit docs/validation.md; they are not a claim that kperf meets these rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kperf.calibration.cases import CalibrationCase
from kperf.calibration.validate import simulate_case
from kperf.cli.app import app
from kperf.cli.main import _register
from kperf.profiles import get_cni, get_testbed

_register()
runner = CliRunner()

TESTBED_C = "100g-ryzen-2021"

# (name, host TCP_RR /s, Antrea TCP_RR /s, host Gbit/s, Antrea Gbit/s, source)
PUBLISHED: dict[str, dict[str, float | str]] = {
    "oncache-artifact": {
        "host_rr_per_s": 39271.76,
        "antrea_rr_per_s": 28246.08,
        "oncache_rr_per_s": 36977.42,
        "host_gbps": 39.5,
        "antrea_gbps": 36.0,
        "oncache_gbps": 37.2,
        "source": (
            "github.com/nothepeople/ONCache README.md 'Results' (ONCache, NSDI 2025 artifact): "
            "netperf -t TCP_RR 39271.76 (Bare Metal), 28246.08 (Antrea), 36977.42 (ONCache) "
            "trans/s; iperf3 -l1M 39.5, 36.0, 37.2 Gbit/s; Antrea v1.10.0, Linux 5.14; CPU "
            "and NIC not stated"
        ),
    },
    "cs244-cloudlab": {
        "host_rr_per_s": 44521.81,
        "antrea_rr_per_s": 26799.48,
        "host_gbps": 39.348916698635854,
        "antrea_gbps": 33.2674869484156,
        "source": (
            "github.com/sebastianingino/CS244-oncache results/cloudlab_linux5.14_ubuntu20/"
            "tcp_baremetal_output.csv and tcp_k8s_output_antrea.csv, Flows 1: RR 44521.81 "
            "and 26799.48 /s, Throughput 39.35 and 33.27 Gbit/s; CloudLab c6525-100g, 100 "
            "Gbit/s link (cloudlab_manifest.xml), Linux 5.14; CPU model not in the stored text"
        ),
    },
}

# kperf's Antrea cost per packet as a fraction of the published one (documented gap,
# docs/validation.md "Overlays on fast NICs"): the band each must stay in.
GAP_BANDS: dict[str, tuple[float, float]] = {
    "oncache-artifact": (0.50, 0.75),  # 3.04 / 4.97 = 0.61
    "cs244-cloudlab": (0.30, 0.50),  # 3.04 / 7.43 = 0.41
}


def published_extra_us_per_packet(row: dict[str, float | str]) -> float:
    """Half the extra round-trip time of Antrea over the host: one 1-byte packet on one
    path, sender and receiver together, in microseconds of the published machine."""
    extra_rt_us = 1e6 / float(row["antrea_rr_per_s"]) - 1e6 / float(row["host_rr_per_s"])
    return extra_rt_us / 2


def published_rr_overhead(row: dict[str, float | str]) -> float:
    """Extra round-trip time as a fraction of the host's round trip (hardware-normalised:
    both scale with the CPU, the link latency excepted)."""
    return float(row["host_rr_per_s"]) / float(row["antrea_rr_per_s"]) - 1


def paths_stages(tmp_path: Path, cni: str, testbed: str = TESTBED_C,
                 src: str = "web-0", dst: str = "web-1") -> list[dict[str, object]]:
    """The stages ``kperf paths --json`` reports for one 1-byte message between two pods
    on different nodes (``src``/``dst`` node-N: host network)."""
    cluster = tmp_path / f"{cni}.yaml"
    cluster.write_text(yaml.safe_dump({
        "nodes": 2, "cni": cni, "proxy": "iptables",
        "deployments": [{"name": "web", "replicas": 2, "labels": {"app": "web"},
                         "placement": "spread"}],
    }), encoding="utf-8")
    res = runner.invoke(app, ["paths", str(cluster), "--from", src, "--to", dst,
                              "--testbed", testbed, "--bytes", "1", "--json"])
    assert res.exit_code == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert data["kind"] in ("cross-node", "node-to-node")
    stages: list[dict[str, object]] = data["stages"]
    return stages


def _sum_us(stages: list[dict[str, object]], categories: set[str] | None = None,
            exclude: set[str] | None = None) -> float:
    return sum(float(str(s["time_us"])) for s in stages
               if (categories is None or s["category"] in categories)
               and (exclude is None or s["category"] not in exclude))


def kperf_cni_us_per_packet(tmp_path: Path, cni: str, testbed: str = TESTBED_C) -> float:
    """The CNI's stages on one path: the pods' CPU stages less the host's (node to node)."""
    pods = _sum_us(paths_stages(tmp_path, cni, testbed), exclude={"wire"})
    host = _sum_us(paths_stages(tmp_path, cni, testbed, "node-1", "node-2"), exclude={"wire"})
    return pods - host


def _rr_case(**kw: object) -> CalibrationCase:
    data: dict[str, object] = {"name": "overlay-fast-nic", "testbed": TESTBED_C,
                               "tool": "netperf-tcp-rr", "metric": "requests_per_s",
                               "published": 1.0, "units": "transactions/s",
                               "source": "docs/validation.md Overlays on fast NICs"}
    data.update(kw)
    return CalibrationCase.model_validate(data)


# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cni", ["antrea-geneve", "flannel-vxlan", "cilium-vxlan"])
def test_paths_reports_the_profiles_overlay_stages(tmp_path: Path, cni: str) -> None:
    """What ``kperf paths`` shows is the profile's stages at C's core speed: the encap
    and decap stages (category encap) and the CNI's other stages."""
    tb, p = get_testbed(TESTBED_C), get_cni(cni)
    stages = paths_stages(tmp_path, cni)
    overlay_ref_us = sum(s.cost_us(1, 1, 1, 1) for s in p.tx_overlay + p.rx_overlay)
    all_ref_us = sum(s.cost_us(1, 1, 1, 1) for s in p.tx + p.rx + p.tx_overlay + p.rx_overlay)
    assert _sum_us(stages, {"encap"}) == pytest.approx(overlay_ref_us / tb.cpu_speed_factor,
                                                       rel=1e-9)
    assert kperf_cni_us_per_packet(tmp_path, cni) == pytest.approx(
        all_ref_us / tb.cpu_speed_factor, rel=1e-9)
    host = paths_stages(tmp_path, cni, src="node-1", dst="node-2")
    assert _sum_us(host, {"encap"}) == 0.0


def test_engine_rr_extra_is_the_paths_cost_twice(tmp_path: Path) -> None:
    """The engine's TCP_RR on C: Antrea's extra round trip over the host is the CNI cost
    ``kperf paths`` reports, once per direction (the comparison below relies on it)."""
    host = simulate_case(_rr_case(network="host"))
    antrea = simulate_case(_rr_case(cni="antrea-geneve"))
    extra_rt_us = 1e6 / antrea - 1e6 / host
    assert extra_rt_us == pytest.approx(2 * kperf_cni_us_per_packet(tmp_path, "antrea-geneve"),
                                        rel=0.03)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_antrea_per_packet_cost_against_published(tmp_path: Path, name: str) -> None:
    """kperf's Antrea cost per packet (testbed C, from ``kperf paths``) against the
    published one (derived from the row's TCP_RR, host and Antrea): kperf is lower, by
    the documented factor (GAP_BANDS; docs/validation.md "Overlays on fast NICs")."""
    row = PUBLISHED[name]
    published_us = published_extra_us_per_packet(row)
    kperf_us = kperf_cni_us_per_packet(tmp_path, "antrea-geneve")
    lo, hi = GAP_BANDS[name]
    ratio = kperf_us / published_us
    assert lo <= ratio <= hi, (
        f"{name}: kperf {kperf_us:.2f} us vs published {published_us:.2f} us per packet "
        f"(ratio {ratio:.2f}, documented band {lo}-{hi}); source: {row['source']}. "
        "Update docs/validation.md 'Overlays on fast NICs' with the new comparison")


def test_rr_overhead_normalised_by_the_host_round_trip() -> None:
    """The same comparison without the CPU: Antrea's extra round trip as a fraction of
    the host's. kperf (testbed C) is below both published rows (documented gap)."""
    host = simulate_case(_rr_case(network="host"))
    antrea = simulate_case(_rr_case(cni="antrea-geneve"))
    kperf_overhead = host / antrea - 1
    for name, row in PUBLISHED.items():
        published = published_rr_overhead(row)
        assert kperf_overhead < published, name
    # the artifact's own machine: kperf 0.29 vs 0.39 (the smaller of the two gaps)
    assert kperf_overhead / published_rr_overhead(PUBLISHED["oncache-artifact"]) == (
        pytest.approx(0.75, abs=0.1))


def test_published_numbers_are_consistent() -> None:
    """The derived per-packet costs from the stored rows, as docs/validation.md quotes
    them, and ONCache's abstract (+36 % TCP_RR over the standard overlay) against its
    own artifact's run (+31 %)."""
    assert published_extra_us_per_packet(PUBLISHED["oncache-artifact"]) == pytest.approx(
        4.97, abs=0.01)
    assert published_extra_us_per_packet(PUBLISHED["cs244-cloudlab"]) == pytest.approx(
        7.43, abs=0.01)
    art = PUBLISHED["oncache-artifact"]
    gain = float(art["oncache_rr_per_s"]) / float(art["antrea_rr_per_s"]) - 1
    assert 0.25 < gain < 0.40


def comparison_rows(tmp_path: Path) -> list[str]:
    """The markdown rows of docs/validation.md's comparison table (run this module)."""
    kperf_us = kperf_cni_us_per_packet(tmp_path, "antrea-geneve")
    stages = paths_stages(tmp_path, "antrea-geneve")
    encap_us = _sum_us(stages, {"encap"})
    host = simulate_case(_rr_case(network="host"))
    antrea = simulate_case(_rr_case(cni="antrea-geneve"))
    host_s = simulate_case(_rr_case(network="host", tool="netperf-tcp-stream",
                                    metric="throughput_gbps", units="Gbit/s"))
    antrea_s = simulate_case(_rr_case(cni="antrea-geneve", tool="netperf-tcp-stream",
                                      metric="throughput_gbps", units="Gbit/s"))
    rows = []
    for name, row in PUBLISHED.items():
        pub_us = published_extra_us_per_packet(row)
        rows.append(
            f"| {name} | {float(row['host_rr_per_s']):,.0f} | "
            f"{float(row['antrea_rr_per_s']):,.0f} | {pub_us:.2f} | "
            f"{published_rr_overhead(row):.3f} | "
            f"{float(row['antrea_gbps']) / float(row['host_gbps']):.3f} |")
    rows.append(
        f"| kperf, testbed C, antrea-geneve | {host:,.0f} | {antrea:,.0f} | "
        f"{kperf_us:.2f} (encap+decap {encap_us:.2f}) | {host / antrea - 1:.3f} | "
        f"{antrea_s / host_s:.3f} |")
    for name in PUBLISHED:
        rows.append(f"kperf / {name} per packet: "
                    f"{kperf_us / published_extra_us_per_packet(PUBLISHED[name]):.2f}")
    return rows


def trial_testbed_rows() -> list[str]:
    """docs/validation.md's trial: testbed C with a switch hop (1 us, estimated) and
    other core speeds, against the replication's host and Antrea TCP_RR rows. Not a
    catalog testbed (the replication's CPU and MTU are not documented)."""
    row = PUBLISHED["cs244-cloudlab"]
    rows = []
    for factor in (1.2, 1.3, 1.4, 1.5):
        tb = get_testbed(TESTBED_C).model_copy(
            update={"cpu_speed_factor": factor, "switch_latency_us": 1.0})
        host = simulate_case(_rr_case(network="host"), tb)
        antrea = simulate_case(_rr_case(cni="antrea-geneve"), tb)
        rows.append(f"cpu_speed_factor {factor}: host RR {host:,.0f} "
                    f"({host / float(row['host_rr_per_s']) - 1:+.1%}), Antrea RR "
                    f"{antrea:,.0f} ({antrea / float(row['antrea_rr_per_s']) - 1:+.1%})")
    return rows


if __name__ == "__main__":  # print the tables docs/validation.md shows
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        print("\n".join(comparison_rows(Path(d))))
    print("\n".join(trial_testbed_rows()))
