"""``kperf run``: run an experiment file (sweep, store, resume) and print its summary."""

from __future__ import annotations

import math
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kperf.cli.app import EXIT_FAILED, app, fail, handles_errors

EXIT_INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells report it."""

MAX_TABLE_ROWS = 40

_KEY_METRICS = (
    ("latency_p50_us", "p50 µs", "{:,.1f}"),
    ("latency_p99_us", "p99 µs", "{:,.1f}"),
    ("throughput_gbps", "Gbit/s", "{:,.2f}"),
    ("streams", "streams", "{:,.0f}"),
    ("throughput_per_stream_gbps", "per stream", "{:,.2f}"),
    ("requests_per_s", "req/s", "{:,.0f}"),
    ("failed", "failed", "{:,.0f}"),
)


@app.command("run")
@handles_errors
def run_command(
    experiment: Annotated[Path, typer.Argument(metavar="EXPERIMENT", help="Experiment file.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Results folder (default: results/<name>)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-j", help="Local worker processes (default: one per core)."),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option("--dask", metavar="ADDR",
                     help="Run on Dask: tcp://HOST:PORT of a scheduler, or 'local'."),
    ] = None,
    serial: Annotated[
        bool, typer.Option("--serial", help="Run in this process, one run after another.")
    ] = False,
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Skip plots and the report at the end.")
    ] = False,
    keep_samples: Annotated[
        bool, typer.Option("--keep-samples", help="Keep per-request samples (Parquet).")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="If the results folder holds another "
                           "experiment's results, delete them and run this one there "
                           "(no effect on a folder of this experiment).")
    ] = False,
    method: Annotated[
        str | None,
        typer.Option("--method", metavar="full|decomposed",
                     help="full: the discrete-event engine (default); decomposed: "
                     "per-resource queue models combined along paths "
                     "(docs/decomposed.md). Default: the experiment's method:."),
    ] = None,
) -> None:
    """Run every configuration of an experiment's sweep and write a tidy summary.

    Results go to results/<name>/ (summary.parquet, summary.csv, manifest.json,
    runs/). Each run is saved as it finishes; running the same command again skips
    finished runs and does only the rest. Every configuration's cluster and
    workload targets are checked before anything runs or is written. One kperf run
    per folder at a time: a second one refuses, naming the first one's pid. A folder
    holding another experiment's results is refused unless --force. Exit code 1 if
    a run failed, 2 for bad input, 130 when interrupted.

    Example:

        kperf run experiments/default.yaml --workers 4 --out results/cni
    """
    from kperf.experiments.runner import RunInterrupted, run

    if dask is None and not serial and workers is None:
        workers = os.cpu_count() or 1
    try:
        results = run(
            experiment,
            out,
            workers=workers,
            dask=dask,
            serial=serial,
            keep_samples=True if keep_samples else None,
            report=not no_report,
            command=shlex.join(["kperf", *sys.argv[1:]]),
            force=force,
            method=method,
        )
    except RunInterrupted as exc:
        print(f"kperf: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except KeyboardInterrupt:
        print("kperf: interrupted before any run started", file=sys.stderr)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    print_summary(results)
    # --- issue 7 (kperf.analysis): plots and report.md/.html at the end of a sweep ---
    if not no_report:
        from kperf.analysis.report import write_report

        try:
            report = write_report(results.path)
            print(f"report: {report} and {report.with_suffix('.html')}")
        except Exception as exc:  # the results are on disk; a report problem is not fatal
            print(f"kperf: warning: no report ({type(exc).__name__}: {exc}); try "
                  f"kperf report {results.path}", file=sys.stderr)
    # --- end of issue 7 block ---
    if results.n_failed:
        raise fail(
            f"{results.n_failed} of {len(results.summary)} runs failed; see the error column "
            f"of {results.path / 'summary.csv'} (rerun the command to retry them)",
            EXIT_FAILED,
        )


def _cell(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    try:
        if value is not None and str(value) == "<NA>":
            return "-"
        return fmt.format(value)
    except (TypeError, ValueError):
        return str(value)


def _row_kinds(results: Any) -> dict[Any, str]:
    """Each summary row's workload kinds (``rr``, ``stream``, ``rr+stream``; ``""``
    when unknown), by row index."""
    from kperf.analysis.kinds import row_kinds, run_specs

    manifest = results.manifest
    kinds, _ = row_kinds(results.summary, results.sweep_keys, manifest, run_specs(manifest))
    return kinds.to_dict()


def _applies(column: str, kinds: str, row: Any) -> bool:
    """Whether a metric cell means something for its row: a stream's requests/s and
    an rr run's 0.002 Gbit/s are left blank, never shown as 0."""
    from kperf.analysis.kinds import metric_applies

    tput = row.get("throughput_gbps") if hasattr(row, "get") else None
    tput_f = float(tput) if isinstance(tput, (int, float)) and not math.isnan(tput) else 0.0
    return metric_applies(column, kinds, tput_f)


def _headers(keys: list[str]) -> dict[str, str]:
    """Short column headers for swept keys: the last part of the dotted path
    (``cluster.cni`` -> ``cni``) unless two keys share it."""
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: (tail if last.count(tail) == 1 else k) for k, tail in zip(keys, last, strict=True)}


_METRIC_PRIORITY = {"latency_p99_us": 80, "latency_p50_us": 70, "throughput_gbps": 65,
                    "requests_per_s": 60, "throughput_per_stream_gbps": 55, "streams": 45,
                    "failed": 40}
"""How important each key metric column is when the terminal is too narrow for all."""


def print_summary(results: Any) -> None:
    """A compact table (swept keys and a few key metrics) and where results went. The
    table fits the terminal: the least important columns are left out (and named)
    when it is too narrow; summary.csv has them all."""
    from rich.text import Text

    from kperf.cli.tables import Col, print_table, table_console

    frame = results.summary
    console = table_console()
    keys = results.sweep_keys
    columns: list[tuple[str, Col, str]] = [
        (k, Col(h, 100 - i, wrap=True), "{}") for i, (k, h) in enumerate(_headers(keys).items())
    ]
    if int(results.manifest.get("replications", 1)) > 1:
        columns.append(("replication", Col("rep", 75, "right"), "{}"))
    columns.append(("status", Col("status", 90), "{}"))
    columns += [(name, Col(header, _METRIC_PRIORITY.get(name, 50), "right"), fmt)
                for name, header, fmt in _KEY_METRICS
                if name in frame and frame[name].notna().any()]
    kinds = _row_kinds(results)
    rows = [[Text(_cell(row[c], fmt) if _applies(c, kinds.get(i, ""), row) else "")
             for c, _, fmt in columns]
            for i, row in frame.head(MAX_TABLE_ROWS).iterrows()]
    print_table(console, [col for _, col, _ in columns], rows,
                title=f"{results.name}: {len(frame)} runs", hint="all columns in summary.csv")
    if len(frame) > MAX_TABLE_ROWS:
        console.print(f"... {len(frame) - MAX_TABLE_ROWS} more rows in summary.csv")
    console.print(f"results: {results.path}/ (summary.csv, summary.parquet, manifest.json, runs/)",
                  markup=False, highlight=False)
