"""SimPy's internals that kperf relies on (all named in ``kperf/engine/clock.py``).

If a SimPy release changes them, these tests fail with a message saying what changed,
before any result can drift silently.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import simpy

from kperf.engine import clock
from kperf.engine.clock import (
    PRIORITY,
    SIMPY_TESTED,
    LightEvent,
    Scheduler,
    call_at,
    check_simpy_internals,
    run_until_empty,
)

ROOT = Path(__file__).resolve().parent.parent


def test_simpy_internals_are_as_the_engine_expects() -> None:
    problems = check_simpy_internals()
    assert problems == [], (
        "SimPy's internals changed under kperf's engine: " + "; ".join(problems)
        + " (update kperf/engine/clock.py, then the pin in pyproject.toml)")


def test_the_pin_in_pyproject_matches_the_tested_releases() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    simpy_dep = next(d for d in deps if d.startswith("simpy"))
    m = re.fullmatch(r"simpy>=(\d+)\.(\d+),<(\d+)\.(\d+)", simpy_dep.split("#")[0].strip())
    assert m, f"simpy needs a lower and an upper bound, got {simpy_dep!r}"
    lo = (int(m[1]), int(m[2]))
    hi = (int(m[3]), int(m[4]))
    tested = {tuple(int(x) for x in v.split(".")) for v in SIMPY_TESTED}
    assert lo in tested and all(lo <= t < hi for t in tested)
    assert hi == (lo[0], lo[1] + 1), "the upper pin admits an untested minor release"


def test_a_changed_internal_is_reported_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    env = simpy.Environment()
    del env._queue
    assert any("_queue" in p for p in check_simpy_internals(env))
    monkeypatch.setattr(simpy, "__version__", "5.0.0")
    problems = check_simpy_internals(simpy.Environment())
    assert any("5.0.0" in p for p in problems)
    with pytest.raises(RuntimeError, match=r"SimPy internals that changed.*5\.0\.0"):
        Scheduler(simpy.Environment())


class _Probe(LightEvent):
    __slots__ = ("seen",)

    def __init__(self, seen: list[tuple[str, float]]) -> None:
        self.seen = seen
        self.callbacks = [lambda ev: ev.seen.append(("probe", env_of[0].now))]


env_of: list[Any] = []


@pytest.mark.parametrize("loop", ["simpy", "kperf"])
def test_light_events_and_calls_keep_simpys_order(loop: str) -> None:
    """Entries pushed by the engine (calls, light events through the Scheduler) and
    SimPy's own timeouts run by time, then in the order they were scheduled, under
    SimPy's ``run`` and the engine's own loop alike; the clock reads each event's time."""
    env = simpy.Environment()
    env_of[:] = [env]
    seen: list[tuple[str, float]] = []
    sched = Scheduler(env)
    call_at(env, 2.0, lambda: seen.append(("call 2", env.now)))
    env.timeout(1.0).callbacks.append(lambda _e: seen.append(("timeout 1", env.now)))
    probe = _Probe(seen)
    from heapq import heappush

    heappush(sched.queue, (1.0, PRIORITY, next(sched.ids), probe))
    call_at(env, 1.0, lambda: seen.append(("call 1", env.now)))
    call_at(env, -5.0, lambda: seen.append(("past", env.now)))  # never before now
    if loop == "simpy":
        env.run()
    else:
        run_until_empty(env)
    assert seen == [("past", 0.0), ("timeout 1", 1.0), ("probe", 1.0), ("call 1", 1.0),
                    ("call 2", 2.0)]
    assert probe.callbacks is None  # SimPy consumed it, as it does its own events
    assert list(sched.pending()) == []


def test_advance_moves_the_clock_and_pending_lists_the_queue() -> None:
    env = simpy.Environment()
    sched = Scheduler(env)
    call_at(env, 3.0, lambda: None)
    sched.advance(1.5)
    assert env.now == 1.5
    assert len(list(sched.pending())) == 1
    env.run()
    assert env.now == 3.0


def test_no_other_module_names_simpys_private_attributes() -> None:
    """SimPy internals in one module: no other kperf module reads ``_now``, ``_queue``,
    ``_eid``, ``_value`` or ``_defused`` (``_ok`` only as LightEvent's class flag)."""
    names = re.compile(r"\._(now|queue|eid|value|defused|ok)\b")
    offenders = []
    for f in sorted((ROOT / "kperf").rglob("*.py")):
        if f.name == "clock.py" and f.parent.name == "engine":
            continue
        for i, line in enumerate(f.read_text().splitlines(), 1):
            if names.search(line):
                offenders.append(f"{f.relative_to(ROOT)}:{i}: {line.strip()}")
    assert offenders == [], "\n".join(offenders)
    assert clock.__file__.endswith("clock.py")
