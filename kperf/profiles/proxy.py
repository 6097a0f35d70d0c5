"""Service implementations: kube-proxy modes and the eBPF replacement.

Model
-----
Only the first packet of a connection is load-balanced: it pays
``first_packet_base_us`` (NAT set-up, the lookup's fixed part; the conntrack entry is
the datapath's, :mod:`kperf.datapath.conntrack`) plus,
in linear modes, ``per_rule_ns`` for every rule walked (``rules_per_service`` per
Service ahead of the match in KUBE-SERVICES). Later packets follow conntrack and pay
``established_per_packet_us``. Costs are reference-core (testbed A) CPU time, divided
by the testbed's ``cpu_speed_factor`` like every other cost. ``resync_per_rule_us`` is
the control-plane cost of reprogramming one rule when endpoints change.

Derivations (``CAL:`` = shared/CALIBRATION.md, section "Service load balancing")
-------------------------------------------------------------------------------
* iptables ``per_rule_ns`` = 13.5: Tigera, 10,000 Services x 10 endpoints
  (~20,000 rules walked per new connection), 1,000 new connections/s: iptables mode
  0.35 core, IPVS 0.08 core. IPVS's 0.08 core (80 us per connection) is the
  per-connection work every mode pays (handshake, conntrack, sockets), which kperf
  charges elsewhere; the difference, 0.27 core = 270 us per connection over 20,000
  rules, is 13.5 ns per rule. (Without subtracting the IPVS floor it would be
  17.5 ns/rule.)
* Cross-check, Kubernetes nftables blog (chart): iptables first-packet round trip
  p50 48 / 62 / 270 us at 5k / 10k / 30k Services against a flat ~13 us for
  nftables. With 2 rules per Service and the match on average half-way down, the
  excess (35 / 49 / 257 us over 5k / 10k / 30k rules walked) is 5-9 ns per rule on
  the blog's machine; that is 13.5 ns/rule on the reference core if the blog's CPU
  is ~1.5x faster (like testbed C), so the two sources agree within their spread.
* nftables: the blog's flat ~13 us is a whole round trip (both stacks and the
  wire), so the mode's own first-packet work is only a few microseconds: verdict-map
  lookup plus NAT set-up, estimated 1.5 us (2.5 with the conntrack entry, now charged
  by the datapath), independent of Service count.
* ipvs / ebpf: hash lookups, independent of Service count (CAL). Base costs
  estimated from the work done: IPVS creates an ip_vs_conn entry and runs the
  scheduler on top of conntrack (3 us); eBPF socket LB rewrites the destination once
  at connect() and needs no per-packet NAT (1 us, and ~0 per established packet).
* resync: CAL KEP-3453 row, p50 ~27 s to program an endpoint change with full
  iptables-restore at 5,000 nodes. That test runs ~10k Services and ~150k
  endpoints, i.e. ~0.5 M rules (2 per Service + ~3 per endpoint: KUBE-SVC
  rule, KUBE-SEP mark + DNAT), so if the restore dominates, ~50 us per rule.
  IPVS, nftables and eBPF update incrementally; their per-entry costs are estimated.
"""

from __future__ import annotations

from kperf.profiles.base import ProxyMode

_TIGERA = (
    "CAL:service LB Tigera: 10k Services x 10 endpoints (~20,000 rules walked), 1,000 "
    "conn/s: iptables 0.35 core, IPVS 0.08 core -> (0.35-0.08) core / 20,000 rules = "
    "13.5 ns/rule; cross-checked by CAL:service LB nftables blog p50 48/62/270 us at "
    "5k/10k/30k Services (5-9 ns/rule on a faster CPU)"
)

PROXY_MODES: dict[str, ProxyMode] = {
    "iptables": ProxyMode(
        name="iptables",
        description=(
            "kube-proxy iptables mode: KUBE-SERVICES is walked linearly (about 2 rules "
            "per Service), then a KUBE-SVC chain picks an endpoint with probabilities "
            "1/n, 1/(n-1), ... and a KUBE-SEP chain DNATs. Only the first packet of a "
            "connection walks the rules."
        ),
        lookup="linear",
        first_packet_base_us=1.0,
        per_rule_ns=13.5,
        rules_per_service=2.0,
        established_per_packet_us=0.2,
        socket_lb=False,
        schedulers=("random",),
        resync_per_rule_us=50.0,
        source=(
            f"{_TIGERA}. rules_per_service 2: CAL:service LB. base 1.0 us estimated "
            "(DNAT binding + KUBE-SVC/KUBE-SEP chains; was 2.0 with the conntrack entry, "
            "which the datapath now charges on every tracked node, kperf.datapath.conntrack, "
            "issue 19); established 0.2 us estimated "
            "(conntrack hit + filter chains). resync 50 us/rule estimated from CAL:service LB "
            "KEP-3453 p50 27 s full iptables-restore at 5,000 nodes over ~0.5 M rules"
        ),
    ),
    "ipvs": ProxyMode(
        name="ipvs",
        description=(
            "kube-proxy IPVS mode: one IPVS virtual server per Service port, hash lookup, "
            "kernel schedulers (rr, lc, sh); a fixed set of iptables rules with ipsets."
        ),
        lookup="hash",
        first_packet_base_us=3.0,
        per_rule_ns=0.0,
        rules_per_service=0.0,
        established_per_packet_us=0.25,
        socket_lb=False,
        schedulers=("rr", "lc", "sh"),
        resync_per_rule_us=10.0,
        source=(
            "CAL:service LB: hash lookup, cost independent of Service count; Tigera 0.08 "
            "core per 1,000 conn/s at 10k Services is the whole per-connection work, so "
            "the IPVS-specific part is estimated: 3 us (ip_vs_conn + scheduler on top of "
            "conntrack); established 0.25 us estimated (ip_vs_conn hash + conntrack hit); "
            "resync 10 us per virtual/real server estimated (netlink update, incremental)"
        ),
    ),
    "nftables": ProxyMode(
        name="nftables",
        description=(
            "kube-proxy nftables mode: Services in verdict maps (hash), endpoint chosen "
            "with numgen; cost flat in the number of Services."
        ),
        lookup="hash",
        first_packet_base_us=1.5,
        per_rule_ns=0.0,
        rules_per_service=0.0,
        established_per_packet_us=0.15,
        socket_lb=False,
        schedulers=("random",),
        resync_per_rule_us=5.0,
        source=(
            "CAL:service LB nftables blog: first-packet round trip flat at ~13 us from 5k to "
            "30k Services; that is the whole round trip, so the mode's own work is estimated "
            "at 1.5 us (verdict-map lookup + NAT set-up; was 2.5 with the conntrack entry, "
            "which the datapath now charges, kperf.datapath.conntrack, issue 19); "
            "established 0.15 us "
            "estimated (conntrack hit, fewer chains than iptables); resync 5 us per element "
            "estimated (incremental nft transactions)"
        ),
    ),
    "ebpf": ProxyMode(
        name="ebpf",
        description=(
            "eBPF kube-proxy replacement (Cilium, Calico eBPF): Service lookup in BPF hash "
            "maps; socket-level LB rewrites the destination at connect() for pod clients, "
            "so no per-packet NAT; random or Maglev backend selection."
        ),
        lookup="hash",
        first_packet_base_us=1.0,
        per_rule_ns=0.0,
        rules_per_service=0.0,
        established_per_packet_us=0.0,
        socket_lb=True,
        schedulers=("random", "maglev"),
        resync_per_rule_us=1.0,
        source=(
            "CAL:service LB: hash lookups independent of Service count (Cilium kube-proxy "
            "replacement, Calico eBPF); base 1 us estimated (service + backend map lookups at "
            "connect()); established 0 (socket LB: packets already carry the backend "
            "address); resync 1 us per map entry estimated (bpf map update syscall)"
        ),
    ),
}
"""All proxy modes, keyed by name."""
