"""``kperf bench``: the performance figures of issue 8 on this machine."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kperf.cli.app import app, handles_errors


@app.command("bench")
@handles_errors
def bench_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    quick: Annotated[bool, typer.Option("--quick", help="smaller sizes, under a minute")] = False,
    large: Annotated[bool, typer.Option(
        "--large", help="also decomposed_5000_nodes_s: the decomposed method on 5,000 "
                        "nodes, 150,000 pods (about a minute more)")] = False,
) -> None:
    """Measure simulation speed and memory as ratios within one run.

    Example: kperf bench --quick
    """
    from kperf.bench import TARGETS, meets, run_bench

    extra = {"large": True} if large else {}
    figures = run_bench(quick, log=lambda t: print(f"bench: {t}", file=sys.stderr), **extra)
    if as_json:
        print(json.dumps(figures, indent=2, sort_keys=True))
        return
    table = Table(title="kperf bench" + (" --quick" if quick else ""),
                  caption=("--quick: smoke-test sizes; the targets apply to the full run"
                           if quick else "least CPU time of 3 runs per timed figure"))
    for col in ("figure", "value", "target", "met"):
        table.add_column(col)
    for key, value in figures.items():
        target = TARGETS.get(key)
        ok = meets(key, value)
        table.add_row(key, f"{value:,.4g}", f"{target[0]} {target[1]:g}" if target else "",
                      "" if ok is None else ("yes" if ok else "NO"))
    Console().print(table)
