"""Where the microseconds go: one message on an idle cluster, stage by stage.

The times are what the engine computes for the same message when nothing else is in
flight (``tests/test_datapath.py`` checks that they sum exactly to the simulated
latency): each hop explains itself through :meth:`kperf.datapath.path.Hop.cost` (CPU
stages on the sender's and receiver's cores, serialization at the NIC, pipelined
forwarding at switch ports, where only the last packet's serialization adds to an idle
path), followed by the hop's fixed delay (propagation, switch forwarding latency).
"""

from __future__ import annotations

from typing import Any

from kperf.datapath.path import Path

COLUMNS = ["hop", "stage", "category", "time_us"]


def explain_rows(path: Path, nbytes: int) -> list[dict[str, Any]]:
    """The rows of :func:`explain` as dicts (no pandas needed)."""
    if path.unreachable:
        return [{"hop": "-", "stage": f"unreachable: {path.reason}", "category": "none",
                 "time_us": float("nan")}]
    size = min(nbytes, path.seg.chunk_payload_bytes)
    rows: list[dict[str, Any]] = []
    for hop, cost in zip(path.hops, path.hop_costs(size, True), strict=True):
        for stage, cat, sec in cost.stages:
            rows.append({"hop": hop.name, "stage": stage, "category": cat,
                         "time_us": sec * 1e6})
        if hop.delay_after_s:
            rows.append({"hop": hop.name, "stage": "propagation and forwarding",
                         "category": hop.delay_category, "time_us": hop.delay_after_s * 1e6})
    return rows


def explain(path: Path, nbytes: int) -> Any:
    """Stage times in µs for one ``nbytes`` message on an idle ``path`` (a DataFrame).

    Large messages are moved as chunks; this breakdown is for a message of one chunk
    (at most one GSO segment, about 64 KiB), which is what one request usually is.
    """
    import pandas as pd

    return pd.DataFrame(explain_rows(path, nbytes), columns=COLUMNS)


def message_chunks(path: Path, nbytes: int) -> list[int]:
    """The payload of each chunk the engine cuts an ``nbytes`` message into on ``path``.

    Chunks carry at most one GSO segment's payload (:attr:`Segmentation.chunk_payload_bytes
    <kperf.datapath.segmentation.Segmentation.chunk_payload_bytes>`, about 64 KiB): all
    full but the last (the engine's ``Transit.send_on``). :func:`explain` breaks down the
    first; a message of more than one chunk takes longer than its total.
    """
    chunk = path.seg.chunk_payload_bytes
    if nbytes <= chunk:
        return [nbytes]
    full, rest = divmod(nbytes, chunk)
    return [chunk] * full + ([rest] if rest else [])


CONNECTION_COLUMNS = ["end", "node", "stage", "category", "time_us"]


def connection_rows(cluster: Any, testbed: Any, src: Any, dst: Any) -> list[dict[str, Any]]:
    """What a new TCP connection from ``src`` to ``dst`` costs each end, part by part,
    in µs on the testbed's cores (the socket work, ``conntrack new`` on each node whose
    host namespace tracks it, a CNI's first-packet policy): the parts of
    :func:`kperf.datapath.conntrack.connection_parts`, which the crr workload charges
    with the SYN (client) and the SYN-ACK (server)."""
    from kperf.datapath.conntrack import connection_parts

    k = 1.0 / testbed.cpu_speed_factor
    return [{"end": p.side, "node": f"node-{p.node + 1}", "stage": p.stage,
             "category": p.category, "time_us": p.us * k}
            for p in connection_parts(cluster, testbed, src, dst)]
