"""A TCP sender on an engine flow, as Linux runs one, at the engine's chunk grain.

The unit of transmission is a *segment*: at most one chunk (one GSO/TSO segment, up to
64 KiB), cut from the application's writes the way the engine cuts a message (so a
flow that is never window-limited costs the same CPU as an unlimited sender would),
and smaller when the window allows less (a whole number of MSS; below one MSS only
when the whole receive window is smaller). Per connection:

* **Windows.** ``cwnd`` and ``ssthresh`` in bytes. Slow start grows ``cwnd`` by the
  bytes acknowledged up to ``ssthresh``; congestion avoidance is the congestion
  control's (:mod:`kperf.transport.cc`: CUBIC by default, Reno). The window grows only
  while it limits the sender (Linux ``tcp_is_cwnd_limited``), so a CPU- or
  receiver-bound flow does not inflate it. What is unacknowledged never exceeds the
  receive window (``rwnd_bytes``).
* **ACKs.** The receiver acknowledges each segment as it arrives; the ACK reaches the
  sender one idle reverse-path latency later (pure ACKs are small and not queued
  behind data in this model). Delivery is in order on a path (every hop is FIFO), so
  when the ACK of a segment arrives, every segment sent before it that is still
  unacknowledged was lost: the sender marks it lost at once. This is RACK (RFC 8985,
  Linux's default loss detection since 4.18) with SACK, with a reordering window of
  zero, which is exact when nothing reorders.
* **Recovery.** A loss detected by later ACKs starts fast recovery: ``ssthresh`` from
  the congestion control, ``cwnd = ssthresh``, the first lost segment retransmitted at
  once and the others as the pipe (bytes in flight, RFC 6675) falls below ``cwnd``;
  recovery ends when everything sent before it is acknowledged. Only one reduction per
  window of data.
* **Timeout** (the last resort): RTO per RFC 6298 with Linux's 200 ms floor
  (:mod:`kperf.transport.rtt`), re-armed by every ACK. On expiry every unacknowledged
  segment is marked lost, ``cwnd`` = 1 MSS, the RTO doubles, and slow start resumes.
  A retransmission after a timeout is cut to the window (one MSS at first). After
  :data:`~kperf.transport.options.GIVE_UP_S` without an ACK the connection fails.
* **Tail-loss probe** (RFC 8985 section 7, Linux since 3.10): two smoothed round trips
  plus 2 ms after the last send or ACK, the last segment is sent again, so a lost tail
  is found by the probe's ACK instead of the timeout (``tail_loss_probe``).
* **Backpressure** (TCP Small Queues): the bytes a socket has sent that have not left
  its host's NIC stay within ``tsq_limit_bytes`` and the writer waits; the NIC queue
  of a TCP path never drops (:attr:`kperf.datapath.path.WireHop.backpressure`). One
  segment at a time is on the sender's core (a blocking sender's own work).

Counters: retransmitted segments, timeouts, bytes delivered, and the time-average of
``cwnd`` (:attr:`TcpSender.mean_cwnd_bytes`).
"""

from __future__ import annotations

import functools
import random
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

from kperf.datapath.explain import explain
from kperf.engine.clock import call_at
from kperf.engine.flow import Flow
from kperf.engine.plans import ClassStats
from kperf.engine.transit import FlowHooks
from kperf.transport.cc import Dctcp, make_congestion_control
from kperf.transport.options import GIVE_UP_S, TcpOptions
from kperf.transport.rtt import RttEstimator

INF = float("inf")
SLOW_START_SPLIT = 0.25
"""In slow start a window goes out as at least four segments: per-packet ACKs clock a
slow-starting sender out packet by packet, growing its window with the first ACK of
a round, not the last; four ACK-clocked parts per round come within a few per cent
of that (against ns-3 with an ACK per packet: ``tests/test_ns3_reference.py``)
and cost little, since slow start is short."""
ACK_JITTER_S = 1e-6
"""ACKs reach the sender up to this much later than the idle reverse path says
(uniform): interrupt moderation and softirq scheduling make real ACK clocks jitter by
microseconds, and without it identical flows lock in phase at a drop-tail queue (one
flow's segments always find the buffer full, the other's never: Floyd and Jacobson,
"On traffic phase effects in packet-switched gateways", 1992)."""
TLP_MIN_S = 0.002
"""Added to the probe timeout: Linux ``tcp_schedule_loss_probe`` adds
``TCP_TIMEOUT_MIN`` (2 jiffies, 2 ms at HZ 1000) to 2 SRTT, so a data-centre round
trip that grows with queueing does not fire spurious probes."""

# segment states
LOST = 0  # known lost (or all of a timeout's window), waiting to be retransmitted
INFLIGHT = 1  # sent, counted in the pipe
ACKED = 2  # acknowledged (SACKed or cumulatively)

# connection states (Linux's TCP_CA_Open, TCP_CA_Recovery, TCP_CA_Loss)
OPEN, RECOVERY, LOSS = 0, 1, 2


class Segment:
    """Bytes ``[end - nbytes, end)`` of the stream; ``first``: the first segment of an
    application write (pays the per-message cost). ``tx``: transmissions so far."""

    __slots__ = ("charged", "end", "first", "nbytes", "state", "t_sent", "tx")

    def __init__(self, end: int, nbytes: int, first: bool) -> None:
        self.end = end
        self.nbytes = nbytes
        self.first = first
        self.state = INFLIGHT
        self.t_sent = 0.0
        self.tx = 0
        self.charged = 0  # bytes of it counted in the sender's pipe now


@functools.lru_cache(maxsize=4096)
def idle_latency_s(path: Any, nbytes: int = 0) -> float:
    """Seconds a message of ``nbytes`` takes on ``path`` when every server is idle.
    Cached by path value: every connection of a workload asks for the same few, and
    :func:`explain` builds a table each time (paths are frozen, so hashable)."""
    if path is None or path.unreachable or not path.hops:
        return 0.0
    return float(explain(path, nbytes).time_us.sum()) * 1e-6


class TcpSender:
    """One TCP connection's sender (and its receiver's ACKs); see the module doc.

    ``size_bytes``: a finite transfer (None: send while ``may_write(now)``).
    ``on_bytes(t, nbytes)``: new payload arrived at the receiver at ``t`` (goodput).
    ``on_complete(t)``: a finite transfer's last byte arrived. ``on_fail(t, why)``:
    the connection gave up. ``measuring(t)``: whether a segment sent at ``t`` feeds
    the workload's stats. ``path``: instead of the cluster's (tests, custom paths).
    ``ack_delay_s``: instead of the reverse path's idle latency of a pure ACK.
    ``seed``: of the ACK jitter (:data:`ACK_JITTER_S`).
    """

    __slots__ = (
        "_cwnd_area",
        "_cwnd_t",
        "_final_cwnd",
        "_timer_at",
        "_timer_handle",
        "_wake_at",
        "ack_delay_s",
        "arrived_bytes",
        "cc",
        "ce_bytes",
        "chunk_bytes",
        "core_at",
        "cwnd",
        "cwnd_limited",
        "cwr_end",
        "delivered_bytes",
        "env",
        "env_at",
        "established_at",
        "failed",
        "finished_at",
        "flow",
        "goal",
        "jitter",
        "last_ack_at",
        "mark_bytes",
        "mark_rate_Bps",
        "may_write",
        "measuring",
        "mss",
        "nic_deps",
        "nic_hop",
        "nic_queued",
        "on_bytes",
        "on_complete",
        "on_fail",
        "opts",
        "order",
        "pipe",
        "probe_deadline",
        "probes",
        "rcv_nxt",
        "rcv_ooo",
        "recovery_point",
        "retransmits",
        "retx",
        "rto_deadline",
        "rtt",
        "sim",
        "size_bytes",
        "snd_nxt",
        "snd_una",
        "ssthresh",
        "stalled_since",
        "started_at",
        "state",
        "streak",
        "timeouts",
        "tsq_blocked",
        "unacked",
        "write_left",
    )

    def __init__(
        self,
        sim: Any,
        src: Any,
        dst: Any,
        opts: TcpOptions,
        *,
        flow_id: int | None = None,
        stats: ClassStats | None = None,
        size_bytes: int | None = None,
        may_write: Callable[[float], bool] | None = None,
        measuring: Callable[[float], bool] | None = None,
        on_bytes: Callable[[float, int], None] | None = None,
        on_complete: Callable[[float], None] | None = None,
        on_fail: Callable[[float, str], None] | None = None,
        path: Any = None,
        ack_delay_s: float | None = None,
        seed: int = 0,
    ) -> None:
        self.sim = sim
        self.env_at = sim.at
        self.env = sim.env
        self.cwr_end = 0  # no second ECN cut before this sequence is acknowledged
        self.ce_bytes = 0.0  # ECN-marked payload not yet counted by an ACK
        self.mark_bytes = 0.0
        self.mark_rate_Bps = 0.0
        self.opts = opts
        self.cc = make_congestion_control(opts.congestion_control)
        fwd = path if path is not None else sim.path(src, dst)
        self.nic_hop = fwd.hop_index("nic") if fwd.hops else -1
        ecn_hop = -1
        if self.cc.ecn:  # marks at the last switch port (towards the receiver)
            ports = [i for i, h in enumerate(fwd.hops) if h.kind == "port"]
            ecn_hop = ports[-1] if ports else -1
            if ecn_hop >= 0:
                self.mark_rate_Bps = fwd.hops[ecn_hop].rate_bps / 8.0
                self.mark_bytes = sim.testbed.ecn_mark_bytes
        hooks = FlowHooks(stats, self._arrived, self._nic_departure, self.nic_hop,
                          trims=True, on_mark=self._marked, ecn_hop=ecn_hop, hop_now=True)
        self.flow: Flow = sim.open_flow(src, dst, flow_id=flow_id, hooks=hooks, path=path)
        self.mss = fwd.seg.mss_bytes
        self.chunk_bytes = fwd.seg.chunk_payload_bytes
        if ack_delay_s is None:  # a custom path carries the ACKs too
            ack_delay_s = idle_latency_s(fwd if path is not None else sim.path(dst, src))
        self.ack_delay_s = ack_delay_s
        self.jitter = random.Random(seed).random
        self.last_ack_at = 0.0
        self.arrived_bytes = 0
        self.size_bytes = size_bytes
        self.may_write = may_write
        self.measuring = measuring
        self.on_bytes = on_bytes
        self.on_complete = on_complete
        self.on_fail = on_fail
        self.rtt = RttEstimator(opts.rto_min_s)
        self.cwnd = float(opts.initial_cwnd_packets * self.mss)
        self.goal = self.chunk_bytes  # the segment size goal (_size_goal), per ACK
        self.ssthresh = INF
        self.state = OPEN
        self.recovery_point = 0
        self.pipe = 0  # bytes in flight (sent, not acknowledged, not known lost)
        self.snd_nxt = 0  # new bytes sent so far
        self.snd_una = 0  # bytes cumulatively acknowledged
        self.write_left = 0  # bytes of the current application write not yet sent
        self.unacked: deque[Segment] = deque()  # in sequence order
        self.order: deque[tuple[Segment, int]] = deque()  # (segment, tx) in send order
        self.retx: deque[Segment] = deque()  # lost segments to send again
        self.core_at = 0.0  # when the sender's core has finished its last segment
        self.nic_queued = 0  # bytes sent and not known to have left the NIC
        self.nic_deps: deque[tuple[float, int]] = deque()  # (departure, bytes) at the NIC
        self.tsq_blocked = False
        self._wake_at = INF
        self.cwnd_limited = False
        self.rto_deadline = INF
        self.probe_deadline = INF  # tail-loss probe, INF: none armed
        self._timer_at = INF
        self._timer_handle: Any = None
        self.retransmits = 0
        self.timeouts = 0
        self.probes = 0
        self.streak = 0  # timeouts since the last ACK of new data
        self.stalled_since = 0.0
        self.delivered_bytes = 0  # distinct payload bytes the receiver has
        self.rcv_nxt = 0  # the receiver has every byte before this
        self.rcv_ooo: list[tuple[int, int]] = []  # and these [lo, hi) beyond it
        self.failed: str | None = None
        self.started_at = -1.0
        self.established_at = -1.0
        self.finished_at = -1.0
        self._cwnd_area = 0.0
        self._cwnd_t = -1.0
        self._final_cwnd = float("nan")

    # -- public ----------------------------------------------------------------------
    @property
    def handshake_s(self) -> float:
        """The idle round trip of the three-way handshake (SYN out, SYN-ACK back)."""
        return idle_latency_s(self.flow.path) + self.ack_delay_s

    def start(self, handshake: bool = True) -> None:
        """Connect now (a handshake first, whose round trip is the first RTT sample)
        and start sending."""
        now = self.sim.now
        self.started_at = now
        if self.flow.route() is None:
            self._fail(now, "unreachable")
            return
        if handshake:
            rtt = self.handshake_s
            self.rtt.sample(rtt)
            self.env_at(now + rtt, self._established)
        else:
            self._established()

    @property
    def mean_cwnd_bytes(self) -> float:
        """The time-average of ``cwnd`` from the connection's establishment to its last
        byte's arrival (a finite transfer) or to now (NaN before it was
        established)."""
        if self._final_cwnd == self._final_cwnd:  # set (not NaN): frozen at the end
            return self._final_cwnd
        t0 = self._cwnd_t
        if t0 < 0.0:
            return float("nan")
        now = self.sim.now
        span = now - self.established_at
        area = self._cwnd_area + self.cwnd * (now - t0)
        return area / span if span > 0 else self.cwnd

    # -- sending ---------------------------------------------------------------------
    def _established(self) -> None:
        now = self.sim.now
        self.established_at = now
        self._cwnd_t = now
        self.pump()

    def _set_cwnd(self, cwnd: float, now: float) -> None:
        self._close_cwnd_interval(now)
        self.cwnd = cwnd

    def _close_cwnd_interval(self, now: float) -> None:
        """Add the current ``cwnd`` since its last change to the time-average's area
        (before ``cwnd`` changes at ``now``)."""
        t0 = self._cwnd_t
        if t0 >= 0.0:
            self._cwnd_area += self.cwnd * (now - t0)
            self._cwnd_t = now

    def pump(self) -> None:
        """Send the next segment if the core, the windows and TSQ allow."""
        self._pump(self.sim.now)

    def _pump(self, now: float) -> None:
        """:meth:`pump` at ``now`` (the caller's event time)."""
        if self.failed is not None or self._cwnd_t < 0.0:
            return
        if now < self.core_at:  # one segment at a time on the sender's core
            self._wake(self.core_at)
            return
        retx = self.retx
        while retx and retx[0].state != LOST:
            retx.popleft()
        if retx:
            seg = retx[0]
            size = seg.nbytes
            room = self.cwnd - self.pipe
            if size > room:
                mss = self.mss
                if room < mss and self.pipe:
                    self.cwnd_limited = True
                    return
                # resend what the window allows (Linux tcp_retransmit_skb fragments
                # the skb to the cwnd quota): at least one MSS
                part = max(int(room // mss), 1) * mss
                if part < size:
                    seg = self._split(seg, part)
                    size = part
            if self.nic_queued and self._tsq_full(size, now):
                self.cwnd_limited = False
                return
            if seg is retx[0]:
                retx.popleft()
            self.retransmits += 1
            self._transmit(seg, size, now, False)
            return
        # new data
        size_bytes = self.size_bytes
        if size_bytes is not None:
            if self.snd_nxt >= size_bytes:
                self.cwnd_limited = False
                return
        elif self.may_write is not None and not self.may_write(now):
            self.cwnd_limited = False
            return
        left = self.write_left
        first = left == 0
        if first:
            left = self.opts.write_bytes
            if size_bytes is not None and size_bytes - self.snd_nxt < left:
                left = size_bytes - self.snd_nxt
        goal = self.goal
        size = left if left < goal else goal
        cwnd_room = self.cwnd - self.pipe
        rwnd_room = self.opts.rwnd_bytes - (self.snd_nxt - self.snd_una)
        room = cwnd_room if cwnd_room < rwnd_room else rwnd_room
        if size > room:
            mss = self.mss
            idle = self.snd_nxt == self.snd_una
            # Linux tcp_tso_should_defer: wait for the window to open unless what it
            # allows is at least a third of cwnd (tcp_tso_win_divisor 3) or nothing is
            # in flight (what is in flight will open it)
            if room >= mss and (idle or room * 3 >= self.cwnd):
                size = int(room // mss) * mss
            elif idle and room > 0:
                size = int(room)  # the whole window is below one MSS
            else:
                self.cwnd_limited = cwnd_room <= rwnd_room
                if first:
                    self.write_left = 0
                return
        if self.nic_queued and self._tsq_full(size, now):
            self.cwnd_limited = False
            if first:
                self.write_left = 0
            return
        self.write_left = left - size
        end = self.snd_nxt + size
        self.snd_nxt = end
        seg = Segment(end, size, first)
        self.unacked.append(seg)
        self._transmit(seg, size, now, first)

    def _split(self, seg: Segment, head: int) -> Segment:
        """Cut the first ``head`` bytes off lost segment ``seg`` as a segment of their
        own (placed before it); ``seg`` keeps the rest."""
        part = Segment(seg.end - seg.nbytes + head, head, False)
        part.state = LOST
        part.tx = seg.tx
        seg.nbytes -= head
        seg.tx += 1  # copies still on the way are of the whole: stale for either part
        unacked = self.unacked
        unacked.insert(unacked.index(seg), part)
        return part

    def _size_goal(self) -> int:
        """The largest segment to build now: Linux ``tcp_tso_autosize``, about 1 ms
        of the pacing rate (2x cwnd/srtt in slow start, 1.2x after:
        ``tcp_pacing_ss_ratio``, ``tcp_pacing_ca_ratio``), at least two MSS, at most
        one chunk (GSO maximum). A window may thus go out as one segment, as with
        Linux; a full switch buffer keeps the packets of it that fit
        (:meth:`kperf.engine.transit.Transit.trim`), so a loss rarely takes a whole
        window. (Cutting windows into more, smaller segments would make every flow
        see about as many loss events per round trip whatever its rate, and AIMD would
        not converge to fairness.)"""
        srtt = self.rtt.srtt_s
        chunk = self.chunk_bytes
        cwnd = self.cwnd
        goal = (2.0 if cwnd < self.ssthresh else 1.2) * cwnd / srtt * 1e-3 if srtt else INF
        if cwnd < self.ssthresh and cwnd * SLOW_START_SPLIT < goal:
            goal = cwnd * SLOW_START_SPLIT
        if goal >= chunk:
            return chunk
        mss = self.mss
        segs = int(goal // mss)
        return (segs if segs > 2 else 2) * mss if 2 * mss < chunk else chunk

    def _transmit(self, seg: Segment, size: int, now: float, first: bool) -> None:
        seg.tx += 1
        seg.t_sent = now
        seg.state = INFLIGHT
        self.pipe += size - seg.charged  # a probe resends a segment still counted
        seg.charged = size
        self.order.append((seg, seg.tx))
        if self.nic_hop >= 0:
            self.nic_queued += size
        measuring = self.measuring
        lo = seg.end - seg.nbytes
        done_at = self.flow.send(size, partial(self._delivered, seg, seg.tx, lo, size), None,
                                 measuring(now) if measuring is not None else True,
                                 None, first)
        if self.rto_deadline == INF:
            self.rto_deadline = now + self.rtt.rto_s
        self._arm_probe(now)
        if done_at is not None:  # None: the path is gone
            self.core_at = done_at
            # next: when the core is free and TCP Small Queues allow another segment
            at = self._tsq_release(self.goal, now) if self.nic_hop >= 0 else 0.0
            if at > done_at:  # TSQ, not the window, will hold the sender
                self.cwnd_limited = False
            if at < INF:
                self._wake(at if at > done_at else done_at)
            else:  # when the departures that free enough become known
                self.tsq_blocked = True

    def _wake(self, t: float) -> None:
        """Pump again at ``t`` (one pending wake-up: the earliest asked for)."""
        if t < self._wake_at:
            self._wake_at = t
            call_at(self.env, t, self._woken, t)

    def _woken(self, t: float) -> None:
        if t == self._wake_at:  # else superseded by an earlier one, which ran
            self._wake_at = INF
            self._pump(t)

    def _nic_departure(self, dep: float, nbytes: int) -> None:
        """A segment was admitted to the NIC queue; it leaves at ``dep`` (FIFO: the
        departures of one flow come in order)."""
        self.nic_deps.append((dep, nbytes))
        if self.tsq_blocked and self._wake_at == INF:
            self._wake(dep)

    def _tsq_full(self, size: int, now: float) -> bool:
        """Would ``size`` more bytes exceed TCP Small Queues' limit? (Counts out the
        bytes that have left the NIC by ``now``; when full, wakes the sender when the
        next one leaves.)"""
        deps = self.nic_deps
        queued = self.nic_queued
        while deps and deps[0][0] <= now:
            queued -= deps.popleft()[1]
        self.nic_queued = queued
        if queued == 0 or queued + size <= self.opts.tsq_limit_bytes:
            self.tsq_blocked = False
            return False
        self.tsq_blocked = True
        at = self._tsq_release(size, now)
        if at < INF:
            self._wake(at)
        return True

    def _tsq_release(self, size: int, now: float) -> float:
        """When ``size`` more bytes will fit TCP Small Queues' limit: 0 if they do now,
        the departure that frees enough if it is known yet, else INF."""
        excess = self.nic_queued + size - self.opts.tsq_limit_bytes
        if excess <= 0 or self.nic_queued == 0:
            return 0.0
        for dep, nbytes in self.nic_deps:
            excess -= nbytes
            if excess <= 0:
                return dep if dep > now else now
        return INF

    # -- receiving -------------------------------------------------------------------
    def _marked(self, wait_s: float, service_s: float, nbytes: int) -> None:
        """A segment entered the ECN-marking port with ``wait_s`` of queue ahead of its
        first packet: its packets that find more than the threshold queued are marked
        (the queue ahead plus its own packets before them). Counted now, reacted to at
        the next ACK: about half a round trip earlier than the echo would arrive."""
        queued = wait_s * self.mark_rate_Bps
        own = service_s * self.mark_rate_Bps
        over = queued + own - self.mark_bytes
        if over > 0.0:
            self.ce_bytes += nbytes * (over / own if over < own else 1.0)

    def _ecn(self, acked: int, now: float) -> None:
        """DCTCP's per-ACK bookkeeping: alpha once per window, a cut once per window
        with marks (RFC 8257 section 3.3)."""
        cc = self.cc
        assert isinstance(cc, Dctcp)
        marked = self.ce_bytes if self.ce_bytes < acked else float(acked)
        self.ce_bytes -= marked
        cc.acked += acked
        cc.marked += marked
        if self.snd_una >= cc.window_end:
            cc.on_window()
            cc.window_end = self.snd_nxt
        if marked and self.state == OPEN and self.snd_una >= self.cwr_end:
            self.ssthresh = max(self.cwnd * (1.0 - cc.alpha / 2.0), 2.0 * self.mss)
            self._set_cwnd(self.ssthresh, now)
            self.cwr_end = self.snd_nxt

    def _arrived(self, _t: float, nbytes: int) -> None:
        """The engine's word on how many bytes of the segment about to be delivered
        arrived (fewer than sent when a full buffer kept only some of its packets)."""
        self.arrived_bytes = nbytes

    def _delivered(self, seg: Segment, tx: int, lo: int, size: int, t: float) -> None:
        """Transmission ``tx`` of ``seg`` (bytes ``[lo, lo + size)`` when it was sent)
        reached the receiver at ``t``: what of it is new counts as delivered."""
        kept = self.arrived_bytes
        new = self._receive(lo, lo + kept)
        if new:
            self.delivered_bytes += new
            if self.on_bytes is not None:
                self.on_bytes(t, new)
            self._check_complete(t)
        if kept < size:  # the head arrived, the rest was lost at a full buffer
            if tx != seg.tx or seg.state == ACKED:
                return  # a stale copy: the current transmission settles the segment
            seg.nbytes = size - kept  # what is left to resend: the tail
            at = self._ack_time(t)
            call_at(self.env, at, self._partial_ack, seg, tx, at)
            return
        at = self._ack_time(t)
        call_at(self.env, at, self._ack, seg, tx, at)

    def _receive(self, lo: int, hi: int) -> int:
        """The receiver's scoreboard takes bytes ``[lo, hi)``: how many are new.
        In-order data only moves ``rcv_nxt``; out-of-order data is kept as sorted
        disjoint intervals (few: losses are repaired within a few round trips)."""
        nxt = self.rcv_nxt
        if hi <= nxt:
            return 0
        if lo < nxt:
            lo = nxt
        ooo = self.rcv_ooo
        if not ooo:
            if lo == nxt:
                self.rcv_nxt = hi
            else:
                ooo.append((lo, hi))
            return hi - lo
        new = hi - lo
        for a, b in ooo:
            overlap = (b if b < hi else hi) - (a if a > lo else lo)
            if overlap > 0:
                new -= overlap
        ooo.append((lo, hi))
        ooo.sort()
        merged: list[tuple[int, int]] = []
        for a, b in ooo:
            if merged and a <= merged[-1][1]:
                if b > merged[-1][1]:
                    merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        while merged and merged[0][0] <= nxt:
            a, b = merged.pop(0)
            if b > nxt:
                nxt = b
        self.rcv_nxt = nxt
        self.rcv_ooo = merged
        return new

    def _check_complete(self, t: float) -> None:
        size = self.size_bytes
        if size is not None and self.finished_at < 0.0 and self.rcv_nxt >= size:
            self.finished_at = t
            self._final_cwnd = self.mean_cwnd_bytes
            if self.on_complete is not None:
                self.on_complete(t)

    def _ack_time(self, t: float) -> float:
        """When the ACK of data that arrived at ``t`` reaches the sender."""
        at = t + self.ack_delay_s + self.jitter() * ACK_JITTER_S
        if at < self.last_ack_at:  # ACKs do not overtake each other
            at = self.last_ack_at
        self.last_ack_at = at
        return at

    def _partial_ack(self, seg: Segment, tx: int, now: float) -> None:
        """The ACK of a transmission of which only the head arrived: its SACK blocks
        show the hole, so the rest (``seg`` now) is lost and recovery starts."""
        self._rack(seg, tx)
        if seg.state == INFLIGHT and seg.tx == tx:
            self._lost(seg)
        self.streak = 0
        if self.state == OPEN:
            self._enter_recovery(now)
        self.rto_deadline = now + self.rtt.rto_s
        self._arm_probe(now)
        self._pump(now)

    def _ack(self, seg: Segment, tx: int, now: float) -> None:
        """The ACK (with SACK) of transmission ``tx`` of ``seg`` arrived at ``now``."""
        lost = self._rack(seg, tx)
        if seg.state == ACKED:
            return
        self.pipe -= seg.charged
        seg.charged = 0
        seg.state = ACKED
        if tx == 1 and seg.tx == 1:  # Karn: no samples from retransmitted segments
            self.rtt.sample(now - seg.t_sent)
        unacked = self.unacked
        while unacked and unacked[0].state == ACKED:
            self.snd_una = unacked.popleft().end
        self.streak = 0
        if lost and self.state == OPEN:
            self._enter_recovery(now)
        elif self.state != OPEN and self.snd_una >= self.recovery_point:
            if self.state == RECOVERY:
                self._set_cwnd(max(self.ssthresh, 2.0 * self.mss), now)
            self.state = OPEN
        if self.state != RECOVERY:
            self._grow(seg.nbytes, now)
        if self.mark_rate_Bps:
            self._ecn(seg.nbytes, now)
        self.goal = self._size_goal()
        if unacked:
            self.rto_deadline = now + self.rtt.rto_s
            self._arm_probe(now)
        else:
            self.rto_deadline = INF
            self.probe_deadline = INF
        if self._wake_at == INF:  # else the core or TSQ holds the sender until then
            self._pump(now)
        if not self.unacked and now >= self.core_at:
            self._maybe_done(now)

    def _maybe_done(self, now: float) -> None:
        """Nothing is in flight or left to send: the connection is over; its pending
        timer must not keep the simulation (and its clock) going."""
        size = self.size_bytes
        over = (self.snd_nxt >= size if size is not None
                else self.may_write is not None and not self.may_write(now))
        if over and self._timer_handle is not None:
            self.sim.cancel(self._timer_handle)
            self._timer_handle = None
            self._timer_at = INF

    def _rack(self, seg: Segment, tx: int) -> bool:
        """RACK on the ACK of transmission ``tx`` of ``seg``: every transmission sent
        before it that has not arrived was lost (paths are FIFO). Whether any was."""
        order = self.order
        lost = False
        while order:
            s2, tx2 = order.popleft()
            if s2 is seg and tx2 == tx:
                break
            if s2.state == INFLIGHT and s2.tx == tx2:  # sent before, not arrived: lost
                self._lost(s2)
                lost = True
        return lost

    def _lost(self, seg: Segment) -> None:
        """``seg`` is known lost: out of the pipe, into the retransmission queue."""
        seg.state = LOST
        self.pipe -= seg.charged
        seg.charged = 0
        self.retx.append(seg)

    def _grow(self, acked: float, now: float) -> None:
        cwnd = self.cwnd
        if not (self.cwnd_limited or cwnd < 2 * (self.pipe + acked)):
            return
        if cwnd < self.ssthresh:  # slow start (RFC 5681, byte counting RFC 3465)
            room = self.ssthresh - cwnd
            if acked <= room:
                self._set_cwnd(cwnd + acked, now)
                return
            self._set_cwnd(self.ssthresh, now)
            acked -= room
        self._close_cwnd_interval(now)
        self.cc.avoid(self, acked, now)

    def _enter_recovery(self, now: float) -> None:
        self.state = RECOVERY
        self.recovery_point = self.snd_nxt
        self.ssthresh = self.cc.on_loss(self, now)
        self._set_cwnd(self.ssthresh, now)
        self.goal = self._size_goal()
        # fast retransmit: the first lost segment goes now, whatever the pipe
        retx = self.retx
        while retx and retx[0].state != LOST:
            retx.popleft()
        if retx and now >= self.core_at:
            seg = retx.popleft()
            self.retransmits += 1
            self._transmit(seg, seg.nbytes, now, False)

    # -- the retransmission timer and the tail-loss probe ----------------------------
    def _arm_probe(self, now: float) -> None:
        """(Re)arm the tail-loss probe (RFC 8985 section 7, Linux's TLP since 3.10):
        two smoothed round trips plus :data:`TLP_MIN_S` after the last send or ACK in
        the Open state, and never after the RTO. Then make sure the timer runs."""
        if self.opts.tail_loss_probe and self.state == OPEN:
            pto = now + 2.0 * self.rtt.srtt_s + TLP_MIN_S
            self.probe_deadline = pto if pto < self.rto_deadline else INF
        self._schedule_timer()

    def _schedule_timer(self) -> None:
        """Make the timer run by the earlier of the probe and RTO deadlines."""
        deadline = self.probe_deadline
        if self.rto_deadline < deadline:
            deadline = self.rto_deadline
        if deadline < self._timer_at:
            self._timer_at = deadline
            self._timer_handle = self.env_at(deadline, self._timer)

    def _timer(self) -> None:
        now = self.sim.now
        if now < self._timer_at or self.failed is not None:
            return  # a timer superseded by an earlier one
        self._timer_at = INF
        probe, rto = self.probe_deadline, self.rto_deadline
        if probe <= now and probe < rto:
            self.probe_deadline = INF
            self._probe(now)
        elif rto <= now:
            self._timeout(now)
        self._schedule_timer()

    def _probe(self, now: float) -> None:
        """Retransmit the last segment sent: its ACK shows what before it was lost
        (and starts fast recovery instead of a timeout)."""
        if self.state != OPEN or now < self.core_at:
            return
        last = None
        for seg in reversed(self.unacked):
            if seg.state == INFLIGHT:
                last = seg
                break
        if last is None:
            return
        self.retransmits += 1
        self.probes += 1
        self._transmit(last, last.nbytes, now, False)
        self.probe_deadline = INF

    def _timeout(self, now: float) -> None:
        self.timeouts += 1
        if self.streak == 0:
            self.stalled_since = now - self.rtt.rto_s  # the last progress
        self.streak += 1
        if now - self.stalled_since >= GIVE_UP_S:
            self._fail(now, "timeout")
            return
        if self.state == OPEN:
            self.ssthresh = self.cc.on_loss(self, now)
        self.cc.restart()  # a new congestion-avoidance epoch after the timeout
        self.state = LOSS
        self.recovery_point = self.snd_nxt
        self._set_cwnd(float(self.mss), now)
        self.goal = self._size_goal()
        retx: deque[Segment] = deque()
        for seg in self.unacked:
            if seg.state != ACKED:
                seg.state = LOST
                seg.charged = 0
                retx.append(seg)
        self.retx = retx
        self.order.clear()
        self.pipe = 0
        self.rtt.timed_out()
        self.rto_deadline = now + self.rtt.rto_s
        self.probe_deadline = INF
        self._pump(now)

    def _fail(self, now: float, why: str) -> None:
        if self._timer_handle is not None:
            self.sim.cancel(self._timer_handle)
            self._timer_handle = None
        self.failed = why
        self.rto_deadline = INF
        self.probe_deadline = INF
        if self.on_fail is not None:
            self.on_fail(now, why)
