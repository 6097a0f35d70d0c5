"""Executing one run, wherever it happens: the parent process, a pool process or a
Dask worker.

:func:`execute_run` is the only function executors ship to workers. It takes plain
data (a :class:`~kperf.experiments.expand.RunTask`), rebuilds the models from the
resolved spec, calls the simulate function and returns a :class:`RunOutcome`. An
``Exception`` from the simulation becomes a failed outcome with a one-line error
(the sweep goes on); ``KeyboardInterrupt`` and other ``BaseException``\\ s propagate,
because they mean "stop", not "this configuration is broken".

Nothing is written here: the parent process writes results, so workers need no
access to the results folder (a Dask cluster on Kubernetes usually has none).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from kperf.experiments.expand import RunTask, models_from_spec
from kperf.spec.experiment import canonical_json

SimulateFn = Callable[..., Any]
"""``simulate(testbed, cluster, workloads, seed, keep_samples=False) -> RunResult``."""

MAX_ERROR_CHARS = 500


@dataclass
class RunOutcome:
    """What came back from one run: status, summary metrics, tables, timing."""

    run_id: str
    status: str  # "ok" | "failed"
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    samples: pd.DataFrame | None = None
    breakdown: pd.DataFrame | None = None
    resources: pd.DataFrame | None = None
    flows: pd.DataFrame | None = None
    started_at: str = ""
    elapsed_s: float = 0.0
    worker: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def default_simulate() -> SimulateFn:
    """``kperf.workloads.simulate.simulate``, imported when first needed."""
    from kperf.workloads.simulate import simulate

    return simulate


def decomposed_simulate() -> SimulateFn:
    """:func:`kperf.workloads.decomposed.simulate_decomposed`, for a run whose resolved
    spec says ``method: decomposed`` (docs/decomposed.md)."""
    from kperf.workloads.decomposed import simulate_decomposed

    return simulate_decomposed


def decomposed_groups_on(group_map: Callable[..., list[Any]]) -> SimulateFn:
    """:func:`decomposed_simulate` with its groups computed by ``group_map`` (an
    executor's ``map``; the same numbers: :mod:`kperf.workloads.decomposed.parallel`)."""
    return functools.partial(decomposed_simulate(), group_map=group_map)


def error_line(exc: BaseException) -> str:
    """``"ExcType: message"`` on one line, whitespace collapsed, length capped."""
    message = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 3] + "..."
    return text


def plain_value(value: Any) -> Any:
    """A summary value as a JSON-friendly scalar.

    numpy scalars are unwrapped; NaN and infinities become None (null in the run's
    JSON file, NaN in the summary table), so run files are standard JSON; other
    non-scalars become canonical JSON text so a summary column keeps one type.
    """
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes):
        with contextlib.suppress(TypeError, ValueError):
            value = item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return canonical_json(value)


def _table(frame: Any) -> pd.DataFrame | None:
    if isinstance(frame, pd.DataFrame) and (len(frame) or len(frame.columns)):
        return frame
    return None


def execute_run(task: RunTask, simulate_fn: SimulateFn | None = None) -> RunOutcome:
    """Run one simulation from its task; never raises an ``Exception``."""
    started = datetime.now(UTC).isoformat(timespec="milliseconds")
    t0 = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        if simulate_fn is not None:
            fn = simulate_fn
        elif task.spec.get("method", "full") == "decomposed":
            fn = decomposed_simulate()
        else:
            fn = default_simulate()
        testbed, cluster, workloads, seed = models_from_spec(task.spec)
        result = fn(testbed, cluster, workloads, seed, keep_samples=task.keep_samples)
        summary = {str(k): plain_value(v) for k, v in dict(result.summary).items()}
        samples = getattr(result, "samples", None) if task.keep_samples else None
        return RunOutcome(
            run_id=task.run_id,
            status="ok",
            summary=summary,
            samples=samples if isinstance(samples, pd.DataFrame) else None,
            breakdown=_table(getattr(result, "breakdown", None)),
            resources=_table(getattr(result, "resources", None)),
            flows=_table(getattr(result, "flows", None)),
            started_at=started,
            elapsed_s=time.perf_counter() - t0,
            worker=worker,
        )
    except Exception as exc:
        return failed_outcome(task.run_id, exc, started=started,
                              elapsed_s=time.perf_counter() - t0, worker=worker)


def failed_outcome(
    run_id: str, exc: BaseException, *, started: str = "", elapsed_s: float = 0.0,
    worker: str = "",
) -> RunOutcome:
    """A failed outcome for ``exc`` (also used by executors for infrastructure errors,
    such as a worker process that died while running it)."""
    return RunOutcome(
        run_id=run_id,
        status="failed",
        error=error_line(exc),
        traceback="".join(traceback.format_exception(exc)),
        started_at=started or datetime.now(UTC).isoformat(timespec="milliseconds"),
        elapsed_s=elapsed_s,
        worker=worker,
    )
