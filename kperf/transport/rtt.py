"""Round-trip time estimation and the retransmission timeout (RFC 6298).

``SRTT`` and ``RTTVAR`` follow RFC 6298 section 2 (alpha 1/8, beta 1/4) on samples of
segments sent once (Karn's rule); ``RTO = max(rto_min, SRTT + 4 RTTVAR)`` (the RFC's
floor of 1 s replaced by Linux's ``TCP_RTO_MIN``, 200 ms by default), at most
``TCP_RTO_MAX`` (120 s). Each timeout doubles it (section 5.5) until a new sample.
"""

from __future__ import annotations

from kperf.transport.options import TCP_RTO_MAX_S, TCP_TIMEOUT_INIT_S


class RttEstimator:
    """SRTT, RTTVAR, the minimum RTT seen and the (backed-off) RTO of one connection."""

    __slots__ = ("backoff", "min_rtt_s", "rto_min_s", "rto_s", "rttvar_s", "srtt_s")

    def __init__(self, rto_min_s: float) -> None:
        self.rto_min_s = rto_min_s
        self.srtt_s = 0.0  # 0: no sample yet
        self.rttvar_s = 0.0
        self.min_rtt_s = float("inf")
        self.backoff = 0
        self.rto_s = max(TCP_TIMEOUT_INIT_S, rto_min_s)

    def sample(self, rtt_s: float) -> None:
        """A measured round trip (of a segment transmitted once)."""
        if rtt_s < self.min_rtt_s:
            self.min_rtt_s = rtt_s
        if self.srtt_s == 0.0:
            self.srtt_s = rtt_s
            self.rttvar_s = rtt_s / 2
        else:
            self.rttvar_s = 0.75 * self.rttvar_s + 0.25 * abs(self.srtt_s - rtt_s)
            self.srtt_s = 0.875 * self.srtt_s + 0.125 * rtt_s
        self.backoff = 0
        rto = self.srtt_s + 4 * self.rttvar_s
        self.rto_s = min(TCP_RTO_MAX_S, rto if rto > self.rto_min_s else self.rto_min_s)

    def timed_out(self) -> None:
        """A retransmission timeout: back off (double the RTO)."""
        self.backoff += 1
        self.rto_s = min(TCP_RTO_MAX_S, self.rto_s * 2)
