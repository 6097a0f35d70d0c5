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
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v",
                           help="Show each case's full source (default: a short label).")
    ] = False,
) -> None:
    """Check kperf against published measurements (docs/validation.md).

    Simulates every calibration case (testbed, CNI mode, MTU, iperf3/netperf-like
    workload; a service mesh and fortio-like HTTP for the mesh cases) and prints the
    published value with its source (a short label; the full source row with -v), the
    simulated value, the error and the verdict: pass,
    fail, or known gap (a row the model documents it cannot meet). The table fits the
    terminal: columns that do not fit are left out and named under it; under it, the
    counts per group (datapath cases, mesh cases) and in total. Exit code 1 if
    a case fails (known gaps do not count), 2 for bad input.

    Examples:

        kperf validate

        kperf validate --case c-calico-tcp-rr --json

        kperf validate --cases my_cluster_measurements.yaml
    """
    from kperf.calibration.cases import load_cases, select
    from kperf.calibration.validate import (
        all_ok,
        group_counts,
        group_counts_text,
        results_markdown,
        validate,
    )

    cases = load_cases(cases_file)
    if case is not None:
        cases = [select(cases, case)]
    results = validate(cases)
    if as_json:
        print(json.dumps({"cases": [_json_row(r.as_dict()) for r in results],
                          "groups": group_counts(results), "ok": all_ok(results)}, indent=2))
    elif markdown:
        print(results_markdown(results))
        print()
        print("\n".join(f"- {line}" for line in group_counts_text(results)))
    else:
        _print_table(results, verbose=verbose)
    if not all_ok(results):
        n = sum(1 for r in results if not r.ok)
        raise fail(f"{n} of {len(results)} calibration cases outside their tolerance",
                   EXIT_FAILED)


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    # JSON has no NaN or infinity: a missing simulated value becomes null
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()}


SOURCE_LABEL_CHARS = 72
"""Longest short source label ``kperf validate`` prints without -v."""


def short_source(source: str, limit: int = SOURCE_LABEL_CHARS) -> str:
    """A short label for a case's source: its citation and the first cell of the cited
    row (``"CAL:A | Flannel 0.12 VXLAN | 8950 | ..."`` -> ``"CAL:A Flannel 0.12 VXLAN"``),
    else the first cell; at most ``limit`` characters."""
    cells = [c.strip() for c in " ".join(source.split()).split("|") if c.strip()]
    if not cells:
        return source.strip()
    head = cells[0]
    label = f"{head} {cells[1]}" if len(cells) > 1 and len(head.split()) == 1 else head
    if len(label) <= limit:
        return label
    cut = label[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:") + "…"


def _print_table(results: list[Any], verbose: bool = False) -> None:
    from rich.text import Text

    from kperf.calibration.validate import fmt_value
    from kperf.cli.tables import Col, print_table, table_console

    console = table_console()
    # least important first when the terminal is narrow: source (kept before setup
    # with -v, which asks for it), tol., setup, error, simulated, published, result
    cols = [Col("case", 100), Col("setup", 40, wrap=True),
            Col("published", 80, "right", wrap=True), Col("simulated", 70, "right"),
            Col("error", 60, "right"), Col("tol.", 30, "right"), Col("result", 90),
            Col("source", 50 if verbose else 20, wrap=True)]
    styles = {"pass": "green", "fail": "bold red", "known gap": "yellow",
              "known gap (now passes)": "yellow"}
    rows: list[list[str | Text]] = []
    for r in results:
        err = f"{r.error * 100:+.1f} %" if math.isfinite(r.error) else "n/a"
        source = " ".join(r.source.split()) if verbose else short_source(r.source)
        rows.append([Text(r.name), Text(r.setup), f"{fmt_value(r.published, r.units)} {r.units}",
                     fmt_value(r.simulated, r.units), err, f"±{r.tolerance * 100:.0f} %",
                     Text(r.status, style=styles[r.status]), Text(source)])
    print_table(console, cols, rows, title=f"kperf validate: {len(results)} cases",
                hint="see kperf validate --json")
    n_pass = sum(r.status == "pass" for r in results)
    gaps = [r for r in results if r.status.startswith("known gap")]
    n_fail = sum(r.status == "fail" for r in results)
    console.print(f"{n_pass} pass, {n_fail} fail, {len(gaps)} known gaps")
    from kperf.calibration.validate import group_counts_text

    if len({r.group for r in results}) > 1:  # each group's counts, so neither hides the other
        for line in group_counts_text(results):
            console.print(f"  {line}", highlight=False, markup=False)
    for r in gaps:
        console.print(f"  known gap {r.name}: {r.expected_fail}", highlight=False, markup=False)
    sys.stdout.flush()
