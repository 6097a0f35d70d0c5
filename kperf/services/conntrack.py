"""The per-node connection tracking table (``nf_conntrack``) that Service NAT relies on.

Size
    kube-proxy sets ``nf_conntrack_max`` to max(131,072, 32,768 × cores)
    (``--conntrack-min``, ``--conntrack-max-per-core`` defaults; CALIBRATION.md,
    "Service load balancing").
Timeouts (seconds)
    TCP ESTABLISHED 86,400 and CLOSE_WAIT 3,600 (kube-proxy's
    ``conntrack.tcpEstablishedTimeout`` / ``tcpCloseWaitTimeout`` defaults, which it
    writes to ``nf_conntrack_tcp_timeout_*``); SYN_SENT 120 and TIME_WAIT 120 (kernel
    defaults, ``Documentation/networking/nf_conntrack-sysctl.rst``); UDP 30
    (``nf_conntrack_udp_timeout``; a request/response such as a DNS query never
    becomes an assured "stream", whose timeout would be 120).
Full table
    A new connection needs an entry. When the table is full the kernel first tries
    ``early_drop``, which evicts a non-assured entry (SYN_SENT, unreplied or
    short-lived UDP), and its GC worker reaps TCP entries in closing states (TIME_WAIT,
    CLOSE_WAIT, FIN_WAIT, LAST_ACK, CLOSE: ``tcp_can_early_drop`` in
    ``net/netfilter/nf_conntrack_proto_tcp.c``) once the table is over 95 % full.
    kperf folds both into: a new entry fits if the table has room or holds any such
    evictable entry (the kernel looks only in a few hash buckets, so this is slightly
    optimistic). Otherwise the packet is dropped ("nf_conntrack: table full, dropping
    packet") and counted; a TCP client retransmits its SYN after the initial RTO of
    1 s, doubling each time (``TCP_TIMEOUT_INIT``; ``tcp_syn_retries`` = 6): retries
    at 1, 3, 7, 15, 31 and 63 s after the first SYN, giving up at 127 s.

Costs
    This table charges nothing: what an entry costs is the datapath's
    (:mod:`kperf.datapath.conntrack`, issue 19): ``conntrack new`` (create, confirm and
    destroy; 2.0 reference µs, :data:`kperf.profiles.cni.CONNTRACK_NEW_US`) on every
    node whose host namespace tracks the connection (kube-proxy in iptables, IPVS or
    nftables mode, or a CNI whose own datapath uses conntrack), with the SYN or the
    SYN-ACK. The proxy profiles' ``first_packet_base_us`` is the NAT and lookup work on
    top, and ``established_per_packet_us`` the per-packet lookup
    (:mod:`kperf.profiles.proxy`). Contention on the table is not modelled: Testbed C's
    host-network TCP_CRR chart (CALIBRATION.md: 127 k connections/s with conntrack, 228 k
    without, 32 processes on 16 cores) would put conntrack's whole per-connection cost,
    contention included, at up to 16 × (1/127 k − 1/228 k) / 2 hosts ≈ 28 µs of a core
    per host, far above the entry's own 2.0 reference µs; both rows are known gaps
    (docs/validation.md, "Conntrack as a datapath cost").

Entries expire lazily: a table only does work when it is touched.
"""

from __future__ import annotations

from collections import deque

CONNTRACK_MIN = 131_072
CONNTRACK_PER_CORE = 32_768

TIMEOUTS_S: dict[str, float] = {
    "syn_sent": 120.0,
    "established": 86_400.0,
    "close_wait": 3_600.0,
    "time_wait": 120.0,
    "udp": 30.0,
    "udp_stream": 120.0,
}
"""Per-state entry lifetimes in seconds (see the module docstring for sources)."""

EVICTABLE_STATES = frozenset({"syn_sent", "close_wait", "time_wait", "udp"})
"""States a full table can evict to admit a new connection (non-assured or closing)."""

SYN_RETRY_OFFSETS_S: tuple[float, ...] = (1.0, 3.0, 7.0, 15.0, 31.0, 63.0)
"""When a client retransmits an unanswered SYN, in seconds after the first one."""

SYN_GIVE_UP_S = 127.0
"""When ``connect()`` fails with ETIMEDOUT after ``tcp_syn_retries`` = 6."""

def conntrack_max(cores: int) -> int:
    """kube-proxy's table size for a node with ``cores`` cores."""
    return max(CONNTRACK_MIN, CONNTRACK_PER_CORE * cores)


class ConntrackTable:
    """One node's conntrack table: entries with states and expiry times.

    Keys are any ints the caller chooses (kperf uses its connection serials). Times
    must be presented in non-decreasing order (the simulation clock).
    """

    __slots__ = (
        "_by_state",
        "_entries",
        "_queues",
        "_serial",
        "drops",
        "evictions",
        "expired",
        "inserts",
        "max_entries",
        "name",
        "peak",
    )

    def __init__(self, max_entries: int, name: str = "") -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self.max_entries = max_entries
        self.name = name
        self._entries: dict[int, tuple[float, str, int]] = {}
        self._queues: dict[str, deque[tuple[float, int, int]]] = {
            s: deque() for s in TIMEOUTS_S
        }
        self._by_state: dict[str, int] = dict.fromkeys(TIMEOUTS_S, 0)
        self._serial = 0
        self.inserts = 0
        self.drops = 0
        self.evictions = 0
        self.expired = 0
        self.peak = 0

    # -- bookkeeping -----------------------------------------------------------------
    def _expire(self, now: float) -> None:
        entries = self._entries
        for state, q in self._queues.items():
            while q and q[0][0] <= now:
                _exp, key, serial = q.popleft()
                e = entries.get(key)
                if e is not None and e[2] == serial:
                    del entries[key]
                    self._by_state[state] -= 1
                    self.expired += 1

    def _put(self, key: int, state: str, expiry: float) -> None:
        self._serial += 1
        old = self._entries.get(key)
        if old is not None:
            self._by_state[old[1]] -= 1
        self._entries[key] = (expiry, state, self._serial)
        self._queues[state].append((expiry, key, self._serial))
        self._by_state[state] += 1
        if len(self._entries) > self.peak:
            self.peak = len(self._entries)

    def _evict_one(self) -> bool:
        entries = self._entries
        for state in ("udp", "syn_sent", "time_wait", "close_wait"):
            q = self._queues[state]
            while q:
                _exp, key, serial = q.popleft()
                e = entries.get(key)
                if e is not None and e[2] == serial:
                    del entries[key]
                    self._by_state[state] -= 1
                    self.evictions += 1
                    return True
        return False

    # -- queries -----------------------------------------------------------------------
    def count(self, now: float) -> int:
        """Live entries at ``now``."""
        self._expire(now)
        return len(self._entries)

    def state_counts(self, now: float) -> dict[str, int]:
        """Live entries per state at ``now``."""
        self._expire(now)
        return {s: c for s, c in self._by_state.items() if c}

    def __contains__(self, key: int) -> bool:
        return key in self._entries

    def state_of(self, key: int) -> str | None:
        e = self._entries.get(key)
        return None if e is None else e[1]

    def _freed_by(self, now: float, t: float) -> tuple[int, int]:
        """Entries live at ``now`` that expire by ``t``: (all, evictable)."""
        entries = self._entries
        total = evictable = 0
        for state, q in self._queues.items():
            for exp, key, serial in q:
                if exp > t:
                    break  # queues are in expiry order (fixed timeout per state)
                e = entries.get(key)
                if e is not None and e[2] == serial and exp > now:
                    total += 1
                    if state in EVICTABLE_STATES:
                        evictable += 1
        return total, evictable

    def fits_at(self, now: float, t: float) -> bool:
        """Would a new entry fit at time ``t`` >= ``now``, given what is known at ``now``
        (entries expire; nothing new is added meanwhile)?"""
        self._expire(now)
        live = len(self._entries)
        evictable = sum(self._by_state[s] for s in EVICTABLE_STATES)
        if t > now and (live >= self.max_entries and evictable == 0):
            freed, freed_ev = self._freed_by(now, t)
            live -= freed
            evictable -= freed_ev
        return live < self.max_entries or evictable > 0

    # -- updates -----------------------------------------------------------------------
    def insert(self, key: int, state: str, now: float, at: float | None = None) -> bool:
        """Create an entry in ``state`` (created at ``at``, default ``now``); False (and
        a counted drop) when the table is full of non-evictable entries.

        An entry created in the future (``at`` > ``now``: a SYN retransmit the caller
        found room for with :meth:`fits_at`) is a reservation: it is admitted and
        counts from now on."""
        self._expire(now)
        start = now if at is None else at
        full = start <= now and key not in self._entries and (
            len(self._entries) >= self.max_entries)
        if full and not self._evict_one():
            self.drops += 1
            return False
        self._put(key, state, start + TIMEOUTS_S[state])
        self.inserts += 1
        return True

    def set_state(self, key: int, state: str, now: float) -> None:
        """Move an entry to ``state`` with a fresh timeout (a FIN, a reply...)."""
        self._expire(now)
        if key in self._entries:
            self._put(key, state, now + TIMEOUTS_S[state])

    def remove(self, key: int) -> None:
        """Delete an entry (``conntrack -D``, as kube-proxy does for stale UDP flows)."""
        e = self._entries.pop(key, None)
        if e is not None:
            self._by_state[e[1]] -= 1

    def fill(self, n: int, state: str, now: float, first_key: int = -1) -> None:
        """Add ``n`` entries in ``state`` (keys counting down from ``first_key``), for
        experiments that start with a loaded table."""
        for k in range(n):
            self._put(first_key - k, state, now + TIMEOUTS_S[state])
