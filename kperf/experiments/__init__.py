"""Layer 9 (experiments): expand a sweep into runs, execute them serially, on local
processes or on Dask, store each run as it finishes, resume, and gather one tidy
summary table.

Modules, one idea each: ``expand`` (sweep -> seeded, resolved runs), ``preflight``
(every configuration's cluster and workload targets, checked before anything runs),
``worker`` (executing one run), ``executors`` (serial / processes / Dask), ``store``
(the results folder, atomic writes, resume), ``lock`` (one run per folder at a time),
``results`` (what a notebook gets back, repairing a damaged summary), ``progress``
(bar or log lines), ``runner`` (all of it in order).
"""

from kperf.experiments.executors import (
    DaskExecutor,
    Executor,
    ProcessExecutor,
    SerialExecutor,
    make_executor,
)
from kperf.experiments.expand import RunSpec, RunTask, expand, run_seed
from kperf.experiments.lock import FolderLock
from kperf.experiments.preflight import check_runs
from kperf.experiments.results import Results, load_results, repair_summary
from kperf.experiments.runner import POST_RUN_HOOKS, RunInterrupted, post_run, run
from kperf.experiments.store import RunDataMissing, RunStore
from kperf.experiments.worker import RunOutcome, execute_run

__all__ = [
    "POST_RUN_HOOKS",
    "DaskExecutor",
    "Executor",
    "FolderLock",
    "ProcessExecutor",
    "Results",
    "RunDataMissing",
    "RunInterrupted",
    "RunOutcome",
    "RunSpec",
    "RunStore",
    "RunTask",
    "SerialExecutor",
    "check_runs",
    "execute_run",
    "expand",
    "load_results",
    "make_executor",
    "post_run",
    "repair_summary",
    "run",
    "run_seed",
]
