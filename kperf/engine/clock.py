"""The one module that knows SimPy's internals: scheduling calls, the event queue, runs.

kperf uses SimPy's ``Environment`` as its clock and event queue, but its hot paths
skip SimPy's public API where it costs a process or a ``Timeout`` per step. Everything
that depends on how SimPy 4.1 is built lives here, so a SimPy release that changes it
breaks one module, and ``check_simpy_internals`` (run by every ``Simulation`` and by
``tests/test_clock.py``) says what changed instead of letting results drift:

* an environment keeps its time in ``_now``, its queue in ``_queue`` (a heap of
  ``(time, priority, id, event)``) and its id counter in ``_eid``;
* ``Environment.step`` pops an entry, sets ``_now``, replaces the event's
  ``callbacks`` with None without mutating the list, calls each with the event, then
  reads ``_ok`` (and ``_defused``, ``_value`` of a failed event).

So an object with ``callbacks`` and ``_ok`` is an event as far as the queue is
concerned (:class:`LightEvent`): :func:`call_at` pushes one that calls a function,
about the cost of an ``env.timeout`` without a process to resume, and the engine's
chunks are such events (one object for all their hops). Absolute times are used so
that no floating-point subtraction can produce a negative delay. Ordering among
events at the same time is SimPy's own (priority, then insertion id), so runs stay
deterministic. ``tests/test_queues.py`` checks the engine against ``simpy.Resource``.

The engine's transit reads the queue through a :class:`Scheduler`: its ``queue`` is
SimPy's heap itself and ``ids`` its counter, so the hot loop pushes
``(time, PRIORITY, next(ids), event)`` and peeks ``queue[0][0]`` without a call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from heapq import heapify, heappop, heappush
from itertools import count
from operator import attrgetter
from typing import Any

import simpy
from simpy.events import NORMAL

PRIORITY = NORMAL
"""The priority of every entry the engine pushes (SimPy's ``NORMAL``)."""

SIMPY_TESTED = ("4.1",)
"""SimPy releases (major.minor) whose internals this module was checked against; the
pin in ``pyproject.toml`` matches."""


now_of: Callable[[simpy.Environment], float] = attrgetter("_now")
"""``now_of(env)`` is ``env.now`` without the property's Python call (hot paths)."""


class LightEvent:
    """What SimPy's queue needs of an event: ``callbacks``, and ``_ok`` (always true:
    a light event never fails). Subclasses add slots of their own."""

    __slots__ = ("callbacks",)
    _ok = True

    callbacks: list[Callable[[Any], None]] | None


class _Call(LightEvent):
    """A triggered event that calls ``fn(*args)`` (no process, no value)."""

    __slots__ = ("args", "fn")

    def __init__(self, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.callbacks = _CALL


def _run_call(event: _Call) -> None:
    event.fn(*event.args)


_CALL: list[Callable[[Any], None]] = [_run_call]  # shared: SimPy never mutates it


def call_at(env: simpy.Environment, t: float, fn: Callable[..., None], *args: Any) -> Any:
    """Call ``fn(*args)`` when the simulation clock reaches ``t`` (now, if earlier);
    returns a handle for :func:`cancel_call`."""
    now = env._now
    call = _Call(fn, args)
    heappush(
        env._queue,  # type: ignore[misc]
        (t if t > now else now, PRIORITY, next(env._eid), call),
    )
    return call


def cancel_call(env: simpy.Environment, call: Any) -> None:
    """Take a pending :func:`call_at` off the queue, so that it neither runs nor moves
    the clock (a timer of a connection that has ended). Linear in the queue's length:
    for rare events, not for every message."""
    queue = env._queue
    kept = [entry for entry in queue if entry[3] is not call]
    if len(kept) != len(queue):
        queue[:] = kept
        heapify(queue)


class Scheduler:
    """SimPy's event queue as the engine's hot paths see it.

    ``queue`` is the environment's heap of ``(time, PRIORITY, id, event)`` entries
    and ``ids`` its id counter (the same objects, so pushing here is pushing there);
    ``advance(t)`` moves the clock when an event is processed ahead of the queue
    (see :mod:`kperf.engine.transit`)."""

    __slots__ = ("advance", "env", "ids", "queue")

    def __init__(self, env: simpy.Environment) -> None:
        problems = check_simpy_internals(env)
        if problems:
            raise RuntimeError("kperf's engine needs SimPy internals that changed: "
                               + "; ".join(problems) + f" (checked against SimPy "
                               f"{', '.join(SIMPY_TESTED)}; see kperf/engine/clock.py)")
        self.env = env
        self.queue: list[tuple[float, int, int, Any]] = env._queue  # type: ignore[assignment]
        self.ids: Iterator[int] = env._eid
        # advance(t): set the clock to t (>= now), for an event processed ahead of the
        # queue because nothing on it is due earlier (a C-level call: no Python frame)
        self.advance: Callable[[float], None] = partial(setattr, env, "_now")

    def pending(self) -> Iterator[Any]:
        """The events on the queue, in no particular order."""
        for entry in self.queue:
            yield entry[3]


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


def check_simpy_internals(env: simpy.Environment | None = None) -> list[str]:
    """What of SimPy's internals this module relies on is missing or changed (empty
    when all is as expected). Cheap: a few attribute checks on ``env`` (a new
    environment if None)."""
    env = env if env is not None else simpy.Environment()
    problems: list[str] = []
    now = getattr(env, "_now", None)
    if not isinstance(now, int | float):
        problems.append("Environment._now is not the clock's time")
    if not isinstance(getattr(env, "_queue", None), list):
        problems.append("Environment._queue is not a list (the event heap)")
    eid = getattr(env, "_eid", None)
    if not isinstance(eid, count):
        problems.append("Environment._eid is not an itertools.count")
    if not isinstance(NORMAL, int):
        problems.append("simpy.events.NORMAL is not an int priority")
    version = getattr(simpy, "__version__", "")
    if not any(version == v or version.startswith(v + ".") for v in SIMPY_TESTED):
        problems.append(f"SimPy {version or '(unknown version)'} is not a tested release")
    return problems
