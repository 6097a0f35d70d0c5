"""``kperf plan --target-rps``: which method answers *how many nodes*, and the search
over node counts that the decomposed method makes possible.

Below :data:`DECOMPOSED_MIN_NODES` the plan answers as it always has: the load search
runs the full engine at the experiment's cluster size, and the nodes needed for a
target are ``ceil(target / capacity per node)`` (capacity assumed linear in nodes at
the simulated pod density). When that linear estimate reaches the threshold (or
``--method decomposed``), the node count itself is searched: the cluster is resized to
a candidate node count (:func:`kperf.analysis.capacity.resize_cluster`, pods per node
kept), the open-loop rate set so that the clients offer the target in total, and that
cluster simulated by the decomposed method (docs/decomposed.md) with the plan's
replications and SLO tests. The answer is the fewest nodes meeting the SLO (above
every node count seen to miss it), so a shared bottleneck that does not grow with the
cluster (one Service's backends, a hot node, a rack uplink) shows up instead of being
extrapolated away.

Why 200 nodes (:data:`DECOMPOSED_MIN_NODES`): the decomposed method's measured
accuracy set (docs/decomposed.md) covers 16-200 nodes, all inside issue 22's
tolerances, so it is checked up to that size; at 200 nodes one full-engine probe of
150,000 requests takes 5-15 s wall on the 2-core machine of those measurements, and a
node search makes 5-10 probes of 3 replications each, which is minutes per
configuration at 200 nodes and grows with the node count (the full engine's cost
follows the requests, about 30 CPU-minutes per simulated second at 5,000 nodes by
issue 22's estimate), while the decomposed method's 200-node probe takes 0.2-2.5 s and
5,000 nodes about a minute. Below 200 nodes the full engine is affordable and needs
no approximation, so ``auto`` keeps it there. The threshold is a judgement from those
measurements (estimated), not a measured crossover.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

PLAN_METHODS = ("auto", "full", "decomposed")
"""``kperf plan --method``: ``auto`` (default) uses the decomposed method for clusters
of :data:`DECOMPOSED_MIN_NODES` nodes or more (the simulated one, or the node counts a
``--target-rps`` search tries), the full engine below; ``full`` never uses it (nodes
needed extrapolated linearly, as before); ``decomposed`` uses it for every probe."""

DECOMPOSED_MIN_NODES = 200
"""Cluster size from which ``--method auto`` plans with the decomposed method (see the
module doc for why 200; estimated, overridable with ``--decomposed-min-nodes``)."""

NODE_GROW = 1.25
"""Step of the node search's expansion from the linear estimate (up or down): the
linear estimate is usually close, so small steps waste fewer probes than doubling."""

MAX_NODE_EXPAND = 24
"""At most this many expansion steps (1.25^24 ≈ 210 × the linear estimate)."""

MAX_NODE_STEPS = 20
"""At most this many bisection steps per test."""

MAX_NODES = 100_000
"""Largest node count the search tries."""

MAX_NODE_SPAN = 4.0
"""The search goes no higher than this × the linear estimate (a shared bottleneck that
does not grow with the cluster would otherwise send it to :data:`MAX_NODES`, building
ever larger clusters): 'SLO not met up to N nodes' then."""


@dataclass(frozen=True)
class NodeSearch:
    """One test's node search, settled over every node count tried: ``passed`` the
    fewest nodes meeting the test above every count that missed it (None: none met,
    up to the largest count tried), ``failed`` the most nodes that missed it (None:
    every count tried met it)."""

    passed: int | None
    failed: int | None


def settle_nodes(verdicts: Mapping[int, bool]) -> NodeSearch:
    """The fewest nodes meeting the SLO above the largest count that missed it (a pass
    below a miss is not used: the conservative answer, as the load search does)."""
    fails = [n for n, ok in verdicts.items() if not ok]
    worst = max(fails) if fails else None
    passes = sorted(n for n, ok in verdicts.items() if ok and (worst is None or n > worst))
    return NodeSearch(passes[0] if passes else None, worst)


def fewest_nodes(meets: Callable[[int], bool], verdicts: Callable[[], Mapping[int, bool]],
                 start: int, rel_tol: float) -> NodeSearch:
    """Search the fewest nodes for which ``meets(n)``: from ``start`` (the linear
    estimate), step by :data:`NODE_GROW` up until a count meets it or down until one
    misses (up to :data:`MAX_NODE_SPAN` × ``start``), then bisect until the bracket
    is within ``rel_tol`` of the answer (at least one node). ``verdicts()`` gives
    every count tried so far (probes are shared between tests, so one test's search
    reuses another's)."""
    n = min(max(1, start), MAX_NODES)
    top = min(MAX_NODES, max(n + 1, math.ceil(n * MAX_NODE_SPAN)))
    meets(n)
    for _ in range(MAX_NODE_EXPAND):
        s = settle_nodes(verdicts())
        if s.passed is None:
            if s.failed is not None and s.failed >= top:
                break
            n = min(top, max((s.failed or n) + 1, math.ceil((s.failed or n) * NODE_GROW)))
        elif s.failed is None:
            if s.passed <= 1:
                break
            n = max(1, min(s.passed - 1, math.floor(s.passed / NODE_GROW)))
        else:
            break
        meets(n)
    for _ in range(MAX_NODE_STEPS):
        s = settle_nodes(verdicts())
        if s.passed is None or s.failed is None or s.passed - s.failed <= max(
                1, rel_tol * s.passed):
            return s
        meets((s.passed + s.failed) // 2)
    return settle_nodes(verdicts())


def use_decomposed(method: str, nodes: int, min_nodes: int) -> bool:
    """Whether ``method`` computes a cluster of ``nodes`` nodes decomposed."""
    return method == "decomposed" or (method == "auto" and nodes >= min_nodes)
