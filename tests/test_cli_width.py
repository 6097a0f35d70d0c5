"""Terminal tables fit the terminal; short sources in ``kperf validate``; consistent
argument names in ``--help``.

* ``kperf validate`` and ``kperf run`` print no line wider than the terminal
  (``COLUMNS``): text cells wrap, and the least important columns are left out, named
  on one line under the table with where to see them.
* ``kperf validate`` shows a short source label; ``-v`` the full source row.
* Every command's help names its argument ``EXPERIMENT``, ``CLUSTER_OR_EXPERIMENT``,
  ``DIR``, ``KUBECTL_JSON`` or ``CATALOG``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.text import Text
from typer.testing import CliRunner

from kperf.calibration.cases import load_cases, select
from kperf.cli.app import app
from kperf.cli.main import _register
from kperf.cli.tables import Col, column_widths, fit_columns, table_width
from kperf.cli.validate_cmd import short_source
from kperf.workloads.result import SUMMARY_METRICS, RunResult

_register()
runner = CliRunner()

CASE = "c-calico-tcp-rr"

EXPERIMENT = """\
name: width-test
seed: 5
replications: 2
testbed: 10g-xeon-2015
cluster:
  nodes: 2
  deployments: [{name: client}, {name: server}]
workload: {kind: rr, target: server}
sweep:
  cluster.cni: [flannel-vxlan, calico-bgp]
"""


def invoke(args: list[str], width: int) -> Any:
    result = runner.invoke(app, args, env={"COLUMNS": str(width)})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def assert_fits(text: str, width: int) -> None:
    long = [line for line in text.splitlines() if len(line) > width]
    assert not long, f"{len(long)} lines wider than {width}:\n" + "\n".join(long)


# --------------------------------------------------------------------------- validate

@pytest.mark.parametrize("width", [100, 80])
def test_validate_fits_the_terminal(width: int) -> None:
    res = invoke(["validate", "--case", CASE], width)
    assert res.exit_code == 0, res.stdout + res.stderr
    assert_fits(res.stdout, width)
    assert CASE in res.stdout and "pass" in res.stdout
    full = " ".join(select(load_cases(), CASE).source.split())
    assert "|" not in res.stdout.replace("│", "")  # no raw Markdown row by default
    assert full not in res.stdout


def test_validate_names_the_columns_it_leaves_out() -> None:
    res = invoke(["validate", "--case", CASE], 60)
    assert_fits(res.stdout, 60)
    note = " ".join(line for line in res.stdout.splitlines() if "not shown" in line
                    or "--json" in line)
    assert "source" in note and "kperf validate --json" in note
    for kept in ("case", "result", "published"):
        assert kept in res.stdout


def test_validate_short_source_by_default_full_with_verbose() -> None:
    source = select(load_cases(), CASE).source
    wide = invoke(["validate", "--case", CASE], 300)
    assert short_source(source) in wide.stdout
    assert "Calico (iptables) 36.0 k" not in wide.stdout  # the rest of the row: with -v
    verbose = invoke(["validate", "--case", CASE, "-v"], 300)
    assert " ".join(source.split()) in verbose.stdout
    # -v keeps the source column in a narrower terminal too (wrapped)
    narrow = invoke(["validate", "--case", CASE, "--verbose"], 100)
    assert_fits(narrow.stdout, 100)
    assert "36.0 k" in narrow.stdout and "not shown" not in narrow.stdout.split("source")[0]


def test_json_and_markdown_are_unchanged_by_the_width() -> None:
    md = [invoke(["validate", "--case", CASE, "--markdown"], w).stdout for w in (60, 300)]
    assert md[0] == md[1] and md[0].startswith("| case | setup |")
    data = [json.loads(invoke(["validate", "--case", CASE, "--json"], w).stdout)
            for w in (60, 300)]
    for d in data:
        for row in d["cases"]:
            row.pop("wall_s", None)  # how long the simulation took
    assert data[0] == data[1]
    assert data[0]["cases"][0]["source"] == select(load_cases(), CASE).source


def test_short_source_labels() -> None:
    assert short_source("CAL:A | Flannel 0.12 VXLAN | 8950 | 9.69 | 9.85 |") == \
        "CAL:A Flannel 0.12 VXLAN"
    assert short_source("my lab, 2024-05-01") == "my lab, 2024-05-01"
    long = short_source("CAL:A text: " + "word " * 40 + "| row |")
    assert long.startswith("CAL:A text: word") and long.endswith("…") and len(long) <= 72


# --------------------------------------------------------------------------- run

class Fake:
    def __call__(self, testbed: Any, cluster: Any, workloads: Any, seed: int,
                 keep_samples: bool = False) -> RunResult:
        rng = np.random.default_rng(seed)
        return RunResult(summary={m: float(rng.random() * 1e5) for m in SUMMARY_METRICS})


@pytest.mark.parametrize("width", [100, 80, 50])
def test_run_summary_fits_the_terminal(width: int, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kperf.experiments.worker.default_simulate", lambda: Fake())
    exp = tmp_path / "exp.yaml"
    exp.write_text(EXPERIMENT)
    res = invoke(["run", str(exp), "--out", str(tmp_path / "r"), "--serial", "--no-report"],
                 width)
    assert res.exit_code == 0, res.stderr
    assert_fits(res.stdout, width)
    assert "width-test: 4 runs" in res.stdout and "calico-bgp" in res.stdout
    if width == 50:  # too narrow for every metric: named, with where to find them
        assert "not shown" in res.stdout and "summary.csv" in res.stdout
        assert "p99 µs" in res.stdout  # the most important metric stays
    if width == 100:
        assert "not shown" not in res.stdout and "failed" in res.stdout


# --------------------------------------------------------------------------- fitting

def test_fit_drops_the_least_important_columns_first() -> None:
    cols = [Col("a", 10), Col("b", 1), Col("c", 5), Col("d", 1)]
    rows = [[Text("x" * 10)] * 4]
    assert fit_columns(cols, rows, 200) == [0, 1, 2, 3]
    assert fit_columns(cols, rows, 40) == [0, 1, 2]  # the rightmost of equal ones first
    assert fit_columns(cols, rows, 30) == [0, 2]
    assert fit_columns(cols, rows, 5) == [0]  # the most important column always stays


def test_wrapping_columns_count_as_narrow() -> None:
    cols = [Col("name", 10), Col("text", 5, wrap=True)]
    rows = [[Text("n"), Text("many short words " * 10)]]
    assert fit_columns(cols, rows, 30) == [0, 1]


# --------------------------------------------------------------------------- help

HELP_METAVARS = [
    ("run", "EXPERIMENT"), ("plan", "EXPERIMENT"), ("inspect", "CLUSTER_OR_EXPERIMENT"),
    ("paths", "CLUSTER_OR_EXPERIMENT"), ("import", "KUBECTL_JSON"), ("report", "DIR"),
    ("plot", "DIR"), ("list", "CATALOG"),
]


@pytest.mark.parametrize(("command", "metavar"), HELP_METAVARS)
def test_help_shows_consistent_argument_names(command: str, metavar: str) -> None:
    res = invoke([command, "--help"], 100)
    assert res.exit_code == 0
    assert f"kperf {command} [OPTIONS] {{{metavar}}}" in res.stdout, res.stdout
    for old in ("EXP.yaml", "CLUSTER_FILE", "WHAT", " FILE "):
        assert old not in res.stdout


def test_validate_help_mentions_verbose() -> None:
    res = invoke(["validate", "--help"], 100)
    assert res.exit_code == 0 and "--verbose" in res.stdout and "-v" in res.stdout


def test_column_widths_fill_at_most_the_width_and_keep_minimums() -> None:
    cols = [Col("name", 10), Col("configuration", 5, wrap=True), Col("note", 1, wrap=True)]
    rows = [[Text("a-case"), Text("flannel-vxlan " * 3), Text("a long note " * 8)]]
    assert column_widths(cols, rows, 300) is None  # fits as it is
    widths = column_widths(cols, rows, 60)
    assert widths is not None and table_width(widths) <= 60
    assert widths[0] == 6 and widths[1] >= len("configuration")
