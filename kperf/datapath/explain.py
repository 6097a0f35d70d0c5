"""Where the microseconds go: one message on an idle cluster, stage by stage.

The times are what the engine computes for the same message when nothing else is in
flight (``tests/test_datapath.py`` checks that they sum exactly to the simulated
latency): CPU stages on the sender's and receiver's cores, serialization at the NIC,
pipelined forwarding at switch ports (only the last packet's serialization adds to an
idle path, since earlier packets are forwarded while later ones arrive), and fixed
delays (propagation, switch forwarding latency).
"""

from __future__ import annotations

import pandas as pd

from kperf.datapath.path import Path

COLUMNS = ["hop", "stage", "category", "time_us"]


def explain(path: Path, nbytes: int) -> pd.DataFrame:
    """Stage times in µs for one ``nbytes`` message on an idle ``path``.

    Large messages are moved as chunks; this breakdown is for a message of one chunk
    (at most one GSO segment, about 64 KiB), which is what one request usually is.
    """
    if path.unreachable:
        return pd.DataFrame([{"hop": "-", "stage": f"unreachable: {path.reason}",
                              "category": "none", "time_us": float("nan")}], columns=COLUMNS)
    seg = path.seg
    size = min(nbytes, seg.chunk_payload_bytes)
    pkts, segs = seg.packets(size), seg.segments(size)
    wire = seg.wire_bytes(size)
    head_pkt = seg.full_packet_wire_bytes(size)
    costs = path.chunk_costs(size, True)
    rows: list[dict[str, object]] = []
    prev_rate = 0.0
    for hop, svc in zip(path.hops, costs, strict=True):
        if hop.cpu is not None:
            for name, cat, sec in hop.cpu.breakdown(1, segs, pkts, size):
                rows.append({"hop": hop.name, "stage": name, "category": cat,
                             "time_us": sec * 1e6})
        elif hop.pipelined and prev_rate:
            head = (wire - head_pkt) * 8.0 / prev_rate
            tail = head_pkt * 8.0 / hop.rate_bps
            rows.append({"hop": hop.name, "stage": "serialization (pipelined)",
                         "category": "wire", "time_us": max(svc - head, tail) * 1e6})
        else:
            rows.append({"hop": hop.name, "stage": "serialization", "category": "wire",
                         "time_us": svc * 1e6})
        if hop.rate_bps:
            prev_rate = hop.rate_bps
        if hop.delay_after_s:
            rows.append({"hop": hop.name, "stage": "propagation and forwarding",
                         "category": hop.delay_category, "time_us": hop.delay_after_s * 1e6})
    return pd.DataFrame(rows, columns=COLUMNS)
