"""Running an experiment: expand, skip what is done, execute, store, gather.

``run()`` is what ``kperf run`` and ``kperf.run`` do:

1. load and validate the experiment (every swept value and combination, up front);
2. expand it into runs (:mod:`kperf.experiments.expand`), each with a run id;
3. check the results folder: ``--out`` must be a folder or creatable (not a file, not
   under one), and if it holds another experiment's results (its manifest names
   another experiment) refuse, unless ``force`` (then those are removed, under the
   lock, and the removal is reported);
4. check every configuration that is not finished yet can start: its cluster builds
   and its workloads' clients and targets exist (:mod:`kperf.experiments.preflight`);
   nothing has been written so far, so bad input leaves no folder behind;
5. create the folder and take its lock (:mod:`kperf.experiments.lock`): a second
   ``kperf run`` into it meanwhile refuses, naming this one's pid;
6. skip runs already finished in the results folder (resume);
7. write the manifest (so even an interrupted folder says what it holds);
8. execute the rest on the chosen executor, writing each run atomically as it
   finishes (:mod:`kperf.experiments.store`); decomposed runs fewer than the
   executor's workers run one by one in this process with their groups on the
   workers instead (:func:`groups_on_workers`);
9. gather ``summary.parquet`` / ``summary.csv`` in sweep order, finish the manifest;
10. call the post-run hooks (the reporting layer adds plots and a report there), then
    release the lock.

A run that raises is recorded as failed and the sweep goes on; the caller sees
``Results.n_failed`` (the CLI exits 1). ``KeyboardInterrupt`` stops scheduling,
keeps every finished run, still writes the partial summary, and is re-raised as
:class:`RunInterrupted` (a ``KeyboardInterrupt`` carrying the partial results).

The Python API runs serially unless told otherwise (``workers=N`` or ``dask=``):
DESIGN.md asks notebooks to opt in to parallelism, where pickling and process
start-up can surprise. The CLI defaults to one process per core.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kperf.errors import SpecError
from kperf.experiments.executors import Executor, WorkerInit, make_executor, run_task
from kperf.experiments.expand import RunSpec, RunTask, expand, run_id_of
from kperf.experiments.lock import acquire
from kperf.experiments.preflight import check_runs
from kperf.experiments.progress import Progress, make_progress
from kperf.experiments.results import Results
from kperf.experiments.store import RunStore
from kperf.experiments.worker import RunOutcome, SimulateFn, decomposed_groups_on
from kperf.spec.experiment import ExperimentSpec, load_experiment

PostRunHook = Callable[[Results], None]

DECOMPOSED_MANIFEST_KEYS = ("decomposed_resources", "decomposed_groups",
                            "decomposed_path_classes", "decomposed_grouping_error_us")
"""What a decomposed run's manifest entry records of its grouping (each resource's
group is in ``runs/<id>.resources.parquet``, columns ``group`` and ``representative``)."""

POST_RUN_HOOKS: list[PostRunHook] = []
"""Functions called with the :class:`Results` at the end of every complete run
(not after an interrupt, and not with ``report=False`` / ``--no-report``).

The reporting layer (plots, Markdown/HTML report) registers itself here, e.g.
``POST_RUN_HOOKS.append(write_report)``, and writes into ``results.path``
(``plots/``, ``report.md``). Hooks run in order; an exception propagates (the
summary and manifest are already on disk by then).
"""


def post_run(results: Results) -> None:
    """The end-of-run hook point: calls every function in :data:`POST_RUN_HOOKS`."""
    for hook in list(POST_RUN_HOOKS):
        hook(results)


class RunInterrupted(KeyboardInterrupt):
    """The sweep was interrupted; the finished runs are saved in ``results.path``.

    A ``KeyboardInterrupt`` so that notebooks and scripts treat it as the
    interrupt it is; ``results`` holds the partial results.
    """

    def __init__(self, results: Results, finished: int, total: int) -> None:
        self.results = results
        self.finished = finished
        self.total = total
        super().__init__(
            f"interrupted: {finished} of {total} runs finished and saved in {results.path}; "
            "run the same command again to resume"
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_out(spec: ExperimentSpec) -> Path:
    """``results/<name>`` under the current directory."""
    return Path("results") / spec.name


def run(
    spec_or_path: ExperimentSpec | str | os.PathLike[str] | Mapping[str, Any],
    out: str | os.PathLike[str] | None = None,
    *,
    workers: int | None = None,
    dask: str | None = None,
    serial: bool = False,
    progress: str | bool | Progress = "auto",
    keep_samples: bool | None = None,
    report: bool = True,
    simulate_fn: SimulateFn | None = None,
    worker_init: WorkerInit | None = None,
    executor: Executor | None = None,
    command: str | None = None,
    force: bool = False,
    method: str | None = None,
) -> Results:
    """Run an experiment (a file path, a mapping, or an ExperimentSpec); return its Results.

    ``out``: results folder (default ``results/<name>``). ``workers``: local processes
    (default: serial in Python). ``dask``: ``"local"`` or ``"tcp://HOST:PORT"``.
    ``progress``: ``"auto"``, ``"bar"``, ``"lines"``, ``"off"`` (or a bool).
    ``keep_samples``: overrides the experiment's ``keep_samples``. ``report``: call
    the post-run hooks. ``simulate_fn``: the simulation (default
    ``kperf.workloads.simulate.simulate``; must be picklable by reference for
    processes and Dask). ``worker_init``: called once in each worker process.
    ``force``: if ``out`` holds another experiment's results, remove them and run
    this one there (without it, that is a SpecError). ``method``: ``full`` or
    ``decomposed``, instead of the experiment's ``method:`` (docs/decomposed.md).

    Raises SpecError for bad input (nothing is run, and no folder is created),
    including a folder another run is writing to; RunInterrupted on Ctrl-C.
    """
    source = None if isinstance(spec_or_path, ExperimentSpec | Mapping) else str(spec_or_path)
    spec = load_experiment(spec_or_path)
    if method is not None:
        spec = with_method(spec, method)
    keep = spec.keep_samples if keep_samples is None else keep_samples
    runs = method_runs(spec, expand(spec))
    command = command or _api_command(source)
    owned = executor is None
    if executor is None:  # checks the options; workers start on first use
        executor = make_executor(workers=workers, dask=dask, serial=serial,
                                 worker_init=worker_init)
    show = make_progress(progress)
    try:
        store = RunStore(Path(out) if out is not None else default_out(spec))
        store.check_location()
        held = store.held_experiment()
        if held is not None and held != spec.name and not force:
            raise _other_experiment(store, held, spec.name)
        replacing = held is not None and held != spec.name
        checked = check_runs(r for r in runs
                             if replacing or not store.is_finished(r.run_id, keep))
        store.create()
        with acquire(store.root, command) as lock:
            note = lock.takeover_note()
            if note:
                show.message(f"kperf: {note}")
            return _run_locked(spec, runs, store, executor, owned, show, keep, source, command,
                               checked, simulate_fn, report, force)
    finally:
        if owned:
            executor.close()


def with_method(spec: ExperimentSpec, method: str) -> ExperimentSpec:
    """``spec`` computed by ``method`` (``--method``), or a SpecError naming it."""
    from kperf.workloads.decomposed import METHODS

    if method not in METHODS:
        raise SpecError("--method", method, f"allowed: {', '.join(METHODS)}")
    if method == spec.method:
        return spec
    return ExperimentSpec.from_data({**spec.raw_data(), "method": method})


def method_runs(spec: ExperimentSpec, runs: list[RunSpec]) -> list[RunSpec]:
    """The runs as ``spec.method`` computes them. ``full``: unchanged (their ids too).
    ``decomposed``: each run's resolved spec gains ``method: decomposed`` (so its id
    differs from the full run's and the worker dispatches on it), after checking,
    before anything runs, that the method models every configuration (a SpecError
    naming ``method`` otherwise)."""
    if spec.method == "full":
        return runs
    from kperf.workloads.decomposed.traffic import check_supported

    out = []
    for r in runs:
        check_supported(r.cluster, r.workloads, r.testbed)
        rspec = {**r.spec, "method": spec.method}
        out.append(dataclasses.replace(r, spec=rspec, run_id=run_id_of(rspec)))
    return out


def _other_experiment(store: RunStore, held: str, name: str) -> SpecError:
    return SpecError(
        "--out", str(store.root),
        f"holds the results of experiment {held!r} ({store.manifest_path}), not {name!r}; "
        f"allowed: another --out for {name!r}, the experiment {held!r} itself (to resume "
        f"or extend it), or --force to delete the results of {held!r} there and run "
        f"{name!r} in their place",
    )


def _run_locked(
    spec: ExperimentSpec,
    runs: list[RunSpec],
    store: RunStore,
    executor: Executor,
    owned: bool,
    show: Progress,
    keep: bool,
    source: str | None,
    command: str,
    checked: set[str],
    simulate_fn: SimulateFn | None,
    report: bool,
    force: bool,
) -> Results:
    """The part of :func:`run` that holds the folder's lock."""
    held = store.held_experiment()  # again: another run may have written it meanwhile
    replaced: dict[str, str] | None = None
    if held is not None and held != spec.name:
        if not force:
            raise _other_experiment(store, held, spec.name)
        removed = store.clear(held)
        replaced = {"experiment": held, "removed": removed}
        show.message(f"kperf: --force: {store.root} held experiment {held!r}; removed its "
                     f"results ({removed}); running {spec.name!r} there")
    store.prepare()
    todo = [r for r in runs if not store.is_finished(r.run_id, keep)]
    check_runs(todo, checked)  # a no-op unless runs vanished since the first check
    by_id = {r.run_id: r for r in runs}
    started = _now()
    session: dict[str, Any] = {
        "started_at": started,
        "finished_at": None,
        "command": command,
        "argv": list(sys.argv),
        "executor": executor.name,
        "skipped": len(runs) - len(todo),
        "ran": 0,
        "failed": 0,
        "interrupted": False,
    }
    if replaced is not None:
        session["replaced"] = replaced
    previous = None if replaced is not None else store.read_manifest()
    manifest = _manifest(spec, runs, source, session, previous, keep)
    store.write_manifest(manifest)

    done = len(runs) - len(todo)
    labels = {r.run_id: _label(r, spec.replications) for r in runs}

    def on_outcome(task: RunTask, outcome: RunOutcome) -> None:
        nonlocal done
        store.record(by_id[task.run_id], outcome)
        if "decomposed_groups" in outcome.summary:  # the grouping, in the manifest too
            manifest["runs"][task.run_id]["decomposed"] = {
                k: outcome.summary.get(k) for k in DECOMPOSED_MANIFEST_KEYS}
        done += 1
        session["ran"] += 1
        session["failed"] += 0 if outcome.ok else 1
        show.update(done, len(runs), labels[task.run_id], outcome)

    interrupted = False
    t0 = time.perf_counter()
    show.start(len(runs), len(runs) - len(todo),
               f"kperf: {spec.name} -> {store.root} [{executor.name}]")
    try:
        if todo:
            try:
                tasks = [r.task(keep) for r in todo]
                if groups_on_workers(tasks, executor, simulate_fn):
                    session["groups_on_workers"] = True
                    fn = decomposed_groups_on(executor.map)
                    for task in tasks:
                        on_outcome(task, run_task(task, fn, executor.worker_init))
                else:
                    executor.run(tasks, simulate_fn, on_outcome)
            finally:
                if owned:
                    executor.close()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        show.close()
        summary = store.gather(runs, spec.sweep)
        store.write_summary(summary)
        session.update(finished_at=_now(), interrupted=interrupted,
                       elapsed_s=round(time.perf_counter() - t0, 3))
        manifest["finished_at"] = session["finished_at"]
        manifest["complete"] = len(summary) == len(runs)
        manifest["counts"] = {
            "runs": len(runs),
            "ok": int((summary["status"] == "ok").sum()),
            "failed": int((summary["status"] == "failed").sum()),
            "not_run": len(runs) - len(summary),
        }
        store.write_manifest(manifest)
    results = Results(path=store.root, summary=summary, manifest=manifest)
    if interrupted:
        raise RunInterrupted(results, len(summary), len(runs)) from None
    if report:
        post_run(results)
    return results


def groups_on_workers(tasks: list[RunTask], executor: Executor,
                      simulate_fn: SimulateFn | None) -> bool:
    """Whether to run ``tasks`` one by one in this process, each decomposed run's
    groups (step 3, :mod:`kperf.workloads.decomposed.parallel`) on the executor's
    workers (:meth:`Executor.map`), rather than each run as a task: when every task
    is a decomposed run of :data:`GROUPS_ON_WORKERS_MIN_NODES` nodes or more, the
    default simulate function is used, and there are fewer tasks than workers
    (typically one large run, which as a task would keep one worker busy and leave
    the others idle). With as many runs as workers or more,
    the workers are busy with runs, and runs stay tasks. The numbers are the same
    either way; the run's record, resume and progress too (the session in the
    manifest notes ``groups_on_workers``)."""
    if simulate_fn is not None or not tasks:
        return False
    if any(t.spec.get("method", "full") != "decomposed" for t in tasks):
        return False
    if any(_node_count(t.spec) < GROUPS_ON_WORKERS_MIN_NODES for t in tasks):
        return False
    return len(tasks) < executor.worker_count()


def _node_count(spec: dict[str, Any]) -> int:
    """A resolved run spec's node count: ``cluster.nodes`` is a count or a list of nodes
    (as :attr:`kperf.spec.cluster.ClusterSpec.node_count` reads it)."""
    nodes = spec.get("cluster", {}).get("nodes", 0)
    return len(nodes) if isinstance(nodes, list) else int(nodes)


GROUPS_ON_WORKERS_MIN_NODES = 1000
"""Smallest cluster whose decomposed run spreads its groups over the workers
(:func:`groups_on_workers`). Measured (docs/decomposed.md, "Groups on the executors"):
the process pool's first use costs 2.0-2.9 s, while all of a 200-node run's groups
take 0.15-0.21 s of CPU; from 1,000 nodes they take about 3 s, which two idle workers
could halve. Below it a lone decomposed run runs in one process as any run."""


def _label(run: RunSpec, replications: int) -> str:
    label = run.label
    if replications > 1:
        label = f"{label} rep={run.replication}".strip()
    return label


def _api_command(source: str | None) -> str:
    target = repr(source) if source is not None else "<spec>"
    return f"kperf.run({target}) in {shlex.join(sys.argv) or 'python'}"


def _manifest(
    spec: ExperimentSpec,
    runs: list[RunSpec],
    source: str | None,
    session: dict[str, Any],
    previous: dict[str, Any] | None,
    keep_samples: bool,
) -> dict[str, Any]:
    """The manifest: enough to know what every row is and to reproduce it."""
    from kperf.version import __version__

    sessions = [*(previous or {}).get("sessions", []), session]
    return {
        "name": spec.name,
        "description": spec.description,
        "kperf_version": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "source": source,
        "experiment": spec.raw_data(),
        "seed": spec.seed,
        "replications": spec.replications,
        "keep_samples": keep_samples,
        **({"method": spec.method} if spec.method != "full" else {}),
        "sweep": dict(spec.sweep),
        "started_at": session["started_at"],
        "finished_at": None,
        "command": session["command"],
        "executor": session["executor"],
        "complete": False,
        "sessions": sessions,
        "runs": {
            r.run_id: {
                "index": r.index,
                "config_index": r.config_index,
                "replication": r.replication,
                "seed": r.seed,
                "params": r.params,
                "spec": r.spec,
            }
            for r in runs
        },
    }
