"""A dumbbell for transport studies: N sender hosts, one switch, one receiver host.

The topology of the classic TCP experiments (and of ``scripts/ns3_tcp_reference.py``):
every host has a NIC of ``rate_gbps`` to one switch, and the switch port towards the
receiver is the bottleneck, with a drop-tail buffer of ``buffer_bytes``. Hosts do no
CPU work (the testbed has no host stack costs), so only the wire and TCP matter. The
one-way propagation per link is ``link_delay_us``: with the default 12.5 us the base
round trip is 50 us. Flows are host to host (node endpoints, no CNI in the way).

``bulk`` runs long-lived flows and returns per-flow goodputs; ``transfer`` runs one
finite transfer from a cold start and returns its completion time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from kperf.datapath.segmentation import tcp_goodput_bound_gbps
from kperf.profiles.base import Testbed
from kperf.transport.options import TcpOptions
from kperf.transport.tcp import TcpSender


@dataclass(frozen=True)
class Dumbbell:
    """The topology and its knobs (see the module doc)."""

    rate_gbps: float = 10.0
    link_delay_us: float = 12.5
    buffer_bytes: int = 1_000_000
    mtu_bytes: int = 1500
    loss_rate: float = 0.0
    gso_max_bytes: int = 65536
    ecn_threshold_bytes: int | None = None
    tcp: TcpOptions = field(default_factory=TcpOptions)

    def testbed(self) -> Testbed:
        """A testbed of this topology: no CPU costs, no switch latency of its own (the
        link delay is the whole one-way propagation of a link)."""
        return Testbed(
            name="dumbbell", nic_rate_gbps=self.rate_gbps, mtu_bytes=self.mtu_bytes,
            link_delay_us=self.link_delay_us, switch_latency_us=0.0,
            switch_buffer_bytes=self.buffer_bytes, link_loss_rate=self.loss_rate,
            gso_max_bytes=self.gso_max_bytes, ecn_threshold_bytes=self.ecn_threshold_bytes,
            tcp_limit_output_bytes=self.tcp.tsq_limit_bytes, host_tx=(), host_rx=(),
        )

    @property
    def goodput_bound_gbps(self) -> float:
        """Line rate times header efficiency: MSS / (MTU + Ethernet framing)."""
        return tcp_goodput_bound_gbps(self.rate_gbps, self.mtu_bytes)

    def simulation(self, senders: int, seed: int = 1) -> Any:
        """A simulation with ``senders`` sender nodes (1..N) and the receiver (0)."""
        from kperf.cluster import Cluster
        from kperf.engine.sim import Simulation
        from kperf.spec.cluster import ClusterSpec

        cluster = Cluster.build(ClusterSpec(nodes=senders + 1, cni="calico-bgp"))
        return Simulation(cluster, self.testbed(), seed)

    def bulk(self, flows: int, duration_s: float, warmup_s: float,
             seed: int = 1) -> BulkResult:
        """``flows`` long-lived flows, one per sender host, from time 0 (flow i starts
        ``i`` microseconds late, so they are not in lockstep); goodput counts payload
        delivered in ``[warmup_s, duration_s)``."""
        sim = self.simulation(flows, seed)
        got = [0] * flows
        senders: list[TcpSender] = []
        for i in range(flows):
            def on_bytes(t: float, nbytes: int, i: int = i) -> None:
                if warmup_s <= t < duration_s:
                    got[i] += nbytes

            s = TcpSender(sim, i + 1, 0, self.tcp, may_write=lambda t: t < duration_s,
                          on_bytes=on_bytes, seed=seed * 1000 + i)
            senders.append(s)
            sim.at(i * 1e-6, s.start)
        sim.run()
        window = duration_s - warmup_s
        return BulkResult([g * 8 / window / 1e9 for g in got], senders, sim)

    def transfer(self, nbytes: int, seed: int = 1) -> float:
        """Completion time (s) of one ``nbytes`` transfer from a cold start: from the
        SYN to the last byte's arrival."""
        sim = self.simulation(1, seed)
        sender = TcpSender(sim, 1, 0, self.tcp, size_bytes=nbytes, seed=seed)
        sender.start()
        sim.run()
        if sender.finished_at < 0.0:
            raise RuntimeError(f"the transfer of {nbytes} bytes did not finish "
                               f"({sender.failed or 'stalled'})")
        return sender.finished_at - sender.started_at


@dataclass
class BulkResult:
    """Per-flow goodputs (Gbit/s) of a :meth:`Dumbbell.bulk` run, its senders and its
    simulation (for counters)."""

    goodput_gbps: list[float]
    senders: list[TcpSender]
    sim: Any

    @property
    def aggregate_gbps(self) -> float:
        return sum(self.goodput_gbps)

    @property
    def jain(self) -> float:
        """Jain's fairness index of the per-flow goodputs."""
        x = self.goodput_gbps
        s2 = sum(v * v for v in x)
        return sum(x) ** 2 / (len(x) * s2) if s2 > 0 else math.nan

    @property
    def retransmits(self) -> int:
        return sum(s.retransmits for s in self.senders)

    @property
    def timeouts(self) -> int:
        return sum(s.timeouts for s in self.senders)
