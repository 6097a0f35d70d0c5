"""``kperf plot DIR``: the plots that fit a results folder, as PNG and SVG in DIR/plots/."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kperf.cli.app import app, fail, handles_errors


@app.command("plot")
@handles_errors
def plot_command(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="A results folder.")],
    heatmap: Annotated[
        str | None,
        typer.Option("--heatmap", metavar="KEY1,KEY2",
                     help="The two swept keys of the heatmap (default: the first two)."),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option("--metric", help="The heatmap's metric (default: latency_p99_us)."),
    ] = None,
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated image formats.")
    ] = "png,svg",
) -> None:
    """Make the plots that fit a results folder (PNG and SVG in DIR/plots/).

    Latency CDF per CNI mode (needs --keep-samples), p50/p99 vs offered load,
    throughput vs cluster size and vs streams, the latency breakdown by stage, CPU
    cores per 10 Gbit/s, Services scaling per proxy mode, failed requests per
    rolling update, a heatmap of two swept keys, and the capacity plan when
    `kperf plan` wrote one here. Prints which plots were made and why the others
    were skipped.

    Example:

        kperf plot results/default --heatmap cluster.cni,cluster.nodes
    """
    from kperf.analysis.plots import make_plots

    keys: tuple[str, str] | None = None
    if heatmap is not None:
        parts = [p.strip() for p in heatmap.split(",") if p.strip()]
        if len(parts) != 2:
            raise fail(f"--heatmap: got {heatmap!r}; allowed: two swept keys separated by "
                       "a comma, e.g. cluster.cni,cluster.nodes")
        keys = (parts[0], parts[1])
    fmts = [f.strip().lower() for f in formats.split(",") if f.strip()]
    bad = [f for f in fmts if f not in ("png", "svg", "pdf")]
    if bad or not fmts:
        raise fail(f"--format: got {formats!r}; allowed: png, svg, pdf (comma-separated)")
    _repair(folder)
    made = make_plots(folder, heatmap_keys=keys, heatmap_metric=metric, formats=fmts)
    print(made.summary())


def _repair(folder: Path) -> None:
    """Rebuild a missing or damaged summary.parquet from runs/ first (one line on
    stderr says so), or refuse with a one-line SpecError when runs/ cannot."""
    from kperf.experiments.results import repair_summary

    note = repair_summary(folder)
    if note:
        print(f"kperf: {note}", file=sys.stderr)
