"""The decomposed method's groups on the executors (issue 22: "runs the groups in
parallel on the existing executors"; gate: "the same spec and seed give the same
numbers on any executor"): slim payloads give the in-process models bit for bit;
``group_map`` on two spawned processes and on a Dask LocalCluster gives the serial
summary; the runner puts one decomposed run's groups on the workers (and a CLI run
with ``--workers 2`` shows the serial summary).

The mapped helpers live at module level so spawned processes can import them.
"""

from __future__ import annotations

import json
import math
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import kperf.cli.run_cmd  # noqa: F401  (registers the command)
import kperf.experiments.runner as runner_mod
from kperf.cli.app import app
from kperf.experiments.executors import (
    DaskExecutor,
    ProcessExecutor,
    SerialExecutor,
    WorkerDied,
)
from kperf.experiments.expand import expand
from kperf.experiments.runner import groups_on_workers, method_runs, run
from kperf.spec.experiment import ExperimentSpec
from kperf.workloads.decomposed import simulate_decomposed
from kperf.workloads.decomposed.groups import group
from kperf.workloads.decomposed.parallel import group_payloads, model_group
from kperf.workloads.decomposed.queueing import trace_model
from kperf.workloads.decomposed.run import _rng
from kperf.workloads.decomposed.traffic import build_traffic
from tests.helpers import client_server_cluster


def _doc(nodes: int = 16, **extra: Any) -> dict[str, Any]:
    """A 16-node rr run through a Service (a few hundred ms by the decomposed method)."""
    return {"name": "dec-par", "seed": 7, "testbed": "10g-xeon-2015", "method": "decomposed",
            "cluster": client_server_cluster(nodes),
            "workload": {"kind": "rr", "target": "svc/server", "rate_per_s": 30_000,
                         "request_bytes": 1000, "response_bytes": 4000,
                         "app_service_us": 10, "duration_s": 0.005},
            **extra}


def _first_run(doc: dict[str, Any]) -> Any:
    spec = ExperimentSpec.from_data(doc)
    return method_runs(spec, expand(spec))[0]


def square(x: int) -> int:
    return x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


def die_on_three(x: int) -> int:
    if x == 3:
        os._exit(3)
    return x


def _same_summary(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for k, v in a.items():
        w = b[k]
        if isinstance(v, float) and math.isnan(v):
            assert isinstance(w, float) and math.isnan(w), k
        else:
            assert v == w, (k, v, w)


def test_payloads_give_the_in_process_models_bit_for_bit() -> None:
    r = _first_run(_doc())
    traffic = build_traffic(r.testbed, r.cluster, list(r.workloads), r.seed)
    grouping = group(traffic.resources)
    payloads = group_payloads(traffic, grouping, r.seed)
    assert len(payloads) == grouping.groups > 1
    for g, (rep, payload) in enumerate(zip(grouping.representatives, payloads, strict=True)):
        res = traffic.resources[rep]
        want = trace_model(res, traffic, _rng(r.seed, 1 + g))
        got = model_group(pickle.loads(pickle.dumps(payload)))  # as another process gets it
        assert np.array_equal(want[0], got[0]) and np.array_equal(want[1], got[1])
        assert len(want[0]) > 0
        # slim: only the connections that visit the representative, and their tables
        visiting = {c for c, _w, _h in res.visits}
        assert len(payload.traffic.conns) == len(visiting) < len(traffic.conns)
        assert len(payload.traffic.tables) <= len(traffic.tables)
        assert {c for c, _w, _h in payload.resource.visits} == set(
            range(len(payload.traffic.conns)))


def test_executor_map_keeps_order_and_raises() -> None:
    assert SerialExecutor().map(square, [3, 1, 2]) == [9, 1, 4]
    with ProcessExecutor(2) as pool:
        assert pool.map(square, list(range(40))) == [x * x for x in range(40)]
        assert pool.map(square, []) == []
        with pytest.raises(ValueError, match="three"):
            pool.map(fail_on_three, [1, 2, 3, 4])
        with pytest.raises(WorkerDied):
            pool.map(die_on_three, [1, 2, 3, 4])
        assert pool.map(square, [5]) == [25]  # a new pool after the dead one


@pytest.mark.slow
def test_group_map_on_processes_and_dask_gives_the_serial_summary() -> None:
    r = _first_run(_doc())
    args = (r.testbed, r.cluster, r.workloads, r.seed)
    serial = simulate_decomposed(*args)
    assert serial.summary["decomposed_groups"] > 1
    with ProcessExecutor(2) as pool:
        procs = simulate_decomposed(*args, group_map=pool.map)
    with DaskExecutor("local") as dask:
        assert dask.worker_count() == 2
        on_dask = simulate_decomposed(*args, group_map=dask.map)
    for other in (procs, on_dask):
        _same_summary(serial.summary, other.summary)
        pd.testing.assert_frame_equal(serial.resources, other.resources)


def test_groups_on_workers_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    small = ExperimentSpec.from_data(_doc(4))
    lone = [t.task(False) for t in method_runs(small, expand(small))]
    assert not groups_on_workers(lone, ProcessExecutor(4), None)  # below the threshold
    listed = _doc(2)  # cluster.nodes as a list of nodes counts them
    listed["cluster"]["nodes"] = [{"name": "a", "ip": "192.168.1.10"},
                                  {"name": "b", "ip": "192.168.1.11"}]
    named = ExperimentSpec.from_data(listed)
    named_tasks = [t.task(False) for t in method_runs(named, expand(named))]
    assert not groups_on_workers(named_tasks, ProcessExecutor(4), None)
    monkeypatch.setattr(runner_mod, "GROUPS_ON_WORKERS_MIN_NODES", 2)
    assert groups_on_workers(named_tasks, ProcessExecutor(4), None)
    monkeypatch.setattr(runner_mod, "GROUPS_ON_WORKERS_MIN_NODES", 4)
    spec = ExperimentSpec.from_data({**_doc(4), "replications": 3})
    tasks = [t.task(False) for t in method_runs(spec, expand(spec))]
    full = [t.task(False) for t in expand(ExperimentSpec.from_data({**_doc(4),
                                                                    "method": "full"}))]
    pool = ProcessExecutor(4)  # no process starts: the rule only counts workers
    assert groups_on_workers(tasks[:1], pool, None)
    assert groups_on_workers(tasks, pool, None)  # 3 runs, 4 workers
    assert not groups_on_workers(tasks, ProcessExecutor(3), None)  # as many runs as workers
    assert not groups_on_workers(tasks[:1], SerialExecutor(), None)
    assert not groups_on_workers(full, pool, None)  # the full engine: runs are tasks
    assert not groups_on_workers(tasks[:1], pool, square)  # a custom simulate function


def test_one_decomposed_run_on_two_workers_matches_serial(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_mod, "GROUPS_ON_WORKERS_MIN_NODES", 4)  # a small cluster
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump(_doc()), encoding="utf-8")
    runner = CliRunner()
    out = {}
    for name, opts in (("serial", ["--serial"]), ("procs", ["--workers", "2"])):
        res = runner.invoke(app, ["run", str(exp), *opts, "--no-report",
                                  "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        out[name] = pd.read_csv(tmp_path / name / "summary.csv")
    assert list(out["serial"].status) == ["ok"]
    pd.testing.assert_frame_equal(out["serial"], out["procs"])
    manifest = json.loads((tmp_path / "procs" / "manifest.json").read_text())
    assert manifest["sessions"][-1]["groups_on_workers"] is True
    assert "groups_on_workers" not in json.loads(
        (tmp_path / "serial" / "manifest.json").read_text())["sessions"][-1]
    # resume: the finished run is not run again
    again = run(_doc(), tmp_path / "procs", workers=2, progress=False, report=False)
    assert again.manifest["sessions"][-1]["skipped"] == 1
    pd.testing.assert_frame_equal(again.summary, pd.read_parquet(tmp_path / "procs" /
                                                                 "summary.parquet"))


def test_callgraph_payloads_give_the_in_process_models_bit_for_bit() -> None:
    """A callgraph's representatives read the frontends' fan-out, the routes and the
    resources upstream: their payload carries the whole traffic, and gives the same
    waits after a pickle round trip, and the same summary through ``group_map``."""
    backends = ("a", "b")
    doc = _doc(4)
    doc["cluster"] = {**doc["cluster"],
                      "deployments": [{"name": "client", "replicas": 4}]
                      + [{"name": b, "replicas": 4} for b in backends],
                      "services": [{"name": b, "selector": {"app": b}, "port": 80}
                                   for b in backends]}
    doc["workload"] = {"kind": "callgraph", "clients": "client", "backends": list(backends),
                       "rate_per_s": 20_000, "duration_s": 0.005}
    r = _first_run(doc)
    _payloads_match(r)
    args = (r.testbed, r.cluster, r.workloads, r.seed)
    serial = simulate_decomposed(*args)
    mapped = simulate_decomposed(*args, group_map=SerialExecutor().map)
    _same_summary(serial.summary, mapped.summary)


def test_crr_payloads_give_the_in_process_models_bit_for_bit() -> None:
    """crr's FIN loads are tied to the transaction before them in the connection list;
    the payload's renumbering keeps that order, so the waits are the same."""
    doc = _doc(4)
    doc["workload"] = {**doc["workload"], "kind": "crr", "rate_per_s": 5_000}
    traffic = _payloads_match(_first_run(doc))
    assert any(not c.measured for c in traffic.conns)


def _payloads_match(r: Any) -> Any:
    """Every representative of run ``r``: its payload, after a pickle round trip (as
    another process gets it), gives the in-process waits bit for bit; the traffic."""
    traffic = build_traffic(r.testbed, r.cluster, list(r.workloads), r.seed)
    grouping = group(traffic.resources)
    payloads = group_payloads(traffic, grouping, r.seed)
    for g, (rep, payload) in enumerate(zip(grouping.representatives, payloads, strict=True)):
        want = trace_model(traffic.resources[rep], traffic, _rng(r.seed, 1 + g))
        got = model_group(pickle.loads(pickle.dumps(payload)))
        assert np.array_equal(want[0], got[0]) and np.array_equal(want[1], got[1])
    return traffic
