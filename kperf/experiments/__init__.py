"""Layer 9 (experiments): expand a sweep into runs, execute them serially, on local
processes or on Dask, store each run as it finishes, resume, and gather one tidy
summary table.

Modules, one idea each: ``expand`` (sweep -> seeded, resolved runs), ``worker``
(executing one run), ``executors`` (serial / processes / Dask), ``store`` (the
results folder, atomic writes, resume), ``results`` (what a notebook gets back),
``progress`` (bar or log lines), ``runner`` (all of it in order).
"""

from kperf.experiments.executors import (
    DaskExecutor,
    Executor,
    ProcessExecutor,
    SerialExecutor,
    make_executor,
)
from kperf.experiments.expand import RunSpec, RunTask, expand, run_seed
from kperf.experiments.results import Results, load_results
from kperf.experiments.runner import POST_RUN_HOOKS, RunInterrupted, post_run, run
from kperf.experiments.store import RunStore
from kperf.experiments.worker import RunOutcome, execute_run

__all__ = [
    "POST_RUN_HOOKS",
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "Results",
    "RunInterrupted",
    "RunOutcome",
    "RunSpec",
    "RunStore",
    "RunTask",
    "SerialExecutor",
    "execute_run",
    "expand",
    "load_results",
    "make_executor",
    "post_run",
    "run",
    "run_seed",
]
