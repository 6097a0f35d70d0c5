"""Paths: the ordered hops a message crosses between two endpoints, and what each costs.

A path is computed once per (source node, destination node, kind) and cached. Each hop
is either a contended server the engine queues at (a node core doing packet
processing, a NIC transmit queue, a switch output port, an uplink, a pod's application
workers) or folded into a fixed delay after the previous hop (propagation, switch
forwarding latency). CPU hops aggregate all the software stages one side runs on one
core (host stack, veth, bridge or eBPF redirect, netfilter, encapsulation, crypto) into
four coefficients, so the cost of any message size is O(1), while keeping the
components for the explain breakdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kperf.datapath.segmentation import Segmentation
from kperf.profiles.base import Category, StageCost

HopKind = Literal["cpu", "nic", "port", "uplink", "app"]
PathKind = Literal[
    "loopback", "same-node", "cross-node", "node-to-pod", "pod-to-node", "node-to-node"
]


@dataclass(frozen=True, slots=True)
class CpuWork:
    """The software stages one side of a path runs on one core, summed into coefficients.

    Times are in seconds, already divided by the testbed's CPU speed factor.
    """

    components: tuple[StageCost, ...]
    speed_factor: float
    per_message_s: float = field(init=False)
    per_segment_s: float = field(init=False)
    per_packet_s: float = field(init=False)
    per_byte_s: float = field(init=False)

    def __post_init__(self) -> None:
        k = 1e-6 / self.speed_factor
        parts = self.components
        setattr_ = object.__setattr__
        setattr_(self, "per_message_s", k * sum(c.per_message_us for c in parts))
        setattr_(self, "per_segment_s", k * sum(c.per_segment_us for c in parts))
        setattr_(self, "per_packet_s", k * sum(c.per_packet_us for c in parts))
        setattr_(self, "per_byte_s", k * 1e-3 * sum(c.per_byte_ns for c in parts))

    def seconds(self, messages: int, segments: int, packets: int, nbytes: int) -> float:
        return (
            self.per_message_s * messages
            + self.per_segment_s * segments
            + self.per_packet_s * packets
            + self.per_byte_s * nbytes
        )

    def breakdown(
        self, messages: int, segments: int, packets: int, nbytes: int
    ) -> list[tuple[str, Category, float]]:
        """(component name, category, seconds) for each software stage."""
        return [
            (c.name, c.category, c.cost_us(messages, segments, packets, nbytes) * 1e-6
             / self.speed_factor)
            for c in self.components
        ]


@dataclass(frozen=True, slots=True)
class Hop:
    """One contended stage of a path.

    ``resource`` names the engine's server: ("cpu", node) (a core picked by flow hash),
    ("nic", node), ("port", node) (the switch port towards a node), ("uplink", rack),
    ("spine", rack) (the spine port towards a rack), ("app", pod uid).
    ``rate_bps`` is set for serializers; ``pipelined`` serializers start forwarding a
    chunk's first packet before its last has arrived (store-and-forward per packet,
    not per 64 KiB chunk). ``rx`` marks receive-side CPU work (softirq, RSS-hashed,
    with a finite backlog). ``delay_after_s`` is fixed time after leaving this hop
    (propagation, forwarding latency) before the next hop sees the chunk.
    """

    name: str
    kind: HopKind
    resource: tuple[str, int]
    category: Category
    cpu: CpuWork | None = None
    rate_bps: float = 0.0
    pipelined: bool = False
    delay_after_s: float = 0.0
    delay_category: Category = "wire"
    rx: bool = False


@dataclass(frozen=True, slots=True)
class Path:
    """The hops from a source to a destination, and how it segments payload.

    ``unreachable`` paths (no CNI across nodes) have no hops; sending on them fails.
    """

    kind: PathKind
    src_node: int
    dst_node: int
    seg: Segmentation
    hops: tuple[Hop, ...]
    overlay: bool = False
    unreachable: bool = False
    reason: str = ""
    signature: tuple[object, ...] = ()
    """What the costs depend on (kind, endpoint types, overlay, rack relation): paths
    with equal signatures cost the same, so per-size cost tables are shared."""

    def chunk_costs(self, nbytes: int, first: bool = True) -> list[float]:
        """Service time in seconds at each hop for one chunk of ``nbytes`` payload.

        ``first`` marks the chunk that pays the per-message (syscall) cost.
        """
        seg = self.seg
        pkts = seg.packets(nbytes)
        segs = seg.segments(nbytes)
        wire = seg.wire_bytes(nbytes)
        out: list[float] = []
        for hop in self.hops:
            if hop.cpu is not None:
                out.append(hop.cpu.seconds(1 if first else 0, segs, pkts, nbytes))
            elif hop.rate_bps:
                out.append(wire * 8.0 / hop.rate_bps)
            else:
                out.append(0.0)
        return out
