"""``stream``: iperf3-like bulk transfer, TCP or UDP.

TCP: the sender writes ``write_bytes`` at a time (iperf3's default 128 KiB) while
(a) its core is free (a blocking write returns when the core has processed it),
(b) unacknowledged bytes stay within ``window_bytes`` (socket buffer), and
(c) bytes waiting in the NIC queue stay under TCP Small Queues' limit
(``tcp_limit_output_bytes``, 256 KiB in Linux 4.x, raised to 1 MiB in 5.x; kperf uses
256 KiB, which already keeps a 100 Gbit/s NIC busy: 20 µs of data).
An ACK reaches the sender one idle reverse-path latency after the data is delivered
(ACKs are small and not queued behind data in this model). So one stream is limited by
the slowest of: its sender core, its receiver core, the line rate times header
efficiency, and window / round trip.

UDP: each write is one datagram of (pod MTU - 28) bytes; unlimited mode sends as fast
as the sender core allows (iperf3 -b 0), limited by the socket send buffer
(``net.core.wmem_default`` 212,992 bytes) when the NIC is the bottleneck; a target
rate spaces datagrams evenly. What the receiver's backlog cannot hold is dropped and
counted; goodput counts what arrives.
"""

from __future__ import annotations

import functools
from typing import Any

from kperf.datapath.explain import explain
from kperf.engine.transit import FlowHooks
from kperf.spec.workload import StreamWorkload
from kperf.workloads.connections import TCP_RTO_MIN_S, open_conn
from kperf.workloads.context import WorkloadContext, targets_of

TSQ_LIMIT_BYTES = 262_144  # tcp_limit_output_bytes, Linux 4.x default
UDP_SNDBUF_BYTES = 212_992  # net.core.wmem_default


class _Sender:
    """One stream's sender state machine."""

    def __init__(self, ctx: WorkloadContext, spec: StreamWorkload, client: Any, target: Any,
                 service: Any | None) -> None:
        self.ctx = ctx
        self.sim = ctx.sim
        # per-message Services costs are not modelled for bulk streams; the stream opens
        # its own flow below, with its hooks
        self.conn = open_conn(ctx, client, target, service, established=False,
                              with_flow=False)
        self.udp = spec.protocol == "udp"
        self.client = client
        self.server = self.conn.backend
        self.window = spec.window_bytes
        path = self.sim.path(client, self.server, self.udp) if self.server is not None else None
        self.path = path
        self.write = spec.write_bytes
        if self.udp and path is not None:
            self.write = path.seg.mss_bytes  # one full datagram per write
        self.rate_gap_s = (self.write * 8 / (spec.udp_rate_gbps * 1e9)
                           if spec.udp_rate_gbps else 0.0)
        self.nic_hop = path.hop_index("nic") if path is not None else -1
        self.queue_limit = UDP_SNDBUF_BYTES if self.udp else TSQ_LIMIT_BYTES
        back = self.sim.path(self.server, client) if self.server is not None else None
        self.ack_delay_s = (float(explain(back, 0).time_us.sum()) * 1e-6
                            if back is not None and not back.unreachable else 0.0)
        # the stream's own flow: its chunks count as goodput as they arrive, and the
        # sender hears when its bytes leave the NIC queue
        hooks = FlowHooks(ctx.stats, ctx.delivered, self._left_nic, self.nic_hop)
        self.flow = (self.sim.open_flow(client, self.server, flow_id=self.conn.flow_id,
                                        udp=self.udp, hooks=hooks)
                     if self.server is not None else None)
        self.inflight = 0
        self.nic_queued = 0
        self.busy = False
        self.next_allowed = 0.0

    def start(self) -> None:
        if self.server is None or self.path is None or self.path.unreachable:
            t = self.sim.now
            self.ctx.recorder.fail(t, "unreachable" if self.server is not None
                                   else (self.conn.failed or "no-endpoints"))
            return
        self.sim.at(self.conn.setup_delay_s, self.pump)

    def pump(self) -> None:
        sim, ctx = self.sim, self.ctx
        now = sim.now
        if self.busy or not ctx.open(now):
            return
        if now < self.next_allowed:
            return
        if not self.udp and self.inflight + self.write > self.window:
            return
        if self.nic_hop >= 0 and self.nic_queued >= self.queue_limit:
            return
        nbytes = self.write
        self.inflight += nbytes
        self.nic_queued += nbytes if self.nic_hop >= 0 else 0
        assert self.flow is not None
        done_at = self.flow.send(nbytes, functools.partial(self._delivered, nbytes=nbytes),
                                 functools.partial(self._dropped, nbytes=nbytes),
                                 ctx.measuring(now))
        if done_at is None:
            return
        self.busy = True
        if self.rate_gap_s:
            self.next_allowed = now + self.rate_gap_s
        sim.at(max(done_at, self.next_allowed), self._core_free)

    def _core_free(self) -> None:
        self.busy = False
        self.pump()

    def _left_nic(self, _t: float, nbytes: int) -> None:
        self.nic_queued -= nbytes
        self.pump()

    def _delivered(self, t: float, nbytes: int) -> None:
        # goodput was counted chunk by chunk (on_chunk); here the window opens
        if self.udp:
            self.inflight -= nbytes
            return
        self.sim.at(t + self.ack_delay_s, lambda: self._acked(nbytes))

    def _acked(self, nbytes: int) -> None:
        self.inflight -= nbytes
        self.pump()

    def _dropped(self, t: float, _reason: str, nbytes: int) -> None:
        if self.udp:
            self.inflight -= nbytes
            return
        # TCP: the lost write is sent again after the RTO; its window stays occupied.
        self.ctx.retransmits += 1

        def resend() -> None:
            self.inflight -= nbytes
            self.pump()

        self.sim.at(t + TCP_RTO_MIN_S, resend)


def start(ctx: WorkloadContext, spec: StreamWorkload, path: str) -> None:
    cluster = ctx.sim.cluster
    clients, service, choices = targets_of(cluster, spec, path)
    for ci, client in enumerate(clients):
        targets = choices[ci]
        for s in range(spec.streams):
            _Sender(ctx, spec, client, targets[s % len(targets)], service).start()
