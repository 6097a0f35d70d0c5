"""Which endpoint a new connection to a Service gets.

Schedulers, as the proxy modes implement them:

``random``
    * iptables (kube-proxy ``pkg/proxy/iptables/proxier.go``): the Service's KUBE-SVC
      chain has one rule per endpoint; rule *i* of *n* (from 0) jumps to its endpoint
      with ``-m statistic --mode random --probability 1/(n-i)`` and the last rule is
      unconditional, so every endpoint has probability 1/n and a new connection
      evaluates ``i + 1`` of those rules (CALIBRATION.md, "Service load balancing").
      kperf draws the cascade literally, one uniform number per rule evaluated.
    * nftables (``numgen random mod n vmap``, KEP-3866) and eBPF (Cilium's default
      ``loadBalancer.algorithm: random``, Calico eBPF): one uniform draw.
``rr``, ``lc``, ``sh``
    IPVS schedulers (``net/netfilter/ipvs/ip_vs_rr.c``, ``ip_vs_lc.c``,
    ``ip_vs_sh.c``). ``rr`` cycles through the real servers in order, one cursor per
    node (each node's IPVS is independent). ``lc`` picks the lowest overhead
    ``256 × active + inactive`` (kperf tracks active connections; a tie goes to the
    first in list order, as IPVS does). ``sh`` hashes the source address into a
    256-bucket table (``CONFIG_IP_VS_SH_TAB_BITS`` = 8) filled round-robin with the
    real servers: ``hash_32(addr, 8)`` with the kernel's ``GOLDEN_RATIO_32``.
``maglev``
    Cilium's consistent hashing (``loadBalancer.algorithm: maglev``): the lookup table
    of Eisenbud et al., "Maglev", NSDI 2016, with Cilium's default size M = 16,381
    (``bpf-lb-maglev-table-size``), indexed by a hash of the connection's 5-tuple.

Session affinity ``ClientIP``: a client address sticks to the endpoint it last got for
``timeoutSeconds`` (default 10,800 s, Kubernetes ``SessionAffinityConfig``), refreshed
by each new connection (iptables ``-m recent --set`` in the KUBE-SEP chain; IPVS
persistence). In iptables mode the KUBE-SVC chain then starts with one ``recent
--rcheck`` rule per endpoint, walked before the probability rules.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Scheduler = Literal["random", "rr", "lc", "sh", "maglev"]
SCHEDULERS: tuple[str, ...] = ("random", "rr", "lc", "sh", "maglev")

AFFINITY_TIMEOUT_S = 10_800.0
"""Kubernetes default ``sessionAffinityConfig.clientIP.timeoutSeconds`` (3 hours)."""

IPVS_SH_TAB_BITS = 8
"""``CONFIG_IP_VS_SH_TAB_BITS`` default: 256 source-hash buckets."""

GOLDEN_RATIO_32 = 0x61C88647
"""``include/linux/hash.h``: the multiplier of ``hash_32``."""

MAGLEV_TABLE_SIZE = 16_381
"""Cilium's default ``bpf-lb-maglev-table-size`` (a prime)."""

_MASK64 = 0xFFFFFFFFFFFFFFFF


def mix64(*values: int) -> int:
    """A deterministic 64-bit hash (splitmix64 over the values); independent of
    Python's per-process hash seed."""
    z = 0x9E3779B97F4A7C15
    for v in values:
        z = (z ^ (v & _MASK64)) * 0xBF58476D1CE4E5B9 & _MASK64
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB & _MASK64
        z ^= z >> 31
    return z


def iptables_cascade(n: int, rng: np.random.Generator) -> tuple[int, int]:
    """Walk a KUBE-SVC chain of ``n`` probability rules: (chosen index, rules evaluated).

    Rule ``i`` matches with probability ``1/(n - i)`` given the earlier ones did not,
    so ``P(i) = prod_{j<i} (1 - 1/(n-j)) * 1/(n-i) = 1/n``, and reaching endpoint ``i``
    evaluates ``i + 1`` rules (the last endpoint's rule is unconditional). That joint
    distribution is sampled with one uniform draw, not by walking the rules, which
    would cost up to ``n`` draws per connection.
    """
    if n <= 0:
        raise ValueError("no endpoints")
    i = int(rng.integers(n))
    return i, i + 1


def ipvs_sh_bucket(src_ip: int, port: int = 0) -> int:
    """``ip_vs_sh_hashkey``: the source-hash bucket of an IPv4 source address."""
    val = (port + src_ip) & 0xFFFFFFFF
    return ((val * GOLDEN_RATIO_32) & 0xFFFFFFFF) >> (32 - IPVS_SH_TAB_BITS)


def maglev_table(keys: Sequence[Hashable], size: int = MAGLEV_TABLE_SIZE) -> list[int]:
    """The Maglev lookup table: ``size`` slots, each an index into ``keys``.

    Each backend has a permutation ``(offset + j * skip) mod size`` of the slots;
    backends take turns claiming their next free preferred slot until the table is
    full (Eisenbud et al. 2016, "Pseudocode 1"). Every backend ends with
    ``size / n`` slots, ± 1.
    """
    n = len(keys)
    if n == 0:
        return []
    offsets = []
    skips = []
    for k in keys:
        h = mix64(hash_key(k), 1)
        offsets.append(h % size)
        skips.append(mix64(hash_key(k), 2) % (size - 1) + 1)
    nxt = [0] * n
    table = [-1] * size
    filled = 0
    while True:
        for i in range(n):
            c = (offsets[i] + nxt[i] * skips[i]) % size
            while table[c] >= 0:
                nxt[i] += 1
                c = (offsets[i] + nxt[i] * skips[i]) % size
            table[c] = i
            nxt[i] += 1
            filled += 1
            if filled == size:
                return table


def hash_key(key: Hashable) -> int:
    """A stable int for an endpoint key (tuples of ints, ints or strings)."""
    if isinstance(key, int):
        return key
    if isinstance(key, tuple):
        return mix64(*(hash_key(k) for k in key))
    return mix64(*(ord(ch) for ch in str(key)))


@dataclass(frozen=True, slots=True)
class Choice:
    """The outcome of one endpoint choice.

    ``index`` is into the endpoint list given; ``rules_walked`` counts the KUBE-SVC
    rules evaluated (iptables; 0 for the other modes); ``affinity_hit`` says the
    ClientIP affinity table decided.
    """

    index: int
    rules_walked: int
    affinity_hit: bool = False


class Balancer:
    """Endpoint choice with per-node state (rr cursors, lc counts, affinity tables).

    ``cascade`` selects the iptables form of ``random`` (the probability-rule chain);
    otherwise ``random`` is one uniform draw.
    """

    def __init__(
        self,
        scheduler: str,
        rng: np.random.Generator,
        *,
        cascade: bool = False,
        affinity_timeout_s: float = AFFINITY_TIMEOUT_S,
        maglev_size: int = MAGLEV_TABLE_SIZE,
    ) -> None:
        if scheduler not in SCHEDULERS:
            raise ValueError(
                f"unknown scheduler {scheduler!r}; allowed: {', '.join(SCHEDULERS)}"
            )
        self.scheduler = scheduler
        self.rng = rng
        self.cascade = cascade
        self.affinity_timeout_s = affinity_timeout_s
        self.maglev_size = maglev_size
        self._rr: dict[tuple[int, int], int] = {}
        self._active: dict[tuple[int, int], dict[Hashable, int]] = {}
        self._affinity: dict[tuple[int, int, int], tuple[Hashable, float]] = {}
        self._maglev: dict[tuple[Hashable, ...], list[int]] = {}

    # -- the choice --------------------------------------------------------------------
    def choose(
        self,
        node: int,
        service: int,
        endpoints: Sequence[Hashable],
        *,
        client_ip: int = 0,
        client_port: int = 0,
        now: float = 0.0,
        affinity: bool = False,
    ) -> Choice:
        """Pick one of ``endpoints`` (non-empty) for a new connection from ``client_ip``."""
        n = len(endpoints)
        if n == 0:
            raise ValueError("no endpoints")
        extra_rules = 0
        if affinity:
            key = (node, service, client_ip)
            hit = self._affinity.get(key)
            if self.cascade:
                extra_rules = n  # one `recent --rcheck` rule per endpoint
            if hit is not None and now - hit[1] <= self.affinity_timeout_s:
                try:
                    i = list(endpoints).index(hit[0])
                except ValueError:
                    i = -1
                if i >= 0:
                    self._affinity[key] = (hit[0], now)
                    self._opened(node, service, endpoints[i])
                    return Choice(i, i + 1 if self.cascade else 0, True)
        i, walked = self._pick(node, service, endpoints, client_ip, client_port)
        if affinity:
            self._affinity[(node, service, client_ip)] = (endpoints[i], now)
        self._opened(node, service, endpoints[i])
        return Choice(i, walked + extra_rules, False)

    def _pick(
        self,
        node: int,
        service: int,
        endpoints: Sequence[Hashable],
        client_ip: int,
        client_port: int,
    ) -> tuple[int, int]:
        n = len(endpoints)
        s = self.scheduler
        if s == "random":
            if self.cascade:
                return iptables_cascade(n, self.rng)
            return int(self.rng.integers(n)), 0
        if s == "rr":
            key = (node, service)
            c = self._rr.get(key, -1) + 1
            self._rr[key] = c
            return c % n, 0
        if s == "lc":
            act = self._active.get((node, service), {})
            best, best_i = None, 0
            for i, ep in enumerate(endpoints):
                o = act.get(ep, 0)
                if best is None or o < best:
                    best, best_i = o, i
            return best_i, 0
        if s == "sh":
            return ipvs_sh_bucket(client_ip) % n, 0
        # maglev
        keys = tuple(endpoints)
        table = self._maglev.get(keys)
        if table is None:
            if len(self._maglev) > 1024:
                self._maglev.clear()
            table = maglev_table(keys, self.maglev_size)
            self._maglev[keys] = table
        return table[mix64(client_ip, client_port, service) % len(table)], 0

    # -- least-connection bookkeeping ----------------------------------------------------
    def _opened(self, node: int, service: int, ep: Hashable) -> None:
        if self.scheduler == "lc":
            act = self._active.setdefault((node, service), {})
            act[ep] = act.get(ep, 0) + 1

    def release(self, node: int, service: int, ep: Hashable) -> None:
        """A connection to ``ep`` closed (lc counts only active connections)."""
        if self.scheduler == "lc":
            act = self._active.get((node, service))
            if act and act.get(ep, 0) > 0:
                act[ep] -= 1

    def active(self, node: int, service: int) -> dict[Hashable, int]:
        """Active connections per endpoint on ``node`` (``lc`` only; empty otherwise)."""
        return dict(self._active.get((node, service), {}))
