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

from collections.abc import Callable
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
