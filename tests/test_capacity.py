"""Capacity planning: SLO parsing, the search, nodes needed, the reverse question, the
CLI, and a known answer — an M/M/1 server simulated by kperf, whose p99 sojourn time
is ln(100) / (mu - lambda), so the highest rate meeting a p99 target is computable.

Most tests use an analytic stand-in for ``simulate`` (exact M/M/1 formulas, no
noise) so the pipeline is checked exactly and fast; one test runs real simulations.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kperf.analysis.capacity import (
    load_plan,
    nodes_needed,
    parse_slo,
    plan_capacity,
    search_highest,
)
from kperf.cli.app import app
from kperf.cli.main import _register
from kperf.errors import SpecError
from kperf.workloads.result import RunResult

_register()
runner = CliRunner()

LN100 = math.log(100)
MU = {"flannel-vxlan": 8000.0, "calico-bgp": 10000.0}
"""Service rate (requests/s) of each server pod in the analytic stand-in, per CNI."""


def experiment(cnis: list[str] | None = None, rate: float = 2000.0) -> dict[str, Any]:
    """4 nodes, 4 client and 4 server pods (spread), open-loop http to the servers."""
    return {
        "name": "plan-test", "seed": 3, "replications": 3,
        "cluster": {"nodes": 4, "deployments": [
            {"name": "client", "replicas": 4}, {"name": "server", "replicas": 4}]},
        "workload": {"kind": "http", "target": "server", "rate_per_s": rate},
        "sweep": {"cluster.cni": cnis or ["flannel-vxlan", "calico-bgp"]},
    }


class AnalyticMM1:
    """``simulate`` stand-in: every server pod is an M/M/1 queue with rate MU[cni]."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, int]] = []

    def __call__(self, testbed: Any, cluster: Any, workloads: Any, seed: int,
                 keep_samples: bool = False) -> RunResult:
        if cluster.cni not in MU:
            raise RuntimeError(f"no server model for {cluster.cni}")
        reps = {d.name: d.replicas for d in cluster.deployments}
        lam = workloads[0].rate_per_s * reps["client"] / reps["server"]
        mu = MU[cluster.cni]
        self.calls.append((cluster.cni, workloads[0].rate_per_s, seed))
        p99 = LN100 / (mu - lam) * 1e6 if lam < mu else 1e9
        mean = 1 / (mu - lam) * 1e6 if lam < mu else 1e9
        return RunResult(summary={"latency_p99_us": p99, "latency_mean_us": mean,
                                  "completed": 1000, "failed": 0})


def analytic_rate(mu: float, p99_us: float) -> float:
    """The arrival rate at which an M/M/1 queue's p99 sojourn time is ``p99_us``."""
    return mu - LN100 / (p99_us * 1e-6)


# --------------------------------------------------------------------------- SLOs


@pytest.mark.parametrize(("text", "metric", "op", "us"), [
    ("p99<=2ms", "latency_p99_us", "<=", 2000.0),
    ("p50<500us", "latency_p50_us", "<", 500.0),
    ("p999<=10ms", "latency_p999_us", "<=", 10000.0),
    ("p99.9<=1s", "latency_p999_us", "<=", 1e6),
    ("mean<=1ms", "latency_mean_us", "<=", 1000.0),
    (" P90 <= 250 µs ", "latency_p90_us", "<=", 250.0),
    ("max<1.5e3ns", "latency_max_us", "<", 1.5),
])
def test_parse_slo(text: str, metric: str, op: str, us: float) -> None:
    slo = parse_slo(text)
    assert (slo.metric, slo.op) == (metric, op)
    assert slo.threshold_us == pytest.approx(us)
    assert slo.holds(us * 0.99) and not slo.holds(us * 1.01)
    assert slo.holds(us) == (op == "<=")
    assert parse_slo(str(slo)) == slo


@pytest.mark.parametrize("text", ["p99=2ms", "p98<=2ms", "p99<=2", "p99<=-1ms", "",
                                  "p99<=0ms", "p99>=2ms", "latency<=2ms"])
def test_bad_slo_is_a_one_line_spec_error(text: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_slo(text)
    assert info.value.path == "--slo"
    assert "\n" not in str(info.value)


def test_bad_slo_on_the_command_line_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["plan", str(tmp_path / "missing.yaml"), "--slo", "p99=2ms"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("kperf: error: --slo: got 'p99=2ms'; allowed:")


# --------------------------------------------------------------------------- search


@pytest.mark.parametrize("start", [0.1, 1.0, 7.3, 500.0])
def test_search_brackets_then_bisects(start: float) -> None:
    res = search_highest(lambda x: x <= 7.3, start, rel_tol=0.01)
    assert res.bounded
    assert res.passed is not None and res.failed is not None
    assert res.passed <= 7.3 < res.failed
    assert res.failed - res.passed <= 0.01 * res.failed
    assert res.passed >= 7.3 * 0.99


def test_search_reports_unbounded_sides() -> None:
    never = search_highest(lambda x: False, 1.0, max_expand=4)
    assert never.passed is None and never.failed == pytest.approx(1 / 16)
    always = search_highest(lambda x: True, 1.0, max_expand=4)
    assert always.passed == pytest.approx(16.0) and always.failed is None
    assert always.steps == 5


def test_nodes_needed() -> None:
    assert nodes_needed(200_000, 4000) == 50
    assert nodes_needed(200_000, 3000) == 67
    assert math.isnan(nodes_needed(200_000, 0.0))


# --------------------------------------------------------------------------- plans


def test_plan_ranks_modes_and_counts_nodes_exactly() -> None:
    fake = AnalyticMM1()
    plan = plan_capacity(experiment(), "p99<=2ms", target_rps=120_000, simulate_fn=fake,
                         rel_tol=0.01)
    t = plan.table
    assert t["config"].tolist() == ["calico-bgp", "flannel-vxlan"]  # ranked best first
    assert t["rank"].tolist() == [1, 2]
    for row in t.to_dict("records"):
        exact = analytic_rate(MU[row["config"]], 2000.0)
        # 4 clients and 4 servers on 4 nodes: per-client rate = per-node load = lambda*
        assert exact * 0.99 <= row["rate_per_client_per_s"] <= exact
        assert row["capacity_per_node_rps"] == pytest.approx(row["rate_per_client_per_s"])
        assert row["capacity_rps"] == pytest.approx(4 * row["rate_per_client_per_s"])
        assert row["nodes_needed"] == math.ceil(120_000 / row["capacity_per_node_rps"])
        assert row["bounded"] and row["note"] == ""
        assert row["metric_upper_us"] <= 2000.0
    assert t["nodes_needed"].tolist() == [16, 22]  # 120000/7697 = 15.6, 120000/5697 = 21.1
    assert plan.answer().startswith("Best: calico-bgp needs 16 nodes for 120,000 requests/s")
    assert "95%" in plan.confidence_statement() and "3 replications" in (
        plan.confidence_statement())
    # Common random numbers: every load of a configuration uses the same 3 seeds.
    seeds: dict[tuple[str, float], list[int]] = {}
    for cni, rate, seed in fake.calls:
        seeds.setdefault((cni, rate), []).append(seed)
    for cni in MU:
        per_load = [tuple(v) for (c, _), v in seeds.items() if c == cni]
        assert len(per_load) > 3 and len(set(per_load)) == 1 and len(set(per_load[0])) == 3
    probes = plan.probes
    assert set(probes["config"]) == {"calico-bgp", "flannel-vxlan"}
    assert probes["meets_slo"].any() and (~probes["meets_slo"]).any()


def test_reverse_plan_resizes_the_cluster() -> None:
    plan = plan_capacity(experiment(["calico-bgp"]), "p99<=2ms", nodes=8,
                         simulate_fn=AnalyticMM1(), rel_tol=0.01)
    (row,) = plan.table.to_dict("records")
    exact = analytic_rate(MU["calico-bgp"], 2000.0)
    assert row["nodes"] == 8 and row["clients"] == 8  # replicas scaled with the nodes
    assert exact * 8 * 0.99 <= row["max_total_rps"] <= exact * 8
    assert plan.answer().startswith("Best: calico-bgp carries")
    assert "on 8 nodes" in plan.answer()


def test_a_mode_that_never_meets_the_slo_ranks_last() -> None:
    plan = plan_capacity(experiment(["cilium-native", "calico-bgp"]), "p99<=2ms",
                         target_rps=50_000, simulate_fn=AnalyticMM1(), max_expand=3)
    last = plan.table.iloc[-1]
    assert last["config"] == "cilium-native"
    assert last["capacity_per_node_rps"] == 0 and math.isnan(last["nodes_needed"])
    assert "SLO not met at any load tried" in last["note"]
    assert "RuntimeError" in last["note"]


def test_plan_needs_an_open_loop_workload() -> None:
    exp = experiment()
    exp["workload"] = {"kind": "rr", "target": "server"}
    with pytest.raises(SpecError, match="open-loop"):
        plan_capacity(exp, "p99<=2ms", simulate_fn=AnalyticMM1())


def test_plan_save_and_load_round_trip(tmp_path: Path) -> None:
    plan = plan_capacity(experiment(), "p99<=2ms", target_rps=120_000,
                         simulate_fn=AnalyticMM1(), replications=2)
    paths = plan.save(tmp_path)
    names = {p.name for p in paths}
    assert {"plan.csv", "plan_probes.csv", "plan.json", "plan.md", "capacity.png",
            "capacity.svg"} <= names
    loaded = load_plan(tmp_path)
    assert loaded is not None
    assert loaded.table["config"].tolist() == plan.table["config"].tolist()
    assert loaded.answer() == plan.answer()
    md = (tmp_path / "plan.md").read_text()
    assert md.startswith("## Capacity planning") and plan.answer() in md


def test_kperf_plan_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    monkeypatch.setattr("kperf.workloads.simulate.simulate", AnalyticMM1())
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump(experiment()))
    out = tmp_path / "plan"
    result = runner.invoke(app, ["plan", str(exp), "--slo", "p99<=2ms", "--target-rps",
                                 "120000", "--tolerance", "0.01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Best: calico-bgp needs 16 nodes" in result.stdout
    assert "95% Student-t" in result.stdout
    assert "meets p99<=2ms" in result.stderr  # one progress line per load tried
    for name in ("plan.csv", "plan.json", "plots/capacity.png", "report.md", "report.html"):
        assert (out / name).exists(), name
    bad = runner.invoke(app, ["plan", str(exp), "--slo", "p99<=2ms", "--nodes", "0"])
    assert bad.exit_code == 2 and bad.stderr.startswith("kperf: error: --nodes")


# --------------------------------------------------------------------------- known answer

MM1_EXPERIMENT: dict[str, Any] = {
    # One client pod sends open-loop (Poisson) HTTP requests to one server pod with one
    # app worker and exponential service times (mean 100 µs, mu = 10,000/s); CPUs are
    # 1000x faster and links have no delay, so the network adds < 1 µs: an M/M/1 queue.
    "name": "mm1", "seed": 11, "replications": 8,
    "testbed": {"base": "10g-xeon-2015", "cpu_speed_factor": 1000.0, "link_delay_us": 0.0,
                "switch_latency_us": 0.0},
    "cluster": {"nodes": 2, "cni": "calico-bgp", "deployments": [
        {"name": "client", "replicas": 1, "placement": "node-1"},
        {"name": "server", "replicas": 1, "placement": "node-2", "app_workers": 1}]},
    "workload": {"kind": "http", "target": "server", "rate_per_s": 6000,
                 "request_bytes": {"dist": "fixed", "mean": 100},
                 "response_bytes": {"dist": "fixed", "mean": 100},
                 "service_us": {"dist": "exponential", "mean": 100},
                 "warmup_s": 0.05, "duration_s": 0.5},
}
KNOWN_ANSWER_TOLERANCE = 0.10


@pytest.mark.slow
def test_known_answer_mm1_p99() -> None:
    """p99 <= 5 ms on M/M/1 with mu = 10,000/s: lambda* = mu - ln(100)/5 ms = 9,079/s.

    8 replications of 0.5 s per load; the upper 95 % bound makes the answer
    conservative, so it must lie within 10 % below (at most 3 % above) the analytic one.
    """
    plan = plan_capacity(MM1_EXPERIMENT, "p99<=5ms", target_rps=100_000)
    (row,) = plan.table.to_dict("records")
    exact = analytic_rate(10_000.0, 5000.0)
    found = row["rate_per_client_per_s"]
    assert exact == pytest.approx(9079.0, abs=1)
    assert abs(found - exact) / exact <= KNOWN_ANSWER_TOLERANCE, (found, exact)
    assert found <= exact * 1.03
    assert row["metric_upper_us"] <= 5000.0
    assert row["nodes_needed"] == math.ceil(100_000 / row["capacity_per_node_rps"])
