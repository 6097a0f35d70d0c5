"""Congestion control: what a connection's window does between and at losses.

Slow start (``cwnd`` grows by the bytes acknowledged, RFC 5681 with appropriate byte
counting, RFC 3465) is the sender's (:mod:`kperf.transport.tcp`); these classes hold
congestion avoidance and the response to a loss, in bytes, with windows expressed in
packets of one MSS where the algorithm's constants are per packet.

* :class:`Reno` (RFC 5681): ``cwnd += MSS * acked / cwnd``; on a loss
  ``ssthresh = cwnd / 2``.
* :class:`Dctcp` (RFC 8257): Reno plus a cut by ``alpha / 2`` per window with ECN
  marks, ``alpha`` the running fraction of bytes marked.
* :class:`Cubic` (RFC 8312, as Linux ``net/ipv4/tcp_cubic.c`` runs it): the window
  follows ``W(t) = C (t - K)^3 + W_max`` with ``C = 0.4`` and ``K`` the time to climb
  back to ``W_max``; a loss multiplies the window by ``beta = 0.7`` (Linux 717/1024);
  fast convergence lowers ``W_max`` when a flow loses below its last maximum; in the
  TCP-friendly region the window grows at least as a Reno flow with the same beta
  would (RFC 8312 section 4.2). Linux caps growth at 1.5x per round trip
  (``cnt >= 2``). HyStart is not modelled (slow start ends at the first loss or at
  ``ssthresh``).
"""

from __future__ import annotations

from typing import Protocol

from kperf.transport.rtt import RttEstimator


class CcHost(Protocol):
    """What a congestion control reads of its connection."""

    cwnd: float
    mss: int
    rtt: RttEstimator


class Reno:
    """NewReno's window: additive increase, halving on a loss (RFC 5681)."""

    __slots__ = ()
    name = "reno"
    ecn = False  # not ECN-capable: switch ports do not mark its packets

    def avoid(self, tcp: CcHost, acked: float, now: float) -> None:
        """Congestion avoidance for ``acked`` bytes newly acknowledged at ``now``."""
        tcp.cwnd += tcp.mss * acked / tcp.cwnd

    def on_loss(self, tcp: CcHost, now: float) -> float:
        """A loss (fast retransmit or timeout): the new ssthresh in bytes."""
        return max(tcp.cwnd / 2, 2.0 * tcp.mss)

    def restart(self) -> None:
        """After a timeout (Reno keeps no state between losses)."""


CUBIC_C = 0.4  # RFC 8312 section 5; Linux bic_scale 41 gives 0.4 (packets per s^3)
CUBIC_BETA = 717 / 1024  # Linux beta; RFC 8312 says 0.7


class Cubic:
    """CUBIC (RFC 8312, Linux's default); see the module doc."""

    __slots__ = ("epoch_s", "k_s", "origin", "w_epoch", "w_last_max")
    name = "cubic"
    ecn = False

    def __init__(self) -> None:
        self.epoch_s = -1.0  # start of the current congestion-avoidance epoch
        self.w_epoch = 0.0  # window (packets) when the epoch began (after a reduction)
        self.w_last_max = 0.0  # window (packets) before the last reduction
        self.k_s = 0.0
        self.origin = 0.0

    def avoid(self, tcp: CcHost, acked: float, now: float) -> None:
        mss = tcp.mss
        w = tcp.cwnd / mss
        if self.epoch_s < 0.0:
            self.epoch_s = now
            if w < self.w_last_max:
                self.k_s = ((self.w_last_max - w) / CUBIC_C) ** (1 / 3)
                self.origin = self.w_last_max
            else:
                self.k_s = 0.0
                self.origin = w
            self.w_epoch = w
        rtt = tcp.rtt.min_rtt_s if tcp.rtt.min_rtt_s < float("inf") else 0.0
        t = now - self.epoch_s + rtt  # the window one round trip ahead (Linux, RFC)
        target = self.origin + CUBIC_C * (t - self.k_s) ** 3
        # TCP-friendly region (RFC 8312 4.2): what Reno with beta 0.7 would have by now
        srtt = tcp.rtt.srtt_s
        if srtt > 0.0:
            w_est = (self.w_epoch
                     + 3 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA) * (now - self.epoch_s) / srtt)
            if w_est > target:
                target = w_est
        if target > w:
            grow = (target - w) / w  # packets per packet acknowledged
            if grow > 0.5:  # Linux: cnt >= 2, at most 1.5x per round trip
                grow = 0.5
        else:
            grow = 0.01 / w  # Linux: cnt = 100 * cwnd, a slow probe above the plateau
        tcp.cwnd += grow * acked

    def restart(self) -> None:
        """After a timeout: the next congestion-avoidance epoch starts afresh (Linux
        ``bictcp_reset`` on ``CA_EVENT_LOSS``, keeping the last maximum)."""
        self.epoch_s = -1.0

    def on_loss(self, tcp: CcHost, now: float) -> float:
        w = tcp.cwnd / tcp.mss
        self.epoch_s = -1.0
        if w < self.w_last_max:  # fast convergence (RFC 8312 4.6)
            self.w_last_max = w * (1 + CUBIC_BETA) / 2
        else:
            self.w_last_max = w
        return max(tcp.cwnd * CUBIC_BETA, 2.0 * tcp.mss)


DCTCP_G = 1 / 16  # Alizadeh et al. SIGCOMM 2010 section 3.1; Linux dctcp_shift_g 4


class Dctcp(Reno):
    """DCTCP (Alizadeh et al., SIGCOMM 2010; RFC 8257; Linux ``tcp_dctcp.c``): Reno's
    growth and its halving on a loss, plus ECN: switch ports mark packets that find
    more than ``Testbed.ecn_threshold_bytes`` queued; once per window of data
    ``alpha = (1 - g) alpha + g F`` with ``F`` the fraction of bytes marked and
    ``g = 1/16``, and a window with marks cuts ``cwnd`` by ``alpha / 2`` (once per
    window). ``alpha`` starts at 1 (Linux ``dctcp_alpha_on_init``). The sender
    (:class:`kperf.transport.tcp.TcpSender`) does the bookkeeping."""

    __slots__ = ("acked", "alpha", "marked", "window_end")
    name = "dctcp"
    ecn = True

    def __init__(self) -> None:
        self.alpha = 1.0
        self.acked = 0.0  # bytes acknowledged in this observation window
        self.marked = 0.0  # of which marked
        self.window_end = 0  # sequence that ends the observation window

    def on_window(self) -> None:
        """One window of data acknowledged: update ``alpha``, start a new window."""
        frac = self.marked / self.acked if self.acked > 0 else 0.0
        self.alpha += DCTCP_G * (frac - self.alpha)
        self.acked = 0.0
        self.marked = 0.0


CongestionControl = Reno | Cubic | Dctcp

CONGESTION_CONTROLS: dict[str, type[Reno] | type[Cubic] | type[Dctcp]] = {
    "cubic": Cubic, "dctcp": Dctcp, "reno": Reno}
"""Congestion controls by name (``workload.congestion_control``)."""


def make_congestion_control(name: str) -> CongestionControl:
    """A fresh congestion-control state of the algorithm ``name``."""
    try:
        return CONGESTION_CONTROLS[name]()
    except KeyError:
        raise ValueError(f"unknown congestion control {name!r}; allowed: "
                         f"{', '.join(sorted(CONGESTION_CONTROLS))}") from None
