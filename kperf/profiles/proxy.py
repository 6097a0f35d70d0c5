"""Service implementations: kube-proxy modes and the eBPF replacement.

Model
-----
Only the first packet of a connection is load-balanced: it pays
``first_packet_base_us`` (NAT set-up, the lookup's fixed part; the conntrack entry is
the datapath's, :mod:`kperf.datapath.conntrack`) plus the service lookup: in
linear modes ``per_rule_ns`` for every rule walked (``rules_per_service`` per Service
ahead of the match in KUBE-SERVICES, on average half the chain), in hash modes the
lookups in the mode's ``tables``, which grow with a table's size through cache misses
(and the IPVS service table's fixed 256 buckets) by :mod:`kperf.services.lookupcost`.
eBPF with socket LB pays ``socket_lb_connect_us`` and the lookups at ``connect()``
instead of the base. Later packets follow conntrack and pay
``established_per_packet_us``. Costs are reference-core (testbed A) CPU time, divided
by the testbed's ``cpu_speed_factor`` like every other cost (cache-miss time is memory
latency and is not). ``resync_per_rule_us`` is the control-plane cost of reprogramming
one rule when endpoints change.

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
* Component check of ``per_rule_ns`` (netfilter rule traversal): a SystemTap count of
  the cycles in ``ipt_do_table`` for one packet that walks 4,500 rules, each with a
  ``-p tcp --dport`` match (unix.stackexchange.com, "Does iptables multiport module
  provide a performance benefit over multiple separate rules?", answer with the table
  of runs; a VM on Linux 4.15): 410,894-1,032,564 cycles over five runs, median
  854,708, i.e. 91-230 (median 190) cycles per rule, 25-62 ns at 3.7 GHz. Every one
  of those rules calls the tcp match extension (an indirect call, retpolined on 4.15);
  a KUBE-SERVICES rule of another Service fails earlier, on the destination address
  in ``ip_packet_match`` (net/ipv4/netfilter/ip_tables.c), and costs only the walk to
  the next ``ipt_entry``: 13.5 ns (50 cycles, about one L3 access per rule; a
  kube-proxy rule with its comment match is ~500 bytes, so 20,000 rules do not fit
  testbed A's 10 MB L3) is below that bound, as it should be.
* Service tables (``tables``; lookups per new connection, bytes per entry):
  - eBPF (Cilium): socket LB runs ``cil_sock4_connect`` -> ``__sock4_xlate_fwd``
    (cilium bpf/bpf_sock.c): ``lb4_lookup_service`` (services map, slot 0),
    ``__lb4_lookup_backend_slot`` (services map, slot n), ``__lb4_lookup_backend``
    (backends map): 3 lookups in the lb4 maps, sized by the data plane's
    ``ebpf_map_entries``; then ``sock4_update_revnat`` writes the reverse-NAT LRU map
    (in ``socket_lb_connect_us``). Without socket LB (UDP here, NodePort traffic at
    the node's tc program) ``lb4_local`` in bpf/lib/lb.h does the same three lookups
    per first packet, plus CT map lookups (in the base). Per lookup: hot 28 ns, the
    kernel's ``bench bpf-hashmap-lookup`` on a Ryzen 9 3950X (selftests/bpf, Anton
    Protopopov's 2023 commit message: 50.7 M lookups/s = 19.7 ns with 4,096 entries)
    x testbed C's cpu_speed_factor 1.4; 2 dependent accesses (bucket head, element:
    ``htab_map_lookup_elem`` in kernel/bpf/hashtab.c); 96 bytes per entry (an
    ``htab_elem`` of 48 bytes + a 12-byte ``lb4_key`` and 12-byte ``lb4_service``
    value, each rounded to 8, = 80, + a 16-byte bucket). Calico eBPF shares the mode:
    its connect-time LB looks up the NAT frontend and backend maps (2 lookups, not
    3; the difference is ~30 ns and is not modelled).
  - IPVS: a new connection misses ``ip_vs_conn_in_get`` (its cost grows with the
    connections, not the Services: in the base) and the scheduler looks the virtual
    server up with ``ip_vs_service_find`` in ``ip_vs_svc_table``, which has a fixed
    256 buckets (IP_VS_SVC_TAB_BITS 8, net/netfilter/ipvs/ip_vs_ctl.c; resizable only
    in patches of 2025), so a lookup walks half a chain of V/256 virtual servers:
    hot 25 ns + 2 ns per chain entry (a few compares), 2 dependent accesses + one per
    further chain entry, 128 bytes per ``ip_vs_service`` touched (its hash node and
    compared fields), all estimated. kube-proxy's IPVS mode also matches the
    KUBE-CLUSTER-IP ipset (hash:ip,port, one element per virtual server) in its
    iptables rules: 1 lookup, hot 50 ns (estimated: xt_set match + ip_set_test), 2
    accesses, 32 bytes per element (estimated).
  - nftables: the ``service-ips`` verdict map, then the Service chain's endpoint
    vmap (``numgen random mod N vmap``): 2 lookups in rhashtable-backed sets sized by
    ``nft_elements``; hot 30 ns each (estimated like a BPF hash lookup: jhash of a
    concatenated key and a compare), 2 accesses, 72 bytes per element (estimated:
    ``nft_rhash_elem`` with its 12-byte concatenated key and verdict + a bucket
    pointer).
* Socket LB (``socket_lb_connect_us`` 0.5, estimated): the cgroup connect4 hook
  (``__cgroup_bpf_run_filter_sock_addr``) runs ``cil_sock4_connect`` (5,608 bytes of
  BPF, ~700 instructions, of which a connect runs a few hundred) and the
  reverse-NAT LRU map update in ``sock4_update_revnat``; the three lookups are
  charged apart.
* nftables: the blog's flat ~13 us is a whole round trip (both stacks and the
  wire), so the mode's own first-packet work is only a few microseconds: verdict-map
  lookup plus NAT set-up, estimated 1.5 us (2.5 with the conntrack entry, now charged
  by the datapath), independent of Service count.
* ipvs / ebpf: hash lookups (CAL: independent of Service count; kperf adds the slow
  growth of the tables above). Base costs estimated from the work done: IPVS creates
  an ip_vs_conn entry and runs the scheduler on top of conntrack (3 us); eBPF without
  socket LB creates a CT map entry and rewrites each packet (1 us); with socket LB it
  rewrites the destination once at connect() (socket LB part + lookups, ~0 per
  established packet).
* resync: CAL KEP-3453 row, p50 ~27 s to program an endpoint change with full
  iptables-restore at 5,000 nodes. That test runs ~10k Services and ~150k
  endpoints, i.e. ~0.5 M rules (2 per Service + ~3 per endpoint: KUBE-SVC
  rule, KUBE-SEP mark + DNAT), so if the restore dominates, ~50 us per rule.
  IPVS, nftables and eBPF update incrementally; their per-entry costs are estimated.
"""

from __future__ import annotations

from kperf.profiles.base import HashTable, ProxyMode

_LB4_MAPS = HashTable(
    name="lb4 maps",
    entries="ebpf_map_entries",
    lookups=3,
    hot_ns=28.0,
    accesses_per_lookup=2,
    entry_bytes=96,
    source=(
        "cilium bpf/bpf_sock.c __sock4_xlate_fwd (and bpf/lib/lb.h lb4_local): "
        "lb4_lookup_service, __lb4_lookup_backend_slot, __lb4_lookup_backend; hot 28 ns = "
        "19.7 ns (selftests/bpf bench bpf-hashmap-lookup, Ryzen 9 3950X, 4,096 entries) x "
        "1.4; 2 accesses (kernel/bpf/hashtab.c htab_map_lookup_elem: bucket, element); "
        "96 B = htab_elem 48 + lb4_key 16 + lb4_service 16 + bucket 16"
    ),
)
_IPVS_SERVICE_TABLE = HashTable(
    name="ip_vs_svc_table",
    entries="ipvs_virtual_servers",
    lookups=1,
    hot_ns=25.0,
    accesses_per_lookup=2,
    entry_bytes=128,
    buckets=256,
    chain_node_ns=2.0,
    source=(
        "net/netfilter/ipvs/ip_vs_ctl.c: ip_vs_service_find in ip_vs_svc_table of "
        "IP_VS_SVC_TAB_SIZE = 256 buckets (IP_VS_SVC_TAB_BITS 8); hot 25 ns, 2 ns per "
        "chain entry and 128 B per ip_vs_service estimated"
    ),
)
_IPVS_IPSET = HashTable(
    name="KUBE-CLUSTER-IP ipset",
    entries="ipvs_virtual_servers",
    lookups=1,
    hot_ns=50.0,
    accesses_per_lookup=2,
    entry_bytes=32,
    source=(
        "kube-proxy IPVS mode matches the KUBE-CLUSTER-IP hash:ip,port ipset in its nat "
        "rules (pkg/proxy/ipvs/proxier.go); hot 50 ns (xt_set + ip_set_test), 32 B per "
        "element estimated"
    ),
)
_NFT_MAPS = HashTable(
    name="verdict maps",
    entries="nft_elements",
    lookups=2,
    hot_ns=30.0,
    accesses_per_lookup=2,
    entry_bytes=72,
    source=(
        "kube-proxy nftables mode (KEP-3866): service-ips vmap, then the Service's "
        "endpoint vmap (numgen); rhashtable sets (net/netfilter/nft_set_hash.c); hot 30 ns "
        "and 72 B per element estimated"
    ),
)

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
            f"{_TIGERA}; bounded by a component measurement, ipt_do_table 91-230 cycles "
            "per rule with a tcp match (unix.stackexchange SystemTap count, 4,500 rules, "
            "Linux 4.15). rules_per_service 2: CAL:service LB. base 1.0 us estimated "
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
        tables=(_IPVS_SERVICE_TABLE, _IPVS_IPSET),
        source=(
            "CAL:service LB: hash lookups; the service table's 256 fixed buckets and cache "
            "misses make them grow slowly with Services (tables); Tigera 0.08 "
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
        tables=(_NFT_MAPS,),
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
        tables=(_LB4_MAPS,),
        socket_lb_connect_us=0.5,
        source=(
            "CAL:service LB: hash lookups (Cilium kube-proxy replacement, Calico eBPF), "
            "growing with the lb4 maps only through cache misses (tables); base 1 us "
            "estimated (the per-packet path without socket LB: CT map lookup and entry, "
            "NAT rewrite); socket LB 0.5 us per connect() estimated (cgroup connect4 "
            "program + reverse-NAT LRU update); established 0 (socket LB: packets already "
            "carry the backend address); resync 1 us per map entry estimated (bpf map "
            "update syscall)"
        ),
    ),
}
"""All proxy modes, keyed by name."""
