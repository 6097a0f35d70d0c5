"""How a message becomes segments, packets and wire bytes.

Model (DESIGN.md, "How a message is simulated"):

* MSS = pod MTU - IPv4 header (20) - TCP header (20) - TCP options (12 with the
  timestamp option Linux sends by default, ``net.ipv4.tcp_timestamps`` = 1: MSS 1448
  at MTU 1500); UDP payload = MTU - 20 - 8.
  The overlay header does not shrink the MSS directly: it shrinks the pod MTU
  (pod MTU = underlay MTU - overlay overhead), which is where CNIs take it.
* Every packet on the wire carries its IP/TCP headers, the overlay header of the mode
  (VXLAN and Geneve 50 bytes, IP-in-IP 20, WireGuard 60; CALIBRATION.md encapsulation
  table), and Ethernet framing: header 14 + FCS 4 + preamble 8 + inter-frame gap 12 =
  38 bytes (IEEE 802.3), which is what occupies the link.
* With segmentation offloads (TSO/GSO on transmit, GRO on receive) the stack handles a
  segment of up to ``gso_max_bytes`` (64 KiB) as one unit: CPU work is per segment, not
  per wire packet. A segment carries a whole number of MSS.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

IP_HEADER_BYTES = 20
TCP_HEADER_BYTES = 20
TCP_TIMESTAMP_OPTION_BYTES = 12  # RFC 7323 timestamps (10) padded to 32-bit words
UDP_HEADER_BYTES = 8
ETHERNET_FRAMING_BYTES = 38  # 14 header + 4 FCS + 8 preamble/SFD + 12 inter-frame gap


def tcp_goodput_bound_gbps(rate_gbps: float, mtu_bytes: float,
                           tcp_option_bytes: int = TCP_TIMESTAMP_OPTION_BYTES) -> float:
    """The most one TCP flow can carry on a link without overlay: the line rate times
    the payload share of a full frame, MSS / (MTU + Ethernet framing); with
    timestamps rate x (MTU - 52) / (MTU + 38)."""
    mss = mtu_bytes - (IP_HEADER_BYTES + TCP_HEADER_BYTES + tcp_option_bytes)
    return rate_gbps * mss / (mtu_bytes + ETHERNET_FRAMING_BYTES)


@dataclass(frozen=True)
class Segmentation:
    """Per-path constants that turn a payload size into packets, segments and wire bytes."""

    mtu_bytes: int
    encap_bytes: int
    offload: bool
    gso_max_bytes: int = 65536
    udp: bool = False
    tcp_option_bytes: int = 0

    @property
    def header_bytes(self) -> int:
        """IP plus transport header bytes (with TCP options) inside the pod MTU."""
        return IP_HEADER_BYTES + (UDP_HEADER_BYTES if self.udp
                                  else TCP_HEADER_BYTES + self.tcp_option_bytes)

    @property
    def mss_bytes(self) -> int:
        """Payload bytes per packet (TCP MSS, or UDP payload per datagram)."""
        return self.mtu_bytes - self.header_bytes

    @property
    def per_packet_overhead_bytes(self) -> int:
        """Wire bytes a packet adds beyond its payload: headers, overlay, Ethernet framing."""
        return self.header_bytes + self.encap_bytes + ETHERNET_FRAMING_BYTES

    @functools.cached_property
    def chunk_payload_bytes(self) -> int:
        """The largest GSO segment's payload: a whole number of MSS up to gso_max_bytes.

        The engine moves messages in chunks of this size whether or not offloads work
        (without them, CPU costs count every packet inside the chunk)."""
        mss = self.mss_bytes
        return max(mss, (self.gso_max_bytes - self.header_bytes) // mss * mss)

    @property
    def segment_payload_bytes(self) -> int:
        """Payload one segment carries: a chunk with offloads, one MSS without."""
        return self.chunk_payload_bytes if self.offload else self.mss_bytes

    def packets(self, nbytes: int) -> int:
        """Wire packets for ``nbytes`` of payload (a zero-byte message is one packet)."""
        mss = self.mss_bytes
        return max(1, -(-nbytes // mss))

    def segments(self, nbytes: int) -> int:
        """Units the stack processes for ``nbytes`` (segments with offloads, else packets)."""
        seg = self.segment_payload_bytes
        return max(1, -(-nbytes // seg))

    def wire_bytes(self, nbytes: int) -> int:
        """Bytes that occupy the link for ``nbytes`` of payload."""
        return nbytes + self.packets(nbytes) * self.per_packet_overhead_bytes

    def full_packet_wire_bytes(self, nbytes: int) -> int:
        """Wire bytes of the largest packet of a message (the first one)."""
        return min(nbytes, self.mss_bytes) + self.per_packet_overhead_bytes

    def efficiency(self) -> float:
        """Goodput fraction of line rate for back-to-back full packets: MSS / wire bytes."""
        mss = self.mss_bytes
        return mss / (mss + self.per_packet_overhead_bytes)
