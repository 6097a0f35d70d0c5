"""Building paths from a cluster, a testbed and the CNI profile, with a cache.

Which software stages a side runs:

* loopback (two containers of one pod): the host stack on one core, once
  (``lo`` has no veth, bridge or NIC); MTU 65536 as Linux gives ``lo``.
* pod endpoint: host stack + the CNI's per-side stages (veth, bridge or eBPF
  redirect, netfilter); host-network endpoint: host stack only.
* cross-node with a pod at either end under an overlay mode: + the overlay stages
  (encapsulation, crypto) and the overlay header on every packet. Node-to-node
  traffic never enters the tunnel. Crypto stages named in the testbed's
  ``crypto_speed_factors`` are divided by that factor too (per-cipher kernel speed).

Cross-node hops: sender core → NIC transmit queue → (link, switch latency) → [leaf
uplink → spine port, when the nodes sit in different racks] → switch port towards the
destination node → (link) → receiver softirq core.
"""

from __future__ import annotations

from typing import Any, Protocol

from kperf.datapath.path import CpuHop, CpuWork, Hop, Path, PathKind, WireHop
from kperf.datapath.segmentation import TCP_TIMESTAMP_OPTION_BYTES, Segmentation
from kperf.profiles.base import CniProfile, StageCost, Testbed

LOOPBACK_MTU_BYTES = 65536


class _PodLike(Protocol):
    uid: int
    node: int
    host_network: bool


Endpoint = Any  # a cluster Pod, or an int node index for host networking


def _side(
    testbed: Testbed,
    cni: CniProfile,
    tx: bool,
    pod: bool,
    overlay: bool,
) -> tuple[StageCost, ...]:
    host = testbed.host_tx if tx else testbed.host_rx
    parts: tuple[StageCost, ...] = tuple(host)
    if pod:
        parts += tuple(cni.tx if tx else cni.rx)
    if overlay:
        parts += tuple(cni.tx_overlay if tx else cni.rx_overlay)
    return parts


def _scaled(stage: StageCost, k: float) -> StageCost:
    """``stage`` with every cost multiplied by ``k``."""
    return stage.model_copy(update={
        "per_message_us": stage.per_message_us * k,
        "per_segment_us": stage.per_segment_us * k,
        "per_packet_us": stage.per_packet_us * k,
        "per_byte_ns": stage.per_byte_ns * k,
    })


class PathTable:
    """Computes and caches paths for one cluster on one testbed.

    ``cluster`` needs ``cni`` (CniProfile), ``nodes`` (a sequence), ``spec.pod_mtu_bytes``
    and ``route(src_pod, dst_pod)``; endpoints are pods (with ``uid``, ``node``,
    ``host_network``) or node indices.
    """

    def __init__(self, cluster: Any, testbed: Testbed) -> None:
        self.cluster = cluster
        self.testbed = testbed
        self.cni: CniProfile = cluster.cni
        n = len(cluster.nodes)
        self.n_nodes = n
        racks = min(testbed.racks, n)
        self.racks = racks
        self.nodes_per_rack = -(-n // racks)
        self._cache: dict[tuple[int, int, str], Path] = {}
        self._cpu_cache: dict[tuple[bool, bool, bool], CpuWork] = {}
        pod_mtu = getattr(cluster.spec, "pod_mtu_bytes", None)
        self.pod_mtu_bytes = pod_mtu or (testbed.mtu_bytes - self.cni.mtu_overhead_bytes)
        encap = self.cni.encapsulation != "none"
        self.overlay_offload = testbed.tso and (not encap or (self.cni.tunnel_offload
                                                              and testbed.tunnel_offload))

    # -- helpers -------------------------------------------------------------------
    def rack_of(self, node: int) -> int:
        return node // self.nodes_per_rack

    @property
    def uplink_rate_bps(self) -> float:
        tb = self.testbed
        return self.nodes_per_rack * tb.nic_rate_gbps * 1e9 / tb.oversubscription

    def _cpu(self, components: tuple[StageCost, ...]) -> CpuWork:
        factors = self.testbed.crypto_speed_factors
        if factors:  # a cipher this testbed runs faster (or slower) than the reference
            components = tuple(
                _scaled(c, 1.0 / factors[c.name])
                if c.category == "crypto" and c.name in factors else c
                for c in components
            )
        return CpuWork(components, self.testbed.cpu_speed_factor)

    def _side_cpu(self, tx: bool, pod: bool, overlay: bool) -> CpuWork:
        """The CPU work of one side, built once per (direction, pod, overlay)."""
        key = (tx, pod, overlay)
        work = self._cpu_cache.get(key)
        if work is None:
            work = self._cpu_cache[key] = self._cpu(
                _side(self.testbed, self.cni, tx, pod, overlay))
        return work

    def _seg(self, mtu: int, encap_bytes: int, offload: bool, udp: bool) -> Segmentation:
        tb = self.testbed
        options = TCP_TIMESTAMP_OPTION_BYTES if tb.tcp_timestamps and not udp else 0
        return Segmentation(mtu, encap_bytes, offload, tb.gso_max_bytes, udp, options)

    # -- public --------------------------------------------------------------------
    def classify(self, src: Endpoint, dst: Endpoint) -> tuple[PathKind, int, int, str]:
        """(kind, src node, dst node, route) for two endpoints."""
        src_pod = not isinstance(src, int) and not src.host_network
        dst_pod = not isinstance(dst, int) and not dst.host_network
        sn = src if isinstance(src, int) else src.node
        dn = dst if isinstance(dst, int) else dst.node
        if src_pod and dst_pod:
            route = self.cluster.route(src, dst)
            if route == "loopback":
                return "loopback", sn, dn, route
            if route == "same-node":
                return "same-node", sn, dn, route
            return "cross-node", sn, dn, route
        if src_pod:
            return ("same-node" if sn == dn else "pod-to-node"), sn, dn, "host"
        if dst_pod:
            return ("same-node" if sn == dn else "node-to-pod"), sn, dn, "host"
        return ("loopback" if sn == dn else "node-to-node"), sn, dn, "host"

    def path(self, src: Endpoint, dst: Endpoint, udp: bool = False) -> Path:
        """The path from ``src`` to ``dst`` (cached per node pair and kind)."""
        kind, sn, dn, route = self.classify(src, dst)
        src_pod = not isinstance(src, int) and not src.host_network
        dst_pod = not isinstance(dst, int) and not dst.host_network
        key = (sn, dn, f"{kind}|{route}|{int(src_pod)}{int(dst_pod)}|{int(udp)}")
        p = self._cache.get(key)
        if p is None:
            p = self._build(kind, sn, dn, route, src_pod, dst_pod, udp)
            self._cache[key] = p
        return p

    def _build(
        self, kind: PathKind, sn: int, dn: int, route: str, src_pod: bool, dst_pod: bool,
        udp: bool,
    ) -> Path:
        tb, cni = self.testbed, self.cni
        if route == "unreachable":
            seg = self._seg(self.pod_mtu_bytes, 0, False, udp)
            return Path(kind, sn, dn, seg, (), unreachable=True,
                        reason=f"no route from node {sn} to the pod range of node {dn} "
                               f"(CNI {cni.name})")
        if kind == "loopback":
            seg = self._seg(LOOPBACK_MTU_BYTES, 0, True, udp)
            host = tuple(tb.host_tx) + tuple(tb.host_rx)
            hop = CpuHop(name=f"node-{sn + 1} loopback stack", resource=("cpu", sn),
                         category="stack", cpu=self._cpu(host))
            return Path(kind, sn, dn, seg, (hop,), signature=(kind, udp))
        any_pod = src_pod or dst_pod
        if kind == "same-node":
            mtu = self.pod_mtu_bytes if any_pod else tb.mtu_bytes
            seg = self._seg(mtu, 0, tb.tso, udp)
            local = (
                CpuHop(name=f"node-{sn + 1} tx core", resource=("cpu", sn), category="stack",
                       cpu=self._side_cpu(True, src_pod, False)),
                CpuHop(name=f"node-{dn + 1} rx core", resource=("cpu", dn), category="stack",
                       cpu=self._side_cpu(False, dst_pod, False), rx=True),
            )
            return Path(kind, sn, dn, seg, local, signature=(kind, src_pod, dst_pod, udp))
        overlay = any_pod and cni.is_overlay
        encap = cni.encap_bytes if overlay else 0
        mtu = self.pod_mtu_bytes if any_pod else tb.mtu_bytes
        offload = self.overlay_offload if overlay else tb.tso
        seg = self._seg(mtu, encap, offload, udp)
        rate = tb.nic_rate_gbps * 1e9
        link_s = tb.link_delay_us * 1e-6
        sw_s = tb.switch_latency_us * 1e-6
        hops: list[Hop] = [
            CpuHop(name=f"node-{sn + 1} tx core", resource=("cpu", sn), category="stack",
                   cpu=self._side_cpu(True, src_pod, overlay)),
            WireHop(name=f"node-{sn + 1} NIC tx", kind="nic", resource=("nic", sn),
                    category="wire", rate_bps=rate, delay_after_s=link_s + sw_s,
                    backpressure=not udp),
        ]
        rs, rd = self.rack_of(sn), self.rack_of(dn)
        if rs != rd:
            up = self.uplink_rate_bps
            hops += [
                WireHop(name=f"rack-{rs + 1} uplink", kind="uplink", resource=("uplink", rs),
                        category="wire", rate_bps=up, pipelined=True,
                        delay_after_s=link_s + sw_s),
                WireHop(name=f"spine port to rack-{rd + 1}", kind="uplink",
                        resource=("spine", rd), category="wire", rate_bps=up, pipelined=True,
                        delay_after_s=link_s + sw_s),
            ]
        hops += [
            WireHop(name=f"switch port to node-{dn + 1}", kind="port", resource=("port", dn),
                    category="wire", rate_bps=rate, pipelined=True, delay_after_s=link_s),
            CpuHop(name=f"node-{dn + 1} rx core", resource=("cpu", dn), category="stack",
                   cpu=self._side_cpu(False, dst_pod, overlay), rx=True),
        ]
        signature = (kind, src_pod, dst_pod, udp, overlay, rs != rd)
        return Path(kind, sn, dn, seg, tuple(hops), overlay=overlay, signature=signature)

    def __len__(self) -> int:
        return len(self._cache)
