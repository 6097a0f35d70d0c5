"""TCP settings of one connection, with the Linux defaults they stand for."""

from __future__ import annotations

from dataclasses import dataclass

TCP_RTO_MIN_S = 0.2
"""include/net/tcp.h ``TCP_RTO_MIN`` (HZ/5): Linux's floor on the retransmission
timeout (``ip route ... rto_min`` changes it per route, the knob incast studies use)."""
TCP_RTO_MAX_S = 120.0  # include/net/tcp.h TCP_RTO_MAX
TCP_TIMEOUT_INIT_S = 1.0  # RFC 6298 (2.1) and include/net/tcp.h TCP_TIMEOUT_INIT
TCP_INIT_CWND_PACKETS = 10  # RFC 6928, include/net/tcp.h TCP_INIT_CWND
GIVE_UP_S = 51.0
"""Seconds of timeouts in a row (no ACK of new data) after which a connection fails:
kperf's bound, what eight timeouts take from a 200 ms floor (0.2 x (2^8 - 1)). Linux
gives up after ``tcp_retries2`` = 15, about 15 minutes; kperf stops sooner so that a
black-holed path ends a run in bounded simulated time."""


@dataclass(frozen=True, slots=True)
class TcpOptions:
    """One connection's TCP settings.

    ``congestion_control``: "cubic" (Linux's default since 2.6.19) or "reno".
    ``rto_min_s``: the RTO floor. ``initial_cwnd_packets``: IW (RFC 6928).
    ``rwnd_bytes``: the receive window (the socket buffer the receiver advertises; the
    ``window_bytes`` of a stream workload). ``tsq_limit_bytes``: TCP Small Queues'
    bound on the bytes one socket has below it (qdisc and NIC queue;
    ``Testbed.tcp_limit_output_bytes``). ``write_bytes``: the application's write size;
    the first segment of each write pays the per-message (syscall) cost.
    ``tail_loss_probe``: RFC 8985 TLP (Linux's default since 3.10, ``tcp_early_retrans``
    3); off reproduces older kernels, where a lost tail waits for the RTO."""

    congestion_control: str = "cubic"
    rto_min_s: float = TCP_RTO_MIN_S
    initial_cwnd_packets: int = TCP_INIT_CWND_PACKETS
    rwnd_bytes: int = 4 * 1024 * 1024
    tsq_limit_bytes: int = 262_144
    write_bytes: int = 131_072
    tail_loss_probe: bool = True
