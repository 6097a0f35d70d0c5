"""The runner and its results store: resume after an interrupt, failed runs recorded,
the summary table's shape and order, the manifest reproducing rows, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from kperf.experiments import load_results, run
from kperf.experiments.runner import POST_RUN_HOOKS, RunInterrupted
from kperf.experiments.store import RunStore, atomic_write_text
from kperf.workloads.result import SUMMARY_METRICS, RunResult

EXPERIMENT: dict[str, Any] = {
    "name": "store-test",
    "seed": 7,
    "replications": 2,
    "testbed": "10g-xeon-2015",
    "cluster": {"nodes": 2, "deployments": [{"name": "client"}, {"name": "server"}]},
    "workload": {"kind": "rr", "target": "server"},
    "sweep": {"cluster.nodes": [2, 8], "cluster.cni": ["flannel-vxlan", "calico-bgp"]},
}
N_RUNS = 8


def fake_simulate(testbed: Any, cluster: Any, workloads: Any, seed: int,
                  keep_samples: bool = False) -> RunResult:
    """Numbers that are a deterministic function of the inputs; fails for calico-bgp on
    8 nodes when ``cluster.pod_mtu_bytes`` is 1234 (a switch tests flip)."""
    if cluster.cni == "calico-bgp" and cluster.node_count == 8 and cluster.pod_mtu_bytes == 1234:
        raise RuntimeError("simulated failure\nfor calico-bgp on 8 nodes")
    rng = np.random.default_rng(seed)
    lat = 10.0 * cluster.node_count + testbed.nic_rate_gbps + rng.exponential(5.0, 200)
    summary: dict[str, Any] = {m: np.float64(rng.random()) for m in SUMMARY_METRICS}
    summary.update(
        latency_mean_us=float(lat.mean()),
        latency_p99_us=np.percentile(lat, 99),
        completed=np.int64(len(lat)),
        failed=0,
        drops=int(rng.integers(0, 5)),
        workloads=len(workloads),
        nan_metric=float("nan"),
    )
    samples = pd.DataFrame({"latency_us": lat}) if keep_samples else None
    breakdown = pd.DataFrame({"category": ["wire", "stack"], "mean_us": [1.0, float(lat[0])]})
    return RunResult(summary=summary, samples=samples, breakdown=breakdown)


class Counting:
    """A fake simulate that counts calls and can raise KeyboardInterrupt on call N."""

    def __init__(self, interrupt_on: int | None = None) -> None:
        self.calls: list[int] = []
        self.interrupt_on = interrupt_on

    def __call__(self, testbed: Any, cluster: Any, workloads: Any, seed: int,
                 keep_samples: bool = False) -> RunResult:
        self.calls.append(seed)
        if len(self.calls) == self.interrupt_on:
            raise KeyboardInterrupt
        return fake_simulate(testbed, cluster, workloads, seed, keep_samples)


def go(out: Path, fn: Any = fake_simulate, **kw: Any) -> Any:
    return run(kw.pop("experiment", EXPERIMENT), out, simulate_fn=fn, progress="off", **kw)


def test_summary_shape_and_order(tmp_path: Path) -> None:
    res = go(tmp_path)
    s = res.summary
    assert len(s) == N_RUNS and res.ok and res.complete
    assert list(s.columns[:7]) == ["cluster.nodes", "cluster.cni", "replication", "seed",
                                   "status", "error", "run_id"]
    assert list(s.columns[7:7 + len(SUMMARY_METRICS)]) == list(SUMMARY_METRICS)
    assert list(s.columns[7 + len(SUMMARY_METRICS):]) == ["workloads", "nan_metric"]
    assert s[["cluster.nodes", "cluster.cni", "replication"]].values.tolist() == [
        [n, c, r] for n in (2, 8) for c in ("flannel-vxlan", "calico-bgp") for r in (0, 1)
    ]
    assert (s.status == "ok").all() and s.error.isna().all()
    assert s["completed"].dtype == "Int64" and s["cluster.nodes"].dtype == "int64"
    assert s["nan_metric"].isna().all()
    # parquet and csv hold the same table
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "summary.parquet"), s)
    csv = pd.read_csv(tmp_path / "summary.csv")
    assert list(csv.columns) == list(s.columns) and len(csv) == N_RUNS
    assert np.array_equal(csv["latency_mean_us"].to_numpy(), s["latency_mean_us"].to_numpy())
    # one run file per run, and the breakdown table next to it
    runs_dir = tmp_path / "runs"
    assert sorted(p.name for p in runs_dir.glob("*.json")) == sorted(
        f"{r}.json" for r in s.run_id)
    assert len(list(runs_dir.glob("*.breakdown.parquet"))) == N_RUNS
    assert not list(runs_dir.glob("*.samples.parquet"))


def test_interrupt_then_resume_runs_each_configuration_once(tmp_path: Path) -> None:
    first = Counting(interrupt_on=5)
    with pytest.raises(RunInterrupted) as info:
        go(tmp_path, first)
    assert (info.value.finished, info.value.total) == (4, N_RUNS)
    assert "run the same command again to resume" in str(info.value)
    partial = load_results(tmp_path)
    assert len(partial.summary) == 4 and not partial.complete
    assert partial.manifest["complete"] is False
    assert partial.manifest["sessions"][-1]["interrupted"] is True

    second = Counting()
    res = go(tmp_path, second)
    assert len(second.calls) == N_RUNS - 4  # finished runs are not recomputed
    assert not set(second.calls) & set(first.calls[:4])
    keys = res.summary[["cluster.nodes", "cluster.cni", "replication"]]
    assert len(res.summary) == N_RUNS and not keys.duplicated().any()
    assert res.ok
    # identical to an uninterrupted sweep
    fresh = go(tmp_path / "fresh")
    pd.testing.assert_frame_equal(res.summary, fresh.summary)
    assert [s["skipped"] for s in res.manifest["sessions"]] == [0, 4]

    third = Counting()
    go(tmp_path, third)
    assert third.calls == []


def test_failing_configuration_is_recorded_and_the_rest_complete(tmp_path: Path) -> None:
    exp = json.loads(json.dumps(EXPERIMENT))
    exp["cluster"]["pod_mtu_bytes"] = 1234
    res = go(tmp_path, experiment=exp)
    s = res.summary
    bad = (s["cluster.nodes"] == 8) & (s["cluster.cni"] == "calico-bgp")
    assert (s.loc[bad, "status"] == "failed").all() and bad.sum() == 2
    assert (s.loc[~bad, "status"] == "ok").all()
    message = "RuntimeError: simulated failure for calico-bgp on 8 nodes"
    assert (s.loc[bad, "error"] == message).all()
    assert s.loc[bad, "latency_mean_us"].isna().all()
    assert res.n_failed == 2 and not res.ok and res.complete
    record = res.record(int(np.flatnonzero(bad)[0]))
    assert "Traceback" in record["traceback"] and record["status"] == "failed"
    # failed runs are retried by the next invocation; finished ones are not
    again = Counting()
    go(tmp_path, again, experiment=exp)
    assert len(again.calls) == 2


def test_manifest_reproduces_every_row(tmp_path: Path) -> None:
    go(tmp_path, keep_samples=True)
    res = load_results(tmp_path)
    m = res.manifest
    assert m["name"] == "store-test" and m["seed"] == 7 and m["kperf_version"]
    assert m["started_at"] and m["finished_at"] and m["command"] and m["executor"] == "serial"
    assert list(m["runs"]) == list(res.summary.run_id)
    for i, (_, row) in enumerate(res.summary.iterrows()):
        entry = m["runs"][row.run_id]
        assert entry["seed"] == row.seed
        again = res.rerun(row.run_id, simulate_fn=fake_simulate, keep_samples=True)
        for key in SUMMARY_METRICS:
            assert float(again.summary[key]) == row[key], key
        pd.testing.assert_frame_equal(res.samples(i), again.samples)
    assert len(res.breakdown(0)) == 2


def test_keep_samples_resume_adds_the_missing_samples(tmp_path: Path) -> None:
    go(tmp_path)
    with pytest.raises(FileNotFoundError, match="keep_samples"):
        load_results(tmp_path).samples(0)
    again = Counting()
    res = go(tmp_path, again, keep_samples=True)
    assert len(again.calls) == N_RUNS
    assert len(res.samples(3)) == 200


def test_no_partial_files_after_a_sweep(tmp_path: Path) -> None:
    go(tmp_path, keep_samples=True)
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".") or ".tmp" in p.name]


def test_atomic_write_leaves_nothing_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "runs" / "x.json"
    atomic_write_text(target, "old")

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("kperf.experiments.store.os.replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"  # the old file is untouched...
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]  # ...and no temp file


def test_write_then_replace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every result file is written under a temporary name, then renamed into place."""
    import os

    seen: list[tuple[str, str]] = []
    real = os.replace

    def spy(src: Any, dst: Any) -> None:
        assert Path(src).parent == Path(dst).parent
        assert not Path(dst).exists() or Path(dst).name.endswith(("manifest.json", "summary.csv",
                                                                   "summary.parquet"))
        seen.append((Path(src).name, Path(dst).name))
        real(src, dst)

    monkeypatch.setattr("kperf.experiments.store.os.replace", spy)
    go(tmp_path)
    finals = {dst for _, dst in seen}
    assert {"summary.parquet", "summary.csv", "manifest.json"} <= finals
    assert sum(dst.endswith(".json") and dst != "manifest.json" for dst in finals) == N_RUNS
    assert all(src.startswith(f".{dst}.") and src.endswith(".tmp") for src, dst in seen)


def test_leftover_temp_files_are_cleaned(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir(parents=True)
    leftover = tmp_path / "runs" / ".abc.json.123.tmp"
    leftover.write_text("{")
    RunStore(tmp_path).prepare()
    assert not leftover.exists()


def test_truncated_run_file_is_not_finished(tmp_path: Path) -> None:
    res = go(tmp_path)
    run_id = res.summary.run_id[0]
    (tmp_path / "runs" / f"{run_id}.json").write_text('{"run_id": ')
    again = Counting()
    go(tmp_path, again)
    assert len(again.calls) == 1


def test_post_run_hooks(tmp_path: Path) -> None:
    seen: list[Any] = []
    POST_RUN_HOOKS.append(seen.append)
    try:
        res = go(tmp_path)
        assert seen == [res]
        go(tmp_path / "b", report=False)
        assert len(seen) == 1
    finally:
        POST_RUN_HOOKS.remove(seen.append)


def test_default_out_is_results_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = run(EXPERIMENT, simulate_fn=fake_simulate, progress="off")
    assert res.path == Path("results") / "store-test"
    assert (tmp_path / "results" / "store-test" / "summary.parquet").exists()


def test_progress_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exp = json.loads(json.dumps(EXPERIMENT))
    exp["cluster"]["pod_mtu_bytes"] = 1234
    run(exp, tmp_path, simulate_fn=fake_simulate, progress="lines")
    err = capsys.readouterr().err.splitlines()
    assert err[0].endswith(": 8 runs")
    assert err[1].startswith("[1/8] ok cluster.nodes=2 cluster.cni=flannel-vxlan rep=0 ")
    assert err[-1].startswith("[8/8] FAILED cluster.nodes=8 cluster.cni=calico-bgp rep=1 ")
    assert err[-1].endswith(": RuntimeError: simulated failure for calico-bgp on 8 nodes")


def test_load_results_rebuilds_a_missing_summary(tmp_path: Path) -> None:
    res = go(tmp_path)
    (tmp_path / "summary.parquet").unlink()
    again = load_results(tmp_path)
    pd.testing.assert_frame_equal(again.summary, res.summary)


INIT_CALLS: list[int] = []


def _worker_init() -> None:
    INIT_CALLS.append(1)


def test_worker_init_runs_once_per_worker(tmp_path: Path) -> None:
    from kperf.experiments.executors import _INITIALISED

    _INITIALISED.discard(f"{__name__}._worker_init")
    INIT_CALLS.clear()
    go(tmp_path, worker_init=_worker_init)
    assert INIT_CALLS == [1]
