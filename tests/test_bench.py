"""``kperf bench``: its scenarios at small sizes, and the command's output.

The bench's figures are timings, which no test asserts on (machines are shared); what
is tested is that the scenarios run, count what they claim to, and that the naive
SimPy baseline (one ``simpy.Resource`` per contended stage, a process per request)
computes the same model as the engine.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from kperf.bench import TARGETS, meets
from kperf.bench import scenarios as sc
from kperf.cli.app import app
from kperf.cli.main import _register

_register()  # every command, as in the real CLI


def test_rr_half_load_counts_traversals_and_agrees_with_naive_simpy() -> None:
    out = sc.rr_half_load(5_000, repeats=1)
    # a cross-node message crosses 4 contended stages (tx core, NIC, switch port, rx
    # core): 8 per request and response, every request completing at 50 % load
    assert out["stage_traversals"] == 8 * 5_000
    assert out["rr_requests_per_s"] > 0 and out["speedup_vs_naive_simpy"] > 0
    # the same queues and service times on simpy.Resource: mean latency within 2 %
    # (the two draw their Poisson arrivals from different streams)
    assert out["naive_latency_mean_us"] == pytest.approx(out["rr_latency_mean_us"], rel=0.02)


def test_best_of_keeps_the_least_time() -> None:
    calls: list[int] = []

    def work() -> int:
        calls.append(1)
        return sum(range(10_000 * len(calls)))  # later calls take longer

    secs, result = sc.best_of(3, work)
    assert len(calls) == 3 and secs > 0
    assert result == sum(range(10_000))  # the result of the fastest (first) call


def test_node_scaling_reports_both_sizes() -> None:
    out = sc.node_scaling(quick=True, repeats=1)
    assert out["s_per_request_10_nodes"] > 0 and out["s_per_request_1000_nodes"] > 0
    assert out["node_scaling_ratio"] == pytest.approx(
        out["s_per_request_1000_nodes"] / out["s_per_request_10_nodes"])
    assert out["node_scaling_ratio_same_load"] == pytest.approx(
        out["s_per_request_1000_nodes_same_load"] / out["s_per_request_10_nodes"])


def test_targets_are_checked_in_their_direction() -> None:
    assert meets("event_overhead_ratio", 2.5) is True
    assert meets("event_overhead_ratio", 2.51) is False
    assert meets("speedup_vs_naive_simpy", 2.9) is False
    assert meets("node_scaling_ratio", 2.0) is False  # strictly below
    assert meets("node_scaling_ratio", 1.99) is True
    assert meets("node_scaling_ratio_same_load", 1.5) is False
    assert meets("simpy_timeout_events_per_s", 1.0) is None
    assert set(TARGETS) >= {"rr_requests_per_s", "build_peak_mb", "sweep_speedup_2_workers"}


def test_bench_command_prints_a_table_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    figures = {"quick": 1.0, "event_overhead_ratio": 2.0, "node_scaling_ratio": 2.1}

    def fake_run(quick: bool, log: Any = None) -> dict[str, float]:
        assert quick
        return figures

    monkeypatch.setattr("kperf.bench.run_bench", fake_run)
    runner = CliRunner()
    res = runner.invoke(app, ["bench", "--quick", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == figures
    res = runner.invoke(app, ["bench", "--quick"])
    assert res.exit_code == 0
    assert "node_scaling_ratio" in res.stdout and "NO" in res.stdout and "yes" in res.stdout
