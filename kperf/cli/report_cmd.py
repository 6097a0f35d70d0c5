"""``kperf report DIR``: report.md and a self-contained report.html for a results folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kperf.cli.app import app, handles_errors


@app.command("report")
@handles_errors
def report_command(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="A results folder.")],
    no_plots: Annotated[
        bool, typer.Option("--no-plots", help="Use the plots already in DIR/plots/.")
    ] = False,
) -> None:
    """Write DIR/report.md and DIR/report.html (images embedded, viewable offline).

    The report says what was simulated, ranks the configurations (with 95 %
    confidence intervals), shows the plots, gives the capacity-planning answer when
    `kperf plan --out DIR` wrote one, lists the assumptions and the provenance of
    the profile numbers (calibrated or estimated, with sources), and how to
    reproduce it. `kperf run` writes it at the end of a sweep unless --no-report.

    Example:

        kperf report results/default
    """
    from kperf.analysis.report import write_report

    _repair(folder)
    md = write_report(folder, plots=not no_plots)
    print(f"report: {md} and {md.with_suffix('.html')}")


def _repair(folder: Path) -> None:
    """Rebuild a missing or damaged summary.parquet from runs/ first (one line on
    stderr says so), or refuse with a one-line SpecError when runs/ cannot."""
    from kperf.experiments.results import repair_summary

    note = repair_summary(folder)
    if note:
        print(f"kperf: {note}", file=sys.stderr)
