"""Step 2 of the decomposed method: resources with the same load and mix, one model.

Resources are grouped by (kind, servers, utilisation rounded to
:data:`UTIL_STEP`, mean service time rounded to :data:`MEAN_STEP` relative, squared
coefficient of variation of service rounded to :data:`SCV_STEP`, share of passages by
connections passing twice rounded to :data:`PAIRED_STEP`); each group's first
member (in the order connections were opened: deterministic) is its representative,
whose waiting times stand for every member's. What the rounding can cost is stated,
not hidden: :func:`grouping_error_us` is the largest difference, over all members,
between a member's analytic mean wait and its representative's (Pollaczek-Khinchine,
or Allen-Cunneen for worker pools).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kperf.workloads.decomposed.queueing import allen_cunneen_wait_s
from kperf.workloads.decomposed.traffic import Resource

UTIL_STEP = 0.01
"""Utilisation bucket (estimated: at 0.8 a 0.01 change moves an M/M/1 mean wait by 5 %,
which :func:`grouping_error_us` reports)."""
MEAN_STEP = 0.02
"""Mean service time bucket, relative (2 %)."""
SCV_STEP = 0.05
"""Bucket of the service time's squared coefficient of variation."""
PAIRED_STEP = 0.1
"""Bucket of the share of passages by connections that pass twice (a request's and
its own response's core: :attr:`~.traffic.Resource.paired_share`)."""


@dataclass(frozen=True)
class Grouping:
    """``group_of[r]``: resource r's group; ``representatives[g]``: group g's model."""

    group_of: list[int]
    representatives: list[int]

    @property
    def groups(self) -> int:
        return len(self.representatives)


def group_key(res: Resource) -> tuple[object, ...]:
    m1, m2 = res.moments()
    scv = m2 / (m1 * m1) - 1.0 if m1 > 0 else 0.0
    mean_bucket = round(math.log(m1) / math.log1p(MEAN_STEP)) if m1 > 0 else None
    return (res.kind, res.servers, round(res.utilisation / UTIL_STEP), mean_bucket,
            round(scv / SCV_STEP), round(res.paired_share / PAIRED_STEP))


def group(resources: list[Resource]) -> Grouping:
    """Group ``resources`` (see the module doc)."""
    index: dict[tuple[object, ...], int] = {}
    group_of: list[int] = []
    reps: list[int] = []
    for r, res in enumerate(resources):
        key = group_key(res)
        g = index.get(key)
        if g is None:
            g = index[key] = len(reps)
            reps.append(r)
        group_of.append(g)
    return Grouping(group_of, reps)


def grouping_error_us(resources: list[Resource], grouping: Grouping) -> float:
    """Largest |analytic mean wait of a member - of its representative| (µs)."""
    rep_wait = [allen_cunneen_wait_s(resources[r]) for r in grouping.representatives]
    worst = 0.0
    for r, g in enumerate(grouping.group_of):
        if grouping.representatives[g] != r:
            worst = max(worst, abs(allen_cunneen_wait_s(resources[r]) - rep_wait[g]))
    return worst * 1e6
