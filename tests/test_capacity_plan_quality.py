"""Capacity plans, issue #20: the bottleneck and utilisation at capacity, the node
count's uncertainty bracket, a search that never reports a capacity above a load seen
to miss the SLO, the report's hint (a command that works, or why there is none), and
plans saved by an older kperf.

Stubs stand in for ``simulate`` (exact and fast); one test runs the report's hint
for real on a tiny open-loop experiment.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from kperf.analysis.capacity import (
    EXAMPLE_PLAN,
    display_table,
    geometric_lower_us,
    load_plan,
    plan_capacity,
    plan_hint,
    resource_utilisation,
    search_highest,
    settle,
    suggest_slo,
)
from kperf.analysis.report import write_report
from kperf.cli.app import app
from kperf.cli.main import _register
from kperf.errors import SpecError
from kperf.workloads.result import RunResult
from tests.test_capacity import LN100, AnalyticMM1, experiment

_register()
runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _resources(rows: list[tuple[str, int, int, str, float]]) -> pd.DataFrame:
    """A ``resources`` table (as ``Simulation.resources_df``) from (kind, index, unit,
    name, utilisation) rows."""
    return pd.DataFrame(
        [(k, i, u, n, util * 0.1, util, 100, 0) for k, i, u, n, util in rows],
        columns=["resource", "index", "unit", "name", "busy_s", "utilisation", "served",
                 "dropped"])


class KnownBottleneck:
    """M/M/1 latency (as :class:`AnalyticMM1`, mu = 10,000/s) and a resources table
    whose utilisations are known functions of the per-client rate ``r``:

    - calico-bgp: the server pods' app workers, r / 10,000 on ``server-1``, half that on
      ``server-0``: the bottleneck;
    - flannel-vxlan: the NIC of node 2, r / 9,000: the bottleneck (app as calico);
    - both: CPU cores of node 1 at r / 40,000 and r / 20,000 (core 1 the busiest; the
      node's mean r / 26,667), switch port 1 at r / 50,000, ``cpu:app`` at 3 cores
      (a split, not a resource: never the bottleneck).
    """

    def __call__(self, testbed: Any, cluster: Any, workloads: Any, seed: int) -> RunResult:
        r = float(workloads[0].rate_per_s)
        mu = 10_000.0
        p99 = LN100 / (mu - r) * 1e6 if r < mu else 1e9
        rows = [
            ("cpu", 0, 0, "node-1 core 0", r / 40_000),
            ("cpu", 0, 1, "node-1 core 1", r / 20_000),
            ("cpu", 1, 0, "node-2 core 0", r / 80_000),
            ("cpu", 1, 1, "node-2 core 1", 0.0),
            ("nic", 1, 0, "nic 2", r / 9_000 if cluster.cni == "flannel-vxlan" else 0.01),
            ("port", 0, 0, "port 1", r / 50_000),
            ("app", 7, 0, "server-0 app", r / 20_000),
            ("app", 8, 0, "server-1 app", r / 10_000),
            ("cpu:app", 1, 0, "node-2 app", 3.0),
        ]
        return RunResult(summary={"latency_p99_us": p99, "completed": 1000, "failed": 0},
                         resources=_resources(rows))


def test_resource_classes_of_one_run() -> None:
    util = resource_utilisation(KnownBottleneck()(None, _Cluster("calico-bgp"), [_Wl(5000)],
                                                  1).resources)
    assert util["app"] == (pytest.approx(0.5), "server-1 app")
    assert util["cpu_core"] == (pytest.approx(0.25), "node-1 core 1")
    # node-1's two cores: (0.125 + 0.25) / 2
    assert util["cpu_node"] == (pytest.approx(0.1875), "node-1")
    assert util["nic"][1] == "nic 2" and util["port"] == (pytest.approx(0.1), "port 1")
    assert "cpu_app" not in util and not any(c.startswith("cpu:") for c in util)
    assert resource_utilisation(pd.DataFrame()) == {}
    spine = _resources([("uplink", 0, 0, "uplink 1", 0.2), ("spine", 1, 0, "spine 2", 0.3),
                        ("tunnel", 0, 0, "tunnel 1", 0.1)])
    assert resource_utilisation(spine) == {"uplink": (pytest.approx(0.3), "spine 2"),
                                           "tunnel": (pytest.approx(0.1), "tunnel 1")}


class _Cluster:
    def __init__(self, cni: str) -> None:
        self.cni = cni


class _Wl:
    def __init__(self, rate: float) -> None:
        self.rate_per_s = rate


def test_bottleneck_and_utilisation_at_capacity() -> None:
    plan = plan_capacity(experiment(["calico-bgp", "flannel-vxlan"]), "p99<=2ms",
                         target_rps=120_000, simulate_fn=KnownBottleneck(), rel_tol=0.01)
    rows = {r["config"]: r for r in plan.table.to_dict("records")}
    for cfg, row in rows.items():
        r = row["rate_per_client_per_s"]  # the probe that defines the capacity
        assert row["util_app"] == pytest.approx(r / 10_000)
        assert row["util_cpu_core"] == pytest.approx(r / 20_000)
        assert row["util_cpu_node"] == pytest.approx(r / 20_000 * 0.75)
        assert row["util_port"] == pytest.approx(r / 50_000)
        assert math.isnan(row["util_uplink"])  # no such resource in these runs
        if cfg == "calico-bgp":
            assert (row["bottleneck"], row["bottleneck_name"]) == ("app", "server-1 app")
            assert row["bottleneck_utilisation"] == pytest.approx(r / 10_000)
        else:
            assert (row["bottleneck"], row["bottleneck_name"]) == ("nic", "nic 2")
            assert row["bottleneck_utilisation"] == pytest.approx(r / 9_000)
            assert row["util_nic"] == pytest.approx(r / 9_000)
    # Same latency for both: ranked by capacity, then in sweep order.
    assert plan.answer().startswith("Best: calico-bgp needs ")
    assert ("limited by the app workers of the server pods (busiest: server-1), "
            f"{rows['calico-bgp']['rate_per_client_per_s'] / 10_000:.0%} busy at capacity."
            ) in plan.answer()
    headers, cells = display_table(plan)
    assert "bottleneck at capacity" in headers and "utilisation at capacity" in headers
    by_cfg = {c[1]: dict(zip(headers, c, strict=True)) for c in cells}
    assert by_cfg["flannel-vxlan"]["bottleneck at capacity"].startswith("NIC ")
    assert by_cfg["calico-bgp"]["bottleneck at capacity"].endswith("(server-1)")
    assert by_cfg["calico-bgp"]["utilisation at capacity"].startswith("app ")
    # every probe carries them too
    probes = plan.probes
    assert {"bottleneck", "bottleneck_utilisation", "util_app", "util_nic"} <= set(
        probes.columns)
    flannel = probes[probes["config"] == "flannel-vxlan"]
    assert (flannel["bottleneck"] == "nic").all()


class NonMonotonic:
    """p99 against the per-client rate ``r`` (per-node load = r here), per seed:

    - r <= 2,700: 1 ms for every seed (meets p99<=2ms);
    - 2,700 < r <= 5,000: 1.9 ms ± 0.1 ms over the three seeds: the mean meets the SLO,
      the upper bound (1.9 + 4.30 × 0.1 / √3 = 2.15 ms) misses it;
    - 5,000 < r <= 9,000: 0.5 ms (a dip: meets the SLO **above** loads that missed);
    - above: 50 ms.
    """

    def __init__(self) -> None:
        self.seed_index: dict[int, int] = {}

    def __call__(self, testbed: Any, cluster: Any, workloads: Any, seed: int) -> RunResult:
        k = self.seed_index.setdefault(seed, len(self.seed_index))
        r = float(workloads[0].rate_per_s)
        if r <= 2_700:
            p99 = 1000.0
        elif r <= 5_000:
            p99 = 1900.0 + 100.0 * (k - 1)
        elif r <= 9_000:
            p99 = 500.0
        else:
            p99 = 50_000.0
        return RunResult(summary={"latency_p99_us": p99, "completed": 1000, "failed": 0})


def test_non_monotonic_probes_never_raise_the_capacity_above_a_miss() -> None:
    plan = plan_capacity(experiment(["calico-bgp"]), "p99<=2ms", target_rps=100_000,
                         simulate_fn=NonMonotonic(), replications=3)
    (row,) = plan.table.to_dict("records")
    probes = plan.probes
    missed = probes.loc[~probes["meets_slo"].astype(bool), "load_per_node_rps"]
    met = probes.loc[probes["meets_slo"].astype(bool), "load_per_node_rps"]
    # The stub's dip was probed: a load met the SLO above one that missed it.
    assert met.max() > missed.min()
    assert row["capacity_per_node_rps"] < missed.min()
    assert 2_600 <= row["capacity_per_node_rps"] <= 2_700
    assert row["monotonic"] is False or row["monotonic"] == False  # noqa: E712 (numpy bool)
    assert "probes not monotonic" in row["note"]
    assert "8,000" in row["monotonic_detail"]
    statement = plan.monotonicity_statement()
    assert statement.startswith("Probes were not monotonic for calico-bgp (met at ")
    assert "below every load that missed it" in statement
    # The bracket's tests read the same probes: the mean test met 4,000 and 8,000.
    assert row["capacity_per_node_mean_rps"] >= 8_000 - 1e-9
    assert row["nodes_needed"] == math.ceil(100_000 / row["capacity_per_node_rps"])


def test_settle_and_the_search_ceiling() -> None:
    s = settle({1.0: True, 2.0: False, 1.5: True, 3.0: True, 4.0: False})
    assert (s.passed, s.failed, s.passes_above_failure) == (1.5, 2.0, [3.0])
    assert not s.monotonic
    assert settle({1.0: True, 2.0: True}).failed is None
    assert settle({1.0: False}).passed is None
    capped = search_highest(lambda x: True, 1.0, max_expand=8, ceiling=5.0)
    assert capped.passed == 4.0 and capped.failed is None and capped.steps == 3


def test_geometric_lower_bound() -> None:
    values = [10.0, 100.0, 1000.0]
    # t(0.975, 2) = 4.3027; logs have mean ln(100) and standard deviation ln(10)
    expected = math.exp(math.log(100) - 4.3027 * math.log(10) / math.sqrt(3))
    assert geometric_lower_us(values, 0.95) == pytest.approx(expected, rel=1e-4)
    assert geometric_lower_us([7.0], 0.95) == 7.0
    assert math.isnan(geometric_lower_us([], 0.95))
    rng = np.random.default_rng(3)
    for _ in range(20):  # below the arithmetic mean, always (AM >= GM)
        v = list(rng.lognormal(7, 1.5, 3))
        assert geometric_lower_us(v, 0.95) <= float(np.mean(v))


class NoisyMM1(AnalyticMM1):
    """:class:`AnalyticMM1` with a per-seed factor on the latency (0.8, 1.0, 1.25 for
    the first three seeds seen): replications disagree, so the bracket has a width."""

    def __init__(self) -> None:
        super().__init__()
        self.seed_index: dict[int, int] = {}

    def __call__(self, testbed: Any, cluster: Any, workloads: Any, seed: int,
                 keep_samples: bool = False) -> RunResult:
        res = super().__call__(testbed, cluster, workloads, seed)
        k = self.seed_index.setdefault(seed, len(self.seed_index))
        f = (0.8, 1.0, 1.25)[k % 3]
        return RunResult(summary={**res.summary,
                                  "latency_p99_us": res.summary["latency_p99_us"] * f})


def test_bracket_orders_and_brackets_the_answer() -> None:
    plan = plan_capacity(experiment(), "p99<=2ms", target_rps=120_000,
                         simulate_fn=NoisyMM1(), rel_tol=0.01)
    probes = plan.probes
    for row in plan.table.to_dict("records"):
        low, mean, high = (row[f"capacity_per_node_{k}_rps"] for k in ("low", "mean", "high"))
        assert low == row["capacity_per_node_rps"] and low < mean < high
        assert row["nodes_needed_low"] <= row["nodes_needed_mean"] <= row["nodes_needed_high"]
        assert row["nodes_needed_high"] == row["nodes_needed"]
        assert row["nodes_needed_low"] == math.ceil(120_000 / high)
        assert row["nodes_needed_low"] < row["nodes_needed"]  # the noise gives a width
        sub = probes[probes["config"] == row["config"]]
        # The high end is a load that missed even the lower bound; every load at or
        # below the answer met the SLO, and nothing that met it lies above a miss.
        at_high = sub[np.isclose(sub["load_per_node_rps"], high)]
        assert len(at_high) == 1 and not at_high["meets_slo_lower"].iloc[0]
        lower_missed = sub.loc[~sub["meets_slo_lower"].astype(bool), "load_per_node_rps"]
        assert high == pytest.approx(lower_missed.min())
        # the M/M/1 truth (mean factor 1.0167) is inside the bracket
        mu = {"flannel-vxlan": 8000.0, "calico-bgp": 10000.0}[row["config"]]
        truth = mu - LN100 * 1.0167 / 2000e-6
        assert low <= truth <= high
    assert "; bracket " in plan.answer() and " nodes)" in plan.answer()
    estimates = plan.point_estimates()
    assert estimates.startswith("Point estimates (the SLO tested on the replications' mean")
    for row in plan.table.to_dict("records"):
        assert (f"{row['config']} {row['capacity_per_node_mean_rps']:,.0f} requests/s per "
                f"node ({row['nodes_needed_mean']:,.0f} nodes)") in estimates
    assert plan.bracket_statement().startswith("Bracket: from the highest load met")


def test_one_replication_bracket_is_the_search_tolerance() -> None:
    plan = plan_capacity(experiment(["calico-bgp"]), "p99<=2ms", target_rps=120_000,
                         simulate_fn=AnalyticMM1(), replications=1, rel_tol=0.02)
    (row,) = plan.table.to_dict("records")
    low, high = row["capacity_per_node_low_rps"], row["capacity_per_node_high_rps"]
    assert low == row["capacity_per_node_mean_rps"]
    assert 0 < high - low <= 0.02 * high
    assert high == row["bracket_high_per_node_rps"]
    assert "one replication" in plan.bracket_statement()


def test_bracket_tolerance_is_a_one_line_error() -> None:
    with pytest.raises(SpecError) as info:
        plan_capacity(experiment(), "p99<=2ms", simulate_fn=AnalyticMM1(), bracket_tol=0)
    assert info.value.path == "--bracket-tolerance" and "\n" not in str(info.value)


# --------------------------------------------------------------------------- saved plans


def test_saved_plan_carries_the_new_columns(tmp_path: Path) -> None:
    plan = plan_capacity(experiment(["calico-bgp", "flannel-vxlan"]), "p99<=2ms",
                         target_rps=120_000, simulate_fn=KnownBottleneck(),
                         replications=2)
    plan.save(tmp_path)
    loaded = load_plan(tmp_path)
    assert loaded is not None
    new = ["capacity_per_node_high_rps", "nodes_needed_low", "bottleneck",
           "bottleneck_utilisation", "util_app", "util_nic", "monotonic"]
    for col in new:
        assert col in loaded.table.columns, col
    assert loaded.table["bottleneck"].tolist() == plan.table["bottleneck"].tolist()
    assert loaded.table["monotonic"].tolist() == [True, True]
    assert loaded.answer() == plan.answer() and "limited by" in loaded.answer()
    assert display_table(loaded) == display_table(plan)
    meta = json.loads((tmp_path / "plan.json").read_text())
    assert meta["plan_format"] == 2 and "app" in meta["util_classes"]
    assert "meets_slo_lower" in pd.read_csv(tmp_path / "plan_probes.csv").columns


def test_a_plan_saved_by_an_older_kperf_still_loads(tmp_path: Path) -> None:
    plan = plan_capacity(experiment(), "p99<=2ms", target_rps=120_000,
                         simulate_fn=AnalyticMM1(), replications=2)
    plan.save(tmp_path)
    old_columns = ["rank", "config", "cluster.cni", "nodes", "clients",
                   "rate_per_client_per_s", "capacity_rps", "capacity_per_node_rps", "metric",
                   "metric_mean_us", "metric_upper_us", "replications", "probes",
                   "bracket_high_per_node_rps", "bounded", "target_rps", "nodes_needed",
                   "note"]
    pd.read_csv(tmp_path / "plan.csv")[old_columns].to_csv(tmp_path / "plan.csv", index=False)
    probes = pd.read_csv(tmp_path / "plan_probes.csv")
    probes.iloc[:, :13].to_csv(tmp_path / "plan_probes.csv", index=False)
    meta = json.loads((tmp_path / "plan.json").read_text())
    for key in ("plan_format", "bracket_tol", "util_classes", "slo_tests"):
        meta.pop(key)
    (tmp_path / "plan.json").write_text(json.dumps(meta))
    old = load_plan(tmp_path)
    assert old is not None and old.meta["plan_format"] == 1
    cap = plan.table["capacity_per_node_rps"].iloc[0]
    assert old.answer() == ("Best: calico-bgp needs 16 nodes for 120,000 requests/s at "
                            f"p99<=2ms ({cap:,.0f} requests/s per node).")
    headers, rows = display_table(old)
    assert not any("bracket" in h or "bottleneck" in h for h in headers)
    assert rows[0][:2] == ["1", "calico-bgp"]
    assert old.bracket_statement() == "" and old.monotonicity_statement(always=True) == ""
    md = write_report(tmp_path, plots=False).read_text(encoding="utf-8")
    assert "Best: calico-bgp needs 16 nodes" in md


# --------------------------------------------------------------------------- CLI and report


def test_plan_cli_table_fits_a_narrow_terminal(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kperf.workloads.simulate.simulate", KnownBottleneck())
    monkeypatch.setenv("COLUMNS", "100")
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump(experiment()))
    result = runner.invoke(app, ["plan", str(exp), "--slo", "p99<=2ms", "--target-rps",
                                 "120000", "--out", str(tmp_path / "p"), "--no-report", "-q"])
    assert result.exit_code == 0, result.output
    table = result.stdout.split("Best:")[0]
    assert max(len(line) for line in table.splitlines()) <= 100
    assert "capacity/node" in table and "bottleneck" in table
    assert "not shown, too narrow a terminal:" in table and "utilisation at capacity" in table
    # same capacity for both modes: the first in sweep order ranks first
    assert "limited by a NIC transmit queue (nic 2)" in " ".join(result.stdout.split())


def test_hint_for_an_experiment_without_an_open_loop_workload() -> None:
    default = yaml.safe_load((ROOT / "experiments" / "default.yaml").read_text())
    text, command = plan_hint(default, "experiments/default.yaml", "results/default", 30.0)
    assert command is None
    assert text.count(". ") == 0 and text.endswith(").")  # one sentence
    assert "capacity planning needs an open-loop workload" in text
    assert "experiments/capacity.yaml" in text and EXAMPLE_PLAN in text


def test_the_example_plan_named_by_the_hint_works(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kperf.workloads.simulate.simulate", KnownBottleneck())
    monkeypatch.chdir(ROOT)
    args = shlex.split(EXAMPLE_PLAN)[1:]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "cap"), "--no-report",
                                 "-q", "-r", "1"])
    assert result.exit_code == 0, result.output
    assert "Best: " in result.stdout


@pytest.mark.parametrize(("p99", "slo"), [(None, "p99<=2ms"), (30.0, "p99<=100us"),
                                          (260.0, "p99<=1ms"), (1400.0, "p99<=3ms"),
                                          (500.0, "p99<=1ms"), (4e5, "p99<=1s")])
def test_suggested_slo(p99: float | None, slo: str) -> None:
    assert suggest_slo(p99) == slo


TINY: dict[str, Any] = {
    # One client and one single-worker server pod, open-loop HTTP: a plan of a few
    # dozen runs of 22 simulated ms.
    "name": "tiny-open", "seed": 5, "replications": 1, "testbed": "10g-xeon-2015",
    "cluster": {"nodes": 2, "cni": "calico-bgp", "deployments": [
        {"name": "client", "replicas": 1, "placement": "node-1"},
        {"name": "server", "replicas": 1, "placement": "node-2", "app_workers": 1}]},
    "workload": {"kind": "http", "clients": "client", "target": "server",
                 "rate_per_s": 2000, "service_us": {"dist": "exponential", "mean": 100},
                 "warmup_s": 0.002, "duration_s": 0.02},
}


def test_report_hint_runs_on_the_folders_experiment(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """kperf run of an open-loop experiment, its report's hint, and that command run
    as printed (real simulations): it plans the experiment into the same folder."""
    monkeypatch.chdir(tmp_path)
    Path("tiny.yaml").write_text(yaml.safe_dump(TINY), encoding="utf-8")
    ran = runner.invoke(app, ["run", "tiny.yaml", "--out", "res", "--no-report"])
    assert ran.exit_code == 0, ran.output
    md = write_report("res", plots=False).read_text(encoding="utf-8")
    section = md.split("## Capacity planning")[1].split("\n## ")[0]
    assert "No capacity plan in this folder. To add one" in section
    (command,) = re.findall(r"^kperf plan .*$", section, flags=re.M)
    assert command.startswith("kperf plan tiny.yaml --slo 'p99<=") and "--out res" in command
    planned = runner.invoke(app, shlex.split(command)[1:])
    assert planned.exit_code == 0, planned.output
    plan = load_plan("res")
    assert plan is not None and plan.table["capacity_per_node_rps"].iloc[0] > 0
    assert plan.table["bottleneck"].iloc[0] == "app"  # one worker, 100 µs per request
    after = Path("res/report.md").read_text(encoding="utf-8")
    section = after.split("## Capacity planning")[1].split("\n## ")[0]
    assert "Best: calico-bgp carries" in section and "limited by the app workers" in section
    assert "Bracket: from the highest load met" in section
    assert "The probes were monotonic" in section
    assert "No capacity plan" not in section


def test_chart_draws_each_configurations_bracket() -> None:
    """The capacity chart's right panel: a whisker per configuration from
    nodes_needed_low to nodes_needed, and the bracket in the bar's label."""
    from matplotlib.collections import LineCollection

    from kperf.analysis.plots import capacity_chart

    plan = plan_capacity(experiment(), "p99<=2ms", target_rps=120_000,
                         simulate_fn=NoisyMM1(), rel_tol=0.01)
    fig = capacity_chart(plan.table, plan.probes, slo_threshold_us=2000.0, slo_text="p99<=2ms")
    ax = fig.axes[-1]
    segments = [seg for c in ax.collections if isinstance(c, LineCollection)
                for seg in c.get_segments()]
    order = plan.table.sort_values("rank")
    want = sorted((float(r["nodes_needed_low"]), float(r["nodes_needed"]))
                  for r in order.to_dict("records"))
    got = sorted((float(min(s[:, 1])), float(max(s[:, 1]))) for s in segments)
    assert got == want
    labels = [t.get_text() for t in ax.texts]
    for r in order.to_dict("records"):
        assert f"{r['nodes_needed']:,.0f} ({r['nodes_needed_low']:,.0f}-" \
               f"{r['nodes_needed']:,.0f})" in " ".join(labels)
