"""``kperf run``: exit codes (0 ok, 1 a run failed, 2 bad input, 130 interrupted),
the one-line error, resume, and the printed summary. Runs serially with a fake
simulate so the CLI is tested, not the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from kperf.cli.app import app
from kperf.cli.main import _register
from kperf.experiments import load_results
from kperf.workloads.result import SUMMARY_METRICS, RunResult

_register()  # every command, so "run" is a subcommand as in the real CLI
runner = CliRunner()

EXPERIMENT = """\
# A test experiment.
name: cli-test
seed: 5
replications: 2
testbed: 10g-xeon-2015
cluster:
  nodes: 2
  deployments: [{name: client}, {name: server}]
workload: {kind: rr, target: server}
sweep:
  cluster.cni: [flannel-vxlan, calico-bgp]
  cluster.nodes: [2, 8]
"""


class Fake:
    """Deterministic numbers; fails for calico-bgp on 8 nodes when ``fail`` is set;
    raises KeyboardInterrupt on call ``interrupt_on``."""

    def __init__(self, fail: bool = False, interrupt_on: int | None = None) -> None:
        self.fail = fail
        self.interrupt_on = interrupt_on
        self.calls = 0

    def __call__(self, testbed: Any, cluster: Any, workloads: Any, seed: int,
                 keep_samples: bool = False) -> RunResult:
        self.calls += 1
        if self.calls == self.interrupt_on:
            raise KeyboardInterrupt
        if self.fail and cluster.cni == "calico-bgp" and cluster.node_count == 8:
            raise ValueError("this configuration is broken")
        rng = np.random.default_rng(seed)
        return RunResult(summary={m: float(rng.random() * 100) for m in SUMMARY_METRICS})


@pytest.fixture
def exp(tmp_path: Path) -> Path:
    f = tmp_path / "exp.yaml"
    f.write_text(EXPERIMENT)
    return f


def use(monkeypatch: pytest.MonkeyPatch, fake: Fake) -> Fake:
    monkeypatch.setattr("kperf.experiments.worker.default_simulate", lambda: fake)
    return fake


def kperf_run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["run", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_success_prints_summary_and_where_results_went(
    exp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, Fake())
    code, out, err = kperf_run(str(exp), "--out", str(tmp_path / "r"), "--serial")
    assert code == 0, err
    assert "cli-test: 8 runs" in out and "calico-bgp" in out and "p99 µs" in out
    assert f"results: {tmp_path / 'r'}/" in out
    assert "[8/8] ok cluster.cni=calico-bgp cluster.nodes=8 rep=1" in err
    assert load_results(tmp_path / "r").ok


def test_a_failed_run_exits_1_after_the_sweep(
    exp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, Fake(fail=True))
    code, _, err = kperf_run(str(exp), "--out", str(tmp_path / "r"), "--serial")
    assert code == 1
    assert err.splitlines()[-1].startswith("kperf: error: 2 of 8 runs failed")
    s = load_results(tmp_path / "r").summary
    assert (s.status == "ok").sum() == 6
    assert set(s.error.dropna()) == {"ValueError: this configuration is broken"}


def test_interrupt_exits_130_and_the_same_command_resumes(
    exp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = (str(exp), "--out", str(tmp_path / "r"), "--serial")
    use(monkeypatch, Fake(interrupt_on=5))
    code, _, err = kperf_run(*args)
    assert code == 130
    assert err.splitlines()[-1] == (
        f"kperf: interrupted: 4 of 8 runs finished and saved in {tmp_path / 'r'}; "
        "run the same command again to resume"
    )
    second = use(monkeypatch, Fake())
    code, _, err = kperf_run(*args)
    assert code == 0 and second.calls == 4
    assert "8 runs (4 already done)" in err
    s = load_results(tmp_path / "r").summary
    assert len(s) == 8 and not s[["cluster.cni", "cluster.nodes", "replication"]
                                 ].duplicated().any()


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (("cluster.nodes: [2, 8]", "cluster.nodez: [2, 8]"), "sweep.cluster.nodez: "),
        (("[flannel-vxlan, calico-bgp]", "[flannel-vxlan, calico]"), "sweep.cluster.cni: got "
         "'calico'"),
        (("workload: {kind: rr, target: server}", "workload: {kind: rr, rate_per_s: 0}"),
         "workload.rate_per_s: got 0"),
        (("seed: 5", "seed: [5"), "malformed YAML"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    exp: Path, tmp_path: Path, edit: tuple[str, str], needle: str
) -> None:
    exp.write_text(EXPERIMENT.replace(*edit))
    code, _, err = kperf_run(str(exp), "--out", str(tmp_path / "r"), "--serial")
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("kperf: error: ")
    assert needle in err
    assert not (tmp_path / "r").exists()  # nothing ran, nothing written


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--dask", "local", "--workers", "2"), "--dask"),
        (("--workers", "0"), "--workers"),
    ],
)
def test_conflicting_options_exit_2(exp: Path, args: tuple[str, ...], needle: str) -> None:
    code, _, err = kperf_run(str(exp), *args)
    assert code == 2 and err.startswith(f"kperf: error: {needle}")


def test_missing_file_exits_2(tmp_path: Path) -> None:
    code, _, err = kperf_run(str(tmp_path / "nope.yaml"))
    assert code == 2 and "file not found" in err


def test_help_has_an_example() -> None:
    result = runner.invoke(app, ["run", "--help"])
    assert result.exit_code == 0
    for text in ("Example", "kperf run experiments/default.yaml", "--workers", "--dask",
                 "--serial", "--no-report", "--keep-samples", "--out"):
        assert text in result.stdout
