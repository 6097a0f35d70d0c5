"""Executors: serial, local processes and Dask give bit-identical summaries; a dying
worker process or an interrupt inside a worker loses no finished run.

The fake simulate functions live at module level so spawned processes and Dask
workers can import them by reference (this file's folder is on their sys.path).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from kperf.experiments import load_results, run
from kperf.experiments.executors import (
    DaskExecutor,
    ProcessExecutor,
    SerialExecutor,
    make_executor,
)
from kperf.experiments.runner import RunInterrupted
from kperf.workloads.result import SUMMARY_METRICS, RunResult

EXPERIMENT: dict[str, Any] = {
    "name": "exec-test",
    "seed": 11,
    "replications": 2,
    "testbed": "10g-xeon-2015",
    "cluster": {"nodes": 2, "deployments": [{"name": "client"}, {"name": "server"}]},
    "workload": {"kind": "rr", "target": "server"},
    "sweep": {"cluster.nodes": [2, 4, 8], "testbed.nic_rate_gbps": [10, 25]},
}

REAL: dict[str, Any] = {
    "name": "exec-real",
    "seed": 3,
    "replications": 1,
    "testbed": "10g-xeon-2015",
    "cluster": {
        "nodes": 2,
        "deployments": [
            {"name": "client", "replicas": 1, "placement": "node-1"},
            {"name": "server", "replicas": 1, "placement": "node-2"},
        ],
    },
    "workload": [
        {"kind": "rr", "target": "server", "outstanding": 2, "duration_s": 0.003},
        {"kind": "stream", "target": "server", "duration_s": 0.003},
    ],
    "sweep": {"cluster.cni": ["flannel-vxlan", "calico-bgp"]},
}


def fake_simulate(testbed: Any, cluster: Any, workloads: Any, seed: int,
                  keep_samples: bool = False) -> RunResult:
    """Deterministic numbers from the inputs (float noise included, to catch any
    lossy path); raises for 8 nodes at 25 Gbit/s."""
    if cluster.node_count == 8 and testbed.nic_rate_gbps == 25:
        raise ValueError("no 25G NICs for 8 nodes")
    rng = np.random.default_rng(seed)
    summary: dict[str, Any] = {m: float(rng.random() * 1e3) for m in SUMMARY_METRICS}
    summary.update(completed=int(rng.integers(1, 10**6)),
                   nodes_seen=cluster.node_count, rate_seen=testbed.nic_rate_gbps)
    return RunResult(summary=summary)


def dying_simulate(testbed: Any, cluster: Any, workloads: Any, seed: int,
                   keep_samples: bool = False) -> RunResult:
    """Kills its worker process for 4 nodes at 10 Gbit/s (a crash or OOM kill)."""
    if cluster.node_count == 4 and testbed.nic_rate_gbps == 10:
        os._exit(3)
    return fake_simulate(testbed, cluster, workloads, seed, keep_samples)


def interrupting_simulate(testbed: Any, cluster: Any, workloads: Any, seed: int,
                          keep_samples: bool = False) -> RunResult:
    """Raises KeyboardInterrupt inside the worker for 8-node runs."""
    if cluster.node_count == 8:
        raise KeyboardInterrupt
    return fake_simulate(testbed, cluster, workloads, seed, keep_samples)


def go(experiment: dict[str, Any], out: Path, **kw: Any) -> Any:
    return run(experiment, out, progress="off", report=False, **kw)


@pytest.mark.slow
def test_serial_processes_and_dask_give_identical_summaries(tmp_path: Path) -> None:
    serial = go(EXPERIMENT, tmp_path / "serial", simulate_fn=fake_simulate)
    real_serial = go(REAL, tmp_path / "real-serial")
    with ProcessExecutor(2) as pool:  # one pool serves both experiments
        procs = go(EXPERIMENT, tmp_path / "procs", simulate_fn=fake_simulate, executor=pool)
        real_procs = go(REAL, tmp_path / "real-procs", executor=pool)
    with DaskExecutor("local") as dask:
        on_dask = go(EXPERIMENT, tmp_path / "dask", simulate_fn=fake_simulate, executor=dask)
        real_dask = go(REAL, tmp_path / "real-dask", executor=dask)
    assert procs.manifest["executor"] == "processes(2)"
    assert on_dask.manifest["executor"] == "dask(local)"
    assert serial.n_failed == 2 and len(serial.summary) == 12
    pd.testing.assert_frame_equal(serial.summary, procs.summary)
    pd.testing.assert_frame_equal(serial.summary, on_dask.summary)
    assert (real_serial.summary.status == "ok").all(), real_serial.summary.error.tolist()
    pd.testing.assert_frame_equal(real_serial.summary, real_procs.summary)
    pd.testing.assert_frame_equal(real_serial.summary, real_dask.summary)
    # and the manifest reproduces a real row exactly
    row = real_serial.summary.iloc[1]
    again = load_results(tmp_path / "real-procs").rerun(row.run_id)
    for key in SUMMARY_METRICS:
        assert float(again.summary[key]) == row[key] or (
            np.isnan(row[key]) and np.isnan(again.summary[key])), key


@pytest.mark.slow
def test_a_dying_worker_fails_its_run_and_the_sweep_goes_on(tmp_path: Path) -> None:
    with ProcessExecutor(2) as pool:
        res = go(EXPERIMENT, tmp_path, simulate_fn=dying_simulate, executor=pool)
        ok = go(EXPERIMENT, tmp_path, simulate_fn=fake_simulate, executor=pool)
    s = res.summary
    died = (s["cluster.nodes"] == 4) & (s["testbed.nic_rate_gbps"] == 10)
    assert len(s) == 12 and res.complete
    assert s.loc[died, "error"].str.startswith("WorkerDied").all()
    # runs in flight on the other worker may die with the pool; all others are ok
    others = s.loc[~died & s.error.notna()]
    assert (others.error.str.startswith("WorkerDied") | others.error.str.startswith(
        "ValueError")).all()
    # the rerun retries the failed runs only, and ends where a clean sweep ends
    assert ok.manifest["sessions"][-1]["ran"] == int(s.error.notna().sum())
    pd.testing.assert_frame_equal(ok.summary, go(EXPERIMENT, tmp_path / "b",
                                                  simulate_fn=fake_simulate).summary)


@pytest.mark.slow
def test_closing_a_pool_returns_at_once_and_its_processes_exit(tmp_path: Path) -> None:
    pool = ProcessExecutor(2)
    go(EXPERIMENT, tmp_path, simulate_fn=fake_simulate, executor=pool)
    assert pool._pool is not None
    procs = list(pool._pool._processes.values())
    manager = pool._pool._executor_manager_thread  # it joins the processes
    assert len(procs) == 2 and manager is not None
    pool.close()  # does not wait for the processes' teardown
    pool.close()  # idempotent
    manager.join(timeout=60)
    assert not manager.is_alive()
    assert not any(proc.is_alive() for proc in procs)
    assert [proc.exitcode for proc in procs] == [0, 0]


@pytest.mark.slow
def test_interrupt_inside_a_worker_process_keeps_finished_runs(tmp_path: Path) -> None:
    with pytest.raises(RunInterrupted) as info:
        go(EXPERIMENT, tmp_path, simulate_fn=interrupting_simulate, workers=2)
    finished = info.value.finished
    assert 1 <= finished < 12
    partial = load_results(tmp_path).summary
    assert len(partial) == finished and (partial["cluster.nodes"] != 8).all()
    res = go(EXPERIMENT, tmp_path, simulate_fn=fake_simulate, workers=2)
    assert res.manifest["sessions"][-1]["ran"] == 12 - finished
    assert len(res.summary) == 12
    assert not res.summary[["cluster.nodes", "testbed.nic_rate_gbps", "replication"]
                           ].duplicated().any()


def test_make_executor_choices() -> None:
    assert isinstance(make_executor(), SerialExecutor)
    assert isinstance(make_executor(workers=1), SerialExecutor)
    assert isinstance(make_executor(workers=3, serial=True), SerialExecutor)
    procs = make_executor(workers=3)
    assert isinstance(procs, ProcessExecutor) and procs.name == "processes(3)"
    assert isinstance(make_executor(dask="tcp://127.0.0.1:8786"), DaskExecutor)


@pytest.mark.parametrize(
    ("kw", "path"),
    [
        ({"workers": 0}, "--workers"),
        ({"dask": "local", "workers": 2}, "--dask"),
        ({"dask": "local", "serial": True}, "--dask"),
        ({"dask": "nonsense"}, "--dask"),
    ],
)
def test_bad_executor_options(kw: dict[str, Any], path: str) -> None:
    from kperf.errors import SpecError

    with pytest.raises(SpecError) as info:
        make_executor(**kw)
    assert info.value.path == path


def test_unreachable_dask_scheduler_is_a_one_line_error() -> None:
    from kperf.errors import SpecError

    with pytest.raises(SpecError, match="cannot connect") as info:
        DaskExecutor("tcp://127.0.0.1:1", connect_timeout=0.5).connect()
    assert info.value.path == "--dask" and "\n" not in str(info.value)
