"""``stream``: iperf3-like bulk transfer, TCP or UDP, and finite TCP transfers.

TCP runs the transport of :mod:`kperf.transport.tcp`: per connection a congestion
window (CUBIC by default, Reno; ``congestion_control``), slow start from
``initial_cwnd_packets``, RACK/SACK loss detection with fast recovery, tail-loss
probes, and an RFC 6298 timeout with a ``rto_min_ms`` floor; the receive window is
``window_bytes``; what one socket has queued below it is bounded by TCP Small Queues
(``Testbed.tcp_limit_output_bytes``) and the writer waits, so the sender's own NIC
queue never drops TCP data; drops happen at switch ports (``switch_buffer_bytes``),
the receiver's backlog and lossy links. The application writes ``write_bytes`` at a
time (iperf3's default 128 KiB); the first segment of each write pays the per-message
cost. Every stream starts with a three-way handshake (one idle round trip).

* Bulk (no ``bytes``): ``streams`` connections per client send while the measurement
  window is open; goodput counts payload delivered inside the window.
* Finite (``bytes``: a size or a distribution): each connection transfers that many
  bytes and ends; its flow completion time (connect to last byte delivered) is the
  request latency of the run (``latency_*_us``) and ``fct_*_us``. Without
  ``flow_rate_per_s`` each of the ``streams`` connections per client starts one transfer
  at the start of the window (all at once: incast when many clients target one
  server); with it, transfers arrive per client as a Poisson process until the window
  closes.

In a cluster with a service mesh, a TCP stream between two meshed pods crosses the
mesh's proxies as one flow through all hops, each proxy forwarding it on one worker
at L4 (:mod:`kperf.datapath.mesh_stream` states the approximation); UDP is not
meshed.

Every stream or transfer is one row of the run's per-flow table
(:data:`kperf.workloads.result.FLOW_COLUMNS`).

UDP: each write is one datagram of (pod MTU - 28) bytes; unlimited mode sends as fast
as the sender core allows (iperf3 -b 0), limited by the socket send buffer
(``net.core.wmem_default`` 212,992 bytes); a target rate spaces datagrams evenly. What
the receiver's backlog cannot hold is dropped and counted; goodput counts what arrives.
The send buffer counts each datagram's skb truesize (:func:`udp_skb_truesize`) until the
skb is freed: ``Testbed.tx_completion_us`` after it leaves the NIC (the driver's
transmit-completion interrupt), so a sender may have ceil(buffer / truesize) datagrams
(13 of 8,948 bytes) in flight per completion time. A pod whose CNI routes its packets
through the host's IP stack (``CniProfile.pod_tx_via_host_stack``) is not bound by it:
``ip_rcv_core`` orphans the skb from its socket there (net/ipv4/ip_input.c). Testbed B's
raw runs show both (docs/validation.md, "Testbed B's raw results"): the bare-metal, eBPF
and OVS senders deliver the same ~7.3 Gbit/s at 56-84 % of a core, the routed ones are
CPU-bound at 94-100 %.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from kperf.datapath.mesh_stream import stream_path
from kperf.engine.transit import FlowHooks
from kperf.spec.workload import Distribution, StreamWorkload
from kperf.transport import TcpOptions, TcpSender
from kperf.transport.tcp import idle_latency_s
from kperf.workloads.connections import open_conn
from kperf.workloads.context import WorkloadContext, targets_of
from kperf.workloads.http import draw

UDP_SNDBUF_BYTES = 212_992  # net.core.wmem_default
SKB_SHARED_INFO_BYTES = 320
"""sizeof(struct skb_shared_info) on x86-64 (Linux 5.x), which __alloc_skb puts after
the data and counts in the allocation."""
SKB_STRUCT_BYTES = 256
"""SKB_DATA_ALIGN(sizeof(struct sk_buff)) on x86-64: the truesize of the sk_buff itself."""
UDP_HEADROOM_BYTES = 28 + 64
"""UDP and IPv4 headers plus the link-layer reserve ip_append_data allocates
(LL_RESERVED_SPACE and alignment, rounded up)."""


def udp_skb_truesize(payload_bytes: int) -> int:
    """The bytes one datagram's skb charges to its socket's send buffer (skb->truesize).

    ``__ip_append_data`` puts a datagram that fits ``SKB_MAX_ALLOC`` (16 KiB less the
    shared info) in one linear skb; ``__alloc_skb`` rounds the data, headroom and shared
    info up to the kmalloc size class (powers of two above 4 KiB: 9,360 bytes take
    16,384) and ``SKB_TRUESIZE`` adds the sk_buff. An 8,948-byte datagram charges 16,640
    bytes, a 1,472-byte one 2,304 (Linux 5.15 net/ipv4/ip_output.c, net/core/skbuff.c)."""
    need = payload_bytes + UDP_HEADROOM_BYTES + SKB_SHARED_INFO_BYTES
    return (1 << max(need - 1, 1).bit_length()) + SKB_STRUCT_BYTES


class _Stream:
    """What every stream and transfer keeps: its workload and the goodput of its own
    that arrived inside the measurement window."""

    ctx: WorkloadContext
    in_window: float
    arrival_s_per_byte: float = 0.0

    def _bytes(self, t: float, nbytes: int) -> None:
        self.in_window += self.ctx.delivered_over(t, nbytes * self.arrival_s_per_byte, nbytes)

    def _pace(self, path: Any) -> None:
        """How long a byte of payload takes to arrive over ``path``'s last hop: the
        receiver's NIC at line rate, with the path's headers (so a chunk's share of the
        measurement window follows its packets, see ``WorkloadContext.delivered_over``)."""
        rate_bps = self.ctx.sim.testbed.nic_rate_gbps * 1e9
        if path is not None and rate_bps > 0:
            self.arrival_s_per_byte = 8.0 / (rate_bps * path.seg.efficiency())


class _Sender(_Stream):
    """One UDP stream's sender state machine."""

    def __init__(self, ctx: WorkloadContext, spec: StreamWorkload, client: Any, target: Any,
                 service: Any | None) -> None:
        self.ctx = ctx
        self.sim = ctx.sim
        # per-message Services costs are not modelled for bulk streams; the stream opens
        # its own flow below, with its hooks
        self.conn = open_conn(ctx, client, target, service, established=False,
                              with_flow=False)
        self.client = client
        self.server = self.conn.backend
        path = back = None
        if self.server is not None:  # via the host and back if the CNI hairpins Services
            pair = (self.sim.paths.hairpin_paths(client, self.server, True)
                    if service is not None else None)
            path, back = pair or (self.sim.path(client, self.server, True), None)
        self.path = path
        self._pace(path)
        self.write = path.seg.mss_bytes if path is not None else spec.write_bytes
        self.rate_gap_s = (self.write * 8 / (spec.udp_rate_gbps * 1e9)
                           if spec.udp_rate_gbps else 0.0)
        self.nic_hop = path.hop_index("nic") if path is not None else -1
        # the stream's own flow: its chunks count as goodput as they arrive, and the
        # sender hears when its bytes leave the NIC queue (the socket buffer empties)
        hooks = FlowHooks(ctx.stats, self._bytes, self._left_nic, self.nic_hop)
        self.in_window = 0
        self.started_at = ctx.sim.now
        ctx.flow_rows.append(self)
        custom: dict[str, Any] = ({"path": path, "reverse_path": back}
                                  if back is not None else {})
        self.flow = (self.sim.open_flow(client, self.server, flow_id=self.conn.flow_id,
                                        udp=True, hooks=hooks, **custom)
                     if self.server is not None else None)
        self.in_sndbuf = 0
        """Datagrams charged to the socket's send buffer (sent, not yet freed)."""
        tb = ctx.sim.testbed
        orphaned = (not getattr(client, "host_network", True)
                    and ctx.sim.cluster.cni.pod_tx_via_host_stack)
        self.sndbuf_datagrams = (0 if orphaned or self.nic_hop < 0 else
                                 -(-UDP_SNDBUF_BYTES // udp_skb_truesize(self.write)))
        """How many datagrams the send buffer holds (0: no limit, the skbs are orphaned
        in the host's IP stack)."""
        self.completion_s = tb.tx_completion_us * 1e-6
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
        if self.sndbuf_datagrams and self.in_sndbuf >= self.sndbuf_datagrams:
            return
        nbytes = self.write
        self.in_sndbuf += 1 if self.sndbuf_datagrams else 0
        assert self.flow is not None
        done_at = self.flow.send(nbytes, _ignore_done, None, ctx.measuring(now))
        if done_at is None:
            return
        self.busy = True
        if self.rate_gap_s:
            self.next_allowed = now + self.rate_gap_s
        sim.at(max(done_at, self.next_allowed), self._core_free)

    def _core_free(self) -> None:
        self.busy = False
        self.pump()

    def _left_nic(self, t: float, nbytes: int) -> None:
        if not self.sndbuf_datagrams:
            return
        if self.completion_s:
            self.sim.at(t + self.completion_s, self._freed)
        else:
            self._freed()

    def _freed(self) -> None:
        """A datagram's skb is freed: its truesize returns to the send buffer."""
        self.in_sndbuf -= 1
        self.pump()


    retransmits = 0  # UDP does not retransmit

    def check_progress(self) -> None:
        """UDP may lose everything (a full backlog); its zero is counted in drops."""

    def row(self) -> dict[str, Any]:
        """This stream's row of the per-flow table."""
        ctx = self.ctx
        window = ctx.end_s - ctx.start_s
        return {
            "workload": ctx.label, "flow_id": self.conn.flow_id,
            "client": getattr(self.client, "name", str(self.client)),
            "server": getattr(self.server, "name", ""), "protocol": "udp",
            "congestion_control": "", "start_s": self.started_at, "end_s": math.nan,
            "size_bytes": 0, "bytes_delivered": round(self.in_window),
            "goodput_gbps": self.in_window * 8 / window / 1e9, "retransmits": 0,
            "timeouts": 0, "mean_cwnd_bytes": math.nan, "fct_us": math.nan,
            "finished": False,
        }


def _ignore_done(_t: float) -> None:
    """A datagram arrived (goodput was counted chunk by chunk, by the flow's hooks)."""


class _TcpFlow(_Stream):
    """One TCP stream or finite transfer: a connection, its sender, its table row."""

    def __init__(self, ctx: WorkloadContext, spec: StreamWorkload, client: Any, target: Any,
                 service: Any | None, size_bytes: int | None) -> None:
        self.ctx = ctx
        self.spec = spec
        self.size_bytes = size_bytes
        self.client = client
        self.in_window = 0
        self.started_at = ctx.sim.now
        self.ended_at = math.nan
        self.conn = open_conn(ctx, client, target, service, established=False,
                              with_flow=False)
        self.sender: TcpSender | None = None
        ctx.flow_rows.append(self)
        server = self.conn.backend
        if server is None:
            ctx.recorder.fail(self.started_at, self.conn.failed or "no-endpoints")
            return
        custom: dict[str, Any] = {}
        pair = ctx.sim.paths.hairpin_paths(client, server) if service is not None else None
        if pair is not None:
            # the CNI hands Service packets to the host and back: a path of its own, and
            # the ACKs' delay over the way back
            custom["path"], back = pair
            custom["ack_delay_s"] = idle_latency_s(back)
        path = custom.get("path") or ctx.sim.path(client, server)
        if ctx.sim.paths.meshed_cluster and not path.unreachable:
            # through the service mesh's proxies, one flow over all hops
            # (kperf.datapath.mesh_stream); ACKs over the plain reverse path
            meshed = stream_path(ctx.sim.paths, path, client, server)
            if meshed is not path:
                custom.setdefault("ack_delay_s", idle_latency_s(ctx.sim.path(server, client)))
                path = custom["path"] = meshed
        if path.unreachable or not path.hops:
            ctx.recorder.fail(self.started_at, "unreachable")
            return
        self._pace(path)
        opts = TcpOptions(
            congestion_control=spec.congestion_control,
            rto_min_s=spec.rto_min_ms * 1e-3,
            initial_cwnd_packets=spec.initial_cwnd_packets,
            rwnd_bytes=spec.window_bytes,
            tsq_limit_bytes=ctx.sim.testbed.tcp_limit_output_bytes,
            write_bytes=spec.write_bytes,
            tail_loss_probe=spec.tail_loss_probe,
        )
        self.sender = TcpSender(
            ctx.sim, client, server, opts, flow_id=self.conn.flow_id, stats=ctx.stats,
            size_bytes=size_bytes, may_write=ctx.open if size_bytes is None else None,
            measuring=ctx.measuring, on_bytes=self._bytes, on_complete=self._complete,
            on_fail=self._failed, seed=self.conn.flow_id, **custom,
        )
        ctx.sim.at(ctx.sim.now + self.conn.setup_delay_s, self.sender.start)


    def _complete(self, t: float) -> None:
        self.ended_at = t
        self.ctx.recorder.add(self.started_at, t - self.started_at)

    def _failed(self, t: float, why: str) -> None:
        self.ended_at = t
        self.ctx.recorder.fail(self.started_at, why)

    def row(self) -> dict[str, Any]:
        """This flow's row of the per-flow table."""
        ctx, snd = self.ctx, self.sender
        finite = self.size_bytes is not None
        done = finite and snd is not None and snd.finished_at >= 0.0
        window = ctx.end_s - ctx.start_s
        fct_s = self.ended_at - self.started_at if done else math.nan
        delivered = (snd.delivered_bytes if snd is not None else 0) if finite else \
            round(self.in_window)
        goodput = (delivered * 8 / fct_s / 1e9 if done and fct_s > 0 else
                   self.in_window * 8 / window / 1e9 if not finite else math.nan)
        return {
            "workload": ctx.label,
            "flow_id": self.conn.flow_id,
            "client": getattr(self.client, "name", str(self.client)),
            "server": getattr(self.conn.backend, "name", ""),
            "protocol": "tcp",
            "congestion_control": self.spec.congestion_control,
            "start_s": self.started_at,
            "end_s": self.ended_at,
            "size_bytes": self.size_bytes or 0,
            "bytes_delivered": delivered,
            "goodput_gbps": goodput,
            "retransmits": snd.retransmits if snd is not None else 0,
            "timeouts": snd.timeouts if snd is not None else 0,
            "mean_cwnd_bytes": snd.mean_cwnd_bytes if snd is not None else math.nan,
            "fct_us": fct_s * 1e6,
            "finished": bool(done),
        }

    @property
    def retransmits(self) -> int:
        return self.sender.retransmits if self.sender is not None else 0

    def check_progress(self) -> None:
        """A bulk stream that was established, neither failed nor timed out, and still
        delivered nothing in the measurement window is a model error, not a zero."""
        snd = self.sender
        if (self.size_bytes is None and snd is not None and snd.failed is None
                and snd.established_at >= 0.0 and snd.established_at < self.ctx.start_s
                and self.in_window == 0 and snd.timeouts == 0):
            raise RuntimeError(
                f"workload {self.ctx.label}: TCP stream {self.conn.flow_id} made no "
                f"progress in its measurement window (cwnd {snd.cwnd:.0f} B, "
                f"{snd.pipe} B in flight, {snd.retransmits} retransmits); please report "
                f"this with the experiment file")


def _size(spec: StreamWorkload, rng: Any) -> int:
    size = spec.bytes
    if isinstance(size, Distribution):
        return max(1, round(draw(size, rng)))
    assert size is not None
    return max(1, int(size))


def _arrivals(ctx: WorkloadContext, spec: StreamWorkload, client: Any, targets: list[Any],
              service: Any | None, source: int) -> None:
    """Finite transfers from ``client`` arriving as a Poisson process."""
    rng = ctx.rng(source)
    rate = spec.flow_rate_per_s
    assert rate is not None
    count = [0]

    def arrive() -> None:
        now = ctx.sim.now
        if not ctx.open(now):
            return
        ctx.issued += 1
        target = targets[count[0] % len(targets)]
        count[0] += 1
        _TcpFlow(ctx, spec, client, target, service, _size(spec, rng))
        ctx.sim.at(now + rng.exponential(1.0 / rate), arrive)

    ctx.sim.at(ctx.start_s + rng.exponential(1.0 / rate), arrive)


def _start_transfer(ctx: WorkloadContext, spec: StreamWorkload, client: Any, target: Any,
                    service: Any | None, size: int) -> None:
    _TcpFlow(ctx, spec, client, target, service, size)


def start(ctx: WorkloadContext, spec: StreamWorkload, path: str) -> None:
    cluster = ctx.sim.cluster
    clients, service, choices = targets_of(cluster, spec, path)
    for ci, client in enumerate(clients):
        targets = choices[ci]
        if spec.protocol == "udp":
            for s in range(spec.streams):
                _Sender(ctx, spec, client, targets[s % len(targets)], service).start()
        elif spec.flow_rate_per_s is not None:
            _arrivals(ctx, spec, client, targets, service, ci)
        elif spec.bytes is not None:
            rng = ctx.rng(ci)
            for s in range(spec.streams):
                size = _size(spec, rng)
                target = targets[s % len(targets)]
                ctx.sim.at(ctx.start_s, functools.partial(
                    _start_transfer, ctx, spec, client, target, service, size))
        else:
            for s in range(spec.streams):
                _TcpFlow(ctx, spec, client, targets[s % len(targets)], service, None)
