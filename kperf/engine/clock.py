"""Scheduling calls at absolute simulated times on a SimPy environment, and running it.

``call_at`` pushes one already-triggered event onto SimPy's queue that calls a function
with given arguments: the cheapest way to make SimPy call a function at a time, about
the cost of an ``env.timeout`` without a process to resume. It uses absolute times so
that no floating-point subtraction can produce a negative delay.

The queued object is a minimal triggered event: SimPy's ``Environment.step`` needs only
``callbacks`` and ``_ok`` of what it pops (simpy 4.x, ``core.py``) and replaces
``callbacks`` without mutating the list, so every such event shares one callback list
and carries its function and arguments in slots. Ordering among events at the same time
is SimPy's own (priority, then insertion id), so runs stay deterministic.
``tests/test_queues.py`` checks the result against ``simpy.Resource``.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.events import NORMAL


class _Call:
    """A triggered event that calls ``fn(*args)`` (no process, no value)."""

    __slots__ = ("_ok", "args", "callbacks", "fn")

    def __init__(self, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.callbacks: list[Callable[[Any], None]] | None = _CALL
        self._ok = True


def _run_call(event: _Call) -> None:
    event.fn(*event.args)


_CALL: list[Callable[[Any], None]] = [_run_call]  # shared: SimPy never mutates it


def call_at(env: simpy.Environment, t: float, fn: Callable[..., None], *args: Any) -> None:
    """Call ``fn(*args)`` when the simulation clock reaches ``t`` (now, if earlier)."""
    now = env._now
    heappush(
        env._queue,  # type: ignore[misc]
        (t if t > now else now, NORMAL, next(env._eid), _Call(fn, args)),
    )


def run_until_empty(env: simpy.Environment) -> None:
    """``env.run()`` (no ``until``): process events until the queue is empty.

    SimPy's own loop calls :meth:`simpy.Environment.step` once per event inside a
    ``try``; this is the same loop with the step inlined (pop the next event by time,
    priority and insertion id, set the clock, run its callbacks, raise a failed
    event's exception unless defused), which saves a method call per event. Event
    order is identical, so results are too (``tests/test_regression.py``).
    """
    queue: list[Any] = env._queue
    pop = heappop
    while queue:
        env._now, _, _, event = pop(queue)
        callbacks, event.callbacks = event.callbacks, None
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            exc = type(event._value)(*event._value.args)
            exc.__cause__ = event._value
            raise exc


# Young-generation size while a simulation runs (CPython's default is 700 allocations).
GC_YOUNG_THRESHOLD = 20_000


_gc_lock = threading.Lock()
_gc_runs = 0  # runs inside long_run_gc now (threads of one process share the collector)
_gc_saved: tuple[int, ...] = ()


@contextmanager
def long_run_gc() -> Iterator[None]:
    """Garbage collection tuned for an event loop, restored afterwards.

    A run allocates millions of short-lived objects (chunks, events, callbacks) over a
    large, long-lived object graph (the cluster, its paths and servers). CPython's
    collector would walk that graph again and again: objects alive now are frozen
    (left out of every collection until the run ends) and young collections happen
    every ``GC_YOUNG_THRESHOLD`` allocations instead of 700, so cycles the run creates
    (some workloads' callbacks) are still collected. The collector is the process's:
    with runs in several threads the first to start tunes it and the last to end
    restores it.
    """
    global _gc_runs, _gc_saved
    with _gc_lock:
        if _gc_runs == 0:
            _gc_saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(_gc_saved[0], GC_YOUNG_THRESHOLD), *_gc_saved[1:])
        _gc_runs += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_runs -= 1
            if _gc_runs == 0:
                gc.set_threshold(*_gc_saved)
                gc.unfreeze()
