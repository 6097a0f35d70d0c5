"""The fast FIFO forms are exactly simpy.Resource, and match queueing theory.

Tolerances: M/M/1 and M/D/1 mean sojourn within 3 % (issue 3), 3-stage Jackson
tandem within 3 %; the Lindley-vs-Resource comparison is exact to 1e-9 s.
"""

from __future__ import annotations

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from kperf.engine.clock import call_at
from kperf.engine.queues import FifoServer, MultiServer


def _simpy_resource_departures(arrivals: np.ndarray, services: np.ndarray, c: int) -> np.ndarray:
    env = simpy.Environment()
    res = simpy.Resource(env, capacity=c)
    out = np.zeros(len(arrivals))

    def customer(i: int):  # type: ignore[no-untyped-def]
        yield env.timeout(arrivals[i])
        with res.request() as req:
            yield req
            yield env.timeout(services[i])
            out[i] = env.now

    for i in range(len(arrivals)):
        env.process(customer(i))
    env.run()
    return out


def _lindley_departures(arrivals: np.ndarray, services: np.ndarray, c: int,
                        multi: bool = False) -> np.ndarray:
    env = simpy.Environment()
    server: FifoServer | MultiServer = (
        FifoServer("q") if c == 1 and not multi else MultiServer("q", c))
    out = np.zeros(len(arrivals))

    def arrive(i: int) -> None:
        dep = server.serve(env.now, float(services[i]))
        assert dep is not None
        out[i] = dep

    for i in range(len(arrivals)):
        call_at(env, float(arrivals[i]), arrive, i)
    env.run()
    return out


@pytest.mark.parametrize(("c", "multi"), [(1, False), (1, True), (3, True)])
def test_lindley_equals_simpy_resource(c: int, multi: bool) -> None:
    """FifoServer and MultiServer (its single-server slot and its heap of c) against
    ``simpy.Resource``."""
    rng = np.random.default_rng(7)
    n = 3000
    arrivals = np.cumsum(rng.exponential(1.0, n))
    services = rng.exponential(0.8 * c, n)
    ref = _simpy_resource_departures(arrivals, services, c)
    fast = _lindley_departures(arrivals, services, c, multi)
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-9)


def test_multiserver_adds_each_service_to_its_shared_account() -> None:
    node = [0.0]
    a, b = MultiServer("a", 1, node), MultiServer("b", 2, node)
    a.serve(0.0, 1.5)
    b.serve(0.5, 2.0)
    b.serve(0.5, 0.25)
    assert node == [3.75] and a.busy_s == 1.5 and b.busy_s == 2.25 and b.served == 2


def _mean_sojourn(arrivals: np.ndarray, services: list[np.ndarray]) -> float:
    """Mean time through a tandem of FIFO servers driven by engine events."""
    env = simpy.Environment()
    servers = [FifoServer(f"s{k}") for k in range(len(services))]
    total = [0.0]

    def at_stage(i: int, k: int) -> None:
        dep = servers[k].serve(env.now, float(services[k][i]))
        assert dep is not None
        if k + 1 < len(servers):
            call_at(env, dep, at_stage, i, k + 1)
        else:
            total[0] += dep - arrivals[i]

    for i in range(len(arrivals)):
        call_at(env, float(arrivals[i]), at_stage, i, 0)
    env.run()
    return total[0] / len(arrivals)


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_mm1_mean_sojourn(rho: float) -> None:
    rng = np.random.default_rng(11)
    n = 200_000
    mu = 1.0
    arrivals = np.cumsum(rng.exponential(1 / rho, n))
    services = rng.exponential(1 / mu, n)
    got = _mean_sojourn(arrivals, [services])
    want = 1 / (mu - rho)
    assert abs(got - want) / want < 0.03, (got, want)


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_md1_pollaczek_khinchine(rho: float) -> None:
    rng = np.random.default_rng(12)
    n = 150_000
    arrivals = np.cumsum(rng.exponential(1 / rho, n))
    services = np.ones(n)
    got = _mean_sojourn(arrivals, [services])
    want = 1.0 + rho / (2 * (1 - rho))  # service + P-K mean wait with mu = 1
    assert abs(got - want) / want < 0.03, (got, want)


def test_tandem_jackson() -> None:
    rng = np.random.default_rng(13)
    n = 150_000
    lam = 0.6
    mus = [1.0, 1.5, 0.9]
    arrivals = np.cumsum(rng.exponential(1 / lam, n))
    services = [rng.exponential(1 / mu, n) for mu in mus]
    got = _mean_sojourn(arrivals, services)
    want = sum(1 / (mu - lam) for mu in mus)
    assert abs(got - want) / want < 0.03, (got, want)


def test_finite_buffer_drops_are_counted() -> None:
    s = FifoServer("ring", capacity=3)
    deps = [s.serve(0.0, 1.0) for _ in range(5)]
    assert deps[:3] == [1.0, 2.0, 3.0]
    assert deps[3:] == [None, None]
    assert s.dropped == 2 and s.served == 3
    # once the first departs, there is room again
    assert s.serve(1.0, 1.0) == 4.0


def _reference_admit(book: list[tuple[float, float]], now: float, svc: float, size: float,
                     cap: float, bounded: bool, tail: float) -> float | None:
    """A finite FIFO buffer the plain way: every admitted customer's (departure, size)."""
    in_system = sum(sz for dep, sz in book if dep > now)
    if bounded and in_system and in_system + size > cap:
        return None
    free = max((dep for dep, _ in book), default=0.0)
    dep = max(now, free) + svc
    dep = max(dep, now + tail)  # a pipelined chunk waits for its last packet
    book.append((dep, size))
    return dep


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 2.0), st.floats(0.01, 3.0), st.integers(1, 4),
                          st.booleans(), st.sampled_from([0.0, 0.5, 2.0])),
                min_size=1, max_size=60),
       st.integers(2, 8))
def test_finite_buffer_equals_listing_every_customer(ops: list[tuple[float, float, int, bool,
                                                                     float]], cap: int) -> None:
    """Lazy listing (a busy period's first customer unlisted, departed customers counted
    out only when the bound says a drop might happen) admits, drops and times every
    customer as a buffer that lists all of them; property test over random arrivals,
    sizes, boundedness and pipelining tails."""
    s = FifoServer("q", capacity=cap)
    book: list[tuple[float, float]] = []
    now = 0.0
    drops = 0
    for gap, svc, size, bounded, tail in ops:
        now += gap
        want = _reference_admit(book, now, svc, size, cap, bounded, tail)
        got = (s.admit_pipelined(now, svc, 0.0, tail, size, bounded) if tail
               else s.admit(now, svc, size, bounded))
        drops += want is None
        assert got == pytest.approx(want, abs=1e-12) if want is not None else got is None
    assert s.dropped == drops
