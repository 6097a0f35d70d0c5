#!/usr/bin/env python3
"""Compute TCP reference numbers with ns-3 for comparison with kperf's TCP model.

The output, ``tests/data/ns3_tcp_reference.json``, is committed; the test
suite only reads it.  ns-3 is NOT a kperf dependency and must never be
imported by kperf or by the tests.  See ``docs/ns3_reference.md`` for the
scenario, every parameter and the caveats.

How to run (ns-3 lives in its own throw-away venv, Python 3.11 because the
``ns3`` wheel on PyPI is built for it):

    python3.11 -m venv /tmp/ns3venv
    /tmp/ns3venv/bin/pip install ns3==3.44.post0
    /tmp/ns3venv/bin/python scripts/ns3_tcp_reference.py \
        --out tests/data/ns3_tcp_reference.json

Options: ``--jobs N`` runs N simulations in parallel (default 2; each run is
a separate process because ns-3 keeps global state), ``--only NAME``
(repeatable; bulk-1, bulk-2, bulk-8, bulk-2-stagger, bulk-8-stagger, fct)
runs a subset and prints it instead of writing the file.

The whole set needs about 10 minutes of CPU time; with the default two
workers it took 7.6-11.7 minutes of wall time on a shared 2-core machine
(see "generation_wall_time_s" in the JSON).  The runs where one flow holds
a ~2900-segment window for the whole second dominate: ns-3's
TcpTxBuffer::NextSeg scans the whole send list on every ACK.  Importing
the ns3 wheel (cppyy/cling) costs ~15-40 s per process on top.

Scenario (dumbbell): N senders -- 10 Gbit/s, 12.5 us -- switch (an ns-3
router node) -- 10 Gbit/s, 12.5 us -- receiver.  The bottleneck is the
switch's egress device queue towards the receiver (DropTail, 1,000,000
bytes).  No queue disc is installed anywhere (flow control is disabled in
the point-to-point helper, so Ipv4AddressHelper does not add the default
FqCoDel), every other device queue is DropTail 10,000 packets.

Each simulation is run in a child process (``--run-one JSON``) that prints
one JSON object on its last stdout line.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import time

# ---------------------------------------------------------------------------
# Parameters (echoed verbatim into the JSON "scenario" block)
# ---------------------------------------------------------------------------

LINK_RATE_BPS = 10_000_000_000
LINK_DELAY_US = 12.5
MTU_BYTES = 1500
SEGMENT_SIZE = 1448
BOTTLENECK_QUEUE = "1000000B"
OTHER_QUEUES = "10000p"
TCP_BUF_BYTES = 4_194_304
BULK_NS = [1, 2, 8]
BULK_SIM_S = 1.0
BULK_MEASURE_FROM_S = 0.2
BULK_BIN_S = 0.05
# "bulk": all flows start at t=0; "bulk_stagger": flow i starts at i * BULK_STAGGER_S.
BULK_STAGGER_S = 0.001
FCT_SIZES = [10_000, 100_000, 1_000_000, 10_000_000]
FCT_START_S = 0.0
FCT_MAX_SIM_S = 10.0
RNG_SEED = 1
RNG_RUN = 1

TCP_DEFAULTS = {
    # attribute path -> (value kind, value)
    "ns3::TcpL4Protocol::SocketType": ("typeid", "ns3::TcpCubic"),
    "ns3::TcpCubic::HyStart": ("bool", False),
    "ns3::TcpSocket::SegmentSize": ("uint", SEGMENT_SIZE),
    "ns3::TcpSocket::InitialCwnd": ("uint", 10),
    "ns3::TcpSocket::DelAckCount": ("uint", 1),
    "ns3::TcpSocket::SndBufSize": ("uint", TCP_BUF_BYTES),
    "ns3::TcpSocket::RcvBufSize": ("uint", TCP_BUF_BYTES),
    "ns3::TcpSocketBase::MinRto": ("time_ms", 200),
    "ns3::TcpSocketBase::Timestamp": ("bool", True),
    "ns3::TcpSocketBase::Sack": ("bool", True),
    "ns3::TcpSocketBase::WindowScaling": ("bool", True),
}

# Attributes whose effective values (after SetDefault) are dumped into the JSON.
DUMP_TYPEIDS = [
    "ns3::TcpSocket",
    "ns3::TcpSocketBase",
    "ns3::TcpSocketState",
    "ns3::TcpCubic",
    "ns3::TcpPrrRecovery",
    "ns3::TcpL4Protocol",
    "ns3::PointToPointNetDevice",
    "ns3::BulkSendApplication",
]

CPP_HELPERS = r"""
#include "ns3/core-module.h"
#include "ns3/network-module.h"
#include "ns3/internet-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/applications-module.h"
#include "ns3/traffic-control-module.h"
#include <sstream>
#include <vector>

namespace kperfref {
using namespace ns3;

// Packet counter (drops, transmissions) with max size seen.
struct Counter {
  uint64_t n = 0, bytes = 0; uint32_t maxSize = 0; double first = -1;
  void Pkt(Ptr<const Packet> p) {
    if (first < 0) first = Simulator::Now().GetSeconds();
    n++; bytes += p->GetSize(); if (p->GetSize() > maxSize) maxSize = p->GetSize();
  }
  void Ip(const Ipv4Header&, Ptr<const Packet> p, Ipv4L3Protocol::DropReason, Ptr<Ipv4>,
          uint32_t) {
    Pkt(p);
  }
};

// Max occupancy of a device queue.
struct QueueMax {
  uint32_t maxBytes = 0, maxPackets = 0;
  void B(uint32_t, uint32_t v) { if (v > maxBytes) maxBytes = v; }
  void P(uint32_t, uint32_t v) { if (v > maxPackets) maxPackets = v; }
};

// Receiver-application bytes: total, per time bin, and time the target was reached.
struct RxRec {
  uint64_t total = 0, target = 0; int64_t doneNs = -1; double binS = 0.05;
  std::vector<uint64_t> bins;
  void Rx(Ptr<const Packet> p, const Address&) {
    total += p->GetSize();
    int64_t now = Simulator::Now().GetNanoSeconds();
    if (binS > 0) {
      size_t b = (size_t)(now / (int64_t)(binS * 1e9 + 0.5));
      if (bins.size() <= b) bins.resize(b + 1, 0);
      bins[b] += p->GetSize();
    }
    if (doneNs < 0 && target && total >= target) {
      doneNs = now;
      Simulator::Stop();
    }
  }
};

// Sender-side TCP events.
struct SockRec {
  uint64_t retxSegs = 0, retxBytes = 0, rtoEvents = 0, recoveryEvents = 0;
  uint32_t maxCwnd = 0; std::vector<double> rtoTimes;
  void Retx(Ptr<const Packet> p, const TcpHeader&, const Address&, const Address&,
            Ptr<const TcpSocketBase>) {
    retxSegs++; retxBytes += p->GetSize();
  }
  void Cong(TcpSocketState::TcpCongState_t o, TcpSocketState::TcpCongState_t n) {
    // ns-3 enters CA_LOSS only from the retransmission timeout.
    if (n == TcpSocketState::CA_LOSS && o != TcpSocketState::CA_LOSS) {
      rtoEvents++;
      rtoTimes.push_back(Simulator::Now().GetSeconds());
    }
    if (n == TcpSocketState::CA_RECOVERY && o != TcpSocketState::CA_RECOVERY) recoveryEvents++;
  }
  void Cwnd(uint32_t, uint32_t v) { if (v > maxCwnd) maxCwnd = v; }
  void Hook(Ptr<Application> a) {
    Ptr<Socket> s = DynamicCast<BulkSendApplication>(a)->GetSocket();
    NS_ABORT_MSG_IF(!s, "no socket yet");
    s->TraceConnectWithoutContext("CongState", MakeCallback(&SockRec::Cong, this));
    s->TraceConnectWithoutContext("CongestionWindow", MakeCallback(&SockRec::Cwnd, this));
  }
};

bool ConnectRetx(Ptr<Application> a, SockRec* r) {
  return a->TraceConnectWithoutContext("TcpRetransmission", MakeCallback(&SockRec::Retx, r));
}
// The BulkSend socket exists only once the application has started.
void HookSocketAt(Ptr<Application> a, SockRec* r, double t) {
  Simulator::Schedule(Seconds(t), &SockRec::Hook, r, a);
}
bool ConnectSinkRx(Ptr<Application> a, RxRec* r) {
  return a->TraceConnectWithoutContext("Rx", MakeCallback(&RxRec::Rx, r));
}
Ptr<Queue<Packet>> DevQueue(Ptr<NetDevice> d) {
  Ptr<PointToPointNetDevice> p = DynamicCast<PointToPointNetDevice>(d);
  NS_ABORT_MSG_IF(!p, "not a point-to-point device");
  return p->GetQueue();
}
void SetQueueMax(Ptr<NetDevice> d, std::string sz) { DevQueue(d)->SetMaxSize(QueueSize(sz)); }
std::string QueueMaxStr(Ptr<NetDevice> d) {
  std::ostringstream o; o << DevQueue(d)->GetMaxSize(); return o.str();
}
std::string QueueType(Ptr<NetDevice> d) { return DevQueue(d)->GetInstanceTypeId().GetName(); }
bool ConnectQueue(Ptr<NetDevice> d, Counter* drops, QueueMax* qm) {
  Ptr<Queue<Packet>> q = DevQueue(d);
  bool ok = q->TraceConnectWithoutContext("Drop", MakeCallback(&Counter::Pkt, drops));
  ok = ok && q->TraceConnectWithoutContext("BytesInQueue", MakeCallback(&QueueMax::B, qm));
  ok = ok && q->TraceConnectWithoutContext("PacketsInQueue", MakeCallback(&QueueMax::P, qm));
  return ok;
}
bool ConnectDev(Ptr<NetDevice> d, std::string name, Counter* c) {
  return d->TraceConnectWithoutContext(name, MakeCallback(&Counter::Pkt, c));
}
bool ConnectNodeDrops(Ptr<Node> n, Counter* tcDrops, Counter* ipDrops) {
  bool ok = n->GetObject<TrafficControlLayer>()->TraceConnectWithoutContext(
      "TcDrop", MakeCallback(&Counter::Pkt, tcDrops));
  ok = ok && n->GetObject<Ipv4L3Protocol>()->TraceConnectWithoutContext(
      "Drop", MakeCallback(&Counter::Ip, ipDrops));
  return ok;
}
bool HasQdisc(Ptr<NetDevice> d) {
  Ptr<TrafficControlLayer> tc = d->GetNode()->GetObject<TrafficControlLayer>();
  return tc && tc->GetRootQueueDiscOnDevice(d);
}
uint64_t TotalRx(Ptr<Application> a) { return DynamicCast<PacketSink>(a)->GetTotalRx(); }

// "name=value" lines for every attribute of a TypeId (effective defaults).
std::string DumpAttributes(std::string tidName) {
  TypeId tid = TypeId::LookupByName(tidName);
  std::ostringstream o;
  for (std::size_t i = 0; i < tid.GetAttributeN(); i++) {
    TypeId::AttributeInformation info = tid.GetAttribute(i);
    o << info.name << "=" << info.initialValue->SerializeToString(info.checker) << "\n";
  }
  return o.str();
}
}  // namespace kperfref
"""


CAVEATS = [
    "Framing: ns-3 point-to-point links put IP packet + 2-byte PPP header on the wire, "
    "nothing else; the goodput bound is 10e9*1448/1502 = 9.6405 Gbit/s, not "
    "10e9*1448/1538 = 9.4148 (Ethernet incl. preamble/IFG).",
    "All drops happen at the bottleneck queue (drops_elsewhere = 0 in every run). The sender "
    "NICs, at the same 10 Gbit/s as the bottleneck, hold a large standing queue instead: "
    "with N=1 the whole 4 MiB window sits in the sender's NIC queue (max_queue_packets of "
    "sender0_nic; RTT ~3.5 ms) and the switch queue never exceeds 1 packet. ns-3 has no "
    "TCP Small Queues.",
    "Without HyStart the first slow start overshoots (cwnd ~900-2900 segments) and, with "
    "N>=2, hundreds of segments are dropped in one window; ns-3 (no RACK/TLP) cannot "
    "detect lost retransmissions, so each flow ends that episode with an RTO at "
    "~0.2 s (MinRto 200 ms). The 0.2-1.0 s goodput window starts right at that RTO.",
    "Goodput counts bytes delivered in order to the application; data buffered out of order "
    "before the RTO repair is delivered in a burst just after 0.2 s, so an aggregate "
    "can exceed the link bound (it does for 'bulk' N=8). bottleneck_utilisation_in_window "
    "(wire bytes incl. retransmissions) is the clean throughput; rx_bytes_per_bin (50 ms bins "
    "from t=0) allows other windows.",
    "The simulation is deterministic (no randomness, no jitter), so drop-tail phase "
    "effects decide which flow loses: a flow whose packets reach the full switch queue "
    "in lock-step with its departures never loses, the others' packets (and their RTO "
    "retransmissions) are dropped, up to complete lock-out. Both start modes show it "
    "('bulk' N=2, 'bulk_stagger' N=8); 'bulk_stagger' N=2 is fair but RTO-dominated. "
    "Per-flow shares (and Jain's index) are therefore not a robust reference; the "
    "single-flow numbers (bulk N=1, fct) are, aggregates only where no RTO stall falls "
    "in the window.",
    "Completion-time runs have no loss: the sender NIC (same rate as the bottleneck) "
    "absorbs slow start, so they measure handshake + slow-start ramp + serialisation.",
]


def bound_gbps(overhead_bytes: int) -> float:
    return LINK_RATE_BPS * SEGMENT_SIZE / (MTU_BYTES + overhead_bytes) / 1e9


def scenario_block() -> dict:
    return {
        "topology": "dumbbell: N senders -> switch (ns-3 router node) -> 1 receiver; "
        "each sender has its own link to the switch, one link switch->receiver",
        "link_rate_bps": LINK_RATE_BPS,
        "link_type": "ns3::PointToPointNetDevice / PointToPointChannel (full duplex)",
        "link_one_way_propagation_us": LINK_DELAY_US,
        "base_rtt_propagation_us": 4 * LINK_DELAY_US,
        "mtu_bytes": MTU_BYTES,
        "segment_size_payload_bytes": SEGMENT_SIZE,
        "wire_bytes_per_full_segment": MTU_BYTES + 2,
        "tcp_header_bytes_on_data_segments": 32,
        "tcp": {
            "congestion_control": "ns3::TcpCubic",
            "hystart": False,
            "initial_cwnd_segments": 10,
            "del_ack_count": 1,
            "min_rto_ms": 200,
            "snd_buf_bytes": TCP_BUF_BYTES,
            "rcv_buf_bytes": TCP_BUF_BYTES,
            "timestamps": True,
            "sack": True,
            "window_scaling": True,
            "recovery": "ns3::TcpPrrRecovery (ns-3 default)",
            "pacing": False,
            "ecn": False,
            "set_defaults": {k: v[1] for k, v in TCP_DEFAULTS.items()},
        },
        "queues": {
            "bottleneck": "switch egress device queue towards the receiver: "
            f"ns3::DropTailQueue<Packet> MaxSize={BOTTLENECK_QUEUE} (byte mode; "
            "counts 1502 bytes per full segment incl. the 2-byte PPP header, so "
            "665 full segments fit, plus the one being serialised)",
            "bottleneck_max_size": BOTTLENECK_QUEUE,
            "other_device_queues": f"ns3::DropTailQueue<Packet> MaxSize={OTHER_QUEUES} "
            "(sender NICs, switch->sender (ACK) direction, receiver NIC (ACKs))",
            "queue_discs": "none anywhere: PointToPointHelper.DisableFlowControl() so "
            "Ipv4AddressHelper installs no default FqCoDel; verified per device",
        },
        "applications": {
            "sender": "ns3::BulkSendApplication, SendSize=1448 bytes",
            "receiver": "ns3::PacketSink, one per flow (distinct ports)",
        },
        "bulk": {
            "n_flows": BULK_NS,
            "sim_time_s": BULK_SIM_S,
            "start_times": "results under 'bulk': every flow's application starts at t=0 "
            "(the specified scenario); results under 'bulk_stagger' (N=2, 8): flow i starts "
            f"at i*{BULK_STAGGER_S} s. Both are kept because both show start-phase "
            "artefacts (see docs/ns3_reference.md).",
            "stagger_s": BULK_STAGGER_S,
            "max_bytes": 0,
            "goodput_window_s": [BULK_MEASURE_FROM_S, BULK_SIM_S],
            "goodput_definition": "payload bytes received by the flow's PacketSink in "
            "[0.2 s, 1.0 s] * 8 / 0.8 s",
            "rx_bin_s": BULK_BIN_S,
        },
        "fct": {
            "sizes_bytes": FCT_SIZES,
            "n_flows": 1,
            "app_start_s": FCT_START_S,
            "definition": "time from the application start (SYN handed to the sender's "
            "device at that same instant) to the PacketSink receiving the last payload "
            "byte, in microseconds",
        },
        "rng": {
            "seed": RNG_SEED,
            "run": RNG_RUN,
            "note": "nothing in the scenario is random; runs are deterministic",
        },
    }


# ---------------------------------------------------------------------------
# One simulation (runs in a child process)
# ---------------------------------------------------------------------------


def run_one(kind: str, n: int, size: int, starts_in: list[float]) -> dict:
    t_wall = time.time()
    from ns import ns  # only importable in the ns-3 venv

    if not hasattr(ns.cppyy.gbl, "kperfref"):
        ns.cppyy.cppdef(CPP_HELPERS)
    K = ns.cppyy.gbl.kperfref
    # Several runs may share one process: start from a clean address pool.
    ns.Ipv4AddressGenerator.Reset()

    ns.RngSeedManager.SetSeed(RNG_SEED)
    ns.RngSeedManager.SetRun(RNG_RUN)
    for path, (kind_v, val) in TCP_DEFAULTS.items():
        if kind_v == "typeid":
            v = ns.TypeIdValue(ns.TypeId.LookupByName(val))
        elif kind_v == "bool":
            v = ns.BooleanValue(val)
        elif kind_v == "uint":
            v = ns.UintegerValue(val)
        elif kind_v == "time_ms":
            v = ns.TimeValue(ns.MilliSeconds(val))
        else:
            raise ValueError(kind_v)
        ns.Config.SetDefault(path, v)

    senders = ns.NodeContainer()
    senders.Create(n)
    switch = ns.NodeContainer()
    switch.Create(1)
    receiver = ns.NodeContainer()
    receiver.Create(1)

    p2p = ns.PointToPointHelper()
    p2p.SetDeviceAttribute("DataRate", ns.DataRateValue(ns.DataRate(LINK_RATE_BPS)))
    p2p.SetDeviceAttribute("Mtu", ns.UintegerValue(MTU_BYTES))
    p2p.SetChannelAttribute("Delay", ns.TimeValue(ns.NanoSeconds(int(LINK_DELAY_US * 1000))))
    p2p.SetQueue("ns3::DropTailQueue", "MaxSize", ns.StringValue(OTHER_QUEUES))
    # No NetDeviceQueueInterface => no flow control, and Ipv4AddressHelper
    # installs no default (FqCoDel) queue disc: packets go straight to the
    # DropTail device queues, where every drop is traced.
    p2p.DisableFlowControl()

    stack = ns.InternetStackHelper()
    stack.Install(senders)
    stack.Install(switch)
    stack.Install(receiver)

    addr = ns.Ipv4AddressHelper()
    sender_links = []
    for i in range(n):
        d = p2p.Install(senders.Get(i), switch.Get(0))
        addr.SetBase(ns.Ipv4Address(f"10.1.{i + 1}.0"), ns.Ipv4Mask("255.255.255.0"))
        addr.Assign(d)
        sender_links.append(d)
    bl = p2p.Install(switch.Get(0), receiver.Get(0))
    addr.SetBase(ns.Ipv4Address("10.2.1.0"), ns.Ipv4Mask("255.255.255.0"))
    rx_ifs = addr.Assign(bl)
    ns.Ipv4GlobalRoutingHelper.PopulateRoutingTables()

    bottleneck_dev = bl.Get(0)  # switch side of the switch<->receiver link
    K.SetQueueMax(bottleneck_dev, BOTTLENECK_QUEUE)

    # Every device: queue drops, max occupancy, MAC drops.
    devices = []  # (label, dev)
    for i, d in enumerate(sender_links):
        devices.append((f"sender{i}_nic", d.Get(0)))
        devices.append((f"switch_to_sender{i}", d.Get(1)))
    devices.append(("switch_to_receiver_BOTTLENECK", bl.Get(0)))
    devices.append(("receiver_nic", bl.Get(1)))
    keep = []
    dev_stats = []
    for label, d in devices:
        if K.HasQdisc(d):
            raise RuntimeError(f"unexpected queue disc on {label}")
        drops, qm, mac_drop, phy_tx = K.Counter(), K.QueueMax(), K.Counter(), K.Counter()
        ok = K.ConnectQueue(d, drops, qm)
        ok = ok and K.ConnectDev(d, "MacTxDrop", mac_drop)
        ok = ok and K.ConnectDev(d, "PhyTxBegin", phy_tx)
        if not ok:
            raise RuntimeError(f"trace connect failed on {label}")
        keep += [drops, qm, mac_drop, phy_tx]
        dev_stats.append((label, d, drops, qm, mac_drop, phy_tx))
    node_drops = []
    for label, nc in [("switch", switch), ("receiver", receiver)] + [
        (f"sender{i}", None) for i in range(n)
    ]:
        node = nc.Get(0) if nc is not None else senders.Get(int(label[6:]))
        tc, ip = K.Counter(), K.Counter()
        if not K.ConnectNodeDrops(node, tc, ip):
            raise RuntimeError(f"node drop trace connect failed on {label}")
        keep += [tc, ip]
        node_drops.append((label, tc, ip))

    sinks, rxrecs, sockrecs, starts = [], [], [], []
    for i in range(n):
        port = 5000 + i
        sh = ns.PacketSinkHelper(
            "ns3::TcpSocketFactory",
            ns.InetSocketAddress(ns.Ipv4Address.GetAny(), port).ConvertTo(),
        )
        sa = sh.Install(receiver.Get(0))
        sa.Start(ns.Seconds(0.0))
        bh = ns.BulkSendHelper(
            "ns3::TcpSocketFactory",
            ns.InetSocketAddress(rx_ifs.GetAddress(1), port).ConvertTo(),
        )
        bh.SetAttribute("SendSize", ns.UintegerValue(SEGMENT_SIZE))
        bh.SetAttribute("MaxBytes", ns.UintegerValue(size if kind == "fct" else 0))
        ba = bh.Install(senders.Get(i))
        start = starts_in[i]
        ba.Start(ns.Seconds(start))
        starts.append(start)
        rr = K.RxRec()
        rr.binS = BULK_BIN_S if kind == "bulk" else 0.0
        rr.target = size if kind == "fct" else 0
        sr = K.SockRec()
        if not (K.ConnectSinkRx(sa.Get(0), rr) and K.ConnectRetx(ba.Get(0), sr)):
            raise RuntimeError("app trace connect failed")
        K.HookSocketAt(ba.Get(0), sr, start + 1e-9)
        sinks.append(sa.Get(0))
        rxrecs.append(rr)
        sockrecs.append(sr)

    attrs = {
        t: dict(line.split("=", 1) for line in str(K.DumpAttributes(t)).splitlines())
        for t in DUMP_TYPEIDS
    }

    t_sim = time.time()
    out: dict = {"kind": kind, "n_flows": n}
    if kind == "bulk":
        ns.Simulator.Stop(ns.Seconds(BULK_MEASURE_FROM_S))
        ns.Simulator.Run()
        at_from = [K.TotalRx(s) for s in sinks]
        bott_tx_from = int(dev_stats[2 * n][5].bytes)
        ns.Simulator.Stop(ns.Seconds(BULK_SIM_S - BULK_MEASURE_FROM_S))
        ns.Simulator.Run()
        at_end = [K.TotalRx(s) for s in sinks]
        bott_tx = int(dev_stats[2 * n][5].bytes) - bott_tx_from
        window = BULK_SIM_S - BULK_MEASURE_FROM_S
        flows = []
        for i in range(n):
            rb = at_end[i] - at_from[i]
            flows.append(
                {
                    "flow": i,
                    "start_s": starts[i],
                    "goodput_gbps": rb * 8 / window / 1e9,
                    "payload_bytes_in_window": rb,
                    "payload_bytes_total": int(rxrecs[i].total),
                    "rx_bytes_per_bin": [int(x) for x in rxrecs[i].bins],
                    "retransmitted_segments": int(sockrecs[i].retxSegs),
                    "rto_events": int(sockrecs[i].rtoEvents),
                    "rto_times_s": [round(float(x), 6) for x in sockrecs[i].rtoTimes],
                    "fast_recovery_events": int(sockrecs[i].recoveryEvents),
                    "max_cwnd_segments": round(int(sockrecs[i].maxCwnd) / SEGMENT_SIZE, 1),
                }
            )
        g = [f["goodput_gbps"] for f in flows]
        out.update(
            {
                "flows": flows,
                "aggregate_goodput_gbps": sum(g),
                "jain_fairness": sum(g) ** 2 / (n * sum(x * x for x in g)) if sum(g) > 0 else None,
                "retransmitted_segments_total": sum(f["retransmitted_segments"] for f in flows),
                "bottleneck_wire_bytes_in_window": bott_tx,
                "bottleneck_utilisation_in_window": bott_tx * 8 / window / LINK_RATE_BPS,
            }
        )
    else:
        ns.Simulator.Stop(ns.Seconds(FCT_MAX_SIM_S))
        ns.Simulator.Run()
        rr, sr = rxrecs[0], sockrecs[0]
        done = int(rr.doneNs)
        if done < 0:
            raise RuntimeError(f"transfer of {size} bytes did not complete")
        syn_s = float(dev_stats[0][5].first)  # first packet on sender0's NIC = SYN
        out.update(
            {
                "size_bytes": size,
                "completion_time_us": (done / 1e9 - starts[0]) * 1e6,
                "syn_sent_s": syn_s,
                "last_byte_received_s": done / 1e9,
                "received_bytes": int(rr.total),
                "retransmitted_segments": int(sr.retxSegs),
                "rto_events": int(sr.rtoEvents),
                "max_cwnd_segments": round(int(sr.maxCwnd) / SEGMENT_SIZE, 1),
            }
        )
    out["sim_end_s"] = ns.Simulator.Now().GetSeconds()
    out["devices"] = [
        {
            "device": label,
            "queue_max_size": str(K.QueueMaxStr(d)),
            "queue_type": str(K.QueueType(d)),
            "queue_drops": int(dr.n),
            "mac_tx_drops": int(md.n),
            "max_queue_bytes": int(qm.maxBytes),
            "max_queue_packets": int(qm.maxPackets),
            "packets_sent": int(tx.n),
            "max_wire_packet_bytes": int(tx.maxSize),
        }
        for label, d, dr, qm, md, tx in dev_stats
    ]
    out["node_drops"] = [
        {"node": label, "traffic_control_drops": int(tc.n), "ipv4_drops": int(ip.n)}
        for label, tc, ip in node_drops
    ]
    bott = out["devices"][2 * n]
    assert bott["device"] == "switch_to_receiver_BOTTLENECK"
    out["bottleneck_drops"] = bott["queue_drops"]
    out["drops_elsewhere"] = (
        sum(x["queue_drops"] + x["mac_tx_drops"] for x in out["devices"] if x is not bott)
        + bott["mac_tx_drops"]
        - bott["queue_drops"]
        + sum(x["traffic_control_drops"] + x["ipv4_drops"] for x in out["node_drops"])
    )
    out["effective_attributes"] = attrs
    out["ns3_version"] = ns3_version()
    out["sim_wall_s"] = round(time.time() - t_sim, 1)
    out["process_wall_s"] = round(time.time() - t_wall, 1)
    ns.Simulator.Destroy()
    return out


def ns3_version() -> str:
    from importlib.metadata import version

    return "ns-3 " + version("ns3") + " (PyPI wheel 'ns3')"


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


def jobs_list(stagger_s: float) -> list[dict]:
    """All runs; the four FCT runs share one process (saves ~3 x 15 s of start-up)."""
    jobs = []
    for n in BULK_NS:
        jobs.append({"kind": "bulk", "n": n, "size": 0, "name": f"bulk-{n}", "starts": [0.0] * n})
        if n > 1:
            jobs.append(
                {
                    "kind": "bulk",
                    "n": n,
                    "size": 0,
                    "name": f"bulk-{n}-stagger",
                    "starts": [i * stagger_s for i in range(n)],
                }
            )
    fct = [
        {"kind": "fct", "n": 1, "size": s, "name": f"fct-{s}", "starts": [FCT_START_S]}
        for s in FCT_SIZES
    ]
    jobs.append({"name": "fct", "group": fct})
    # Longest first so that two workers finish at about the same time.
    order = ["bulk-8-stagger", "bulk-1", "bulk-2", "bulk-2-stagger", "bulk-8", "fct"]
    jobs.sort(key=lambda j: order.index(j["name"]) if j["name"] in order else 99)
    return jobs


def spawn(job: dict) -> dict:
    """Run one job, or a group of jobs ({"group": [...]}), in a child process."""
    group = job.get("group", [job])
    cmd = [sys.executable, os.path.abspath(__file__), "--run-one", json.dumps(group)]
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{job['name']} failed (rc={p.returncode}):\n{p.stderr[-4000:]}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["wall_s"] = round(time.time() - t, 1)
    res["job_names"] = [g["name"] for g in group]
    print(f"  {job['name']}: {res['wall_s']} s", file=sys.stderr, flush=True)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/data/ns3_tcp_reference.json")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--only", action="append", help="job name: bulk-1, bulk-2, bulk-8, bulk-2-stagger, ..."
    )
    ap.add_argument(
        "--stagger-s",
        type=float,
        default=BULK_STAGGER_S,
        help="start offset between flows in the staggered bulk variant (default %(default)s)",
    )
    ap.add_argument("--run-one", help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.run_one:
        group = json.loads(a.run_one)
        res = {}
        for j in group:
            t = time.time()
            res[j["name"]] = run_one(j["kind"], j["n"], j["size"], j["starts"])
            res[j["name"]]["run_wall_s"] = round(time.time() - t, 1)
        print(json.dumps(res))
        return 0

    jobs = jobs_list(a.stagger_s)
    if a.only:
        jobs = [j for j in jobs if j["name"] in a.only]
    t0 = time.time()
    results: dict = {}
    process_walls: dict = {}
    with cf.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for res in ex.map(spawn, jobs):
            process_walls["+".join(res.pop("job_names"))] = res.pop("wall_s")
            results.update(res)
    wall = time.time() - t0
    if a.only:
        print(json.dumps(results, indent=1))
        return 0

    first = results["bulk-1"]
    attrs = first["effective_attributes"]
    version = first["ns3_version"]
    for r in results.values():
        r.pop("effective_attributes", None)
        r.pop("ns3_version", None)
    doc = {
        "description": "TCP reference results computed by ns-3 for kperf's TCP model; "
        "generated by scripts/ns3_tcp_reference.py, documented in docs/ns3_reference.md",
        "ns3_version": version,
        "generated_by": "scripts/ns3_tcp_reference.py",
        "generation_wall_time_s": round(wall, 1),
        "generation_jobs": a.jobs,
        "generation_process_wall_s": process_walls,
        "scenario": scenario_block(),
        "framing": {
            "ns3_counts": "PointToPointNetDevice serialises the IP packet plus a 2-byte PPP "
            "header only: no Ethernet header/FCS, preamble or inter-frame gap. A full "
            "segment is 1448 payload + 32 TCP (20 + 12 timestamp option) + 20 IP = 1500 "
            "bytes IP, 1502 bytes on the wire.",
            "ns3_goodput_bound_gbps": bound_gbps(2),
            "ns3_goodput_bound_formula": "10e9 * 1448 / 1502",
            "ethernet_goodput_bound_gbps": bound_gbps(38),
            "ethernet_goodput_bound_formula": "10e9 * 1448 / 1538 (not what ns-3 models)",
        },
        "effective_attributes_note": "TypeId defaults after Config::SetDefault, i.e. what "
        "every TCP socket got. Device/channel/application values set through helpers "
        "(DataRate, Delay, queue MaxSize, SendSize, MaxBytes) are not reflected here; "
        "they are in 'scenario'.",
        "effective_attributes": attrs,
        "caveats": CAVEATS,
        "bulk": {str(n): results[f"bulk-{n}"] for n in BULK_NS},
        "bulk_stagger": {str(n): results[f"bulk-{n}-stagger"] for n in BULK_NS if n > 1},
        "fct": {str(s): results[f"fct-{s}"] for s in FCT_SIZES},
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"wrote {a.out} in {wall:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
