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
(:data:`kperf.workloads.result.FLOW_COLUMNS`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable


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
