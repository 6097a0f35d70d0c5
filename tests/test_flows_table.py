"""Per-flow tables: stored as ``runs/<id>.flows.parquet`` and read back identical,
a damaged one makes its run unfinished, folders from before flows tables still load,
Jain's fairness index, and the report's Flows section. Stub simulations only."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kperf.analysis.aggregate import metric_label
from kperf.analysis.report import FLOWS_SECTION, SECTIONS, build_document, write_report
from kperf.experiments import load_results, run
from kperf.experiments.store import RunDataMissing, RunStore
from kperf.experiments.worker import execute_run
from kperf.metrics.fairness import jain_index
from kperf.workloads.result import FLOW_COLUMNS, SUMMARY_METRICS, RunResult
from tests.test_plots import make_results_dir

EXPERIMENT: dict[str, Any] = {
    "name": "flows-test",
    "seed": 5,
    "replications": 2,
    "testbed": "10g-xeon-2015",
    "cluster": {"nodes": 2, "deployments": [{"name": "client"}, {"name": "server"}]},
    "workload": {"kind": "stream", "target": "server"},
    "sweep": {"cluster.cni": ["flannel-vxlan", "calico-bgp"]},
}
N_RUNS = 4


def flows_frame(seed: int, n_bulk: int = 3, n_finite: int = 2) -> pd.DataFrame:
    """A flows table with every column of FLOW_COLUMNS (bulk streams, then finite
    transfers, the last of which did not finish), numbers from ``seed``."""
    rng = np.random.default_rng(seed)
    n = n_bulk + n_finite
    size = np.array([0] * n_bulk + [1_000_000] * n_finite, dtype=np.int64)
    finished = np.array([False] * n_bulk + [True] * (n_finite - 1) + [False] * min(n_finite, 1))
    fct = np.where(finished, rng.uniform(100.0, 900.0, n), np.nan)
    return pd.DataFrame({
        "workload": ["stream"] * n_bulk + ["transfer"] * n_finite,
        "flow_id": np.arange(n, dtype=np.int64),
        "client": [f"client-{i % 2}" for i in range(n)],
        "server": "server-0",
        "protocol": "tcp",
        "congestion_control": "cubic",
        "start_s": rng.uniform(0.0, 0.001, n),
        "end_s": rng.uniform(0.01, 0.02, n),
        "size_bytes": size,
        "bytes_delivered": rng.integers(1, 10**7, n).astype(np.int64),
        "goodput_gbps": rng.uniform(1.0, 3.0, n),
        "retransmits": rng.integers(0, 4, n).astype(np.int64),
        "timeouts": np.zeros(n, dtype=np.int64),
        "mean_cwnd_bytes": rng.uniform(1e4, 1e5, n),
        "fct_us": fct,
        "finished": finished,
    }, columns=list(FLOW_COLUMNS))


def simulate_with_flows(testbed: Any, cluster: Any, workloads: Any, seed: int,
                        keep_samples: bool = False) -> RunResult:
    summary: dict[str, Any] = {m: 1.0 for m in SUMMARY_METRICS}
    flows = flows_frame(seed)
    bulk = flows[flows["size_bytes"] == 0]
    summary["fairness_jain"] = jain_index(bulk["goodput_gbps"])
    breakdown = pd.DataFrame({"category": ["wire"], "time_us": [1.0]})
    return RunResult(summary=summary, breakdown=breakdown, flows=flows)


def simulate_without_flows(testbed: Any, cluster: Any, workloads: Any, seed: int,
                           keep_samples: bool = False) -> RunResult:
    """What a simulation of before flows tables returned: no flows (an empty frame)."""
    breakdown = pd.DataFrame({"category": ["wire"], "time_us": [1.0]})
    return RunResult(summary={m: 1.0 for m in SUMMARY_METRICS}, breakdown=breakdown)


class Counting:
    def __init__(self, fn: Any = simulate_with_flows) -> None:
        self.fn = fn
        self.calls: list[int] = []

    def __call__(self, testbed: Any, cluster: Any, workloads: Any, seed: int,
                 keep_samples: bool = False) -> RunResult:
        self.calls.append(seed)
        result: RunResult = self.fn(testbed, cluster, workloads, seed, keep_samples)
        return result


def go(out: Path, fn: Any = simulate_with_flows, **kw: Any) -> Any:
    return run(EXPERIMENT, out, simulate_fn=fn, progress="off", report=False, **kw)


# --------------------------------------------------------------------------- the store


def test_flows_round_trip_through_the_store(tmp_path: Path) -> None:
    res = go(tmp_path)
    assert len(res.summary) == N_RUNS and res.ok
    for i, row in enumerate(res.summary.itertuples()):
        path = tmp_path / "runs" / f"{row.run_id}.flows.parquet"
        assert path.is_file()
        assert res.record(i)["files"]["flows"] == path.name
        pd.testing.assert_frame_equal(res.flows(i), flows_frame(int(row.seed)))
        pd.testing.assert_frame_equal(res.flows(str(row.run_id)), flows_frame(int(row.seed)))
    again = load_results(tmp_path)
    pd.testing.assert_frame_equal(again.flows(3), res.flows(3))
    assert "fairness_jain" in res.summary.columns
    assert res.summary["fairness_jain"].between(1 / 3, 1).all()


def test_tables_concatenates_every_run_tagged(tmp_path: Path) -> None:
    res = go(tmp_path)
    all_flows = res.tables("flows")
    assert list(all_flows.columns) == ["cluster.cni", "replication", "run_id", *FLOW_COLUMNS]
    assert len(all_flows) == 5 * N_RUNS
    assert list(dict.fromkeys(all_flows["run_id"])) == list(res.summary["run_id"])
    first = all_flows[all_flows["run_id"] == res.summary["run_id"][0]]
    pd.testing.assert_frame_equal(first[list(FLOW_COLUMNS)].reset_index(drop=True),
                                  res.flows(0))
    assert set(first["cluster.cni"]) == {res.summary["cluster.cni"][0]}
    assert res.tables("breakdown")["run_id"].nunique() == N_RUNS
    with pytest.raises(ValueError, match="table must be one of"):
        res.tables("nope")


def test_store_record_writes_flows_of_an_outcome(tmp_path: Path) -> None:
    """RunStore.record on a RunOutcome from execute_run (the path workers take)."""
    from kperf.experiments.expand import expand
    from kperf.spec.experiment import load_experiment

    spec = expand(load_experiment(dict(EXPERIMENT)))[0]
    task = spec.task()
    outcome = execute_run(task, simulate_with_flows)
    assert outcome.ok and outcome.flows is not None
    pd.testing.assert_frame_equal(outcome.flows, flows_frame(spec.seed))
    store = RunStore(tmp_path)
    store.prepare()
    record = store.record(spec, outcome)
    assert record["files"]["flows"] == f"{spec.run_id}.flows.parquet"
    assert store.is_finished(spec.run_id)
    pd.testing.assert_frame_equal(store.load_table(spec.run_id, "flows"),
                                  flows_frame(spec.seed))
    # an empty flows table (a run without streams) is not stored
    empty = execute_run(task, simulate_without_flows)
    assert empty.ok and empty.flows is None


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_a_damaged_flows_file_makes_its_run_unfinished(tmp_path: Path, damage: str) -> None:
    res = go(tmp_path)
    run_id = str(res.summary.run_id[1])
    path = tmp_path / "runs" / f"{run_id}.flows.parquet"
    if damage == "truncate":
        os.truncate(path, path.stat().st_size // 2)
    else:
        path.unlink()
    store = RunStore(tmp_path)
    assert not store.is_finished(run_id)
    assert store.is_finished(str(res.summary.run_id[0]))
    with pytest.raises(RunDataMissing, match="damaged" if damage == "truncate" else "missing"):
        res.flows(1)
    # the run is left out of the concatenation, not an error
    assert res.tables("flows")["run_id"].nunique() == N_RUNS - 1
    again = Counting()
    res2 = go(tmp_path, again)
    assert len(again.calls) == 1
    pd.testing.assert_frame_equal(res2.flows(1), flows_frame(int(res.summary.seed[1])))
    pd.testing.assert_frame_equal(res2.summary, res.summary)


def test_folders_without_flows_still_load_and_count_as_finished(tmp_path: Path) -> None:
    res = go(tmp_path, simulate_without_flows)
    assert not list((tmp_path / "runs").glob("*.flows.parquet"))
    for i in range(N_RUNS):
        assert "flows" not in res.record(i)["files"]
    with pytest.raises(RunDataMissing, match="stored no flows table"):
        res.flows(0)
    assert res.tables("flows").empty
    assert len(load_results(tmp_path).summary) == N_RUNS
    # a newer simulation that reports flows does not redo runs that finished without
    again = Counting()
    go(tmp_path, again)
    assert again.calls == []


def test_a_record_from_before_flows_tables_is_finished(tmp_path: Path) -> None:
    """A run record written by a kperf without flows tables (no ``flows`` entry in its
    ``files``, no flows file) is finished; the folder loads, reports and resumes."""
    res = go(tmp_path)
    run_id = str(res.summary.run_id[0])
    record_path = tmp_path / "runs" / f"{run_id}.json"
    record = json.loads(record_path.read_text())
    del record["files"]["flows"]
    record_path.write_text(json.dumps(record))
    (tmp_path / "runs" / f"{run_id}.flows.parquet").unlink()
    assert RunStore(tmp_path).is_finished(run_id)
    again = Counting()
    go(tmp_path, again)
    assert again.calls == []
    with pytest.raises(RunDataMissing, match="stored no flows table"):
        load_results(tmp_path).flows(0)


def test_clear_removes_flows_files(tmp_path: Path) -> None:
    go(tmp_path)
    RunStore(tmp_path).clear("flows-test")
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_flows_cross_a_process_pool(tmp_path: Path) -> None:
    res = go(tmp_path, workers=2)
    assert res.ok
    pd.testing.assert_frame_equal(res.flows(2), flows_frame(int(res.summary.seed[2])))


# --------------------------------------------------------------------------- Jain's index


def test_jain_index_known_values() -> None:
    assert jain_index([5.0, 5.0, 5.0, 5.0]) == 1.0
    assert jain_index([7.0, 0.0, 0.0]) == pytest.approx(1 / 3)
    assert jain_index([1.0, 1.0, 0.0, 0.0]) == pytest.approx(0.5)
    assert jain_index([1.0, 3.0]) == pytest.approx(16 / 20)
    assert jain_index([2.5]) == 1.0
    assert jain_index(np.array([1.0, 2.0, 3.0])) == pytest.approx(36 / 42)
    assert jain_index(pd.Series([1.0, float("nan"), 1.0])) == 1.0  # NaN left out
    assert math.isnan(jain_index([]))
    assert math.isnan(jain_index([float("nan")]))
    assert math.isnan(jain_index([0.0, 0.0]))
    for bad in ([1.0, -1.0], [1.0, float("inf")]):
        with pytest.raises(ValueError, match="non-negative"):
            jain_index(bad)


shares = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(st.floats(min_value=1e-9, max_value=1e9), st.integers(min_value=1, max_value=64))
def test_jain_index_of_equal_shares_is_one(value: float, n: int) -> None:
    assert jain_index([value] * n) == 1.0


@given(st.integers(min_value=1, max_value=64), st.floats(min_value=1e-9, max_value=1e9))
def test_jain_index_one_flow_takes_all(n: int, value: float) -> None:
    values = [0.0] * n
    values[n // 2] = value
    assert jain_index(values) == pytest.approx(1 / n)


@given(st.lists(shares, min_size=1, max_size=40).filter(lambda xs: max(xs) > 1e-3),
       st.floats(min_value=1e-6, max_value=1e6))
def test_jain_index_is_scale_invariant_and_bounded(values: list[float], scale: float) -> None:
    j = jain_index(values)
    assert 1 / len(values) - 1e-12 <= j <= 1.0
    assert jain_index([v * scale for v in values]) == pytest.approx(j, rel=1e-9)
    assert jain_index(list(reversed(values))) == pytest.approx(j, rel=1e-12)


def test_fairness_jain_has_a_label() -> None:
    assert metric_label("fairness_jain") != "fairness_jain"


# --------------------------------------------------------------------------- the report


def _add_flows(folder: Path, finite: bool = True) -> pd.DataFrame:
    """Write a flows table for every run of a synthetic results folder."""
    summary = pd.read_parquet(folder / "summary.parquet")
    for row in summary.itertuples():
        flows_frame(int(row.seed), n_finite=2 if finite else 0).to_parquet(
            folder / "runs" / f"{row.run_id}.flows.parquet", index=False)
    return summary


def test_report_has_a_flows_section_when_flows_exist(tmp_path: Path) -> None:
    folder = make_results_dir(tmp_path / "res", sweep={"cluster.cni": ["calico-bgp",
                                                                       "flannel-vxlan"]},
                              samples=False, reps=2, name="<b>flows</b>")
    summary = _add_flows(folder)
    write_report(folder, formats=("png",))
    md = (folder / "report.md").read_text(encoding="utf-8")
    page = (folder / "report.html").read_text(encoding="utf-8")
    titles = [line[3:] for line in md.splitlines() if line.startswith("## ")]
    assert titles == [*SECTIONS[:3], FLOWS_SECTION, *SECTIONS[3:]]  # after Key findings
    assert f"<h2>{FLOWS_SECTION}</h2>" in page and 'id="flows"' in page
    section = md.split(f"## {FLOWS_SECTION}\n")[1].split("\n## ")[0]
    assert "Jain's index (bulk)" in section and "FCT p99 (µs)" in section
    assert "DEC-TR-301" in section
    lines = [ln for ln in section.splitlines() if ln.startswith("| calico-bgp |")]
    assert len(lines) == 1
    cells = [c.strip() for c in lines[0].strip("|").split("|")]
    runs = summary[summary["cluster.cni"] == "calico-bgp"]
    flows = pd.concat([flows_frame(int(s)) for s in runs.seed], ignore_index=True)
    bulk = flows[flows["size_bytes"] == 0]
    jains = [jain_index(flows_frame(int(s)).query("size_bytes == 0")["goodput_gbps"])
             for s in runs.seed]
    assert cells[1] == "2" and cells[2] == "5"  # runs, flows per run (the same in each)
    assert cells[4].startswith(f"{np.mean(jains):.3f} ± ")
    assert cells[5] == f"{flows['goodput_gbps'].min():,.3g}"
    assert cells[6] == f"{flows['goodput_gbps'].max():,.3g}"
    assert cells[8] == "2 of 4"  # transfers finished
    done = flows[flows["finished"]]["fct_us"]
    assert cells[9] == f"{np.percentile(done, 50):,.1f}"
    assert cells[10] == f"{np.percentile(done, 99):,.1f}"
    assert cells[3].startswith(f"{bulk.groupby(bulk.index // 5)['goodput_gbps'].sum().mean():,.3g}")
    # the per-flow goodput plot, shown in the Flows section (once), embedded in the HTML
    assert (folder / "plots" / "flow_goodput.png").is_file()
    assert "](plots/flow_goodput.png)" in section
    assert md.count("](plots/flow_goodput.png)") == 1
    assert page.count('<img src="data:image/png;base64,') == len(
        json.loads((folder / "plots" / "index.json").read_text())["made"])
    # escaped like the rest of the report
    assert "<b>flows</b>" not in page


def test_report_without_flows_has_no_flows_section(tmp_path: Path) -> None:
    folder = make_results_dir(tmp_path / "res", sweep={"cluster.cni": ["calico-bgp"]},
                              samples=False, reps=2)
    write_report(folder, formats=("png",))
    md = (folder / "report.md").read_text(encoding="utf-8")
    assert [line[3:] for line in md.splitlines() if line.startswith("## ")] == list(SECTIONS)
    assert FLOWS_SECTION not in (folder / "report.html").read_text(encoding="utf-8")
    index = json.loads((folder / "plots" / "index.json").read_text())
    assert "flow_goodput" not in [m["name"] for m in index["made"]]
    assert "flow_goodput" not in [m["name"] for m in index["skipped"]]


def test_flows_section_of_bulk_only_runs_and_a_partial_folder(tmp_path: Path) -> None:
    folder = make_results_dir(tmp_path / "res", sweep={"cluster.cni": ["calico-bgp",
                                                                       "flannel-vxlan"]},
                              samples=False, reps=2)
    summary = _add_flows(folder, finite=False)
    (folder / "runs" / f"{summary.run_id[0]}.flows.parquet").unlink()
    doc = build_document(folder)
    section = next(s for s in doc.sections if s.title == FLOWS_SECTION)
    table = next(b for b in section.blocks if b.kind == "table")
    assert "FCT p50 (µs)" not in table.headers and "Jain's index (bulk)" in table.headers
    assert [r[:2] for r in table.rows] == [["calico-bgp", "1"], ["flannel-vxlan", "2"]]
    notes = " ".join(i for b in section.blocks if b.kind == "list" for i in b.items)
    assert "1 ok run(s) stored no flows table" in notes
    assert not any(b.kind == "image" for b in section.blocks)  # plots not made here
