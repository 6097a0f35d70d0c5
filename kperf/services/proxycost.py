"""What a Service costs: the first packet, established packets, and reprogramming.

Costs come from the proxy mode's profile (:mod:`kperf.profiles.proxy`, which cites
CALIBRATION.md "Service load balancing" for each number) and are reference-core
microseconds (testbed A); callers divide by the testbed's ``cpu_speed_factor``.

First packet, as parts (:func:`first_packet_parts`, what ``kperf paths`` shows)
    ``first_packet_base_us`` (conntrack entry, NAT set-up, and the Service's own
    KUBE-SVC/KUBE-SEP chains for a one-endpoint Service) plus the *service lookup*:
    in linear (iptables) mode ``per_rule_ns`` for every rule walked,
    ``rules_per_service`` per Service in KUBE-SERVICES up to and including the
    matching one, then each further KUBE-SVC rule evaluated (the random cascade and
    ClientIP ``recent`` checks: *endpoint choice*); in hash modes (IPVS, nftables,
    eBPF) the mode's ``tables``' lookups, whose cost grows with a table's size only
    through cache misses and fixed-bucket chains (:mod:`kperf.services.lookupcost`).
    eBPF with socket LB (a pod's TCP connection): *socket LB (connect)*,
    ``socket_lb_connect_us`` (the cgroup connect4 program and its reverse-NAT entry),
    and the same lookups, done once at ``connect()``; no per-packet NAT.
    CPU parts are reference-core µs divided by the testbed's ``cpu_speed_factor``;
    cache-miss time is memory latency and is not.
Position in KUBE-SERVICES
    kube-proxy writes KUBE-SERVICES by iterating a Go map
    (``pkg/proxy/iptables/proxier.go``), so the order is random and changes at
    every sync; over the syncs of a run each Service is on average half-way down.
    kperf charges that expected walk by default (:data:`EXPECTED`: position
    (S - 1)/2 of S Services, so a run does not depend on one draw of the order);
    ``"shuffled"`` draws one random order per node for the whole run
    (:func:`kube_services_order`, kperf's behaviour before issue 19: at 30,000
    Services one run's result moved -6 % to -93 % across seeds), ``"index"`` uses
    Service order.
Established packets
    ``established_per_packet_us`` (a conntrack hit and the filter chains), the same
    for any number of Services: only the first packet walks the rules.
Resync (programming) time per node, from the cluster's data-plane counts
    * iptables full restore: every rule, ``resync_per_rule_us`` each (the profile
      derives 50 µs per rule from KEP-3453's 27 s at ~0.5 M rules).
    * iptables partial restore (KEP-3453, ``MinimizeIPTablesRestore``, default since
      1.27): only KUBE-SERVICES, the fixed chains and the changed Services' chains are
      written, but the kernel still replaces the whole table. kperf charges
      :data:`PARTIAL_FIXED_SHARE` × all rules + the rules written; the share is
      13/27, the KEP's partial/full ratio at 5,000 nodes (CALIBRATION.md).
    * IPVS, nftables, eBPF: incremental; the changed entries only (a changed
      Service's real servers, vmap elements or map slots), ``resync_per_rule_us``
      each. Their full resync (kube-proxy start) is all entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from kperf.profiles.base import ProxyMode, Testbed
from kperf.services.lookupcost import table_lookup

EXPECTED = "expected"
"""The default KUBE-SERVICES order style: each Service at its expected position over
kube-proxy's resync reorderings, half-way down the chain."""

ORDER_STYLES = ("expected", "shuffled", "index")
"""The KUBE-SERVICES order styles :class:`~kperf.services.layer.ServiceLayer` accepts."""

_TABLE_LABEL = {"ebpf": "eBPF", "ipvs": "IPVS", "nftables": "nftables"}

PARTIAL_FIXED_SHARE = 13.0 / 27.0
"""Share of a full restore a partial restore still costs (KEP-3453 p50 13 s vs 27 s at
5,000 nodes; CALIBRATION.md "Service load balancing")."""

IPTABLES_FIXED_RULES = 12
"""Rules kube-proxy writes on every sync besides the per-Service ones (estimated; the
same figure as :mod:`kperf.cluster.dataplane`)."""


# -- first packet and established packets --------------------------------------------
def expected_position(services: int) -> float:
    """A Service's expected 0-based place in KUBE-SERVICES among ``services`` Services
    whose order kube-proxy redraws at every sync: (S - 1) / 2."""
    return max(services - 1, 0) / 2.0


def rules_walked(mode: ProxyMode, position: float, svc_rules: int = 1) -> float:
    """Rules a first packet evaluates in a linear mode (0 in hash modes).

    ``position`` is the Service's 0-based place in KUBE-SERVICES (fractional for the
    expected place); ``svc_rules`` the KUBE-SVC rules evaluated (the first is covered
    by the base cost).
    """
    if mode.lookup != "linear":
        return 0.0
    return mode.rules_per_service * (position + 1) + max(svc_rules - 1, 0)


def first_packet_us(mode: ProxyMode, position: float = 0, svc_rules: int = 1) -> float:
    """Reference-core µs of the base and the rule walk (without the hash tables' lookups,
    which need a testbed: :func:`first_packet_parts`)."""
    return mode.first_packet_base_us + mode.per_rule_ns * 1e-3 * rules_walked(
        mode, position, svc_rules
    )


def first_packet_median_us(mode: ProxyMode, services: int) -> float:
    """First-packet µs for the median position among ``services`` Services (what a p50
    over randomly ordered Services measures)."""
    return first_packet_us(mode, max(services - 1, 0) // 2)


def first_packet_mean_us(mode: ProxyMode, services: int) -> float:
    """First-packet µs averaged over all positions (positions uniform): the expected
    walk kperf charges by default."""
    return first_packet_us(mode, expected_position(services))


@dataclass(frozen=True, slots=True)
class CostPart:
    """One part of a new connection's proxy cost: ``stage`` names it (with the table or
    chain size), ``us`` is testbed µs (CPU work divided by the speed factor, memory
    latency not)."""

    stage: str
    us: float


def first_packet_parts(
    mode: ProxyMode,
    testbed: Testbed,
    counts: Any,
    *,
    services: int,
    position: float | None = None,
    svc_rules: int = 1,
    socket_lb: bool = False,
) -> list[CostPart]:
    """The parts of a new connection's proxy cost on the client (or entry) node.

    ``counts``: the data-plane counts (:func:`kperf.cluster.dataplane.proxy_entries`)
    that size the mode's tables; ``services``: the Services in KUBE-SERVICES;
    ``position``: the Service's place there (None: the expected place, half-way);
    ``svc_rules``: KUBE-SVC rules the endpoint choice evaluated; ``socket_lb``: the
    connection is translated at ``connect()`` (eBPF, a pod's TCP connection).
    """
    speed = testbed.cpu_speed_factor
    parts: list[CostPart] = []
    if socket_lb:
        parts.append(CostPart("socket LB (connect)", mode.socket_lb_connect_us / speed))
    else:
        parts.append(CostPart(f"first packet ({mode.name}: NAT set-up)",
                              mode.first_packet_base_us / speed))
    if mode.lookup == "linear":
        pos = expected_position(services) if position is None else float(position)
        walked = mode.rules_per_service * (pos + 1)
        chain = mode.rules_per_service * services
        where = "expected" if position is None else f"at position {int(pos):,},"
        parts.append(CostPart(
            f"service lookup ({mode.name}, KUBE-SERVICES {chain:,.0f} rules, {where} "
            f"{walked:,.0f} walked)", mode.per_rule_ns * 1e-3 * walked / speed))
        extra = max(svc_rules - 1, 0)
        if extra:
            parts.append(CostPart(f"endpoint choice (KUBE-SVC, {extra} more rules)",
                                  mode.per_rule_ns * 1e-3 * extra / speed))
    label = _TABLE_LABEL.get(mode.name, mode.name)
    for table in mode.tables:
        t = table_lookup(table, int(counts.get(table.entries, 0)), testbed)
        chain_note = f", chains of {t.chain:,.1f}" if t.chain > 1 else ""
        parts.append(CostPart(
            f"service lookup ({label}, {t.name} {t.entries:,} entries, {t.lookups} "
            f"lookup{'s' if t.lookups > 1 else ''}{chain_note})", t.total_ns * 1e-3))
    return parts


def established_us(mode: ProxyMode) -> float:
    """Reference-core µs per established packet (independent of the Service count)."""
    return mode.established_per_packet_us


def kube_services_order(services: int, rng: np.random.Generator) -> np.ndarray:
    """A random KUBE-SERVICES order: ``order[service_index]`` = position."""
    perm = rng.permutation(services)
    pos = np.empty(services, dtype=np.int64)
    pos[perm] = np.arange(services, dtype=np.int64)
    return pos


# -- resync ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ResyncTimes:
    """Seconds a node spends reprogramming its proxy rules.

    ``full_s``: everything (start-up, or iptables without partial restore);
    ``partial_s``: iptables partial restore for one changed Service; ``incremental_s``:
    the change alone (hash modes; equals ``partial_s`` for iptables).
    """

    mode: str
    entries: int
    full_s: float
    partial_s: float
    incremental_s: float

    def for_restore(self, restore: str) -> float:
        """The time for a restore style: ``full``, ``partial`` or ``incremental``."""
        if restore == "full":
            return self.full_s
        if restore == "partial":
            return self.partial_s
        if restore == "incremental":
            return self.incremental_s
        raise ValueError(f"unknown restore {restore!r}; allowed: full, partial, incremental")


def resync_times(
    mode: ProxyMode,
    *,
    entries: int,
    kube_services_rules: int = 0,
    changed_endpoints: int = 1,
) -> ResyncTimes:
    """Resync times for a node holding ``entries`` rules/entries of ``mode``.

    ``changed_endpoints`` is the endpoint count of the one Service that changed.
    """
    per = mode.resync_per_rule_us * 1e-6
    full = entries * per
    e = max(changed_endpoints, 0)
    if mode.lookup == "linear":
        written = kube_services_rules + IPTABLES_FIXED_RULES + 2 + 3 * e
        partial = min(full, (PARTIAL_FIXED_SHARE * entries + written) * per)
        return ResyncTimes(mode.name, entries, full, partial, partial)
    # IPVS: one real server removed, one added; nftables/eBPF: the Service's element
    # or slot and its endpoint set
    changed = 2 if mode.name == "ipvs" else 1 + e
    inc = min(full, changed * per)
    return ResyncTimes(mode.name, entries, full, inc, inc)


_ENTRY_COLUMN = {
    "iptables": "iptables_rules",
    "ipvs": ("ipvs_virtual_servers", "ipvs_real_servers"),
    "nftables": "nft_elements",
    "ebpf": "ebpf_map_entries",
}


def _entries(mode: ProxyMode, counts: Any) -> int:
    col = _ENTRY_COLUMN.get(mode.name)
    if col is None:
        col = "iptables_rules" if mode.lookup == "linear" else "nft_elements"
    if isinstance(col, tuple):
        return int(sum(int(counts[c]) for c in col))
    return int(counts[col])


def resync_table(cluster: Any, cores_per_node: int | None = None,
                 changed_endpoints: int | None = None) -> pd.DataFrame:
    """Per node: proxy entries and how long a full, partial and incremental resync take.

    Uses ``cluster.dataplane_state()`` counts; ``changed_endpoints`` defaults to the
    largest Service's endpoint count (the worst single change).
    """
    mode: ProxyMode = cluster.proxy
    df = cluster.dataplane_state(cores_per_node)
    if changed_endpoints is None:
        changed_endpoints = max((len(s.endpoints) for s in cluster.services), default=1)
    rows = []
    for _, row in df.iterrows():
        r = resync_times(mode, entries=_entries(mode, row),
                         kube_services_rules=int(row.get("kube_services_rules", 0)),
                         changed_endpoints=changed_endpoints)
        rows.append({"node": row["node"], "proxy": mode.name, "entries": r.entries,
                     "full_resync_s": r.full_s, "partial_resync_s": r.partial_s,
                     "incremental_resync_s": r.incremental_s,
                     "conntrack_max": int(row["conntrack_max"])})
    return pd.DataFrame(rows, columns=["node", "proxy", "entries", "full_resync_s",
                                       "partial_resync_s", "incremental_resync_s",
                                       "conntrack_max"])


def resync_growth(mode: ProxyMode, services: list[int], endpoints_per_service: list[int]
                  ) -> pd.DataFrame:
    """How resync time grows: one row per (Services, endpoints per Service), using the
    same rule counts as the cluster's data-plane report (no cluster is built)."""
    from kperf.cluster.dataplane import proxy_entries

    rows = []
    for s in services:
        for e in endpoints_per_service:
            svc = SimpleNamespace(endpoints=list(range(e)), session_affinity="None",
                                  type="ClusterIP", target_port=80)
            fake = SimpleNamespace(proxy=mode, services=[svc] * s)
            counts = proxy_entries(fake)
            r = resync_times(mode, entries=_entries(mode, counts),
                             kube_services_rules=counts.get("kube_services_rules", 0),
                             changed_endpoints=e)
            rows.append({"proxy": mode.name, "services": s, "endpoints_per_service": e,
                         "entries": r.entries, "full_resync_s": r.full_s,
                         "partial_resync_s": r.partial_s,
                         "incremental_resync_s": r.incremental_s})
    return pd.DataFrame(rows)
