"""kperf.transport against published TCP results, each with its tolerance:

* N equal CUBIC flows through one 10 Gbit/s port fill it (aggregate >= 95 % of the
  goodput bound) and share it (Jain's index; see the test for what the model reaches).
* Reno under random loss follows Mathis et al. 1997 ("The macroscopic behavior of the
  TCP congestion avoidance algorithm"): throughput = (MSS / RTT) * sqrt(3/2) / sqrt(p),
  within 20 %.
* Incast (Phanishayee et al., FAST'08; Vasudevan et al., SIGCOMM'09): synchronized
  reads of 256 KB blocks from N servers through a 32 KB switch buffer at 1 Gbit/s
  collapse with a 200 ms RTO floor from N = 4-6 on, and do not with a 1 ms floor.

The dumbbell is the one of tests/test_transport.py (repeated here: importing that module
would register its test hop kind twice). This file takes about half a minute
(``pytest --durations``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import pytest

from kperf.engine.sim import Simulation
from kperf.metrics.fairness import jain_index as jain
from kperf.transport import TcpOptions, TcpSender
from tests.helpers import DUMBBELL_RECEIVER, TCP_BOUND_BPS, TCP_MSS, bulk, dumbbell

MSS = TCP_MSS
BOUND_BPS = TCP_BOUND_BPS
RECEIVER = DUMBBELL_RECEIVER




def bulk_goodputs(sim: Simulation, n: int, opts: TcpOptions, until_s: float,
                  warm_s: float) -> tuple[list[TcpSender], list[float]]:
    """Start ``n`` flows (node i+1 to the receiver, ACK-jitter seed i) writing while
    ``t < until_s``, run, and return them with their goodputs over ``[warm_s,
    until_s)`` in bit/s."""
    flows = bulk(sim, n, opts, until_s, warm_s)
    flows.start()
    sim.run()
    return flows.senders, flows.goodput_bps()


# -- CUBIC flows sharing a bottleneck ----------------------------------------------------
@pytest.mark.parametrize(("n", "until_s"), [(2, 1.0), (8, 4.0), (64, 2.0)])
def test_equal_cubic_flows_fill_and_share_the_bottleneck(n: int, until_s: float) -> None:
    """N CUBIC flows, 50 us base RTT (12 us links, 1 us switch), 1 MB port buffer,
    measured over [0.1 s, until_s). Tolerances: aggregate goodput >= 95 % of
    10e9 * 1448 / 1538 (and never above it); Jain's index of the per-flow goodputs
    >= 0.95. Measured: aggregate 99.97 % for every N; Jain 0.971 (N = 2, 1 s),
    0.997 (N = 8, 4 s), 0.996 (N = 64, 2 s). (ns-3 on the same dumbbell over 1 s gives
    0.51 to 0.92 depending on start times: start-up timeouts; see
    test_ns3_reference.py.)"""
    senders, per_flow = bulk_goodputs(dumbbell(n), n, TcpOptions(congestion_control="cubic"),
                                      until_s, warm_s=0.1)
    total = sum(per_flow)
    assert 0.95 * BOUND_BPS <= total <= BOUND_BPS * 1.001
    assert jain(per_flow) >= 0.95
    assert all(s.failed is None for s in senders)


# -- Reno under random loss: Mathis et al. 1997 ------------------------------------------
MATHIS_C = math.sqrt(1.5)  # 1.22: periodic loss, an ACK per segment (no delayed ACKs)


def mathis_run(p: float, until_s: float, gso_max_bytes: int = 65536) -> dict[str, Any]:
    """One Reno flow over a 10 ms base RTT (2.5 ms links) on a 10 Gbit/s dumbbell with
    ``link_loss_rate`` p: goodput over [until_s / 10, until_s) and the Mathis
    prediction with the base RTT (the handshake's idle round trip: the flow is window
    limited, its queue stays empty, and its smoothed RTT is within 0.6 % of it)."""
    sim = dumbbell(1, link_delay_us=2500.0, link_loss_rate=p, gso_max_bytes=gso_max_bytes)
    warm_s = until_s / 10
    got = [0, 0]  # bytes in the measurement window, all bytes

    def on_bytes(t: float, nbytes: int) -> None:
        got[1] += nbytes
        if warm_s <= t < until_s:
            got[0] += nbytes

    def may_write(t: float) -> bool:
        # a flow running at 3x the prediction (one that does not lose) stops early
        return t < until_s and got[1] * 8 < 3 * predicted_bps * (t + 1.0)

    s = TcpSender(sim, 1, RECEIVER, TcpOptions(congestion_control="reno"),
                  on_bytes=on_bytes, may_write=may_write)
    base_rtt = s.handshake_s
    predicted_bps = MSS * 8 / base_rtt * MATHIS_C / math.sqrt(p)
    s.start()
    sim.run(until=until_s + 1.0)
    goodput = got[0] * 8 / (until_s - warm_s)
    port = sim.network.all_servers()[("port", RECEIVER)]
    return {"ratio": goodput / predicted_bps, "goodput_bps": goodput,
            "base_rtt_s": base_rtt, "srtt_s": s.rtt.srtt_s,
            "lost": getattr(port, "lost", 0), "retransmits": s.retransmits,
            "timeouts": s.timeouts}


@pytest.mark.parametrize(("p", "until_s"), [(1e-2, 40.0), (1e-3, 120.0), (1e-4, 400.0)])
def test_reno_under_random_loss_follows_mathis(p: float, until_s: float) -> None:
    """Throughput = (MSS / RTT) * 1.22 / sqrt(p) within 20 %, RTT the base RTT (10 ms),
    over at least 200 link losses (about 350-500 are expected). 10 ms keeps the flow
    window-limited (141 Mbit/s at p = 1e-4, far below 10 Gbit/s). Measured with
    chunk-grain segments (GSO 64 KiB): 0.954, 1.009, 0.962 for p = 1e-2, 1e-3, 1e-4
    (461, 448, 501 link losses; no timeout); with packet-grain segments
    (gso_max_bytes 1500) 0.995 and 1.001 for p = 1e-2 and 1e-3."""
    r = mathis_run(p, until_s)
    assert r["lost"] >= 200, r
    assert r["retransmits"] >= r["lost"], r
    assert 0.8 <= r["ratio"] <= 1.2, r
    assert r["srtt_s"] == pytest.approx(r["base_rtt_s"], rel=0.02)


# -- incast -------------------------------------------------------------------------------
BLOCK_BYTES = 256 * 1024  # the server request unit
INCAST_NS = (1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32)
LINK_1G_BPS = 1e9


@dataclass(frozen=True)
class Incast:
    """One incast run: goodput (fraction of the 1 Gbit/s link), connections that gave
    up, and whether a round never ended (a connection neither completed nor failed)."""

    goodput: float
    failed: int
    stalled: bool


def incast(n: int, rto_min_s: float, rounds: int = 10, buffer: int = 32 * 1024,
           tail_loss_probe: bool = False, cc: str = "reno") -> Incast:
    """``rounds`` synchronized reads: each round, N senders each send one 256 KB block
    to the receiver on a new connection (handshake included); the next round starts
    when the last block has arrived (or its connection failed). 1 Gbit/s, 24 us links
    and 1 us switch latency (about 100 us base RTT), a ``buffer``-byte switch port.
    Goodput = the bytes of all blocks delivered / the total time."""
    sim = dumbbell(n, nic_rate_gbps=1, link_delay_us=24.0, switch_latency_us=1.0,
                   switch_buffer_bytes=buffer)
    opts = TcpOptions(congestion_control=cc, rto_min_s=rto_min_s,
                      tail_loss_probe=tail_loss_probe)
    state = {"round": 0, "left": 0, "end": -1.0, "failed": 0}
    senders: list[TcpSender] = []

    def start_round() -> None:
        state["left"] = n
        for i in range(n):
            s = TcpSender(sim, i + 1, RECEIVER, opts, size_bytes=BLOCK_BYTES,
                          on_complete=block_done, on_fail=block_failed,
                          seed=1000 * state["round"] + i)
            senders.append(s)
            s.start()

    def block_failed(t: float, why: str) -> None:
        state["failed"] += 1
        block_done(t)

    def block_done(t: float) -> None:
        state["left"] -= 1
        if state["left"] == 0:
            state["round"] += 1
            if state["round"] < rounds:
                sim.at(t, start_round)
            else:
                state["end"] = t

    sim.at(0.0, start_round)
    sim.run()
    stalled = state["end"] < 0
    end = sim.now if stalled else state["end"]
    delivered = sum(s.delivered_bytes for s in senders)
    return Incast(delivered * 8 / end / LINK_1G_BPS, int(state["failed"]), stalled)


@functools.cache
def incast_curve(rto_min_s: float) -> dict[int, Incast]:
    """Reno, no tail-loss probe, 32 KB buffer, 10 rounds, for every N of INCAST_NS."""
    return {n: incast(n, rto_min_s) for n in INCAST_NS}


def test_incast_collapses_with_a_200ms_rto_floor_and_not_with_1ms() -> None:
    """Reno, no tail-loss probe (2009-era kernels), 32 KB port buffer, 10 rounds.
    Published (FAST'08, SIGCOMM'09): with 200 ms the goodput falls below 50 % of the
    link at N = 4-6. Tolerances: the collapse onset (first N below 50 %) within a
    factor of 2 of 4-6 (2 <= N <= 12), and with a 1 ms floor the goodput at that N
    above 80 %. Measured: onset N = 3 (5.9 %), 84 % with 1 ms there (full curves
    in the next test)."""
    slow = {n: r.goodput for n, r in incast_curve(0.2).items()}
    fast = {n: r.goodput for n, r in incast_curve(0.001).items()}
    onset = next((n for n in INCAST_NS if slow[n] < 0.5), None)
    assert onset is not None and 2 <= onset <= 12, (slow, fast)
    assert fast[onset] > 0.8, fast


def test_incast_curves_keep_the_published_shape() -> None:
    """The rest of the published shape, same runs. With 200 ms the goodput stays low
    (published about 10-15 % of the link up to N = 32; asserted: below 50 % and at
    least 3 %) from the onset on; with 1 ms it stays high (published >= 85-90 % up to
    N = 16-32; asserted: >= 80 % up to N = 16); few senders (N <= 2) do not collapse
    (>= 70 %); and no connection gives up or stalls (the published runs lost none).
    Measured (% of 1 Gbit/s; N = 1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32):
    200 ms 84, 90, 5.9, 4.1, 5.1, 6.0, 6.2, 4.6, 5.5, 6.1, 5.0; 1 ms 84, 90, 84, 90,
    91, 92, 92, 93, 92, 74, 66; no connection failed. The floor with 200 ms is lower
    than published (5 % against 10-15 %) and the collapse one sender earlier: a chunk
    that finds the buffer full loses whole packets at its tail, where a real burst
    interleaves with the others' and loses fewer. With tail-loss probes on (Linux
    since 3.10) the 200 ms curve is the same within 2 points: a probe into a full
    buffer is lost too."""
    slow, fast = incast_curve(0.2), incast_curve(0.001)
    problems = [f"{label} N={n}: {r}" for label, curve in (("200 ms", slow), ("1 ms", fast))
                for n, r in curve.items() if r.failed or r.stalled]
    assert not problems, problems
    onset = next(n for n in INCAST_NS if slow[n].goodput < 0.5)
    low = {n: round(r.goodput, 3) for n, r in slow.items() if n >= onset}
    assert all(0.03 <= g < 0.5 for g in low.values()), low
    high = {n: round(r.goodput, 3) for n, r in fast.items() if n <= 16}
    assert all(g >= 0.8 for n, g in high.items() if n > 2), high
    assert min(slow[1].goodput, slow[2].goodput, fast[1].goodput, fast[2].goodput) >= 0.7
