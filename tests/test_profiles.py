"""The profile catalog: sources, naming, encapsulation facts and analytic calibration.

The analytic helper below is the single-stream bound the engine's design implies
(see kperf/profiles/cni.py): one message's CPU time on the sender's core and on the
receiver's core, and its serialization time on the wire; throughput is bytes over the
slowest of the three. It is deliberately independent of the engine so that the
catalog can be checked on its own.

Issue 9 (calibration with the engine, tests/test_calibration.py) changed two things
here to match what the engine does: a 128 KiB write is three GSO segments (segments
hold a whole number of MSS up to 64 KiB), not two, and crypto stages are divided by
the testbed's ``crypto_speed_factors``. Weave fastdp UDP, Calico WireGuard UDP and B
Cilium IPsec moved from the unmet rows to the met ones; B's CNI UDP rows were added to
the unmet ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from kperf.profiles import (
    CNI_PROFILES,
    PROXY_MODES,
    TESTBEDS,
    CniProfile,
    StageCost,
    get_cni,
    get_proxy,
    get_testbed,
)
from kperf.profiles import base as _base  # Testbed by name would be collected by pytest

IPERF3_TCP_WRITE_BYTES = 128 * 1024
TCP_IP_HEADER_BYTES = 40
UDP_IP_HEADER_BYTES = 28
ETHERNET_WIRE_OVERHEAD_BYTES = 38  # header 14 + FCS 4 + preamble 8 + inter-frame gap 12

# --------------------------------------------------------------------------------------
# Analytic model
# --------------------------------------------------------------------------------------


def _offload(testbed: _base.Testbed, profile: CniProfile | None, *, receive: bool) -> bool:
    nic = testbed.gro if receive else testbed.tso
    if profile is None or profile.encapsulation == "none":
        return nic
    return nic and profile.tunnel_offload and testbed.tunnel_offload


def _stages(
    testbed: _base.Testbed, profile: CniProfile | None, *, receive: bool
) -> tuple[StageCost, ...]:
    host = testbed.host_rx if receive else testbed.host_tx
    if profile is None:  # host networking, node to node
        return host
    if receive:
        return host + profile.rx + profile.rx_overlay
    return host + profile.tx + profile.tx_overlay


def _core_us(
    testbed: _base.Testbed,
    profile: CniProfile | None,
    *,
    receive: bool,
    nbytes: int,
    packets: int,
    gso: bool,
    mss: int = 1,
) -> float:
    if gso and _offload(testbed, profile, receive=receive):
        # As the engine cuts a write (kperf/datapath/segmentation.py): GSO segments of a
        # whole number of MSS up to gso_max_bytes, so a 128 KiB write is 3 segments (two
        # of ~64 KB and a small rest), not 2.
        chunk = max(mss, (testbed.gso_max_bytes - TCP_IP_HEADER_BYTES) // mss * mss)
        segments = math.ceil(nbytes / chunk)
    else:
        segments = packets
    stages = _stages(testbed, profile, receive=receive)
    factors = testbed.crypto_speed_factors  # per-cipher kernel speed (testbed B's ESP)
    total = sum(
        s.cost_us(1, segments, packets, nbytes)
        / (factors.get(s.name, 1.0) if s.category == "crypto" else 1.0)
        for s in stages
    )
    return total / testbed.cpu_speed_factor


def _pod_mtu(testbed: _base.Testbed, profile: CniProfile | None, pod_mtu: int | None) -> int:
    if pod_mtu is not None:
        return pod_mtu
    return testbed.mtu_bytes - (profile.mtu_overhead_bytes if profile else 0)


def _wire_us(
    testbed: _base.Testbed, profile: CniProfile | None, nbytes: int, packets: int, header: int
) -> float:
    encap = profile.encap_bytes if profile else 0
    wire_bytes = nbytes + packets * (header + encap + ETHERNET_WIRE_OVERHEAD_BYTES)
    return wire_bytes * 8 / (testbed.nic_rate_gbps * 1e3)


def tcp_stream_gbps(
    testbed: _base.Testbed, profile: CniProfile | None, pod_mtu: int | None = None
) -> float:
    """Single-stream iperf3 TCP bound (Gbit/s) for cross-node pod traffic."""
    mss = _pod_mtu(testbed, profile, pod_mtu) - TCP_IP_HEADER_BYTES
    nbytes = IPERF3_TCP_WRITE_BYTES
    packets = math.ceil(nbytes / mss)
    t = max(
        _wire_us(testbed, profile, nbytes, packets, TCP_IP_HEADER_BYTES),
        _core_us(testbed, profile, receive=False, nbytes=nbytes, packets=packets, gso=True,
                 mss=mss),
        _core_us(testbed, profile, receive=True, nbytes=nbytes, packets=packets, gso=True,
                 mss=mss),
    )
    return nbytes * 8 / t / 1e3


def udp_stream_gbps(
    testbed: _base.Testbed, profile: CniProfile | None, pod_mtu: int | None = None
) -> float:
    """Single-stream iperf3 UDP bound (Gbit/s): one MTU-sized datagram per message."""
    nbytes = _pod_mtu(testbed, profile, pod_mtu) - UDP_IP_HEADER_BYTES
    t = max(
        _wire_us(testbed, profile, nbytes, 1, UDP_IP_HEADER_BYTES),
        _core_us(testbed, profile, receive=False, nbytes=nbytes, packets=1, gso=False),
        _core_us(testbed, profile, receive=True, nbytes=nbytes, packets=1, gso=False),
    )
    return nbytes * 8 / t / 1e3


def tcp_rr_round_trip_us(testbed: _base.Testbed, profile: CniProfile | None) -> float:
    """netperf TCP_RR with 1-byte messages: two idle one-way trips, no app time."""
    one_way = (
        _core_us(testbed, profile, receive=False, nbytes=1, packets=1, gso=True)
        + _wire_us(testbed, profile, 1, 1, TCP_IP_HEADER_BYTES)
        + 2 * testbed.link_delay_us
        + testbed.switch_latency_us
        + _core_us(testbed, profile, receive=True, nbytes=1, packets=1, gso=True)
    )
    return 2 * one_way


# --------------------------------------------------------------------------------------
# Calibration rows
# --------------------------------------------------------------------------------------

A, B, C = "10g-xeon-2015", "40g-xl710-2024", "100g-ryzen-2021"


@dataclass(frozen=True)
class Row:
    label: str
    testbed: str
    cni: str | None  # None = host networking (node to node, bare metal)
    kind: str  # "tcp" Gbit/s, "udp" Gbit/s, "rr" round trip us
    published: float
    pod_mtu: int | None = None

    def predict(self) -> float:
        tb = get_testbed(self.testbed)
        prof = get_cni(self.cni) if self.cni else None
        if self.kind == "tcp":
            return tcp_stream_gbps(tb, prof, self.pod_mtu)
        if self.kind == "udp":
            return udp_stream_gbps(tb, prof, self.pod_mtu)
        return tcp_rr_round_trip_us(tb, prof)


LINE_RATE_ROWS = [
    Row("CAL:A Flannel VXLAN TCP", A, "flannel-vxlan", "tcp", 9.69),
    Row("CAL:A Cilium VXLAN TCP", A, "cilium-vxlan", "tcp", 9.43),
    Row("CAL:A Antrea Geneve TCP", A, "antrea-geneve", "tcp", 9.83),
    Row("CAL:A Flannel VXLAN UDP", A, "flannel-vxlan", "udp", 9.85),
    Row("CAL:A Cilium VXLAN UDP", A, "cilium-vxlan", "udp", 9.73),
    Row("CAL:A Antrea Geneve UDP", A, "antrea-geneve", "udp", 9.80),
]

CPU_BOUND_ROWS = [
    # testbed A, kernel 4.15
    Row("CAL:A Calico IP-in-IP TCP (MTU 1440)", A, "calico-ipip", "tcp", 8.79, 1440),
    Row("CAL:A Canal TCP (MTU 1450)", A, "canal", "tcp", 8.53, 1450),
    Row("CAL:A Weave fastdp TCP (MTU 1376)", A, "weave-fastdp", "tcp", 4.88, 1376),
    Row("CAL:A Cilium IPsec TCP", A, "cilium-ipsec", "tcp", 1.66),
    # issue 19: WireGuard's per-packet cost (fixed by CAL:C's MTU 1500 and 9000 rows)
    # makes A's 9.79 Gbit/s (line rate in the measurement, with crypto on 3.6 threads)
    # CPU bound on the flow's core in the model, 3-4 % below the wire
    Row("CAL:A Calico WireGuard TCP", A, "calico-wireguard", "tcp", 9.79),
    Row("CAL:A Calico IP-in-IP UDP (MTU 1440)", A, "calico-ipip", "udp", 1.87, 1440),
    Row("CAL:A Canal UDP (MTU 1450)", A, "canal", "udp", 1.82, 1450),
    Row("CAL:A Kube-router UDP (MTU 1500)", A, "kube-router", "udp", 2.81, 1500),
    Row("CAL:A Weave fastdp UDP (MTU 1376)", A, "weave-fastdp", "udp", 1.81, 1376),
    Row("CAL:A Calico WireGuard UDP", A, "calico-wireguard", "udp", 4.88),
    # testbed B, kernel 5.15
    Row("CAL:B bare metal TCP", B, None, "tcp", 31.4),
    # issue 19, third round: the routed pods' UDP senders are CPU-bound (raw runs: iperf3's
    # client at 100 % of a core); the bare-metal one is not (see below)
    Row("CAL:B raw Flannel VXLAN UDP (MTU 8950)", B, "flannel-vxlan", "udp", 7.57, 8950),
    Row("CAL:B raw Calico iptables UDP (MTU 8950)", B, "calico-bgp", "udp", 7.75, 8950),
    Row("CAL:B raw Kube-router UDP", B, "kube-router", "udp", 9.71),
    Row("CAL:B Flannel VXLAN TCP", B, "flannel-vxlan", "tcp", 20.0),
    Row("CAL:B Calico iptables TCP", B, "calico-bgp", "tcp", 19.7),
    Row("CAL:B Calico eBPF TCP", B, "calico-ebpf", "tcp", 25.9),
    Row("CAL:B Cilium VXLAN TCP", B, "cilium-vxlan", "tcp", 21.9),
    Row("CAL:B Antrea Geneve TCP", B, "antrea-geneve", "tcp", 21.0),
    Row("CAL:B Kube-OVN Geneve TCP", B, "kube-ovn-geneve", "tcp", 11.1),
    Row("CAL:B Calico WireGuard TCP", B, "calico-wireguard", "tcp", 7.9),
    Row("CAL:B Cilium WireGuard TCP", B, "cilium-wireguard", "tcp", 9.0),
    Row("CAL:B Cilium IPsec TCP (ESP crypto factor)", B, "cilium-ipsec", "tcp", 4.8),
    # issue 19: B's raw results; kube-router shares Calico's veth receive stage
    Row("CAL:B raw Kube-router TCP", B, "kube-router", "tcp", 22.70),
    # testbed C, kernel 5.10
    Row("CAL:C node to node TCP_STREAM", C, None, "tcp", 41.7),
    Row("CAL:C Cilium eBPF TCP_STREAM", C, "cilium-native", "tcp", 42.3),
    Row("CAL:C Calico TCP_STREAM", C, "calico-bgp", "tcp", 35.2),
    Row("CAL:C node to node TCP_RR (us)", C, None, "rr", 20.9),
    Row("CAL:C Cilium eBPF TCP_RR (us)", C, "cilium-native", "rr", 22.1),
    Row("CAL:C Calico TCP_RR (us)", C, "calico-bgp", "rr", 27.8),
]

# Rows the model cannot meet with one cost set per CNI (see kperf/profiles/cni.py and
# the known gaps of kperf/data/calibration_cases.yaml). B Cilium IPsec, A Weave fastdp
# UDP and A Calico WireGuard UDP left this list with the engine fit of issue 9 (testbed
# crypto factors, Weave's GSO-until-the-vport structure, WireGuard's per-skb hand-off).
KNOWN_UNMET_ROWS = [
    # loss-limited (25-69 k retransmits in 10 s, rates falling with them): a-kube-router-tcp
    Row("CAL:A Kube-router TCP (MTU 1500)", A, "kube-router", "tcp", 8.05, 1500),
    Row("CAL:A Cilium IPsec UDP", A, "cilium-ipsec", "udp", 0.87),
]

TOLERANCE = 0.10


def _error(row: Row) -> float:
    return row.predict() / row.published - 1.0


@pytest.mark.parametrize("row", LINE_RATE_ROWS, ids=lambda r: r.label)
def test_line_rate_rows_within_10_percent(row: Row) -> None:
    assert abs(_error(row)) <= TOLERANCE, f"{row.label}: {row.predict():.2f} vs {row.published}"


@pytest.mark.parametrize("row", CPU_BOUND_ROWS, ids=lambda r: r.label)
def test_cpu_bound_rows_within_10_percent(row: Row) -> None:
    assert abs(_error(row)) <= TOLERANCE, f"{row.label}: {row.predict():.2f} vs {row.published}"


def test_b_bare_metal_udp_is_bound_by_its_send_buffer_not_its_core() -> None:
    """B's raw bare-metal UDP run used 56 % of a core for 7.34 Gbit/s: the CPU alone would
    go much faster, and the engine's send buffer (13 skbs per transmit completion) is
    what holds it (its calibration case, b-bare-metal-udp, passes)."""
    tb = get_testbed(B)
    assert udp_stream_gbps(tb, None) > 1.5 * 7.34
    assert tb.tx_completion_us > 0


@pytest.mark.parametrize("row", KNOWN_UNMET_ROWS, ids=lambda r: r.label)
def test_known_unmet_rows_are_still_unmet(row: Row) -> None:
    # If one of these starts to fit, move it to CPU_BOUND_ROWS and update cni.py's notes.
    assert abs(_error(row)) > TOLERANCE


def test_line_rate_rows_are_wire_bound() -> None:
    for row in LINE_RATE_ROWS:
        tb = get_testbed(row.testbed)
        prof = get_cni(row.cni) if row.cni else None
        assert row.kind in ("tcp", "udp")
        # the CPU alone could go faster than the wire on these rows
        faster = tb.model_copy(update={"nic_rate_gbps": tb.nic_rate_gbps * 10})
        fn = tcp_stream_gbps if row.kind == "tcp" else udp_stream_gbps
        assert fn(faster, prof, row.pod_mtu) > fn(tb, prof, row.pod_mtu) * 1.05, row.label


def test_orderings_the_data_shows() -> None:
    b, c = get_testbed(B), get_testbed(C)
    # eBPF datapaths beat iptables (CAL B and C), encryption costs most
    assert tcp_stream_gbps(b, get_cni("calico-ebpf")) > tcp_stream_gbps(b, get_cni("calico-bgp"))
    assert tcp_rr_round_trip_us(c, get_cni("cilium-native")) < tcp_rr_round_trip_us(
        c, get_cni("calico-bgp")
    )
    assert tcp_stream_gbps(b, get_cni("calico-wireguard")) < tcp_stream_gbps(
        b, get_cni("calico-bgp")
    )
    # without tunnel offloads (virtio) overlays fall 3-6x below routed (CAL encap remarks)
    vm = get_testbed("cloud-vm")
    routed = tcp_stream_gbps(vm, get_cni("calico-bgp"))
    for name in ("flannel-vxlan", "calico-ipip"):
        ratio = routed / tcp_stream_gbps(vm, get_cni(name))
        assert 3.0 <= ratio <= 6.0, (name, ratio)


# --------------------------------------------------------------------------------------
# Catalog hygiene
# --------------------------------------------------------------------------------------

CONTRACT_CNI = {
    "flannel-vxlan", "flannel-host-gw", "calico-bgp", "calico-ipip", "calico-vxlan",
    "calico-ebpf", "calico-wireguard", "cilium-vxlan", "cilium-geneve", "cilium-native",
    "cilium-wireguard", "cilium-ipsec", "weave-fastdp", "antrea-geneve", "kube-ovn-geneve",
    "cisco-aci", "nsx-t", "none", "kube-router",
}  # fmt: skip
CONTRACT_TESTBEDS = {"10g-xeon-2015", "40g-xl710-2024", "100g-ryzen-2021", "cloud-vm"}
CONTRACT_PROXIES = {"iptables", "ipvs", "nftables", "ebpf"}

# CAL "Encapsulation overhead" table: allowed bytes per packet per encapsulation.
ENCAP_TABLE: dict[str, set[int]] = {
    "none": {0},
    "ipip": {20},
    "vxlan": {50, 70},
    "geneve": {50, 100},
    "wireguard": {60, 80},
    "ipsec": set(range(38, 78)),
}


def _all_stages() -> list[tuple[str, StageCost]]:
    out: list[tuple[str, StageCost]] = []
    for tb in TESTBEDS.values():
        out += [(f"testbed {tb.name}", s) for s in tb.host_tx + tb.host_rx]
    for p in CNI_PROFILES.values():
        for s in p.tx + p.rx + p.tx_overlay + p.rx_overlay:
            out.append((f"cni {p.name}", s))
    return out


def test_contract_names_present() -> None:
    assert set(CNI_PROFILES) >= CONTRACT_CNI
    assert set(TESTBEDS) == CONTRACT_TESTBEDS
    assert set(PROXY_MODES) == CONTRACT_PROXIES


@pytest.mark.parametrize("registry", [CNI_PROFILES, TESTBEDS, PROXY_MODES])
def test_keys_equal_names(registry: dict) -> None:
    for key, item in registry.items():
        assert key == item.name


def test_every_stage_has_a_source() -> None:
    stages = _all_stages()
    assert stages
    for owner, s in stages:
        assert s.source.strip(), (owner, s.name)
        assert s.source != "estimated", (owner, s.name, "say why it is estimated")


def test_stage_names_unique_within_a_direction() -> None:
    for p in CNI_PROFILES.values():
        for direction in (p.tx + p.tx_overlay, p.rx + p.rx_overlay):
            names = [s.name for s in direction]
            assert len(names) == len(set(names)), p.name
    for tb in TESTBEDS.values():
        for direction in (tb.host_tx, tb.host_rx):
            names = [s.name for s in direction]
            assert len(names) == len(set(names)), tb.name


def test_testbeds_and_proxies_have_sources() -> None:
    for tb in TESTBEDS.values():
        assert tb.source.strip() and tb.source != "estimated"
        assert tb.host_tx and tb.host_rx
    for pm in PROXY_MODES.values():
        assert pm.source.strip() and pm.source != "estimated"


# Profiles that stack two encapsulations: the outer one's bytes from the CAL table plus
# the inner one's from its RFC (weave-encrypted: ESP in transport mode on the VXLAN
# packets, RFC 4303/4106: SPI 4 + sequence 4 + IV 8 + padding ~2 + trailer 2 + ICV 16).
STACKED_ENCAP_BYTES: dict[str, int] = {"weave-encrypted": 50 + 36}


def test_encap_bytes_match_calibration_table() -> None:
    for p in CNI_PROFILES.values():
        if p.name in STACKED_ENCAP_BYTES:
            assert p.encap_bytes == STACKED_ENCAP_BYTES[p.name], p.name
            assert p.encap_bytes <= p.mtu_overhead_bytes, p.name  # within the MTU it reserves
        else:
            assert p.encap_bytes in ENCAP_TABLE[p.encapsulation], p.name
        assert p.encap_source.strip(), p.name
        if p.encapsulation != "none":
            assert p.encap_source.startswith("CAL:encap table"), p.name


def test_overlays_reserve_their_header_in_the_mtu() -> None:
    for p in CNI_PROFILES.values():
        if p.encapsulation != "none":
            assert p.mtu_overhead_bytes >= p.encap_bytes, p.name
            assert p.is_overlay, p.name


def test_default_pod_mtus() -> None:
    a = get_testbed(A)
    assert a.mtu_bytes - get_cni("flannel-vxlan").mtu_overhead_bytes == 8950
    assert a.mtu_bytes - get_cni("calico-wireguard").mtu_overhead_bytes == 8940
    assert a.mtu_bytes - get_cni("kube-ovn-geneve").mtu_overhead_bytes == 8900
    assert 1500 - get_cni("weave-fastdp").mtu_overhead_bytes == 1376
    assert 1500 - get_cni("calico-ipip").mtu_overhead_bytes == 1480


def test_estimated_profiles() -> None:
    assert get_cni("cisco-aci").estimated
    assert get_cni("nsx-t").estimated
    for name in CONTRACT_CNI - {"cisco-aci", "nsx-t"}:
        assert not get_cni(name).estimated, name


def test_no_cni_profile() -> None:
    none = get_cni("none")
    assert none.routing == "none"
    assert none.ipam == "none"
    assert none.encapsulation == "none"
    assert not none.reachable_cross_node


def test_profile_styles() -> None:
    for name, p in CNI_PROFILES.items():
        if name.startswith("cilium-") or name == "calico-ebpf":
            assert p.proxy_default == "ebpf", name
            assert p.same_node == "ebpf-redirect", name
        else:
            assert p.proxy_default == "kube-proxy", name
        if name.startswith("calico-"):
            assert p.ipam == "calico-blocks", name
        if name.startswith(("calico-", "canal")) and name != "calico-ebpf":
            assert p.same_node == "routed", name
        if name.startswith(("flannel-", "weave-")):
            assert p.same_node == "bridge", name
    # Weave fastdp: GSO super-packets reach the OVS datapath, whose VXLAN vport segments
    # them in software (per-packet stages); the receiver gets no GRO behind the vport
    # (its receive stages are per packet). Issue 9 changed this from tunnel_offload
    # False, which made TCP and UDP pay the same per-packet costs on the sender and could
    # not fit CAL:A Weave fastdp TCP 4.88 and UDP 1.81 together.
    weave = get_cni("weave-fastdp")
    assert weave.tunnel_offload
    assert any(s.per_packet_us > 0 for s in weave.tx_overlay)
    assert all(s.per_packet_us > 0 and s.per_segment_us == 0
               for s in weave.rx + weave.rx_overlay)


def test_crypto_only_in_encrypted_modes() -> None:
    for p in CNI_PROFILES.values():
        crypto = [s for s in p.tx_overlay + p.rx_overlay if s.category == "crypto"]
        if p.encapsulation in ("wireguard", "ipsec") or p.mode.endswith("-encrypted"):
            # issue 19: each direction's encryption is two named parts, a per-packet and
            # a per-byte one, each with one kind of cost
            for side in (p.tx_overlay, p.rx_overlay):
                parts = [s for s in side if s.category == "crypto"]
                assert [s.name.rsplit(" ", 2)[-2:] for s in parts] == [
                    ["per", "packet"], ["per", "byte"]], p.name
                per_packet, per_byte = parts
                assert per_packet.per_packet_us > 0 and per_byte.per_byte_ns > 0, p.name
                assert per_packet.per_byte_ns == per_byte.per_packet_us == 0, p.name
                assert per_packet.per_segment_us == per_byte.per_segment_us == 0, p.name
        else:
            assert not crypto, p.name
        for s in p.tx + p.rx:
            assert s.category != "crypto", p.name


def test_proxy_modes() -> None:
    ipt, ipvs, nft, ebpf = (get_proxy(n) for n in ("iptables", "ipvs", "nftables", "ebpf"))
    assert ipt.lookup == "linear" and ipt.rules_per_service == 2.0 and ipt.per_rule_ns > 0
    for pm in (ipvs, nft, ebpf):
        assert pm.lookup == "hash" and pm.per_rule_ns == 0.0
    assert set(ipvs.schedulers) == {"rr", "lc", "sh"}
    assert ebpf.socket_lb and not ipt.socket_lb
    assert ipt.resync_per_rule_us > 0
    # Tigera: 10k Services, ~20,000 rules walked, 1,000 conn/s: iptables - IPVS = 0.27 core
    extra_core = (
        (ipt.per_rule_ns * 20_000 * 1e-3 + ipt.first_packet_base_us - ipvs.first_packet_base_us)
        * 1_000
        * 1e-6
    )
    assert extra_core == pytest.approx(0.27, rel=0.05)
    # nftables blog: 30k Services -> ~257 us excess over nftables at p50 (avg walk 30k rules);
    # same order of magnitude on the reference core (blog CPU faster, see proxy.py)
    excess_us = ipt.per_rule_ns * 30_000 * 1e-3
    assert 257 / 2 < excess_us < 257 * 2


def test_registry_lookup_errors_list_names() -> None:
    with pytest.raises(KeyError, match="allowed"):
        get_cni("no-such-cni")
    with pytest.raises(KeyError, match="10g-xeon-2015"):
        get_testbed("nope")
