"""``--method decomposed`` (issue 22, first slice): its queue models, its contract, its
determinism, and its accuracy against the full engine on a small subset of
``scripts/decomposed_accuracy.py`` (the whole set and its table: docs/decomposed.md).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import kperf.cli.run_cmd  # noqa: F401  (registers the command)
from kperf.cli.app import app
from kperf.errors import SpecError
from kperf.experiments.expand import expand
from kperf.experiments.runner import method_runs, run, with_method
from kperf.spec.experiment import ExperimentSpec
from kperf.workloads.decomposed import Saturated, simulate_decomposed
from kperf.workloads.decomposed.queueing import (
    allen_cunneen_wait_s,
    pk_mean_wait_s,
    trace_waits,
    wait_samples,
)
from kperf.workloads.decomposed.traffic import Resource, build_traffic
from tests.helpers import client_server_cluster, decomposed_against_full

ROOT = Path(__file__).resolve().parent.parent


def _script() -> Any:
    """scripts/decomposed_accuracy.py as a module (its scenarios and comparison)."""
    spec = importlib.util.spec_from_file_location(
        "decomposed_accuracy", ROOT / "scripts" / "decomposed_accuracy.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _doc(**workload: Any) -> dict[str, Any]:
    wl = {"kind": "rr", "target": "svc/server", "rate_per_s": 20_000, "request_bytes": 1000,
          "response_bytes": 1000, "app_service_us": 10, "duration_s": 0.005, **workload}
    return {"name": "dec", "seed": 5, "testbed": "10g-xeon-2015",
            "cluster": client_server_cluster(4),
            "workload": wl}


def _first_run(doc: dict[str, Any]) -> Any:
    return expand(ExperimentSpec.from_data(doc))[0]


# -- the single-queue models -------------------------------------------------------------

@pytest.mark.parametrize("service", ["fixed", "exponential"])
@pytest.mark.parametrize("rho", [0.3, 0.8])
def test_poisson_queue_sample_has_the_pollaczek_khinchine_mean(service: str, rho: float
                                                              ) -> None:
    """M/D/1 and M/M/1: the sampled waits' mean is P-K's (within sampling error)."""
    rng = np.random.default_rng(1)
    svc = np.full(1, 5e-6) if service == "fixed" else rng.exponential(5e-6, 200_000)
    res = Resource("core", "cpu", 0, 1, [(rho / float(svc.mean()), svc)])
    waits = wait_samples(res, np.random.default_rng(2), n=400_000)
    assert waits.mean() == pytest.approx(pk_mean_wait_s(res), rel=0.05)
    assert allen_cunneen_wait_s(res) == pk_mean_wait_s(res)  # c = 1: the same formula


def test_worker_pool_sample_is_close_to_allen_cunneen() -> None:
    """M/M/4 at 0.7: Allen-Cunneen is exact for exponential service (Erlang C)."""
    rng = np.random.default_rng(3)
    svc = rng.exponential(20e-6, 100_000)
    res = Resource("pool", "app", -1, 4, [(0.7 * 4 / float(svc.mean()), svc)])
    waits = wait_samples(res, np.random.default_rng(4), n=300_000)
    assert waits.mean() == pytest.approx(allen_cunneen_wait_s(res), rel=0.07)


def test_saturated_resource_is_an_error_naming_it() -> None:
    res = Resource("node-1 core 0", "cpu", 0, 1, [(300_000.0, np.full(1, 5e-6))])
    with pytest.raises(Saturated, match=r"node-1 core 0.*1\.500 >= 1"):
        wait_samples(res, np.random.default_rng(0))
    run_ = _first_run(_doc(rate_per_s=400_000))
    with pytest.raises(Saturated, match="saturated"):
        simulate_decomposed(run_.testbed, run_.cluster, run_.workloads, run_.seed)


def test_a_faster_hop_behind_a_slower_one_never_waits() -> None:
    """One connection through a line of fixed-cost hops: a hop whose service is
    shorter than the longest before it sees the requests spaced by that bottleneck
    (the upstream model of trace_waits), so it never waits, as in the full engine."""
    doc = _doc(target="server", rate_per_s=60_000, app_service_us=0, duration_s=0.05)
    doc["cluster"] = {"nodes": 2, "cni": "calico-bgp", "deployments": [
        {"name": "client", "replicas": 1, "placement": "node-1"},
        {"name": "server", "replicas": 1, "placement": "node-2"}]}
    run_ = _first_run(doc)
    traffic = build_traffic(run_.testbed, run_.cluster, run_.workloads, run_.seed)
    conn = traffic.conns[0]
    fwd = traffic.tables[conn.fwd_table].svc[0]
    checked = 0
    for hop, r in enumerate(conn.fwd):
        if hop and fwd[hop] < fwd[:hop].max():
            waits = trace_waits(traffic.resources[r], traffic, np.random.default_rng(hop))
            assert waits.max() == 0.0
            checked += 1
    assert checked >= 2  # the NIC and the switch port behind the sender's core


def test_a_core_passed_twice_gives_a_joint_total_per_request() -> None:
    """A same-node pair whose transmit and receive work land on one core: the
    request's passages there are one (back-to-back hops) and its response's another;
    the trace model returns each request's total over both, whose mean is the sum of
    the two passages' mean waits."""
    from kperf.workloads.decomposed.combine import AGAIN, FIRST, repeats
    from kperf.workloads.decomposed.queueing import trace_model

    doc = _doc(target="server", rate_per_s=40_000, app_service_us=0, duration_s=0.05)
    doc["cluster"] = {"nodes": 1, "cni": "calico-bgp", "deployments": [
        {"name": "client", "replicas": 1}, {"name": "server", "replicas": 1}]}
    run_ = _first_run(doc)
    traffic = build_traffic(run_.testbed, run_.cluster, run_.workloads, run_.seed)
    twice = [r for r, res in enumerate(traffic.resources) if len(res.visits) > 1]
    if not twice:
        pytest.skip("this seed hashes the flow's directions to different cores")
    res = traffic.resources[twice[0]]
    waits, joint = trace_model(res, traffic, np.random.default_rng(1))
    assert len(joint) and joint.mean() == pytest.approx(
        waits.mean() * len(res.visits), rel=0.05)
    flags = repeats(traffic.conns[0])
    assert FIRST in flags and AGAIN in flags


# -- the contract: method, run ids, refusals, summary columns, manifest ---------------------

def test_full_keeps_its_run_ids_and_decomposed_gets_its_own() -> None:
    spec = ExperimentSpec.from_data(_doc())
    assert spec.method == "full" and "method" not in spec.raw_data()
    runs = expand(spec)
    assert [r.run_id for r in method_runs(spec, runs)] == [r.run_id for r in runs]
    dec = with_method(spec, "decomposed")
    dec_runs = method_runs(dec, expand(dec))
    assert dec_runs[0].spec["method"] == "decomposed"
    assert dec_runs[0].run_id != runs[0].run_id
    assert ExperimentSpec.from_data({**_doc(), "method": "decomposed"}).method == "decomposed"


def test_bad_method_is_one_line_naming_the_field() -> None:
    with pytest.raises(SpecError, match="method") as exc:
        ExperimentSpec.from_data({**_doc(), "method": "fast"})
    assert "\n" not in exc.value.one_line()
    with pytest.raises(SpecError, match=r"--method.*allowed: full, decomposed"):
        with_method(ExperimentSpec.from_data(_doc()), "fast")


@pytest.mark.parametrize(("workload", "what"), [
    ({"kind": "crr", "rate_per_s": None}, "closed-loop crr"),
    ({"rate_per_s": None}, "closed-loop rr"),
    ({"kind": "http", "keepalive": False, "app_service_us": None, "request_bytes": None,
      "response_bytes": None}, "http without keepalive"),
    ({"requests": 100}, "a requests limit"),
])
def test_unsupported_runs_are_refused_before_anything_runs(workload: dict[str, Any],
                                                          what: str) -> None:
    doc = _doc(**workload)
    doc["workload"] = {k: v for k, v in doc["workload"].items() if v is not None}
    if doc["workload"]["kind"] == "http":
        doc["workload"].pop("app_service_us", None)
    spec = ExperimentSpec.from_data({**doc, "method": "decomposed"})
    with pytest.raises(SpecError, match=f"method: got 'decomposed'; not available for {what}"):
        method_runs(spec, expand(spec))


def test_summary_columns_and_manifest_grouping(tmp_path: Path) -> None:
    results = run({**_doc(), "method": "decomposed"}, tmp_path / "out", progress=False,
                  report=False)
    row = results.summary.iloc[0]
    assert row.status == "ok" and row.method == "decomposed"
    for col in ("latency_p50_us", "latency_p99_us", "throughput_gbps", "requests_per_s",
                "cpu_cores_busy_max", "decomposed_groups", "decomposed_resources"):
        assert math.isfinite(float(row[col])), col
    assert math.isnan(float(row.decomposed_max_error_bound))
    assert row.requests_per_s == pytest.approx(4 * 20_000)
    assert 0 < row.decomposed_groups <= row.decomposed_resources
    entry = results.manifest["runs"][row.run_id]
    assert entry["spec"]["method"] == "decomposed"
    assert entry["decomposed"]["decomposed_groups"] == row.decomposed_groups
    resources = pd.read_parquet(tmp_path / "out" / "runs" / f"{row.run_id}.resources.parquet")
    assert resources.representative.sum() == row.decomposed_groups


def test_cli_method_option(tmp_path: Path) -> None:
    import yaml

    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump(_doc()), encoding="utf-8")
    runner = CliRunner()
    bad = runner.invoke(app, ["run", str(exp), "--method", "fast", "--serial", "--no-report",
                              "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "--method" in bad.output
    ok = runner.invoke(app, ["run", str(exp), "--method", "decomposed", "--serial",
                             "--no-report", "--out", str(tmp_path / "ok")])
    assert ok.exit_code == 0, ok.output
    summary = pd.read_csv(tmp_path / "ok" / "summary.csv")
    assert list(summary.method) == ["decomposed"]


# -- determinism ----------------------------------------------------------------------------

def test_same_spec_and_seed_same_numbers_on_any_executor(tmp_path: Path) -> None:
    doc = {**_doc(), "method": "decomposed", "replications": 2}
    serial = run(doc, tmp_path / "serial", progress=False, report=False).summary
    procs = run(doc, tmp_path / "procs", workers=2, progress=False, report=False).summary
    cols = [c for c in serial.columns if c.startswith(("latency_", "decomposed_"))
            and c != "decomposed_max_error_bound"]
    pd.testing.assert_frame_equal(serial[cols], procs[cols])
    assert serial.latency_p99_us.iloc[0] != serial.latency_p99_us.iloc[1]  # two seeds


# -- accuracy against the full engine (a subset of scripts/decomposed_accuracy.py) ------

MEASURED_BANDS = {
    # scenario: (p50, p99, throughput) relative error bands this test allows; issue 22's
    # tolerances are 0.05, 0.10, 0.03 (docs/decomposed.md has every scenario's errors)
    "rr-pod-16-uniform-50": (0.05, 0.10, 0.03),
    "rr-svc-16-uniform-80": (0.05, 0.10, 0.03),  # one core carries two connections both
    # ways: without the joint law of their passages' waits its p99 was 11.7 % low
    "rr-svc-64-uniform-30": (0.05, 0.10, 0.03),
}


@pytest.mark.parametrize("name", sorted(MEASURED_BANDS))
def test_decomposed_agrees_with_the_full_engine(name: str) -> None:
    mod = _script()
    scenario = next(s for s in mod.SCENARIOS if s.name == name)
    row = mod.compare(scenario)
    p50, p99, tput = MEASURED_BANDS[name]
    assert abs(row["p50_err"]) <= p50, row
    assert abs(row["p99_err"]) <= p99, row
    assert abs(row["throughput_err"]) <= tput, row


def test_crr_against_the_full_engine_and_its_fin_load() -> None:
    """crr (a connection per request): 4 nodes through a Service at 10,000 requests/s
    per client, 20,000 requests in the full engine. Measured: p50 +0.7 %, p99 +6.5 %,
    throughput +1.4 %; issue 22's tolerances asserted. The FIN segments load the
    resources but are no requests (not in the rate, no latency samples)."""
    doc = _doc(kind="crr", rate_per_s=10_000, duration_s=0.5)
    run_ = _first_run(doc)
    dec, _full = decomposed_against_full(run_)
    assert dec["requests_per_s"] == pytest.approx(4 * 10_000)
    traffic = build_traffic(run_.testbed, run_.cluster, run_.workloads, run_.seed)
    fins = [c for c in traffic.conns if not c.measured]
    measured = [c for c in traffic.conns if c.measured]
    assert len(fins) == 2 * len(measured) and all(c.app < 0 for c in fins)
    # a request's forward leg is SYN, SYN-ACK and the request: three paths' hops
    c = measured[0]
    assert len(c.fwd) == 2 * len(fins[0].fwd) + len(fins[1].fwd)
