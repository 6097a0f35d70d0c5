"""``kperf plan``: the highest load meeting an SLO per configuration, and nodes needed."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from kperf.cli.app import app, handles_errors


@app.command("plan")
@handles_errors
def plan_command(
    experiment: Annotated[Path, typer.Argument(metavar="EXPERIMENT", help="Experiment file.")],
    slo: Annotated[
        str, typer.Option("--slo", help="Latency objective, e.g. 'p99<=2ms', 'p50<500us'.")
    ],
    target_rps: Annotated[
        float | None,
        typer.Option("--target-rps", help="Total requests/s to carry: adds nodes needed."),
    ] = None,
    nodes: Annotated[
        int | None,
        typer.Option("--nodes", help="Resize the cluster to N nodes: highest total load."),
    ] = None,
    replications: Annotated[
        int | None,
        typer.Option("--replications", "-r",
                     help="Runs per load tried (default: the experiment's, at least 3)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for plan.csv, plan.json, plots, report "
                     "(default: results/<name>)."),
    ] = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Stop bisecting at this relative width.")
    ] = 0.03,
    confidence: Annotated[
        float, typer.Option("--confidence", help="Confidence level of the SLO test.")
    ] = 0.95,
    bracket_tolerance: Annotated[
        float, typer.Option("--bracket-tolerance",
                            help="Stop bisecting the bracket's high end at this relative "
                                 "width (at least --tolerance).")
    ] = 0.1,
    method: Annotated[
        str, typer.Option("--method", help="auto (default): the decomposed method for "
                          "clusters of --decomposed-min-nodes nodes or more (and a search "
                          "over node counts when --target-rps needs that many), the full "
                          "engine below; full: never (nodes extrapolated linearly); "
                          "decomposed: always (docs/decomposed.md).")
    ] = "auto",
    decomposed_min_nodes: Annotated[
        int | None, typer.Option("--decomposed-min-nodes",
                          help="Cluster size from which --method auto uses the decomposed "
                               "method (default 200, docs/capacity.md).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No per-load lines.")] = False,
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Do not (re)write the folder's report.")
    ] = False,
) -> None:
    """Capacity planning: highest load per node meeting an SLO, nodes needed, ranking.

    For every configuration of the sweep: the highest load per node that meets the
    SLO, the nodes needed for --target-rps, and the modes ranked. The experiment's
    open-loop rate (rr/crr rate_per_s, http, callgraph) is scaled: doubled or
    halved until the SLO flips, then bisected. A load meets the SLO when
    the upper bound of the 95 % Student-t confidence interval of the metric across
    replications is within the target; the answer is the highest load met below
    every load missed (a pass above a miss is reported as non-monotonic). The
    bracket repeats the search testing the interval's mean and lower bound (same
    simulations reused): the true capacity lies between the answer and the lowest
    load missed even on the lower bound. With each answer: the bottleneck (app
    workers, CPU core, NIC, switch port...) and every resource's utilisation at
    capacity. With --nodes N the cluster is resized to N nodes and the answer is its
    highest total load. From 200 nodes (--decomposed-min-nodes) --method auto
    simulates by the decomposed method, and with --target-rps searches the node
    count with it instead of extrapolating linearly. Writes plan.csv,
    plan_probes.csv, plan.json, plan.md and plots/capacity.png|svg, and the report.

    Example:

        kperf plan my-service.yaml --slo 'p99<=2ms' --target-rps 200000
    """
    from rich.text import Text

    from kperf.analysis.capacity import display_table, parse_slo, plan_capacity
    from kperf.analysis.plan_nodes import DECOMPOSED_MIN_NODES
    from kperf.cli.tables import Col, print_table, table_console
    from kperf.spec.experiment import load_experiment

    the_slo = parse_slo(slo)  # a bad SLO is a one-line error before anything runs
    spec = load_experiment(experiment)
    folder = out if out is not None else Path("results") / spec.name

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    plan = plan_capacity(
        spec, the_slo, target_rps=target_rps, nodes=nodes, replications=replications,
        confidence=confidence, rel_tol=tolerance, bracket_tol=bracket_tolerance,
        progress=None if quiet else progress,
        command=shlex.join(["kperf", *sys.argv[1:]]), method=method,
        decomposed_min_nodes=(DECOMPOSED_MIN_NODES if decomposed_min_nodes is None
                              else decomposed_min_nodes),
    )
    paths = plan.save(folder)
    console = table_console()
    headers, rows = display_table(plan)
    cols = [Col(h, _priority(h), "left" if h in ("configuration", "note") else "right",
                wrap=True) for h in headers]
    print_table(console, cols, [[Text(c) for c in r] for r in rows],
                title=f"capacity for {the_slo}", hint=f"all columns in {folder}/plan.md")
    for line in (plan.answer(), plan.confidence_statement(), plan.bracket_statement(),
                 plan.point_estimates(), plan.monotonicity_statement()):
        if line:
            console.print(line, markup=False, highlight=False)
    written = ", ".join(p.name for p in paths)
    console.print(f"plan: {folder}/ ({written})", markup=False, highlight=False)
    if not no_report:
        from kperf.analysis.report import write_report

        md = write_report(folder)
        console.print(f"report: {md} and {md.with_suffix('.html')}", markup=False,
                      highlight=False)


_PRIORITIES = (("rank", 100), ("configuration", 95), ("capacity/node bracket", 60),
               ("capacity/node", 90), ("nodes for", 85), ("max total", 85),
               ("bottleneck", 80), ("load/client", 50), ("nodes simulated", 40),
               ("utilisation", 35), ("note", 30))
"""How important each column of the plan table is (by the start of its header, first
match) when the terminal is too narrow for all; the SLO statistic's column is 70."""


def _priority(header: str) -> int:
    return next((p for start, p in _PRIORITIES if header.startswith(start)), 70)
