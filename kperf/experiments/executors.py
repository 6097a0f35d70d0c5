"""Where runs execute: in this process, in local worker processes, or on Dask.

All executors have one method, :meth:`Executor.run`, which executes tasks and calls
``on_outcome(task, outcome)`` *in the calling process* as each run finishes, so the
runner can write it to disk immediately. Results do not depend on the executor: a
task carries its own seed and fully resolved spec, and the outcome goes through
the same JSON record whichever way it came back (tests check serial, processes and
Dask give identical summaries).

Interrupts. ``KeyboardInterrupt`` (Ctrl-C in the parent, or raised by a run) stops
scheduling: queued runs are cancelled, runs that already finished are still handed
to ``on_outcome`` so nothing finished is lost, worker processes are stopped, and the
``KeyboardInterrupt`` propagates to the runner.

Choices:

* Local processes use ``concurrent.futures.ProcessPoolExecutor`` with an explicit
  ``spawn`` context (the global start method is never changed, DESIGN.md). Spawn
  works the same on Linux, macOS and Windows and never forks a process holding
  threads or locks. Pool processes ignore SIGINT; the parent handles Ctrl-C and
  terminates them, so one Ctrl-C gives one clean message instead of a traceback per
  worker. A pool process also ends as soon as its parent is gone, so a ``kperf run``
  killed outright (SIGKILL, out of memory) leaves no worker behind. At most
  ``2 x workers`` tasks are queued at a time, so an interrupt stops scheduling
  promptly and memory stays flat on long sweeps. Closing the pool does not wait for
  its idle processes to finish exiting (their teardown overlaps the runner's summary
  and report).
* A pool process that dies (killed, out of memory, a crash in native code) breaks
  the pool; the runs that were in flight are recorded as failed ("WorkerDied"), a
  new pool is started and the sweep goes on. Failed runs are retried by the next
  invocation of the same command.
* Dask: ``--dask tcp://HOST:PORT`` connects to an existing scheduler,
  ``--dask local`` starts a ``LocalCluster`` (2 worker processes, 1 thread each)
  and closes it at the end. Tasks are submitted with decreasing priority so the
  sweep runs roughly in order; Dask itself retries a task whose worker was lost.
  Workers need the same kperf version installed (``pip install kperf-sim``); it is
  checked when connecting.
* ``worker_init``: an optional picklable function each worker process calls once
  before its first run, e.g. to register a custom CNI profile that a notebook added
  to the registries (spawned processes and Dask workers import kperf afresh and
  would not see it otherwise).

:meth:`Executor.map` (``map(fn, items) -> list``, results in item order) spreads
smaller pieces of one run over the same workers: the runner uses it for the groups
of a decomposed run when there are fewer runs than workers
(:func:`kperf.experiments.runner.groups_on_workers`). Serial maps in this process,
local processes use the pool (``chunksize`` about a quarter of the items per worker,
fewer round trips), Dask ``client.map`` then ``client.gather``. ``fn`` must be
picklable by reference (a top-level function) and must not need ``worker_init``
(it is not called for map items). An exception from ``fn`` propagates to the
caller; a pool process that dies raises :class:`WorkerDied` (and the next use
starts a new pool); ``KeyboardInterrupt`` stops the workers as :meth:`Executor.run`
does.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, TypeVar

from kperf.errors import SpecError
from kperf.experiments.expand import RunTask
from kperf.experiments.worker import (
    RunOutcome,
    SimulateFn,
    error_line,
    execute_run,
    failed_outcome,
)

OnOutcome = Callable[[RunTask, RunOutcome], None]
WorkerInit = Callable[[], None]
Item = TypeVar("Item")
Out = TypeVar("Out")

_INITIALISED: set[str] = set()


def _init_key(fn: WorkerInit) -> str:
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"


def run_task(
    task: RunTask, simulate_fn: SimulateFn | None = None, worker_init: WorkerInit | None = None
) -> RunOutcome:
    """What a worker executes: ``worker_init`` once per process, then the run."""
    if worker_init is not None:
        key = _init_key(worker_init)
        if key not in _INITIALISED:
            worker_init()
            _INITIALISED.add(key)
    return execute_run(task, simulate_fn)


class WorkerDied(RuntimeError):
    """A worker process ended while it was running this task."""


class Executor(ABC):
    """Runs tasks and reports each outcome, in the calling process, as it finishes.

    Workers (a process pool, a Dask client) start on first use and stay up until
    :meth:`close` (or the end of a ``with`` block), so one executor can serve several
    experiments. ``kperf.run`` closes the executors it creates, not one passed in.
    """

    name: str = "executor"

    def __init__(self, worker_init: WorkerInit | None = None) -> None:
        self.worker_init = worker_init

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027  (optional: not every executor holds resources)
        """Release workers and connections (idempotent)."""

    @abstractmethod
    def run(
        self, tasks: Sequence[RunTask], simulate_fn: SimulateFn | None, on_outcome: OnOutcome
    ) -> None:
        """Execute ``tasks``; call ``on_outcome(task, outcome)`` as each finishes."""

    def map(self, fn: Callable[[Item], Out], items: Sequence[Item]) -> list[Out]:
        """``[fn(x) for x in items]`` on this executor's workers, in item order (see
        the module doc). The base class maps in this process."""
        return [fn(x) for x in items]

    def worker_count(self) -> int:
        """How many items :meth:`map` computes at once (1 in this process)."""
        return 1


class SerialExecutor(Executor):
    """One run after another in this process: simplest, and the notebook default."""

    name = "serial"

    def run(
        self, tasks: Sequence[RunTask], simulate_fn: SimulateFn | None, on_outcome: OnOutcome
    ) -> None:
        for task in tasks:
            on_outcome(task, run_task(task, simulate_fn, self.worker_init))


def _ignore_sigint() -> None:
    """Pool initializer: Ctrl-C is the parent's to handle (it stops the workers), and
    the worker ends when the parent does (:func:`_exit_with_parent`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with_parent, args=(parent,), name="kperf-parent-watch",
                         daemon=True).start()


def _exit_with_parent(parent: Any) -> None:
    """Wait (blocked in the OS, no polling) until the parent process is gone, then end
    this worker at once.

    A parent killed outright (SIGKILL, out of memory) cannot stop its pool, and a
    pool process blocked reading the task queue never sees it go: every worker holds
    the queue's write end, so it never reads end-of-file. Without this, the workers
    of a killed ``kperf run`` (and multiprocessing's resource tracker, which waits
    for them) would live on forever. Nothing is lost: workers write no results.
    """
    parent.join()
    os._exit(EXIT_PARENT_GONE)


EXIT_PARENT_GONE = 70
"""Exit status of a pool process whose parent died (EX_SOFTWARE)."""


class ProcessExecutor(Executor):
    """Runs on ``workers`` local processes (spawned; see the module docstring)."""

    def __init__(self, workers: int | None = None, worker_init: WorkerInit | None = None) -> None:
        super().__init__(worker_init)
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.name = f"processes({self.workers})"
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_ignore_sigint,
        )

    def run(
        self, tasks: Sequence[RunTask], simulate_fn: SimulateFn | None, on_outcome: OnOutcome
    ) -> None:
        queue = deque(tasks)
        pending: dict[Future[RunOutcome], tuple[int, RunTask]] = {}
        window = 2 * self.workers
        order = 0
        if self._pool is None:
            self._pool = self._new_pool()
        pool = self._pool
        broken = False
        try:
            while queue or pending:
                while queue and len(pending) < window and not broken:
                    try:
                        future = pool.submit(run_task, queue[0], simulate_fn, self.worker_init)
                    except BrokenProcessPool:  # a worker died since the last wait()
                        broken = True
                        break
                    pending[future] = (order, queue.popleft())
                    order += 1
                # Once the pool is broken every pending future resolves at once: with
                # its result if it finished in time, with BrokenProcessPool otherwise.
                done, _ = wait(pending, return_when=ALL_COMPLETED if broken else FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: pending[f][0]):
                    _, task = pending.pop(future)
                    exc = future.exception()
                    if exc is None:
                        on_outcome(task, future.result())
                    elif isinstance(exc, BrokenProcessPool):
                        broken = True
                        died = WorkerDied("a worker process died (killed, out of memory or "
                                          "crashed) while this run was in flight")
                        on_outcome(task, failed_outcome(task.run_id, died))
                    elif isinstance(exc, Exception):
                        on_outcome(task, failed_outcome(task.run_id, exc))
                    else:
                        raise exc
                if broken and not pending:
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = pool = self._new_pool()
                    broken = False
        except BaseException:
            # Hand over what already finished, then stop everything else.
            for future, (_, task) in sorted(pending.items(), key=lambda kv: kv[1][0]):
                if future.done() and not future.cancelled() and future.exception() is None:
                    on_outcome(task, future.result())
            self._terminate()
            raise

    def worker_count(self) -> int:
        return self.workers

    def map(self, fn: Callable[[Item], Out], items: Sequence[Item]) -> list[Out]:
        if not items:
            return []
        if self._pool is None:
            self._pool = self._new_pool()
        pool = self._pool
        chunk = max(1, len(items) // (4 * self.workers))
        try:
            return list(pool.map(fn, items, chunksize=chunk))
        except BrokenProcessPool:
            pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            raise WorkerDied("a worker process died (killed, out of memory or crashed) "
                             "while computing mapped items") from None
        except Exception:
            raise
        except BaseException:  # an interrupt: stop the workers
            self._terminate()
            raise

    def _terminate(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        pool.shutdown(wait=False, cancel_futures=True)
        # ProcessPoolExecutor has no public way to stop running tasks (3.14 adds
        # terminate_workers); without it a long run would delay exit until it ends.
        procs = list((getattr(pool, "_processes", None) or {}).values())
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=5)
        pool.shutdown(wait=True)

    def close(self) -> None:
        """Stop the pool without waiting for its processes to exit: every run has been
        handed over by then, and an idle worker's interpreter teardown (about 0.15 s
        with pandas loaded) overlaps the runner's summary and report instead of
        adding to the sweep's time. The pool's own thread joins them, at the latest
        when this process exits."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _kperf_version() -> str:
    from kperf.version import __version__

    return __version__


class DaskExecutor(Executor):
    """Runs on a Dask distributed cluster (``address`` or ``"local"``)."""

    def __init__(
        self, address: str, worker_init: WorkerInit | None = None, connect_timeout: float = 15.0
    ) -> None:
        super().__init__(worker_init)
        self.address = address
        self.connect_timeout = connect_timeout
        self.name = f"dask({address})"
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> DaskExecutor:
        self.connect()
        return self

    def connect(self) -> Any:
        """Start or connect the client (done once); returns it."""
        if self._client is not None:
            return self._client
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise SpecError("--dask", self.address,
                            "Dask is not installed; pip install 'kperf-sim[dask]'") from None
        try:
            if self.address == "local":
                self._cluster = LocalCluster(
                    n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
                )
                self._client = Client(self._cluster)
            else:
                self._client = Client(self.address, timeout=self.connect_timeout)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise SpecError("--dask", self.address,
                            f"cannot connect to a Dask scheduler ({error_line(exc)}); "
                            "allowed: local, or tcp://HOST:PORT of a running scheduler") from None
        local = _kperf_version()
        versions = self._client.run(_kperf_version)
        wrong = sorted({v for v in versions.values() if v != local})
        if wrong:
            self.close()
            raise SpecError("--dask", self.address,
                            f"Dask workers run kperf {', '.join(wrong)} but this is kperf "
                            f"{local}; install kperf-sim=={local} on the workers")
        return self._client

    def run(
        self, tasks: Sequence[RunTask], simulate_fn: SimulateFn | None, on_outcome: OnOutcome
    ) -> None:
        from distributed import as_completed

        client = self.connect()
        n = len(tasks)
        token = uuid.uuid4().hex[:8]
        futures = [
            client.submit(run_task, task, simulate_fn, self.worker_init,
                          pure=False, priority=n - i, key=f"kperf-run-{task.run_id}-{token}")
            for i, task in enumerate(tasks)
        ]
        by_key = {f.key: (f, t) for f, t in zip(futures, tasks, strict=True)}
        reported: set[Any] = set()
        try:
            for future in as_completed(futures):
                _, task = by_key[future.key]
                reported.add(future.key)
                if future.status == "finished":
                    on_outcome(task, future.result())
                    continue
                exc = future.exception()
                if isinstance(exc, Exception):
                    on_outcome(task, failed_outcome(task.run_id, exc))
                elif exc is not None:
                    raise exc
                else:
                    on_outcome(task, failed_outcome(
                        task.run_id, WorkerDied(f"Dask task ended as {future.status}")))
        except BaseException:
            for future, task in by_key.values():
                if future.key not in reported and future.status == "finished":
                    on_outcome(task, future.result())
            client.cancel([f for f in futures if f.status == "pending"])
            raise
        finally:
            for future in futures:
                future.release()

    def worker_count(self) -> int:
        """Threads over the cluster's workers (connects first)."""
        info = self.connect().scheduler_info()
        return max(1, sum(int(w.get("nthreads", 1)) for w in info["workers"].values()))

    def map(self, fn: Callable[[Item], Out], items: Sequence[Item]) -> list[Out]:
        if not items:
            return []
        client = self.connect()
        futures = client.map(fn, list(items), pure=False)
        try:
            return list(client.gather(futures))
        except BaseException:
            client.cancel(futures)
            raise
        finally:
            for future in futures:
                future.release()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_executor(
    *, workers: int | None = None, dask: str | None = None, serial: bool = False,
    worker_init: WorkerInit | None = None,
) -> Executor:
    """The executor for the options: Dask if ``dask``, else processes when ``workers``
    is more than 1, else serial."""
    if dask is not None and (serial or workers is not None):
        raise SpecError("--dask", dask, "allowed: --dask alone, without --serial or --workers")
    if dask is not None:
        if not dask or (dask != "local" and "://" not in dask and ":" not in dask):
            raise SpecError("--dask", dask, "allowed: local, or tcp://HOST:PORT")
        return DaskExecutor(dask, worker_init)
    if workers is not None and workers < 1:
        raise SpecError("--workers", workers, "allowed: a number of processes >= 1")
    if serial or workers is None or workers == 1:
        return SerialExecutor(worker_init)
    return ProcessExecutor(workers, worker_init)
