"""Calibration and ``kperf validate`` (issue 9).

Every case of kperf/data/calibration_cases.yaml is simulated with the real engine on
short runs and must land within its tolerance (throughput 10 %, request/response rate
15 %) or be a documented known gap that still fails (so a gap that closes is noticed).
The structure tests check that rows are met by one set of costs, not per-row
constants; the CLI tests check the exit codes (0 ok, 1 a case failed, 2 bad input).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kperf.calibration.cases import (
    DEFAULT_TOLERANCE,
    CalibrationCase,
    load_cases,
    select,
)
from kperf.calibration.fit import FIT_PARAMETERS, apply, current_value, touches
from kperf.calibration.validate import (
    all_ok,
    build_run,
    judge,
    results_table,
    run_case,
    simulate_case,
    validate,
)
from kperf.cli.app import app
from kperf.cli.main import _register
from kperf.errors import SpecError
from kperf.profiles import get_cni, get_testbed
from kperf.workloads.simulate import simulate

_register()
runner = CliRunner()

ALL_CASES = load_cases()
CASES = [c for c in ALL_CASES if c.group == "datapath"]
"""The CNI datapath cases (issue 19's gate); the mesh group (issue 21) is run by
tests/test_mesh_calibration.py."""
BY_NAME = {c.name: c for c in ALL_CASES}


def _summary(name: str, nic_factor: float = 1.0, **update: object) -> dict[str, float]:
    """A case's summary, optionally with other fields or a faster NIC."""
    case = BY_NAME[name].model_copy(update=update) if update else BY_NAME[name]
    tb, cluster, workload = build_run(case)
    if nic_factor != 1.0:
        tb = tb.model_copy(update={"nic_rate_gbps": tb.nic_rate_gbps * nic_factor})
    return simulate(tb, cluster, [workload], seed=case.seed).summary


# --------------------------------------------------------------------------------------
# Every case
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_within_tolerance_or_known_gap(case: CalibrationCase) -> None:
    r = run_case(case)
    msg = f"{case.name}: simulated {r.simulated:.4g} vs published {case.published:g} " \
          f"({r.error * 100:+.1f} %, tolerance {r.tolerance * 100:.0f} %)"
    if case.expected_fail is None:
        assert r.status == "pass", msg
    else:
        # a known gap that starts to pass should lose its expected_fail marker
        assert r.status == "known gap", msg + ": now passes; remove expected_fail"


def test_cases_file_hygiene() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in ALL_CASES}) == len(ALL_CASES)
    assert {c.group for c in ALL_CASES} == {"datapath", "mesh"}
    for c in CASES:
        assert c.source.startswith("CAL:"), c.name
        assert c.effective_tolerance == DEFAULT_TOLERANCE[c.metric], c.name
    assert DEFAULT_TOLERANCE["throughput_gbps"] == 0.10
    assert DEFAULT_TOLERANCE["requests_per_s"] == 0.15
    gaps = [c for c in CASES if c.expected_fail]
    assert len(gaps) <= len(CASES) // 5, "keep known gaps few"
    for c in gaps:
        assert len(c.expected_fail or "") > 80, f"{c.name}: say why the model cannot meet it"


# --------------------------------------------------------------------------------------
# The model's structure, not only its constants
# --------------------------------------------------------------------------------------


def test_same_vxlan_costs_give_line_rate_at_8950_and_cpu_bound_at_1450() -> None:
    flannel, canal = get_cni("flannel-vxlan"), get_cni("canal")
    assert flannel.tx_overlay[0] is canal.tx_overlay[0]  # one vxlan-encap stage object
    assert flannel.rx_overlay[0] is canal.rx_overlay[0]  # one vxlan-decap stage object
    big = _summary("a-flannel-vxlan-tcp")
    small = _summary("a-canal-tcp")
    # MTU 8950: the wire is the bottleneck (a 10x faster NIC would carry more) ...
    assert big["link_utilisation_max"] > 0.97
    assert _summary("a-flannel-vxlan-tcp", nic_factor=10)["throughput_gbps"] > (
        1.3 * big["throughput_gbps"])
    # ... MTU 1450: a core is (a faster NIC changes nothing)
    assert small["cpu_cores_busy_max"] > 0.97
    assert _summary("a-canal-tcp", nic_factor=10)["throughput_gbps"] == pytest.approx(
        small["throughput_gbps"], rel=0.02)
    # and Flannel at Canal's MTU is CPU bound too (same VXLAN costs, more packets)
    flannel_small = _summary("a-flannel-vxlan-tcp", pod_mtu_bytes=1450)
    assert flannel_small["throughput_gbps"] < 0.92 * big["throughput_gbps"]


def test_same_calico_ipip_profile_at_small_and_large_mtu() -> None:
    small = run_case(BY_NAME["a-calico-ipip-tcp"])
    assert small.status == "pass"
    # the same fitted profile at the largest IP-in-IP MTU on testbed A (9000 - 20) is
    # wire bound, as every large-MTU A row is
    large = _summary("a-calico-ipip-tcp", pod_mtu_bytes=8980)
    assert large["throughput_gbps"] > 9.5
    assert large["link_utilisation_max"] > 0.97
    # Calico's policy stages are one set of objects across its modes and testbeds
    ipip, bgp, wg = get_cni("calico-ipip"), get_cni("calico-bgp"), get_cni("calico-wireguard")
    assert ipip.tx == bgp.tx == wg.tx and all(a is b for a, b in zip(ipip.rx, bgp.rx,
                                                                     strict=True))
    for name in ("a-calico-ipip-udp", "b-calico-iptables-tcp", "c-calico-tcp-stream",
                 "c-calico-tcp-rr", "a-calico-wireguard-udp", "b-calico-wireguard-tcp"):
        assert run_case(BY_NAME[name]).status == "pass", name


def test_testbed_c_rr_rows_differ_only_by_cni_stages() -> None:
    """Node to node, Cilium and Calico TCP_RR on C share every host cost: the extra
    round-trip time of a CNI is exactly its own stages, twice (request and response)."""
    tb = get_testbed("100g-ryzen-2021")
    rate = {n: simulate_case(BY_NAME[n]) for n in
            ("c-node-to-node-tcp-rr", "c-cilium-ebpf-tcp-rr", "c-calico-tcp-rr")}
    base_us = 1e6 / rate["c-node-to-node-tcp-rr"]
    for cni, name in (("cilium-native", "c-cilium-ebpf-tcp-rr"),
                      ("calico-bgp", "c-calico-tcp-rr")):
        p = get_cni(cni)
        one_way_us = sum(s.cost_us(1, 1, 1, 1) for s in p.tx + p.rx) / tb.cpu_speed_factor
        extra_us = 1e6 / rate[name] - base_us
        assert extra_us == pytest.approx(2 * one_way_us, rel=0.03), cni


def test_weave_tcp_and_udp_from_one_set_of_stages() -> None:
    weave = get_cni("weave-fastdp")
    tcp, udp = run_case(BY_NAME["a-weave-fastdp-tcp"]), run_case(BY_NAME["a-weave-fastdp-udp"])
    assert tcp.status == udp.status == "pass"
    assert weave.tunnel_offload  # GSO up to the OVS vport: TCP and UDP differ per segment


def test_encryption_costs_transfer_and_testbed_factors_say_where_not() -> None:
    """Issue 19: the per-byte part of encryption is the cipher's published cost. AES-GCM
    ESP needs no factor on C (5.10), where it meets C's two MTUs, and nearly none on B
    (Linux 5.15: 0.825 since B's host costs come from its own raw runs); A's 4.15 runs it
    ~10x slower (its crypto_speed_factors). WireGuard's per-byte factors are the cores
    its crypto was measured to spread over."""
    a, b, c = (get_testbed(n) for n in ("10g-xeon-2015", "40g-xl710-2024", "100g-ryzen-2021"))
    assert 0.75 <= b.crypto_speed_factors["esp-encrypt per byte"] <= 1.0
    assert "esp-encrypt per byte" not in c.crypto_speed_factors
    assert a.crypto_speed_factors["esp-encrypt per byte"] < 0.2
    for name in ("a-cilium-ipsec-tcp", "b-cilium-ipsec-tcp",
                 "c-cilium-ipsec-tcp-stream-mtu1500", "c-cilium-ipsec-tcp-stream-mtu9000"):
        assert run_case(BY_NAME[name]).status == "pass", name
    # a factor on one cipher's stages does not touch the other cipher on the same testbed
    wg = BY_NAME["a-calico-wireguard-tcp"]
    no_esp = a.model_copy(update={"crypto_speed_factors": {
        k: v for k, v in a.crypto_speed_factors.items() if not k.startswith("esp-")}})
    assert simulate_case(wg, no_esp) == pytest.approx(simulate_case(wg), rel=1e-9)


def test_testbed_mtu_override(tmp_path: Path) -> None:
    small, large = (BY_NAME[f"c-cilium-wireguard-tcp-stream-mtu{m}"] for m in (1500, 9000))
    for case, mtu in ((small, 1500), (large, 9000)):
        tb, _cluster, _ = build_run(case)
        assert tb.mtu_bytes == mtu
        assert case.testbed_mtu_bytes == mtu
    bad = _write_cases(tmp_path, [_case_dict("c-cilium-wireguard-tcp-stream-mtu1500",
                                             pod_mtu_bytes=8000)])
    with pytest.raises(SpecError, match=r"pod_mtu_bytes.*testbed_mtu_bytes \(1500\)"):
        load_cases(bad)


# --------------------------------------------------------------------------------------
# The check can fail
# --------------------------------------------------------------------------------------


def test_a_wrong_published_value_fails() -> None:
    good = BY_NAME["c-calico-tcp-rr"]
    wrong = good.model_copy(update={"name": "invented", "published": good.published * 1.5})
    results = validate([good, wrong])
    assert [r.status for r in results] == ["pass", "fail"]
    assert not all_ok(results)
    table = results_table(results)
    assert list(table.status) == ["pass", "fail"]
    assert table.error_pct.iloc[1] == pytest.approx(-100 / 3, abs=1.0)


def test_known_gap_that_passes_is_flagged() -> None:
    case = BY_NAME["c-calico-tcp-rr"].model_copy(update={"expected_fail": "pretend"})
    r = judge(case, case.published)
    assert r.status == "known gap (now passes)" and r.ok
    assert judge(case, math.nan).error == math.inf


# --------------------------------------------------------------------------------------
# The fitting code
# --------------------------------------------------------------------------------------


def test_fit_parameters_resolve_and_touch_their_rows() -> None:
    for p in FIT_PARAMETERS:
        values = [current_value(t) for t in p.targets]
        assert len(set(values)) == 1, f"{p.name}: tied targets differ: {values}"
        assert p.lower <= values[0] <= p.upper, p.name
        for row in p.rows:
            assert row in BY_NAME, f"{p.name}: unknown row {row}"
            assert touches(p, BY_NAME[row]), f"{p.name} does not affect {row}"
    # applying the current values changes nothing
    cat = apply({t: current_value(t) for p in FIT_PARAMETERS for t in p.targets})
    assert cat.cnis["canal"] == get_cni("canal")
    assert cat.testbeds["40g-xl710-2024"] == get_testbed("40g-xl710-2024")


# --------------------------------------------------------------------------------------
# Cases files and the CLI
# --------------------------------------------------------------------------------------


def _write_cases(tmp_path: Path, cases: list[dict[str, object]]) -> Path:
    p = tmp_path / "cases.yaml"
    p.write_text(yaml.safe_dump({"cases": cases}), encoding="utf-8")
    return p


def _case_dict(name: str, **update: object) -> dict[str, object]:
    d = BY_NAME[name].model_dump(exclude_defaults=True)
    d.update(update)
    return d


def test_cli_one_case_and_json() -> None:
    res = runner.invoke(app, ["validate", "--case", "c-calico-tcp-rr"])
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "c-calico-tcp-rr" in res.stdout and "pass" in res.stdout
    assert "CAL:C" in res.stdout and "transactions/s" in res.stdout
    res = runner.invoke(app, ["validate", "--json", "--case", "c-calico-tcp-rr"])
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    row = data["cases"][0]
    assert data["ok"] is True
    assert {"name", "setup", "published", "units", "source", "simulated", "error_pct",
            "tolerance", "status"} <= set(row)
    assert row["status"] == "pass" and abs(row["error_pct"]) <= 15


def test_cli_unknown_case_is_one_line_exit_2() -> None:
    res = runner.invoke(app, ["validate", "--case", "no-such-case"])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no-such-case" in lines[0] and "a-flannel-vxlan-tcp" in lines[0]


def test_cli_user_cases_file_exit_codes(tmp_path: Path) -> None:
    ok = _write_cases(tmp_path, [_case_dict("c-cilium-ebpf-tcp-rr")])
    assert runner.invoke(app, ["validate", "--cases", str(ok)]).exit_code == 0
    wrong = _write_cases(tmp_path, [_case_dict("c-cilium-ebpf-tcp-rr", published=90000)])
    res = runner.invoke(app, ["validate", "--cases", str(wrong)])
    assert res.exit_code == 1
    assert "fail" in res.stdout and "1 of 1" in res.stderr
    gap = _write_cases(tmp_path, [_case_dict("c-node-to-node-tcp-crr")])
    res = runner.invoke(app, ["validate", "--cases", str(gap)])
    assert res.exit_code == 0 and "known gap" in res.stdout


def test_bad_cases_file_names_the_field(tmp_path: Path) -> None:
    bad = _write_cases(tmp_path, [_case_dict("c-calico-tcp-rr", testbed="no-such-testbed")])
    with pytest.raises(SpecError, match=r"cases\.0\.testbed.*allowed"):
        load_cases(bad)
    res = runner.invoke(app, ["validate", "--cases", str(bad)])
    assert res.exit_code == 2
    assert len(res.stderr.strip().splitlines()) == 1
    with pytest.raises(SpecError, match="unknown case"):
        select(CASES, "nope")
    typo = _write_cases(tmp_path, [_case_dict("c-calico-tcp-rr", workload={"outstandin": 2})])
    with pytest.raises(SpecError, match=r"cases\.0\.workload\.outstandin.*allowed"):
        load_cases(typo)


def test_cli_counts_each_group(tmp_path: Path) -> None:
    """A file with datapath and mesh cases: the table's footer counts each group and the
    total (neither hides the other); --json has the same counts."""
    both = _write_cases(tmp_path, [_case_dict("c-calico-tcp-rr"),
                                   _case_dict("mesh-istio124-sidecar-cpu"),
                                   _case_dict("mesh-istio1134-sidecar-added-p90")])
    res = runner.invoke(app, ["validate", "--cases", str(both)])
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "datapath (CNI datapath, issue 19): 1 cases, 1 pass" in res.stdout
    assert "mesh (service mesh, issue 21): 2 cases, 1 pass (50 % pass), 0 fail, 1 known" \
        in res.stdout
    assert "total: 3 cases, 2 pass" in res.stdout
    data = json.loads(runner.invoke(app, ["validate", "--json", "--cases", str(both)]).stdout)
    assert data["groups"]["mesh"] == {"cases": 2, "pass": 1, "fail": 0, "known gap": 1}
    assert data["groups"]["total"]["cases"] == 3
    assert [r["group"] for r in data["cases"]] == ["datapath", "mesh", "mesh"]


def test_mesh_case_fields_are_checked(tmp_path: Path) -> None:
    """A mesh metric needs a mesh; proxy_vcpu_per_krps needs mesh_proxy; ratio metrics
    need ratio_to; the mesh itself is checked as cluster.mesh is (one-line errors naming
    the field)."""
    base = _case_dict("mesh-istio124-sidecar-cpu")
    for update, field in (({"mesh": None}, "mesh"),
                          ({"mesh_proxy": None}, "mesh_proxy"),
                          ({"mesh": {"mode": "istio-ambient", "istio_release": "1.8"}},
                           "mesh.istio_release"),
                          ({"mesh": {"mode": "cilium-mesh"}}, "mesh.mode"),
                          ({"ratio_to": {"mode": "linkerd"}}, "ratio_to"),
                          ({"tool": "iperf3-tcp"}, "workload.rate_per_s")):
        d = {k: v for k, v in {**base, **update}.items() if v is not None}
        if update.get("tool") == "iperf3-tcp":
            d["workload"] = {"rate_per_s": 5}
        bad = _write_cases(tmp_path, [d])
        with pytest.raises(SpecError) as exc:
            load_cases(bad)
        assert exc.value.path.endswith(f"cases.0.{field}"), (update, exc.value)
        res = runner.invoke(app, ["validate", "--cases", str(bad)])
        assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1


def test_mesh_added_latency_runs_the_baseline() -> None:
    """added_latency_p90_us is the meshed run's P90 minus the same case's with no mesh."""
    from kperf.calibration.validate import _baseline, _run

    case = BY_NAME["mesh-istio1134-sidecar-added-p90"]
    meshed = _run(case).summary["latency_p90_us"]
    plain = _baseline(case)["latency_p90_us"]
    assert simulate_case(case) == pytest.approx(meshed - plain)
    assert 0 < plain < meshed
