"""Record types of the profile catalog: stage costs, CNI profiles, testbeds, proxy modes.

Profiles are data, not code. Every number carries a ``source`` naming where it came
from: a row of ``shared/CALIBRATION.md`` (cited as ``CAL:<testbed or section>``), a
kernel constant, a plugin's documentation, or ``estimated: <reason>``.

All CPU costs are expressed for a CPU speed factor of 1.0 (the reference core, the
Xeon E5-1630 v3 at 3.7 GHz of testbed A); a testbed's ``cpu_speed_factor`` divides
them (a factor of 2 halves every CPU cost).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Category = Literal["stack", "veth", "bridge", "policy", "proxy", "encap", "crypto", "app", "wire",
                   "extra-hop", "lb", "sidecar", "ztunnel", "waypoint", "envoy"]
"""What a stage's time is spent on; the latency breakdown groups by this. Two are not
kinds of work but places, for external traffic: ``extra-hop`` is everything on the
second hop NodePort traffic takes under ``externalTrafficPolicy: Cluster`` when its
endpoint is on another node (entry node to that node and back, whatever the stage),
``lb`` the time in a load balancer device. ``sidecar``, ``ztunnel`` and ``waypoint``
are a service mesh's proxies (:mod:`kperf.profiles.mesh`: Istio's and Linkerd's
sidecars, ambient mode's per-node ztunnel and L7 waypoint, ``envoy`` cilium-mesh's
per-node Envoy); ``proxy`` stays
kube-proxy's (or its eBPF replacement's) Service work."""


class _Frozen(BaseModel):
    # allow_inf_nan=False: a cost, rate or factor of .inf or .nan is an error at load
    # (a testbed override of nic_rate_gbps: .inf would otherwise be accepted)
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class StageCost(_Frozen):
    """CPU cost of one datapath stage on one core.

    cost_us = per_message_us + per_segment_us * segments + per_packet_us * packets
              + per_byte_ns * bytes / 1000

    A *segment* is what the stack handles as one unit: a GSO/GRO super-packet of up to
    64 KiB when segmentation offloads work on this path, otherwise one wire packet.
    ``per_packet_us`` is work done per wire packet even with offloads (rare in
    software; used for datapaths such as OVS fastdp that defeat GSO).
    """

    name: str
    category: Category
    per_message_us: float = Field(0.0, ge=0)
    per_segment_us: float = Field(0.0, ge=0)
    per_packet_us: float = Field(0.0, ge=0)
    per_byte_ns: float = Field(0.0, ge=0)
    source: str = "estimated"

    def cost_us(self, messages: int, segments: int, packets: int, nbytes: int) -> float:
        return (
            self.per_message_us * messages
            + self.per_segment_us * segments
            + self.per_packet_us * packets
            + self.per_byte_ns * nbytes * 1e-3
        )


Encapsulation = Literal["none", "vxlan", "geneve", "ipip", "wireguard", "ipsec"]
Routing = Literal["routed", "overlay", "cross-subnet", "none"]
IpamStyle = Literal["host-local", "calico-blocks", "none"]
SameNode = Literal["bridge", "routed", "ebpf-redirect"]


class CniProfile(_Frozen):
    """How one CNI plugin in one mode moves a packet, and what that costs.

    ``tx`` stages run on the sending node's core (in the sender's context), ``rx``
    stages on the receiving node's softirq core (chosen by RSS hash of the flow).
    They come on top of the testbed's host stack costs. ``tx_overlay``/``rx_overlay``
    apply only to cross-node traffic (encapsulation, crypto).
    """

    name: str
    plugin: str
    mode: str
    description: str
    routing: Routing
    encapsulation: Encapsulation = "none"
    encap_bytes: int = Field(0, ge=0, description="overlay header bytes added to every packet")
    encap_source: str = "no encapsulation"
    mtu_overhead_bytes: int = Field(0, ge=0, description="default pod MTU = underlay MTU - this")
    ipam: IpamStyle = "host-local"
    tunnel_offload: bool = Field(
        True, description="TSO/GSO/GRO survive the encapsulation when the NIC supports it"
    )
    same_node: SameNode = "bridge"
    proxy_default: Literal["kube-proxy", "ebpf"] = "kube-proxy"
    tx: tuple[StageCost, ...] = ()
    rx: tuple[StageCost, ...] = ()
    tx_overlay: tuple[StageCost, ...] = ()
    rx_overlay: tuple[StageCost, ...] = ()
    new_flow_us: float = Field(
        0.0, ge=0,
        description="reference-core µs per new connection on each side for a pod "
        "endpoint: the CNI's own policy chains walked by the first packet (conntrack's "
        "entry is charged by the datapath, kperf.datapath.conntrack)",
    )
    netfilter_conntrack: bool = Field(
        False,
        description="the CNI's host-namespace datapath uses the kernel's nf_conntrack "
        "for pod traffic by itself (iptables policy with --ctstate, or OVS ct()), "
        "whatever the proxy mode; False: only kube-proxy's rules bring it "
        "(kperf.datapath.conntrack)",
    )
    new_flow_source: str = "no per-flow cost measured"
    service_hairpin: tuple[StageCost, ...] = Field(
        (),
        description="stages every packet to a ClusterIP pays on the client's node (and "
        "every reply on its way back) when kube-proxy implements Services: a CNI whose "
        "datapath bypasses the host stack hands such packets to the host for "
        "kube-proxy's NAT and takes them back (Antrea before AntreaProxy); empty: "
        "Service packets take the pod path",
    )
    pod_tx_via_host_stack: bool = Field(
        False,
        description="a pod's outgoing packets enter the host namespace's IP stack "
        "(routed by the host, or bridged up to it), whose ip_rcv_core orphans them from "
        "the sending socket (Linux net/ipv4/ip_input.c: 'Must drop socket now because of "
        "tproxy'): a pod's UDP send buffer then never fills. False: an eBPF redirect or "
        "OVS carries them to the NIC still charged to the socket until the NIC's "
        "transmit completion, as on the host network",
    )
    estimated: bool = Field(False, description="no published pod-level measurement exists")
    notes: str = ""

    @property
    def is_overlay(self) -> bool:
        return self.routing in ("overlay", "cross-subnet")

    @property
    def reachable_cross_node(self) -> bool:
        return self.routing != "none"


class Testbed(_Frozen):
    """The hardware and kernel under test, independent of the CNI.

    Host stack costs (``host_tx``/``host_rx``) are what plain host-to-host networking
    costs on this kernel; CNI stages add to them.
    """

    name: str = "custom"
    description: str = ""
    nic_rate_gbps: float = Field(10.0, gt=0)
    mtu_bytes: int = Field(1500, ge=576, le=65535)
    cores_per_node: int = Field(8, ge=1)
    cpu_speed_factor: float = Field(1.0, gt=0)
    tso: bool = True
    gro: bool = True
    tunnel_offload: bool = True
    gso_max_bytes: int = Field(65536, ge=1500)
    link_delay_us: float = Field(0.5, ge=0)
    switch_latency_us: float = Field(1.0, ge=0)
    nic_ring_packets: int = Field(1024, ge=1)
    tx_completion_us: float = Field(
        0.0, ge=0, le=10_000,
        description=(
            "µs from a packet leaving the NIC until the driver's transmit-completion "
            "interrupt frees its skb, which returns the bytes to the sending socket's "
            "send buffer (NIC interrupt moderation); 0: freed as the packet leaves. What "
            "bounds a UDP sender whose datagrams stay charged to its socket (host "
            "network, eBPF or OVS datapaths) to ceil(send buffer / skb truesize) datagrams "
            "per completion time (kperf/workloads/stream.py); at most 10,000 (interrupt "
            "moderation holds completions for microseconds, not seconds)"
        ),
    )
    switch_buffer_bytes: int = Field(
        4_000_000, ge=1,
        description=(
            "bytes one congested switch output port may hold. Estimated: data-centre "
            "ToR switches share their buffer between ports (Broadcom Trident II: 12 MB "
            "for 64 x 10G; Tomahawk: 16 MB for 32 x 100G) and a dynamic threshold with "
            "alpha 1 lets one congested port take up to half the free pool"
        ),
    )
    link_loss_rate: float = Field(
        0.0, ge=0.0, lt=1.0,
        description=(
            "probability that a wire packet is lost at a switch output port for reasons "
            "other than a full buffer (bit errors, a lossy link); 0 on a healthy fabric. "
            "For loss studies (Mathis et al. 1997)"
        ),
    )
    ecn_threshold_bytes: int | None = Field(
        None, ge=1,
        description=(
            "queue at a switch port above which ECN-capable packets (DCTCP) are marked; "
            "None: 65 full-size packets per 10 Gbit/s of port rate, the DCTCP paper's K "
            "(Alizadeh et al. 2010: K = 20 packets at 1 Gbit/s, 65 at 10 Gbit/s)"
        ),
    )
    tcp_timestamps: bool = Field(
        True, description="net.ipv4.tcp_timestamps (Linux default 1): 12 option bytes in "
        "every TCP header, so MSS = MTU - 52")
    tcp_limit_output_bytes: int = Field(
        262_144, ge=2048,
        description=(
            "net.ipv4.tcp_limit_output_bytes: TCP Small Queues' bound on one socket's "
            "bytes in the qdisc and NIC queue (Linux 3.6-4.x: 128-256 KiB; 1 MiB from "
            "5.x, 4 MiB from 6.7). 256 KiB already keeps a 100 Gbit/s NIC busy for 20 us"
        ),
    )
    racks: int = Field(1, ge=1)
    oversubscription: float = Field(1.0, ge=1.0)
    host_tx: tuple[StageCost, ...] = ()
    host_rx: tuple[StageCost, ...] = ()
    tcp_connect_us: float = Field(
        24.6, ge=0,
        description=(
            "reference-core µs of socket work per new TCP connection on the client "
            "(socket, connect, close, TIME_WAIT); fitted: CAL:C TCP_CRR node to node "
            "13.0 k/s needs 35 µs per connection on C beyond four one-way trips, split "
            "evenly between client and server, × C's cpu_speed_factor 1.4"
        ),
    )
    tcp_accept_us: float = Field(
        24.6, ge=0,
        description="reference-core µs per new TCP connection on the server (SYN queue, "
        "accept, close); fitted with tcp_connect_us, see there",
    )
    l2_bytes: int = Field(
        262_144, ge=1,
        description=(
            "bytes of the per-core L2 cache (a hash lookup whose entries spread over more "
            "than this misses L2; kperf.services.lookupcost); default: Haswell's 256 KiB"
        ),
    )
    llc_bytes: int = Field(
        10_485_760, ge=1,
        description=(
            "bytes of last-level cache one core can use (the socket's L3, or its core "
            "complex's on a chiplet CPU); default: the Xeon E5-1630 v3's 10 MB"
        ),
    )
    llc_latency_ns: float = Field(
        11.0, gt=0,
        description=(
            "ns a dependent load that misses L2 and hits the LLC costs; default ~40 cycles "
            "at 3.7 GHz (Intel's Xeon 5500 performance analysis guide: L3 hit ~40 cycles)"
        ),
    )
    dram_latency_ns: float = Field(
        80.0, gt=0,
        description=(
            "ns a dependent load that misses the LLC costs (local DRAM); default 80 "
            "(Intel's Xeon 5500 guide: local DRAM ~60 ns, remote ~100 ns; 'numbers every "
            "programmer should know': main memory reference 100 ns)"
        ),
    )
    crypto_speed_factors: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "crypto stage name (e.g. 'wireguard-encrypt per byte', 'esp-decrypt per "
            "packet') -> how much faster that stage runs on this testbed than its "
            "reference cost, on top of cpu_speed_factor (the stage's cost is divided by "
            "it): for per-byte stages the cores the cipher's workers spread over, or a "
            "kernel's slower cipher; for per-packet stages the tunnel device's per-packet "
            "work; stages not listed use 1.0 (see kperf/profiles/testbeds.py)"
        ),
    )
    source: str = "estimated"

    @property
    def ecn_mark_bytes(self) -> float:
        """The ECN marking threshold in bytes (``ecn_threshold_bytes`` or its default)."""
        if self.ecn_threshold_bytes is not None:
            return float(self.ecn_threshold_bytes)
        return 65 * 1500 * self.nic_rate_gbps / 10.0

    @field_validator("crypto_speed_factors")
    @classmethod
    def _positive_factors(cls, v: dict[str, float]) -> dict[str, float]:
        bad = sorted(k for k, f in v.items() if not f > 0)
        if bad:
            raise ValueError(f"allowed: factors > 0 (not for {', '.join(bad)})")
        return v


class HashTable(_Frozen):
    """One table a proxy mode looks a new connection up in, and what a lookup touches.

    Per connection: ``lookups`` lookups, each ``hot_ns`` reference-core ns with the
    entries in cache plus, for each of ``accesses_per_lookup`` dependent memory accesses
    (bucket head, entry), a miss penalty weighted by the chance that the line is not in
    cache, which grows with the table's footprint (entries x ``entry_bytes``) against
    the testbed's L2 and LLC (:mod:`kperf.services.lookupcost`). ``buckets``: a table
    with a fixed bucket count (IPVS's service table has 256) chains its entries, and a
    lookup walks on average half a chain, ``chain_node_ns`` and one dependent access per
    node. ``entries`` names the data-plane count (:mod:`kperf.cluster.dataplane`) that
    sizes the table.
    """

    name: str
    entries: Literal["ebpf_map_entries", "ipvs_virtual_servers", "nft_elements"]
    lookups: int = Field(ge=1)
    hot_ns: float = Field(ge=0)
    accesses_per_lookup: float = Field(ge=0)
    entry_bytes: int = Field(ge=1)
    buckets: int | None = Field(None, ge=1)
    chain_node_ns: float = Field(0.0, ge=0)
    source: str = "estimated"


class ProxyMode(_Frozen):
    """Cost model of one Service implementation (kube-proxy mode or eBPF replacement).

    First packet of a connection: ``first_packet_base_us`` + ``per_rule_ns`` * rules
    walked (linear modes walk ``rules_per_service`` rules per Service ahead of the
    match, on average half of KUBE-SERVICES); hash modes pay the base plus their
    ``tables``' lookups, which grow with a table's size only through cache misses (and,
    for a fixed-bucket table, its chains). With ``socket_lb`` a TCP connection pays
    ``socket_lb_connect_us`` (the cgroup connect4 program) and the lookups at
    ``connect()`` instead. Established packets pay ``established_per_packet_us``.
    """

    name: str
    description: str
    lookup: Literal["linear", "hash"]
    first_packet_base_us: float = Field(ge=0)
    per_rule_ns: float = Field(0.0, ge=0)
    rules_per_service: float = Field(0.0, ge=0)
    established_per_packet_us: float = Field(0.0, ge=0)
    socket_lb: bool = False
    schedulers: tuple[str, ...] = ("random",)
    resync_per_rule_us: float = Field(0.0, ge=0)
    tables: tuple[HashTable, ...] = ()
    socket_lb_connect_us: float = Field(0.0, ge=0)
    source: str = "estimated"
