"""Paths: the ordered hops a message crosses between two endpoints, and what each costs.

A path is computed once per (source node, destination node, kind) and cached. Each hop
is a contended server the engine queues at (a node core doing packet processing, a NIC
transmit queue, a switch output port, an uplink); what lies between hops is folded into
a fixed delay after the previous one (propagation, switch forwarding latency). Hop kinds
share one small interface (:class:`Hop`), so the engine never asks which kind it has.
CPU hops aggregate all the software stages one side runs on one core (host stack, veth,
bridge or eBPF redirect, netfilter, encapsulation, crypto) into four coefficients, so
the cost of any message size is O(1), while keeping the components for the explain
breakdown.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from kperf.datapath.framing import Framing
from kperf.datapath.segmentation import Segmentation
from kperf.profiles.base import Category, StageCost

PathKind = Literal[
    "loopback", "same-node", "cross-node", "node-to-pod", "pod-to-node", "node-to-node",
    "external-to-pod", "pod-to-external",
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


class ServerSource(Protocol):
    """What a hop asks for its server: the engine's network (``kperf.engine.network``),
    seen from below without importing it (the datapath layer sits under the engine)."""

    def core(self, node: int, flow_id: int, salt: int) -> Any: ...

    def server(self, resource: tuple[str, int], capacity: float | None = None) -> Any: ...


RX_SALT = 1
"""Which RSS hash a receive-side core uses (transmit uses 0): a flow's two directions
on one node may land on different cores, as with real RSS and XPS."""
TX_SALT = 0


@dataclass(frozen=True, slots=True)
class ChunkShape:
    """One chunk of payload on a path: everything a hop's cost depends on.

    ``first`` marks the message's first chunk, which pays the per-message (syscall)
    cost; the wire figures follow the path's segmentation (MTU, overlay, framing).

    ``framing_bytes``: what a service mesh's TLS records and HTTP/2 frames add to the
    payload on the legs between proxies (:mod:`kperf.datapath.framing`); packets,
    segments and wire bytes count them, ``payload_bytes`` does not. ``unframed``: the
    same chunk without them (what the application's loopback crossings to and from its
    proxy carry), None when there is no framing."""

    payload_bytes: int
    first: bool
    packets: int
    segments: int
    wire_bytes: int
    head_packet_wire_bytes: int
    framing_bytes: int = 0
    unframed: ChunkShape | None = None

    @classmethod
    def of(cls, seg: Segmentation, nbytes: int, first: bool = True,
           framing: Framing | None = None) -> ChunkShape:
        extra = framing.overhead_bytes(nbytes) if framing is not None else 0
        plain = cls(nbytes, first, seg.packets(nbytes), seg.segments(nbytes),
                    seg.wire_bytes(nbytes), seg.full_packet_wire_bytes(nbytes))
        if not extra:
            return plain
        framed = nbytes + extra
        return cls(nbytes, first, seg.packets(framed), seg.segments(framed),
                   seg.wire_bytes(framed), seg.full_packet_wire_bytes(framed), extra, plain)


Stage = tuple[str, Category, float]
"""(stage name, category, seconds): one line of a hop's explanation."""


@dataclass(frozen=True, slots=True)
class HopCost:
    """What one chunk costs at one hop.

    ``service_s``: the server's busy time. ``buffer_units``: what the chunk occupies in
    the server's buffer (the unit its capacity is counted in). ``idle_s``: what the hop
    adds to the chunk's time in transit when every server is idle; ``head_s`` and
    ``tail_s``: for a serializer fed by another, transmission may start ``head_s``
    before the chunk's last packet has arrived and cannot end before ``tail_s`` after
    it (both 0 otherwise). ``stages``: where ``idle_s`` goes, for breakdowns; CPU work
    on the hop's node when ``cpu`` (the per-node CPU split counts them)."""

    service_s: float
    buffer_units: float
    idle_s: float
    head_s: float
    tail_s: float
    stages: tuple[Stage, ...]
    cpu: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Hop(ABC):
    """One contended stage of a path: the interface every hop kind implements.

    A hop names the engine's server it queues at (:meth:`server`), says what a chunk
    costs there (:meth:`cost`: service time, buffer use, pipelining, and the named
    stages that explain it) and whether a full buffer drops (``bounded``). The engine
    (``kperf.engine.transit``), ``kperf paths`` (:func:`kperf.datapath.explain.explain`)
    and the naive benchmark model use only this interface, so a new kind of hop is one
    subclass plus :func:`register_hop_kind` (docs/extending.md has a worked example).

    ``resource`` names the server: ("cpu", node) (a core picked by flow hash),
    ("nic", node), ("port", node) (the switch port towards a node), ("uplink", rack),
    ("spine", rack). ``rate_bps`` is set for serializers (the next hop's pipelining
    reads it). ``delay_after_s`` is fixed time after leaving this hop (propagation,
    forwarding latency) before the next hop sees the chunk, spent on
    ``delay_category``.
    """

    name: str
    kind: str
    resource: tuple[str, int]
    category: Category
    rate_bps: float = 0.0
    delay_after_s: float = 0.0
    delay_category: Category = "wire"

    @property
    def bounded(self) -> bool:
        """Whether an arrival that does not fit the server's buffer is dropped."""
        return True

    @property
    def cpu_node(self) -> int | None:
        """The node whose CPU does this hop's work (None: not CPU work)."""
        return None

    @abstractmethod
    def cost(self, chunk: ChunkShape, upstream_rate_bps: float) -> HopCost:
        """What ``chunk`` costs here; ``upstream_rate_bps`` is the rate of the last
        serializer before this hop (0 if none)."""

    @abstractmethod
    def server(self, network: ServerSource, flow_id: int) -> Any:
        """The server ``flow_id``'s chunks queue at on this hop."""


HOP_KINDS: dict[str, type[Hop]] = {}
"""Registered hop kinds: kind name -> class. A path may hold only registered kinds."""


def register_hop_kind(kind: str, cls: type[Hop]) -> None:
    """Register ``cls`` as the class of hops of ``kind`` (names are unique)."""
    known = HOP_KINDS.get(kind)
    if known is not None and known is not cls:
        raise ValueError(f"hop kind {kind!r} is already registered to {known.__name__}")
    HOP_KINDS[kind] = cls


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuHop(Hop):
    """Software stages one side runs on one core (``cpu``): transmit in the sender's
    context, or receive softirq (``rx``), which has a finite backlog that drops; a
    sender's own work blocks it instead, so it never drops (unbounded). The backlog
    (netdev_max_backlog) counts skbs: GRO-merged segments when offloads work, wire
    packets when they do not."""

    cpu: CpuWork
    kind: str = "cpu"
    rx: bool = False
    framed: bool = True
    """Whether the mesh's framing bytes cross this hop (the network legs between
    proxies); False for an application's loopback crossing to or from its proxy."""

    @property
    def bounded(self) -> bool:
        return self.rx

    @property
    def cpu_node(self) -> int | None:
        return self.resource[1]

    def cost(self, chunk: ChunkShape, upstream_rate_bps: float) -> HopCost:
        if chunk.unframed is not None and not self.framed:
            chunk = chunk.unframed
        msgs = 1 if chunk.first else 0
        nbytes = chunk.payload_bytes + chunk.framing_bytes
        svc = self.cpu.seconds(msgs, chunk.segments, chunk.packets, nbytes)
        stages = tuple(self.cpu.breakdown(msgs, chunk.segments, chunk.packets, nbytes))
        return HopCost(svc, float(chunk.segments), svc, 0.0, 0.0, stages, True)

    def server(self, network: ServerSource, flow_id: int) -> Any:
        return network.core(self.resource[1], flow_id, RX_SALT if self.rx else TX_SALT)


@dataclass(frozen=True, slots=True, kw_only=True)
class WireHop(Hop):
    """A serializer: a NIC transmit queue (kind "nic"), a switch output port ("port"),
    a leaf uplink or spine port ("uplink"), sending wire bytes at ``rate_bps``; its
    buffer counts bytes. ``pipelined`` serializers start forwarding a chunk's first
    packet before its last has arrived (store-and-forward per packet, not per 64 KiB
    chunk), so on an idle path only what is not overlapped adds to the latency."""

    pipelined: bool = False
    backpressure: bool = False
    """The senders wait instead of dropping when the buffer is full: a TCP socket's
    bytes below it are bounded by TCP Small Queues and the qdisc pushes back
    (``kperf.transport``), so a host's own NIC queue never drops TCP data; a UDP
    datagram that finds the queue full is dropped (a sender drop)."""

    @property
    def bounded(self) -> bool:
        return not self.backpressure

    def cost(self, chunk: ChunkShape, upstream_rate_bps: float) -> HopCost:
        wire = chunk.wire_bytes
        svc = wire * 8.0 / self.rate_bps if self.rate_bps else 0.0
        if self.pipelined and upstream_rate_bps:
            head_pkt = chunk.head_packet_wire_bytes
            head = (wire - head_pkt) * 8.0 / upstream_rate_bps
            tail = head_pkt * 8.0 / self.rate_bps
            idle = max(svc - head, tail)
            stage = "serialization (pipelined)"
        else:
            head = tail = 0.0
            idle = svc
            stage = "serialization"
        return HopCost(svc, float(wire), idle, head, tail, ((stage, "wire", idle),), False)

    def server(self, network: ServerSource, flow_id: int) -> Any:
        return network.server(self.resource)


def _relabel(cost: HopCost, category: Category) -> HopCost:
    return HopCost(cost.service_s, cost.buffer_units, cost.idle_s, cost.head_s, cost.tail_s,
                   tuple((name, category, sec) for name, _cat, sec in cost.stages), cost.cpu)


@dataclass(frozen=True, slots=True, kw_only=True)
class RelabelledCpuHop(CpuHop):
    """A :class:`CpuHop` whose stages all count under one ``place`` category instead of
    their own (``extra-hop``: the second hop of NodePort traffic), so a breakdown shows
    where the time went as well as how much. Costs are the stages' own, unchanged."""

    place: Category = "extra-hop"

    def cost(self, chunk: ChunkShape, upstream_rate_bps: float) -> HopCost:
        return _relabel(CpuHop.cost(self, chunk, upstream_rate_bps), self.place)


@dataclass(frozen=True, slots=True, kw_only=True)
class RelabelledWireHop(WireHop):
    """A :class:`WireHop` counted under ``place`` (its fixed delay too: give it
    ``delay_category`` equal to ``place``)."""

    place: Category = "extra-hop"

    def cost(self, chunk: ChunkShape, upstream_rate_bps: float) -> HopCost:
        return _relabel(WireHop.cost(self, chunk, upstream_rate_bps), self.place)


@dataclass(frozen=True, slots=True, kw_only=True)
class LbHop(WireHop):
    """A load balancer device (kind ``lb``): ``forwarders`` software forwarders behind
    ECMP, each serializing at ``rate_bps``; a flow hashes to one of them (resources
    ``("lb", base + i)``), as a router's ECMP hash of the 5-tuple does. Its time counts
    under category ``lb``."""

    kind: str = "lb"
    forwarders: int = 1
    base: int = 0

    def cost(self, chunk: ChunkShape, upstream_rate_bps: float) -> HopCost:
        return _relabel(WireHop.cost(self, chunk, upstream_rate_bps), "lb")

    def forwarder(self, flow_id: int) -> int:
        """Which forwarder ``flow_id`` hashes to (a Fibonacci hash of the flow id)."""
        mixed = ((flow_id * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) >> 32
        return mixed % max(self.forwarders, 1)

    def server(self, network: ServerSource, flow_id: int) -> Any:
        return network.server((self.resource[0], self.base + self.forwarder(flow_id)))


register_hop_kind("cpu", CpuHop)
for _kind in ("nic", "port", "uplink", "router"):
    register_hop_kind(_kind, WireHop)
register_hop_kind("lb", LbHop)


def is_pod(endpoint: Any) -> bool:
    """Whether a path endpoint is a pod on the pod network: not a node index (host
    networking) and not a host-network pod or an external host (``host_network``)."""
    return not isinstance(endpoint, int) and not endpoint.host_network


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
    proxy_hop: int = 0
    """The hop whose core pays a Service's proxy surcharge (first-packet and
    established costs): the sender's core (0) for pod clients, whose node runs
    kube-proxy; the entry node's receive core for traffic from outside the cluster."""
    framing: Framing | None = None
    """A service mesh's TLS/HTTP/2 framing on the legs between its proxies
    (:mod:`kperf.datapath.framing`): added to every chunk's packets and wire bytes at
    the hops that carry it (all but the application's loopback crossings); the
    signature must say so."""

    def __post_init__(self) -> None:
        for hop in self.hops:
            cls = HOP_KINDS.get(hop.kind)
            if cls is None or not isinstance(hop, cls):
                raise ValueError(f"hop {hop.name!r}: kind {hop.kind!r} is not registered "
                                 f"to {type(hop).__name__}; registered: {sorted(HOP_KINDS)}")
        if self.hops and not self.signature:
            raise ValueError("a path with hops needs a signature (what its costs depend on)")

    def shape(self, nbytes: int, first: bool = True) -> ChunkShape:
        """The shape of one chunk of ``nbytes`` payload on this path."""
        return ChunkShape.of(self.seg, nbytes, first, self.framing)

    def hop_costs(self, nbytes: int, first: bool = True) -> list[HopCost]:
        """What one chunk of ``nbytes`` costs at each hop, in order."""
        chunk = self.shape(nbytes, first)
        out: list[HopCost] = []
        upstream = 0.0
        for hop in self.hops:
            out.append(hop.cost(chunk, upstream))
            if hop.rate_bps:
                upstream = hop.rate_bps
        return out

    def idle_s(self, nbytes: int = 0) -> float:
        """Seconds a one-chunk message of ``nbytes`` takes when every server is idle
        (what :func:`kperf.datapath.explain.explain` adds up, without the table)."""
        costs = self.hop_costs(nbytes)
        return sum(c.idle_s for c in costs) + sum(h.delay_after_s for h in self.hops)

    def chunk_costs(self, nbytes: int, first: bool = True) -> list[float]:
        """Service time in seconds at each hop for one chunk of ``nbytes`` payload.

        ``first`` marks the chunk that pays the per-message (syscall) cost.
        """
        return [c.service_s for c in self.hop_costs(nbytes, first)]

    def hop_index(self, kind: str) -> int:
        """The index of the first hop of ``kind``, or -1 if there is none."""
        return next((i for i, h in enumerate(self.hops) if h.kind == kind), -1)
