"""What a Service costs: the first packet, established packets, and reprogramming.

Costs come from the proxy mode's profile (:mod:`kperf.profiles.proxy`, which cites
CALIBRATION.md "Service load balancing" for each number) and are reference-core
microseconds (testbed A); callers divide by the testbed's ``cpu_speed_factor``.

First packet
    ``first_packet_base_us`` (conntrack entry, NAT set-up, and the Service's own
    KUBE-SVC/KUBE-SEP chains for a one-endpoint Service) plus, in linear (iptables)
    mode, ``per_rule_ns`` for every rule walked: ``rules_per_service`` per Service in
    KUBE-SERVICES up to and including the matching one, and each further KUBE-SVC
    rule evaluated (the random cascade and ClientIP ``recent`` checks). Hash modes
    (IPVS, nftables, eBPF) pay the base whatever the number of Services.
Position in KUBE-SERVICES
    kube-proxy writes KUBE-SERVICES by iterating a Go map
    (``pkg/proxy/iptables/proxier.go``), so the order is random and changes at
    every sync; over time each Service is on average half-way down. kperf gives each
    node one random order (:func:`kube_services_order`), or Service-index order.
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

from kperf.profiles.base import ProxyMode

PARTIAL_FIXED_SHARE = 13.0 / 27.0
"""Share of a full restore a partial restore still costs (KEP-3453 p50 13 s vs 27 s at
5,000 nodes; CALIBRATION.md "Service load balancing")."""

IPTABLES_FIXED_RULES = 12
"""Rules kube-proxy writes on every sync besides the per-Service ones (estimated; the
same figure as :mod:`kperf.cluster.dataplane`)."""


# -- first packet and established packets --------------------------------------------
def rules_walked(mode: ProxyMode, position: int, svc_rules: int = 1) -> float:
    """Rules a first packet evaluates in a linear mode (0 in hash modes).

    ``position`` is the Service's 0-based place in KUBE-SERVICES; ``svc_rules`` the
    KUBE-SVC rules evaluated (the first is covered by the base cost).
    """
    if mode.lookup != "linear":
        return 0.0
    return mode.rules_per_service * (position + 1) + max(svc_rules - 1, 0)


def first_packet_us(mode: ProxyMode, position: int = 0, svc_rules: int = 1) -> float:
    """Reference-core µs the first packet of a new connection costs on the client node."""
    return mode.first_packet_base_us + mode.per_rule_ns * 1e-3 * rules_walked(
        mode, position, svc_rules
    )


def first_packet_median_us(mode: ProxyMode, services: int) -> float:
    """First-packet µs for the median position among ``services`` Services (what a p50
    over randomly ordered Services measures)."""
    return first_packet_us(mode, max(services - 1, 0) // 2)


def first_packet_mean_us(mode: ProxyMode, services: int) -> float:
    """First-packet µs averaged over all positions (positions uniform)."""
    if mode.lookup != "linear":
        return mode.first_packet_base_us
    return mode.first_packet_base_us + mode.per_rule_ns * 1e-3 * mode.rules_per_service * (
        services + 1
    ) / 2


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
