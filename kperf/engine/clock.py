"""Scheduling a callback at an absolute simulated time on a SimPy environment.

``schedule_at`` pushes one already-triggered event onto SimPy's queue with a single
callback: the cheapest way to make SimPy call a function at a time, about the cost of
an ``env.timeout`` without a process to resume. It uses absolute times so that no
floating-point subtraction can produce a negative delay.

The queued object is a minimal triggered event: SimPy's ``Environment.step`` needs only
``callbacks`` and ``_ok`` of what it pops (simpy 4.x, ``core.py``), so a two-slot
object costs less to create than a full :class:`simpy.events.Event`; ordering among
events at the same time is SimPy's own (priority, then insertion id), so runs stay
deterministic. ``tests/test_queues.py`` checks the result against ``simpy.Resource``.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL


class _Wake:
    """A triggered event carrying one callback (no process, no value)."""

    __slots__ = ("_ok", "callbacks")

    def __init__(self, callback: Callable[[Any], None]) -> None:
        self.callbacks: list[Callable[[Any], None]] | None = [callback]
        self._ok = True


def schedule_at(env: simpy.Environment, t: float, callback: Callable[[Any], None]) -> None:
    """Call ``callback(event)`` when the simulation clock reaches ``t`` (>= now)."""
    now = env._now
    heappush(
        env._queue,  # type: ignore[misc]
        (t if t > now else now, NORMAL, next(env._eid), _Wake(callback)),
    )
