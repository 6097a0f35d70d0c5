"""Fairness of a share: Jain's index over per-flow goodputs.

For allocations ``x_1 .. x_n >= 0`` (here: the goodput of each bulk flow of a run)
Jain's fairness index is

    J(x) = (sum x_i)^2 / (n * sum x_i^2)

(R. Jain, D.-M. Chiu and W. Hawe, "A Quantitative Measure of Fairness and
Discrimination for Resource Allocation in Shared Computer Systems", DEC Research
Report DEC-TR-301, 1984). It is 1 when every flow gets the same share, ``k / n``
when ``k`` flows share equally and the others get nothing (so ``1 / n`` when one
flow takes everything), and does not change when every share is scaled by the same
factor (units do not matter).

A run's summary metric ``fairness_jain`` is :func:`jain_index` over the
``goodput_gbps`` of its bulk flows (``size_bytes == 0``) in its flows table
(:data:`kperf.workloads.result.FLOW_COLUMNS`). :func:`stream_shares` gives the same
flows' goodput per stream and per client pod, next to the run's aggregate.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable


def jain_index(values: Iterable[float]) -> float:
    """Jain's fairness index ``(sum x)^2 / (n * sum x^2)`` of non-negative ``values``.

    NaN entries (a flow without a measurement) are left out. The result is in
    ``[1/n, 1]``; it is NaN when no value is left (fewer than one flow) and when every
    value is zero (no share at all: the ratio is 0/0, neither fair nor unfair).
    Negative or infinite values raise ValueError: they are not shares. The values
    are divided by their maximum before squaring, so huge or tiny units neither
    overflow nor underflow, and scaling every value by one factor leaves the result
    unchanged.
    """
    xs: list[float] = []
    for value in values:
        x = float(value)
        if math.isnan(x):
            continue
        if math.isinf(x) or x < 0:
            raise ValueError(f"jain_index needs finite non-negative values, got {value!r}")
        xs.append(x)
    if not xs:
        return math.nan
    top = max(xs)
    if top == 0:
        return math.nan
    scaled = [x / top for x in xs]
    total = math.fsum(scaled)
    squares = math.fsum(s * s for s in scaled)
    index = total * total / (len(scaled) * squares)
    return min(1.0, max(1.0 / len(scaled), index))


STREAM_SHARE_KEYS: tuple[str, ...] = (
    "streams", "stream_clients", "throughput_per_stream_gbps", "throughput_per_client_gbps")
"""The summary columns :func:`stream_shares` fills."""


def stream_shares(clients: Iterable[Hashable], goodputs_gbps: Iterable[float]
                  ) -> dict[str, float]:
    """Bulk streams' goodput split three ways, given each stream's client pod and
    goodput (the flows table's bulk rows): ``streams`` (how many),
    ``stream_clients`` (how many client pods sent them), ``throughput_per_stream_gbps``
    (mean goodput of one stream) and ``throughput_per_client_gbps`` (mean over client
    pods of their streams' summed goodput).

    A run's ``throughput_gbps`` is the aggregate of every workload (two client pods of
    9.8 Gbit/s each make 19.6); these answer "what does one stream, one client, get?".
    With no stream: 0 streams and NaN shares (not applicable, never 0 Gbit/s).
    """
    per_client: dict[Hashable, float] = {}
    values: list[float] = []
    for client, goodput in zip(clients, goodputs_gbps, strict=True):
        x = float(goodput)
        values.append(x)
        per_client[client] = per_client.get(client, 0.0) + x
    if not values:
        return {"streams": 0, "stream_clients": 0, "throughput_per_stream_gbps": math.nan,
                "throughput_per_client_gbps": math.nan}
    return {"streams": len(values), "stream_clients": len(per_client),
            "throughput_per_stream_gbps": math.fsum(values) / len(values),
            "throughput_per_client_gbps": math.fsum(per_client.values()) / len(per_client)}
