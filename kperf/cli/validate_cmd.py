"""``kperf validate``: simulate the calibration cases and compare with published values."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kperf.cli.app import EXIT_FAILED, app, fail, handles_errors


@app.command("validate")
@handles_errors
def validate_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print a Markdown table (docs/validation.md).")
    ] = False,
    case: Annotated[
        str | None, typer.Option("--case", metavar="NAME", help="Run only this case.")
    ] = None,
    cases_file: Annotated[
        Path | None,
        typer.Option("--cases", metavar="FILE",
                     help="Cases file (default: kperf's own, kperf/data/calibration_cases.yaml)."),
    ] = None,
) -> None:
    """Check kperf against published measurements (docs/validation.md).

    Simulates every calibration case (testbed, CNI mode, MTU, iperf3/netperf-like
    workload) and prints the published value with its source, the simulated value,
    the error and the verdict: pass, fail, or known gap (a row the model documents it
    cannot meet). Exit code 1 if a case fails (known gaps do not count), 2 for bad
    input.

    Examples:

        kperf validate

        kperf validate --case c-calico-tcp-rr --json

        kperf validate --cases my_cluster_measurements.yaml
    """
    from kperf.calibration.cases import load_cases, select
    from kperf.calibration.validate import all_ok, results_markdown, validate

    cases = load_cases(cases_file)
    if case is not None:
        cases = [select(cases, case)]
    results = validate(cases)
    if as_json:
        print(json.dumps({"cases": [_json_row(r.as_dict()) for r in results],
                          "ok": all_ok(results)}, indent=2))
    elif markdown:
        print(results_markdown(results))
    else:
        _print_table(results)
    if not all_ok(results):
        n = sum(1 for r in results if not r.ok)
        raise fail(f"{n} of {len(results)} calibration cases outside their tolerance",
                   EXIT_FAILED)


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    # JSON has no NaN or infinity: a missing simulated value becomes null
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()}


def _print_table(results: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from kperf.calibration.validate import fmt_value

    console = Console()
    if not console.is_terminal:  # logs and pipes: do not squeeze the table into 80 columns
        console = Console(width=200)
    table = Table(title=f"kperf validate: {len(results)} cases", title_justify="left")
    for col, just in (("case", "left"), ("setup", "left"), ("published", "right"),
                      ("simulated", "right"), ("error", "right"), ("tol.", "right"),
                      ("result", "left"), ("source", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    styles = {"pass": "green", "fail": "bold red", "known gap": "yellow",
              "known gap (now passes)": "yellow"}
    for r in results:
        err = f"{r.error * 100:+.1f} %" if math.isfinite(r.error) else "n/a"
        table.add_row(r.name, r.setup, f"{fmt_value(r.published, r.units)} {r.units}",
                      fmt_value(r.simulated, r.units), err, f"±{r.tolerance * 100:.0f} %",
                      f"[{styles[r.status]}]{r.status}[/]", r.source)
    console.print(table)
    n_pass = sum(r.status == "pass" for r in results)
    gaps = [r for r in results if r.status.startswith("known gap")]
    n_fail = sum(r.status == "fail" for r in results)
    console.print(f"{n_pass} pass, {n_fail} fail, {len(gaps)} known gaps")
    for r in gaps:
        console.print(f"  known gap {r.name}: {r.expected_fail}", highlight=False)
    sys.stdout.flush()
