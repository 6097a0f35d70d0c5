"""Scheduling a callback at an absolute simulated time on a SimPy environment.

``schedule_at`` pushes one already-triggered event onto SimPy's queue with a single
callback: the cheapest way to make SimPy call a function at a time, about the cost of
an ``env.timeout`` without a process to resume. It uses absolute times so that no
floating-point subtraction can produce a negative delay.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL, Event


class _Wake(Event):
    """A triggered event carrying one callback (no process, no value)."""

    def __init__(self, env: simpy.Environment, callback: Callable[[Any], None]) -> None:
        # Inlined Event.__init__ (as simpy.Timeout does) for speed.
        self.env = env
        self.callbacks = [callback]
        self._value = None
        self._ok = True


def schedule_at(env: simpy.Environment, t: float, callback: Callable[[Any], None]) -> None:
    """Call ``callback(event)`` when the simulation clock reaches ``t`` (>= now)."""
    now = env._now
    heappush(
        env._queue,
        (t if t > now else now, NORMAL, next(env._eid), _Wake(env, callback)),
    )
